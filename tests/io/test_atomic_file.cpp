// Writing into a folder that cannot take the file, or onto a disk that fills up mid-write:
// an error naming the file and the operating system's reason, the previous file intact, and
// no partial file left behind, under the final name or the temporary one. Temporary files
// that cannot be hijacked by a symbolic link planted in the folder, and the clean-up of those
// a killed process left behind.
//
// Tests may run as root, for whom folder permissions do not stop a write. A full disk is
// simulated with RLIMIT_FSIZE in a forked child (SIGXFSZ ignored, so write() fails with
// EFBIG), which holds for root too.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "config_helpers.h"
#include "cli_helpers.h"
#include "vgrow/run/config.h"
#include "vgrow/run/experiment.h"
#include "vgrow/io/atomic_file.h"
#include "vgrow/run/checkpoint.h"
#include "vgrow/io/png.h"
#include "test_helpers.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vgrow::testing::TempDir;

using vgrow::testing::error_of;

std::string contents(const fs::path& file) { return vgrow::testing::file_contents(file); }

// The names in `dir`, sorted.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Runs `write` in a forked child whose files cannot grow past `max_bytes`, as on a disk that
// fills up. Returns the message of the c10::Error it threw; fails the test if it threw none.
std::string error_on_full_disk(rlim_t max_bytes, const std::function<void()>& write) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{max_bytes, max_bytes};
    setrlimit(RLIMIT_FSIZE, &limit);
    std::string message;
    try {
      write();
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
    }
    const bool threw = !message.empty();
    if (::write(fds[1], message.data(), message.size()) < 0) _exit(3);
    _exit(threw ? 0 : 1);
  }
  close(fds[1]);
  std::string message;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) message.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "the write did not fail on a full disk (status " << status << ")";
  return message;
}

const std::string kFileTooLarge = std::strerror(EFBIG);

// A trainer small enough that its checkpoint takes milliseconds.
std::unique_ptr<vgrow::Trainer> tiny_trainer() {
  return vgrow::make_trainer(vgrow::testing::tiny_toy_config());
}

TEST(IoFaults, FullDiskDuringCheckpointKeepsThePreviousOne) {
  TempDir dir("vgrow-full-ckpt");
  auto trainer = tiny_trainer();
  const auto previous = vgrow::io::save_checkpoint(dir.path(), *trainer, "[run]\n", 1);
  const auto before = contents(previous);
  trainer->run_loop();

  const auto message = error_on_full_disk(before.size() / 2, [&] {
    vgrow::io::save_checkpoint(dir.path(), *trainer, "[run]\n", 1);
  });
  EXPECT_THAT(message, HasSubstr((dir.path() / "checkpoint-000001.pt").string()));
  EXPECT_THAT(message, HasSubstr(kFileTooLarge));
  // Neither the new checkpoint nor its temporary file, and the old one not rotated away.
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"checkpoint-000000.pt"});
  EXPECT_EQ(contents(previous), before);
  vgrow::io::load_checkpoint(previous, *trainer);
  EXPECT_EQ(trainer->loop(), 0);
}

TEST(IoFaults, FullDiskWhileOverwritingLeavesTheOldContent) {
  TempDir dir("vgrow-full-text");
  const auto file = dir.path() / "config.toml";
  vgrow::io::write_text_atomically(file, "old = 1\n");
  const auto message = error_on_full_disk(
      64, [&] { vgrow::io::write_text_atomically(file, std::string(1000, 'x')); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr(kFileTooLarge));
  EXPECT_EQ(contents(file), "old = 1\n");
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"config.toml"});
}

