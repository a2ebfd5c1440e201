// Run folders: numbered past 99999, created exclusively (two runs never share one), and
// named only with a safe file-name alphabet.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_helpers.h"
#include "test_helpers.h"
#include "vgrow/io/run_folder.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vgrow::io::create_run_folder;
using vgrow::testing::error_of;
using vgrow::testing::TempDir;

TEST(RunFolder, NumbersParseTheWholePrefix) {
  EXPECT_EQ(vgrow::io::run_number("00012-fashion-mnist-kl"), 12u);
  EXPECT_EQ(vgrow::io::run_number("123456-x"), 123456u);
  EXPECT_FALSE(vgrow::io::run_number("notes.txt"));
  EXPECT_FALSE(vgrow::io::run_number("12abc-x"));
  EXPECT_FALSE(vgrow::io::run_number("-x"));
}

TEST(RunFolder, TheNextNumberFollowsTheHighestPast99999) {
  TempDir out("vgrow-runs");
  fs::create_directories(out.path() / "00007-a");
  fs::create_directories(out.path() / "100000-b");
  fs::create_directories(out.path() / "99999-c");
  std::ofstream(out.path() / "7 notes.txt") << "not a run";
  EXPECT_EQ(create_run_folder(out.path(), "d").filename(), "100001-d");
  EXPECT_EQ(create_run_folder(out.path(), "d").filename(), "100002-d");
}

TEST(RunFolder, RunsStartedTogetherNeverShareAFolder) {
  TempDir out("vgrow-runs");
  constexpr int kRuns = 8;
  int pipes[kRuns][2];
  for (auto& p : pipes) ASSERT_EQ(pipe(p), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kRuns; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const auto name = create_run_folder(out.path(), "same").filename().string();
      [[maybe_unused]] auto n = write(pipes[i][1], name.data(), name.size());
      _exit(0);
    }
    children.push_back(pid);
  }
  std::set<std::string> names;
  for (int i = 0; i < kRuns; ++i) {
    int status = 0;
    waitpid(children[i], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(pipes[i][1]);
    char buf[256] = {};
    const auto n = read(pipes[i][0], buf, sizeof(buf) - 1);
    close(pipes[i][0]);
    names.insert(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0));
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kRuns)) << "two runs got the same folder";
  EXPECT_EQ(std::distance(fs::directory_iterator(out.path()), fs::directory_iterator()), kRuns);
}

TEST(RunFolder, UnsafeNamesAreRefused) {
  TempDir out("vgrow-runs");
  for (const std::string& bad : std::vector<std::string>{"x$(touch pwned)", "a/b", "..", ".hidden",
                                                        "-rf", "a b", "o'neil",
                                                        std::string(101, 'a'), ""}) {
    EXPECT_THAT(error_of([&] { create_run_folder(out.path(), bad); }),
                HasSubstr("may hold only letters")) << bad;
  }
  EXPECT_TRUE(fs::is_empty(out.path()));
  EXPECT_TRUE(vgrow::io::is_safe_file_name("fashion-mnist-kl_2.v1"));
}

TEST(RunFolder, RowsLoggedAfterTheCheckpointAreDroppedOnce) {
  TempDir dir("vgrow-runs");
  {
    vgrow::io::MetricsLog log(dir.path());
    for (int loop = 0; loop < 6; ++loop) log.write({{"loop", loop}, {"loss", 1.0 / (loop + 1)}});
  }
  std::ofstream(dir.path() / "stats.csv", std::ios::app) << "6,0.1";   // torn by a kill
  std::ofstream(dir.path() / "stats.jsonl", std::ios::app) << "{\"loop\":6,\"lo";
  vgrow::io::drop_log_rows_after(dir.path(), "stats", 2);
  EXPECT_EQ(vgrow::testing::file_contents(dir.path() / "stats.csv"),
            "loop,loss\n0,1\n1,0.5\n2,0.33333333\n");
  EXPECT_EQ(vgrow::testing::file_contents(dir.path() / "stats.jsonl"),
            "{\"loop\":0,\"loss\":1}\n{\"loop\":1,\"loss\":0.5}\n"
            "{\"loop\":2,\"loss\":0.3333333333333333}\n");
  vgrow::io::drop_log_rows_after(dir.path(), "absent", 2);  // nothing to do
  EXPECT_FALSE(fs::exists(dir.path() / "absent.csv"));
}

TEST(RunFolder, AMetricsLogReadsBackAsWritten) {
  TempDir dir("vgrow-runs");
  {
    vgrow::io::MetricsLog log(dir.path(), "eval");
    log.write({{"loop", 0}, {"fid", 72.5}, {"kid", std::nan("")}});
    log.write({{"loop", 5}, {"fid", 41.25}, {"kid", 0.03}});
  }
  const auto table = vgrow::io::read_metrics_log(dir.path(), "eval");
  EXPECT_EQ(table.columns, (std::vector<std::string>{"loop", "fid", "kid"}));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.values("fid"), (std::vector<double>{72.5, 41.25}));
  EXPECT_EQ(table.values("kid"), (std::vector<double>{0.03}));  // NaN is left out
  EXPECT_EQ(table.column("nope"), -1);
  EXPECT_TRUE(table.values("nope").empty());
  const auto missing = vgrow::io::read_metrics_log(dir.path(), "stats");
  EXPECT_TRUE(missing.columns.empty() && missing.rows.empty());
}

// A run killed after logging loops past its last checkpoint resumes without logging any
// loop twice.
TEST(RunFolder, AResumedRunLogsEveryLoopOnce) {
  TempDir out("vgrow-runs");
  auto r = vgrow::testing::run_cli("train toy-8gaussians --quiet run.loops=3 "
                                   "run.checkpoint_every=2 run.out_dir=" + out.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = vgrow::testing::only_run(out.path());
  fs::remove(run / "checkpoint-000003.pt");  // as if killed before loop 3's checkpoint
  r = vgrow::testing::run_cli("train --resume " + run.string() + " --quiet run.loops=3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream csv(run / "stats.csv");
  std::string line, loops;
  std::getline(csv, line);
  while (std::getline(csv, line)) loops += line.substr(0, line.find(',')) + " ";
  EXPECT_EQ(loops, "0 1 2 ");
}

// `text` as one word for the test's own shell, which must not expand it.
std::string shell_word(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// As a user with a shared config would run it: the name is refused before anything runs,
// and a hostile output folder path is only a path.
TEST(RunFolder, HostileNamesFromTheCommandLineRunNothing) {
  TempDir tmp("vgrow-runs");
  const auto canary = tmp.path() / "pwned";
  auto r = vgrow::testing::run_cli("train toy-8gaussians --quiet run.loops=1 run.out_dir=" +
                                   tmp.str() + " " +
                                   shell_word("run.name=x$(touch " + canary.string() + ")"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("config key 'run.name'"));
  const auto out = tmp.path() / ("o'neil $(touch " + canary.string() + ")");
  r = vgrow::testing::run_cli("train toy-8gaussians --quiet run.loops=2 run.sample_every=1 " +
                              shell_word("run.out_dir=" + out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(canary)) << "a command in a path was run";
  const auto run = vgrow::testing::only_run(out);
  EXPECT_TRUE(fs::exists(run / "curves.png")) << "a quote in the path lost the plots";
}

}  // namespace
