// `vgrow study` as a user runs it: a small toy study end to end, its resume, and bad input.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_helpers.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vgrow::testing::run_cli;
using vgrow::testing::TempDir;

std::string read(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Study, BadInputIsRefusedBeforeAnyRun) {
  TempDir dir("vgrow-study");
  const auto study = [&](const std::string& args) {
    return run_cli("study toy-8gaussians " + args + " -o " + (dir.path() / "s").string());
  };
  const std::pair<std::string, std::string> cases[] = {
      {"--loops 3 --methods kl,wgan", "unknown method 'wgan' in --methods (known: kl, js"},
      {"--loops 3 --methods ,", "a study needs at least one method"},
      {"--loops 3 --methods kl,kl", "method 'kl' is listed twice"},
      {"--methods kl", "a study needs a budget above zero"},
      {"--loops 0 --minutes 0 --methods kl", "a study needs a budget above zero"},
      {"--loops 3 --minutes 1 --methods kl", "give one budget, --minutes or --loops, not both"},
      {"--loops 3 --methods kl flow.etta=1", "unknown config key 'flow.etta'"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = study(args);
    EXPECT_NE(r.exit_code, 0) << args;
    EXPECT_THAT(r.output, HasSubstr(message)) << args;
    EXPECT_FALSE(fs::exists(dir.path() / "s")) << args << ": nothing may be created";
  }
  const auto images = run_cli("study --loops 3 --methods kl data.dataset=cifar10 data.path=/nowhere -o " +
                              (dir.path() / "i").string());
  EXPECT_THAT(images.output, HasSubstr("vgrow ships none for cifar10; give --classifier FILE"));
  fs::create_directories(dir.path() / "taken");
  const auto taken = run_cli("study toy-8gaussians --loops 3 --methods kl -o " +
                             (dir.path() / "taken").string());
  EXPECT_NE(taken.exit_code, 0);
  EXPECT_THAT(taken.output, HasSubstr("exists already: continue it with `vgrow study --resume"));
  const auto not_study = run_cli("study --resume " + (dir.path() / "taken").string());
  EXPECT_THAT(not_study.output, HasSubstr("is not a study folder (no study.json)"));
}

// Two methods, two seeds, three loops each: four runs scored and tabulated. A run whose
// score.json is missing (as after an interrupt) is redone on --resume; the others are not.
TEST(Study, ATinyStudyTrainsScoresTabulatesAndResumes) {
  TempDir dir("vgrow-study");
  const auto study = dir.path() / "s";
  const auto r = run_cli("study toy-8gaussians run.threads=1 --methods kl,gan --seeds 2 "
                         "--loops 3 -n 500 -o " + study.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto csv = read(study / "results.csv");
  EXPECT_THAT(csv, HasSubstr("energy_distance"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5) << csv;  // header + 4 runs
  const auto table = read(study / "table.md");
  EXPECT_THAT(table, HasSubstr("| kl |"));
  EXPECT_THAT(table, HasSubstr("| gan |"));
  for (const auto* run : {"kl-seed0", "kl-seed1", "gan-seed0", "gan-seed1"}) {
    EXPECT_TRUE(fs::exists(study / run / "score.json")) << run;
  }
  EXPECT_THAT(read(study / "gan-seed1" / "score.json"), HasSubstr("\"method\":\"gan\""));

  const auto kept = fs::last_write_time(study / "kl-seed0" / "score.json");
  fs::remove(study / "gan-seed1" / "score.json");
  const auto resumed = run_cli("study --resume " + study.string());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_THAT(resumed.output, HasSubstr("gan-seed1: training"));
  EXPECT_THAT(resumed.output, ::testing::Not(HasSubstr("kl-seed0: training")));
  EXPECT_EQ(fs::last_write_time(study / "kl-seed0" / "score.json"), kept);
  EXPECT_TRUE(fs::exists(study / "gan-seed1" / "score.json"));
}

// An image study scores its runs while they train, at the same times for every method, and
// plots the score against training time; the table's scores come from `vgrow eval`.
TEST(Study, AnImageStudyPlotsTheScoreAgainstTrainingTime) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  TempDir dir("vgrow-study-images");
  const auto study = dir.path() / "s";
  const auto r = run_cli("study run.threads=1 data.limit=256 model.g_width=8 model.d_width=8 "
                         "--methods kl,gan --seeds 1 --minutes 0.1 -n 100 -o " +
                         study.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(read(study / "table.md"), HasSubstr("| gan |"));
  for (const auto* method : {"kl", "gan"}) {
    std::ifstream in(study / "curves" / (std::string(method) + ".csv"));
    std::string line;
    ASSERT_TRUE(std::getline(in, line)) << method << ": no curve";
    EXPECT_EQ(line, "minutes,fid");
    std::vector<double> minutes;
    while (std::getline(in, line)) {
      const auto comma = line.find(',');
      ASSERT_NE(comma, std::string::npos) << line;
      minutes.push_back(std::stod(line.substr(0, comma)));
      const double fid = std::stod(line.substr(comma + 1));
      EXPECT_TRUE(std::isfinite(fid) && fid > 0) << line;
    }
    // Scored at every sixth of the budget and at the end; a loaded machine may skip some.
    EXPECT_GE(minutes.size(), 2u) << method;
    EXPECT_TRUE(std::is_sorted(minutes.begin(), minutes.end())) << method;
  }
  const auto svg = read(study / "score-vs-time.svg");
  EXPECT_THAT(svg, HasSubstr("<svg"));
  EXPECT_THAT(svg, HasSubstr("against training time"));
  EXPECT_THAT(svg, HasSubstr("<text>kl</text>"));
  EXPECT_THAT(svg, HasSubstr("<text>gan</text>"));
}

}  // namespace