TEST(IoFaults, FullDiskDuringSampleGridLeavesNoFile) {
  TempDir dir("vgrow-full-png");
  const auto file = dir.path() / "samples-000100.png";
  torch::manual_seed(0);
  const auto noise = torch::randint(0, 256, {3, 64, 64}, torch::kUInt8);  // does not compress
  const auto message = error_on_full_disk(1000, [&] { vgrow::io::write_png(file, noise); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr(kFileTooLarge));
  EXPECT_TRUE(listing(dir.path()).empty());
}

// A run folder the process may not write into. Root writes anywhere regardless of mode bits,
// so it gets a folder of sysfs instead, where nobody can create files.
TEST(IoFaults, UnwritableFolderIsNamedWithTheReason) {
  TempDir dir("vgrow-readonly");
  fs::path folder = dir.path();
  if (geteuid() == 0) {
    folder = "/sys";
  } else {
    fs::permissions(folder, fs::perms::owner_read | fs::perms::owner_exec);
  }
  const int probe = ::open((folder / "probe").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  const int reason = errno;
  if (probe >= 0) {
    ::close(probe);
    fs::remove(folder / "probe");
    GTEST_SKIP() << "'" << folder.string() << "' takes new files here; nothing to test";
  }
  const auto file = folder / "samples-000100.png";
  const auto message =
      error_of([&] { vgrow::io::write_png(file, torch::zeros({1, 4, 4}, torch::kUInt8)); });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr(std::strerror(reason)));
  EXPECT_FALSE(fs::exists(file));
  fs::permissions(dir.path(), fs::perms::owner_all);
}

// data.path or run.out_dir naming a file where a folder should be.
TEST(IoFaults, FolderThatIsAFileIsNamedWithTheReason) {
  TempDir dir("vgrow-notdir");
  const auto not_a_folder = dir.path() / "runs";
  std::ofstream(not_a_folder) << "a file\n";
  auto trainer = tiny_trainer();
  const auto message = error_of([&] {
    vgrow::io::save_checkpoint(not_a_folder, *trainer, "[run]\n", 3);
  });
  EXPECT_THAT(message, HasSubstr((not_a_folder / "checkpoint-000000.pt").string()));
  EXPECT_THAT(message, HasSubstr(std::strerror(ENOTDIR)));
  EXPECT_EQ(contents(not_a_folder), "a file\n");
}

// The final name is taken by something that cannot be replaced (a folder): the rename fails,
// the error names both paths, and the temporary file is cleaned up.
TEST(IoFaults, FailedRenameRemovesTheTemporaryFile) {
  TempDir dir("vgrow-rename");
  const auto file = dir.path() / "stats.csv";
  fs::create_directories(file / "inside");
  const auto message = error_of([&] { vgrow::io::write_text_atomically(file, "loop\n0\n"); });
  EXPECT_THAT(message, HasSubstr("cannot rename '" + file.string() + ".tmp-"));
  EXPECT_THAT(message, HasSubstr(std::strerror(EISDIR)));
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"stats.csv"});
}

// A writer that fails half way, with any exception (LibTorch's writers throw more than
// c10::Error), leaves nothing behind and is reported with the target's name.
TEST(IoFaults, WriterErrorRemovesTheTemporaryFile) {
  TempDir dir("vgrow-writer");
  const auto file = dir.path() / "reference-stats.pt";
  const auto message = error_of([&] {
    vgrow::io::write_atomically(file, [](const fs::path& tmp) {
      std::ofstream(tmp) << "half";
      throw std::runtime_error("PytorchStreamWriter failed writing file data");
    });
  });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("PytorchStreamWriter failed"));
  EXPECT_TRUE(listing(dir.path()).empty());
}

// ---------------------------------------------------------------- temporary files

// Symbolic links planted at the names a user could predict (the fixed name of earlier
// versions, this process's id with a guessable suffix) lead to a file that must not change.
std::vector<fs::path> plant_links(const fs::path& target, const fs::path& victim) {
  const auto pid = std::to_string(getpid());
  std::vector<fs::path> links;
  for (const auto& suffix : {std::string(".tmp"), ".tmp-" + pid,
                             ".tmp-" + pid + "-0000000000000000",
                             ".tmp-" + pid + "-ffffffffffffffff"}) {
    links.push_back(target.string() + suffix);
    fs::create_symlink(victim, links.back());
  }
  return links;
}

TEST(IoTemporaryFiles, PlantedSymlinksAreNotWrittenThrough) {
  TempDir dir("vgrow-planted");
  const auto victim = dir.path() / "victim.txt";
  std::ofstream(victim) << "precious\n";
  const auto text = dir.path() / "config.toml";
  const auto by_path = dir.path() / "reference-stats.pt";
  const auto text_links = plant_links(text, victim);
  const auto path_links = plant_links(by_path, victim);

  vgrow::io::write_text_atomically(text, "new = 1\n");
  vgrow::io::write_atomically(by_path, [&](const fs::path& tmp) {
    // The writer gets a regular file created for it, not one of the planted names.
    EXPECT_EQ(std::find(path_links.begin(), path_links.end(), tmp), path_links.end()) << tmp;
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(tmp))) << tmp;
    EXPECT_EQ(fs::file_size(tmp), 0u);
    std::ofstream(tmp, std::ios::binary) << "tensor bytes";
  });

  EXPECT_EQ(contents(victim), "precious\n");
  EXPECT_EQ(contents(text), "new = 1\n");
  EXPECT_EQ(contents(by_path), "tensor bytes");
  EXPECT_FALSE(fs::is_symlink(text));
  EXPECT_FALSE(fs::is_symlink(by_path));
  for (const auto& links : {text_links, path_links}) {
    for (const auto& link : links) EXPECT_TRUE(fs::is_symlink(link)) << link;
  }
  EXPECT_EQ(listing(dir.path()).size(), 3 + text_links.size() + path_links.size());
}

