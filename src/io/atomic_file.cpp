#include "vgrow/io/atomic_file.h"

#include <fstream>
#include <system_error>

#include <c10/util/Exception.h>

namespace vgrow::io {
namespace fs = std::filesystem;

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  const fs::path tmp = target.string() + ".tmp";
  try {
    write(tmp);
    TORCH_CHECK(fs::exists(tmp), "nothing was written");
    fs::rename(tmp, target);
  } catch (const c10::Error& e) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    TORCH_CHECK(false, "could not write '", target.string(), "': ", e.what_without_backtrace());
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    TORCH_CHECK(false, "could not write '", target.string(), "': ", e.what());
  }
}

void write_text_atomically(const fs::path& target, const std::string& text) {
  write_atomically(target, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    TORCH_CHECK(out.good(), "write failed (disk full or no permission?)");
  });
}

}  // namespace vgrow::io
