#pragma once
// Writing a file so that readers see either the old content or the complete new one.

#include <filesystem>
#include <functional>
#include <string>

namespace vgrow::io {

// Calls write(tmp) for a temporary path beside `target`, then renames it over `target`.
// On any failure the temporary file is removed and the error names `target`.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path&)>& write);
void write_text_atomically(const std::filesystem::path& target, const std::string& text);

}  // namespace vgrow::io
