#include "vgrow/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

#include <c10/util/Exception.h>

namespace vgrow::io {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail_errno(const char* what, const fs::path& path) {
  const int code = errno;
  TORCH_CHECK(false, "cannot ", what, " '", path.string(), "': ", std::strerror(code));
}

// A file descriptor closed on every path; close() reports what an explicit close finds
// (NFS and some file systems report a failed write only there).
class File {
 public:
  File(const fs::path& path, int flags) : path_(path) {
    do fd_ = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) fail_errno((flags & O_CREAT) ? "create" : "open", path);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }

  void write(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno("write", path_);
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Data on disk before the rename, so a crash cannot leave an empty file under its name.
  void sync() {
    if (::fsync(fd_) != 0) fail_errno("flush to disk", path_);
  }
  void close() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 && errno != EINTR) fail_errno("close", path_);
  }

 private:
  fs::path path_;
  int fd_ = -1;
};

void sync_file(const fs::path& path) {
  File file(path, O_RDONLY);
  file.sync();
  file.close();
}

// Makes the rename itself durable. Best effort: some file systems refuse fsync on a folder,
// and the data was already synced.
void sync_folder(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  const fs::path tmp = target.string() + ".tmp";
  try {
    write(tmp);
    TORCH_CHECK(fs::exists(tmp), "nothing was written to '", tmp.string(), "'");
    sync_file(tmp);
    if (std::rename(tmp.c_str(), target.c_str()) != 0) {
      const int code = errno;
      TORCH_CHECK(false, "cannot rename '", tmp.string(), "' to '", target.string(),
                  "': ", std::strerror(code));
    }
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    TORCH_CHECK(false, "could not write '", target.string(), "': ",
                c10_error ? c10_error->what_without_backtrace() : e.what());
  }
  sync_folder(target.parent_path());
}

void write_bytes_atomically(const fs::path& target, std::string_view bytes) {
  write_atomically(target, [&](const fs::path& tmp) {
    File file(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    file.write(bytes);
    file.close();
  });
}

void write_text_atomically(const fs::path& target, const std::string& text) {
  write_bytes_atomically(target, text);
}

}  // namespace vgrow::io
