#include <regex>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_helpers.h"

namespace {

using ::testing::HasSubstr;
using vgrow::testing::run_cli;
using vgrow::testing::TempDir;

TEST(CliErrors, UnknownConfigKeyIsNamed) {
  const auto r = run_cli("train toy-8gaussians flow.etta=0.1 --dry-run");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("unknown config key 'flow.etta'"));
}

TEST(CliErrors, UnknownKeyInConfigFileIsNamedWithTheFile) {
  TempDir dir("vgrow-cli");
  const auto file = dir.path() / "bad.toml";
  std::ofstream(file) << "[flow]\nstep_size = 0.5\n";
  const auto r = run_cli("train " + file.string() + " --dry-run");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("flow.step_size"));
  EXPECT_THAT(r.output, HasSubstr("bad.toml"));
}

TEST(CliErrors, NegativeStepSizeIsRefused) {
  const auto r = run_cli("train toy-8gaussians flow.eta=-0.5 --dry-run");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("flow.eta"));
  EXPECT_THAT(r.output, HasSubstr("-0.5"));
}

TEST(CliErrors, MissingCsvFileIsNamed) {
  TempDir dir("vgrow-cli");
  const auto r = run_cli("train toy-8gaussians data.dataset=csv data.path=/nonexistent/points.csv run.out_dir=" + dir.str());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("/nonexistent/points.csv"));
}

TEST(CliErrors, NonNumericCsvCellNamesTheLine) {
  TempDir dir("vgrow-cli");
  const auto file = dir.path() / "points.csv";
  std::ofstream(file) << "x,y\n1.0,2.0\n3.0,oops\n";
  const auto r = run_cli("train toy-8gaussians data.dataset=csv data.path=" + file.string() +
                         " run.out_dir=" + dir.str() + "/runs");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("line 3"));
  EXPECT_THAT(r.output, HasSubstr("oops"));
}

TEST(CliErrors, ImpossibleCombinationIsNamed) {
  const auto r = run_cli("train toy-8gaussians model.arch=resnet --dry-run");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("model.arch"));
}

TEST(CliErrors, DryRunPrintsResolvedConfig) {
  const auto r = run_cli("train toy-8gaussians flow.divergence=js --dry-run");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("divergence = 'js'"));
  EXPECT_THAT(r.output, HasSubstr("target = '8gaussians'"));
}

// The default job scores while training with the shipped classifier; presets, 2-D data, a
// dataset with no classifier at hand and an explicit eval.metrics keep their own.
TEST(CliErrors, TheDefaultJobScoresWhileTrainingWhenItCan) {
  const std::string scores = "metrics = [ 'fid', 'kid', 'is', 'precision', 'recall' ]";
  EXPECT_THAT(run_cli("train --dry-run").output, HasSubstr(scores));
  EXPECT_THAT(run_cli("train flow.divergence=js --dry-run").output, HasSubstr(scores));
  for (const auto* args : {"toy-8gaussians", "data.dataset=toy model.arch=mlp flow.clamp=false",
                           "data.dataset=cifar10 data.path=/nowhere", "eval.metrics=[]"}) {
    const auto r = run_cli(std::string("train ") + args + " --dry-run");
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("metrics = []")) << args;
  }
  EXPECT_THAT(run_cli("train eval.metrics=fid --dry-run").output, HasSubstr("metrics = [ 'fid' ]"));
}

}  // namespace

namespace {

TEST(CliBench, ReportsMedianSecondsPerLoopAsJson) {
  const auto r = run_cli("bench toy-8gaussians run.threads=1 --loops 3 --warmup 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("loop 3/3"));
  EXPECT_THAT(r.output, HasSubstr("\"seconds_per_loop\":"));
  EXPECT_THAT(r.output, HasSubstr("\"pool\":1024"));
  EXPECT_THAT(r.output, HasSubstr("\"gflop_per_second\":"));
  // The toy MLP G (8 -> 256 -> 256 -> 2): 2 x (8*256 + 256*256 + 256*2) FLOPs per sample.
  EXPECT_THAT(r.output, HasSubstr("\"g_forward_mflop\":0.1362"));
}

double json_number(const std::string& text, const std::string& key) {
  std::smatch m;
  const std::regex re("\"" + key + "\":([-0-9.eE+]+)");
  return std::regex_search(text, m, re) ? std::stod(m[1]) : -1.0;
}

// The arithmetic rate as a share of the peak measured on the spot, and the operator profile.
TEST(CliBench, ReportsTheShareOfTheMeasuredPeakAndTheOperatorsThatTookTheTime) {
  const auto r = run_cli("bench run.threads=1 data.limit=256 model.g_width=8 model.d_width=8 "
                         "--loops 2 --warmup 1 --profile 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double peak = json_number(r.output, "peak_gflop_per_second");
  const double rate = json_number(r.output, "gflop_per_second");
  const double share = json_number(r.output, "share_of_peak");
  EXPECT_GT(peak, 1.0) << r.output;  // any CPU does a GFLOP/s in a 2048^3 product
  EXPECT_GT(rate, 0.0) << r.output;
  EXPECT_NEAR(share, rate / peak, 0.01 * share + 1e-4) << r.output;
  EXPECT_LT(share, 1.0) << "a width-8 loop faster than a large GEMM: " << r.output;
  EXPECT_THAT(r.output, HasSubstr("% of the measured peak"));
  // The profile: a header, five operator rows named by ATen, the total.
  EXPECT_THAT(r.output, HasSubstr("operators over the 2 timed loops"));
  EXPECT_THAT(r.output, HasSubstr("aten::convolution"));
  EXPECT_THAT(r.output, HasSubstr("all operators"));
}

}  // namespace

namespace {

// Non-finite numbers stop the run at the loop they appear in, naming what went wrong.
TEST(CliErrors, DivergingTrainingStopsWithAMessage) {
  TempDir dir("vgrow-nan");
  const auto r = run_cli("train toy-8gaussians --quiet run.threads=1 run.loops=5 flow.eta=1e38 "
                         "flow.divergence=kl run.out_dir=" + dir.str());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("training diverged at outer loop"));
  EXPECT_THAT(r.output, HasSubstr("no checkpoint was written yet"));
}

}  // namespace
