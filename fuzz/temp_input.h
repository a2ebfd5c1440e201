#pragma once
// The readers under test take paths, as they do in a run: each fuzz input is written to one
// file in a folder of this process's own under $TMPDIR, overwritten on every input.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace vgrow::fuzz {

class TempInput {
 public:
  explicit TempInput(const std::string& file_name)
      : dir_(std::filesystem::temp_directory_path() /
             ("vgrow-fuzz-" + std::to_string(::getpid()))),
        path_(dir_ / file_name) {
    std::filesystem::create_directories(dir_);
  }
  TempInput(const TempInput&) = delete;
  TempInput& operator=(const TempInput&) = delete;
  ~TempInput() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  const std::filesystem::path& write(const void* data, size_t size) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) std::abort();  // the harness, not the reader, failed: stop loudly
    return path_;
  }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_, path_;
};

}  // namespace vgrow::fuzz
