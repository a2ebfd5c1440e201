#pragma once
// Writing a file so that readers see either the old content or the complete new one, and a
// failed write (full disk, no permission, I/O error) is an error naming the file and the
// operating system's reason, never a truncated file under the final name.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace vgrow::io {

// Calls write(tmp) for a temporary path beside `target` ("<target>.tmp"), flushes it to disk,
// then renames it over `target`. On any failure the temporary file is removed, `target` is
// left as it was, and the error names `target`.
void write_atomically(const std::filesystem::path& target,
                      const std::function<void(const std::filesystem::path&)>& write);
// The same for bytes in memory, written with checked system calls.
void write_bytes_atomically(const std::filesystem::path& target, std::string_view bytes);
void write_text_atomically(const std::filesystem::path& target, const std::string& text);

}  // namespace vgrow::io