// A writer that fills the temporary by path cannot open it without following links; what
// it leaves under the temporary's name is checked before the rename: a symbolic link swapped
// in (by another user of a shared folder) is refused, and the target stays a regular file.
TEST(IoTemporaryFiles, TemporarySwappedForASymlinkIsRefused) {
  TempDir dir("vgrow-swapped");
  const auto victim = dir.path() / "victim.txt";
  std::ofstream(victim) << "precious\n";
  const auto file = dir.path() / "reference-stats.pt";
  std::ofstream(file) << "old";
  const auto message = error_of([&] {
    vgrow::io::write_atomically(file, [&](const fs::path& tmp) {
      std::ofstream(tmp, std::ios::binary) << "tensor bytes";
      fs::remove(tmp);
      fs::create_symlink(victim, tmp);
    });
  });
  EXPECT_THAT(message, HasSubstr(file.string()));
  EXPECT_THAT(message, HasSubstr("replaced by a symbolic link"));
  EXPECT_FALSE(fs::is_symlink(file));
  EXPECT_EQ(contents(file), "old");
  EXPECT_EQ(contents(victim), "precious\n");
  EXPECT_EQ(listing(dir.path()), (std::vector<std::string>{"reference-stats.pt", "victim.txt"}));

  // Another regular file put in its place (the created one kept alive elsewhere, so the new
  // one cannot reuse its inode) is refused as well.
  const auto replaced = error_of([&] {
    vgrow::io::write_atomically(file, [&](const fs::path& tmp) {
      fs::rename(tmp, dir.path() / "aside");
      std::ofstream(tmp, std::ios::binary) << "someone else's bytes";
    });
  });
  EXPECT_THAT(replaced, HasSubstr("replaced by another file"));
  EXPECT_EQ(contents(file), "old");
  fs::remove(dir.path() / "aside");

  // A writer that writes nothing is an error too (the file created for it stays empty).
  EXPECT_THAT(error_of([&] { vgrow::io::write_atomically(file, [](const fs::path&) {}); }),
              HasSubstr("nothing was written"));
  EXPECT_EQ(listing(dir.path()), (std::vector<std::string>{"reference-stats.pt", "victim.txt"}));
}

TEST(IoTemporaryFiles, ConsecutiveWritesLeaveNoTemporary) {
  TempDir dir("vgrow-twice");
  const auto text = dir.path() / "stats.csv";
  const auto by_path = dir.path() / "reference-stats.pt";
  for (const std::string content : {"first\n", "second\n"}) {
    vgrow::io::write_text_atomically(text, content);
    vgrow::io::write_atomically(
        by_path, [&](const fs::path& tmp) { std::ofstream(tmp, std::ios::binary) << content; });
    EXPECT_EQ(contents(text), content);
    EXPECT_EQ(contents(by_path), content);
    EXPECT_EQ(listing(dir.path()), (std::vector<std::string>{"reference-stats.pt", "stats.csv"}));
  }
}

// A temporary left by a process killed mid-write, and one with a made-up pid, are removed;
// files that merely look alike are kept.
TEST(IoTemporaryFiles, RemoveStaleTemporariesKeepsOtherFiles) {
  TempDir dir("vgrow-stale");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      vgrow::io::write_atomically(dir.path() / "checkpoint-000300.pt", [](const fs::path& tmp) {
        std::ofstream(tmp, std::ios::binary) << "partial checkpoint bytes";
        _exit(9);  // killed mid-write
      });
    } catch (...) {
    }
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 9);
  const auto left = listing(dir.path());
  ASSERT_EQ(left.size(), 1u);
  EXPECT_THAT(left[0],
              ::testing::StartsWith("checkpoint-000300.pt.tmp-" + std::to_string(child) + "-"));

  std::ofstream(dir.path() / "samples-000100.png.tmp-12345-0123456789abcdef") << "stale";
  const std::vector<std::string> look_alikes{
      "checkpoint-000200-good.pt", "config.toml.tmp",           "notes.tmp",
      "x.tmp--0123456789abcdef",   "x.tmp-12-0123456789ABCDEF", "x.tmp-12-0123456789abcdef0",
      "x.tmp-12-0123456789abcdeg", "x.tmp-1x-0123456789abcdef"};
  for (const auto& name : look_alikes) std::ofstream(dir.path() / name) << "keep";
  // The right name, but not a regular file this module could have created.
  fs::create_directory(dir.path() / "d.tmp-1-0123456789abcdef");
  fs::create_symlink(dir.path() / "notes.tmp", dir.path() / "link.tmp-1-0123456789abcdef");
  auto kept = look_alikes;
  kept.insert(kept.end(), {"d.tmp-1-0123456789abcdef", "link.tmp-1-0123456789abcdef"});
  std::sort(kept.begin(), kept.end());

  vgrow::io::remove_stale_temporaries(dir.path());
  EXPECT_EQ(listing(dir.path()), kept);
  EXPECT_EQ(contents(dir.path() / "notes.tmp"), "keep");

  vgrow::io::remove_stale_temporaries(dir.path() / "absent");  // nothing to do
  EXPECT_THAT(error_of([&] { vgrow::io::remove_stale_temporaries(dir.path() / "notes.tmp"); }),
              HasSubstr("notes.tmp"));
}

}  // namespace
