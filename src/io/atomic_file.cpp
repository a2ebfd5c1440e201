#include "vgrow/io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <system_error>
#include <vector>

#include <c10/util/Exception.h>

namespace vgrow::io {
namespace fs = std::filesystem;
namespace {

// Temporary files are "<target's name><kInfix><pid>-<kRandomDigits lowercase hex digits>".
// The pid tells which process left one behind; the random part makes the name unguessable.
// is_temporary_name recognises exactly these names, for remove_stale_temporaries.
constexpr std::string_view kInfix = ".tmp-";
constexpr size_t kRandomDigits = 16;
// Names are drawn afresh while taken; only a folder filled with planted names exhausts this.
constexpr int kCreateAttempts = 64;

std::string temporary_name(const fs::path& target) {
  // std::random_device per name (the kernel's generator), not a seeded engine: a forked child
  // would repeat its parent's sequence.
  std::random_device device;
  const uint64_t random = uint64_t{device()} << 32 | device();
  char hex[kRandomDigits + 1];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(random));
  return target.filename().string() + std::string(kInfix) + std::to_string(::getpid()) + "-" +
         hex;
}

bool is_digits(std::string_view s, bool hex) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f');
  });
}

bool is_temporary_name(const std::string& name) {
  const auto infix = name.rfind(kInfix);
  if (infix == std::string::npos || infix == 0) return false;
  const auto rest = std::string_view(name).substr(infix + kInfix.size());
  const auto dash = rest.find('-');
  if (dash == std::string_view::npos || dash == 0) return false;
  const auto pid = rest.substr(0, dash), random = rest.substr(dash + 1);
  return is_digits(pid, false) && random.size() == kRandomDigits && is_digits(random, true);
}

[[noreturn]] void fail_errno(const char* what, const fs::path& path) {
  const int code = errno;
  TORCH_CHECK(false, "cannot ", what, " '", path.string(), "': ", std::strerror(code));
}

// open(2) with O_CLOEXEC, retried when a signal interrupts it; -1 and errno on failure.
int open_fd(const fs::path& path, int flags) {
  int fd = -1;
  do fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  return fd;
}

// A file descriptor closed on every path; close() reports what an explicit close finds
// (NFS and some file systems report a failed write only there).
class File {
 public:
  File(fs::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }

  const fs::path& path() const { return path_; }
  struct stat status() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail_errno("inspect", path_);
    return st;
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

// A new, empty temporary file beside `target`. O_EXCL fails on any existing name, a symbolic
// link included (O_NOFOLLOW says so twice), so nothing planted there is ever opened.
File create_temporary(const fs::path& target) {
  for (int attempt = 1;; ++attempt) {
    const auto tmp = target.parent_path() / temporary_name(target);
    const int fd = open_fd(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW);
    if (fd >= 0) return File(tmp, fd);
    if (errno != EEXIST || attempt == kCreateAttempts) fail_errno("create", tmp);
  }
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Reopens the temporary that a writer filled by path, without following a symbolic link, and
// syncs it, after checking that the name still holds the file created as `created`.
void sync_written_temporary(const fs::path& tmp, const struct stat& created) {
  const int fd = open_fd(tmp, O_RDONLY | O_NOFOLLOW);
  TORCH_CHECK(fd >= 0 || errno != ELOOP, "'", tmp.string(),
              "' was replaced by a symbolic link while being written");
  if (fd < 0) fail_errno("open", tmp);
  File file(tmp, fd);
  const auto st = file.status();
  TORCH_CHECK(S_ISREG(st.st_mode) && same_file(st, created), "'", tmp.string(),
              "' was replaced by another file while being written");
  TORCH_CHECK(st.st_size > 0, "nothing was written to '", tmp.string(), "'");
  file.sync();
  file.close();
}

void rename_over(const fs::path& tmp, const fs::path& target) {
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    const int code = errno;
    TORCH_CHECK(false, "cannot rename '", tmp.string(), "' to '", target.string(),
                "': ", std::strerror(code));
  }
}

// Makes the rename itself durable. Best effort: some file systems refuse fsync on a folder,
// and the data was already synced.
void sync_folder(const fs::path& dir) {
  const int fd = open_fd(dir.empty() ? fs::path(".") : dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Runs fill(tmp), which creates a temporary file (setting tmp as soon as it exists), fills it
// and syncs it; then renames it over `target`. Any failure removes the temporary (unlink never
// follows a symbolic link) and is reported with `target`'s name.
template <class Fill>
void replace_atomically(const fs::path& target, Fill&& fill) {
  fs::path tmp;
  try {
    fill(tmp);
    rename_over(tmp, target);
  } catch (const std::exception& e) {
    std::error_code ignored;
    if (!tmp.empty()) fs::remove(tmp, ignored);
    const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
    TORCH_CHECK(false, "could not write '", target.string(), "': ",
                c10_error ? c10_error->what_without_backtrace() : e.what());
  }
  sync_folder(target.parent_path());
}

}  // namespace

void write_atomically(const fs::path& target, const std::function<void(const fs::path&)>& write) {
  replace_atomically(target, [&](fs::path& tmp) {
    struct stat created {};
    {
      auto file = create_temporary(target);
      tmp = file.path();
      created = file.status();
      file.close();
    }
    write(tmp);
    sync_written_temporary(tmp, created);
  });
}

void write_bytes_atomically(const fs::path& target, std::string_view bytes) {
  replace_atomically(target, [&](fs::path& tmp) {
    auto file = create_temporary(target);
    tmp = file.path();
    file.write(bytes);
    file.sync();
    file.close();
  });
}

void write_text_atomically(const fs::path& target, const std::string& text) {
  write_bytes_atomically(target, text);
}

void remove_stale_temporaries(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(dir, ec))) return;
  std::vector<fs::path> stale;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code ignored;
    if (is_temporary_name(it->path().filename().string()) && it->is_regular_file(ignored) &&
        !it->is_symlink(ignored))
      stale.push_back(it->path());
  }
  TORCH_CHECK(!ec, "cannot look for stale temporary files in '", dir.string(), "': ",
              ec.message());
  for (const auto& file : stale) {
    if (!fs::remove(file, ec) && ec)
      TORCH_WARN("cannot remove the stale temporary file '", file.string(), "': ", ec.message());
  }
}

}  // namespace vgrow::io
