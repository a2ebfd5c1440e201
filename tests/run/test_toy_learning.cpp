// End to end, as a user runs it: `vgrow train toy-8gaussians`, then `vgrow eval`.
#include <algorithm>
#include <regex>
#include <tuple>

#include <gtest/gtest.h>

#include "cli_helpers.h"

namespace {

using vgrow::testing::run_cli;
using vgrow::testing::TempDir;

double json_number(const std::string& json, const std::string& key) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(json, m, std::regex("\"" + key + "\":([-0-9.eE+]+)"))) << key << " in " << json;
  return m.empty() ? -1.0 : std::stod(m[1]);
}

std::vector<double> json_array(const std::string& json, const std::string& key) {
  std::smatch m;
  std::vector<double> out;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\":\\[([^\\]]*)\\]"))) return out;
  std::stringstream ss(m[1]);
  std::string cell;
  while (std::getline(ss, cell, ',')) out.push_back(std::stod(cell));
  return out;
}

// "reverse_kl_seed1": test names for a (method, seed) parameter.
std::string name_and_seed(const ::testing::TestParamInfo<std::tuple<std::string, int>>& info) {
  auto name = std::get<0>(info.param);
  std::replace(name.begin(), name.end(), '-', '_');
  return name + "_seed" + std::to_string(std::get<1>(info.param));
}

// A divergence and a seed.
class ToyLearning : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

// Every divergence, on two seeds, covers all 8 modes (each 5-20 % of 5000 samples, within
// 3 sigma), puts at least 85 % of its samples within 3 sigma of a mode, and lands within
// energy distance 0.15 of the target (two independent 5000-point draws of the target are
// ~0.001 apart; a generator stuck at the centre scores ~9). Before relative flow weights, reverse KL
// covered 3 modes and Hellinger on seed 1 none (docs/divergences.md).
TEST_P(ToyLearning, EightGaussiansCoversEveryMode) {
  const auto& [divergence, seed] = GetParam();
  TempDir dir("vgrow-toy");
  const auto train = run_cli("train toy-8gaussians --quiet run.threads=1 flow.divergence=" +
                             divergence + " run.seed=" + std::to_string(seed) +
                             " run.out_dir=" + dir.str());
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const auto run = vgrow::testing::only_run(dir.path());
  const auto eval = run_cli("eval " + run.string() + " -n 5000");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  std::cout << divergence << " seed " << seed << ": " << eval.output;
  EXPECT_EQ(json_number(eval.output, "modes_covered"), 8) << eval.output;
  const auto fractions = json_array(eval.output, "mode_fractions");
  ASSERT_EQ(fractions.size(), 8u) << eval.output;
  for (double f : fractions) {
    EXPECT_GE(f, 0.05) << eval.output;
    EXPECT_LE(f, 0.20) << eval.output;
  }
  EXPECT_LE(json_number(eval.output, "off_mode"), 0.15) << eval.output;
  // Issue 15's bar is 0.1, and all 21 runs of docs/divergences.md (seeds 0-2) measured 0.05
  // or less. A run's numbers change with float rounding (another CPU, another BLAS thread
  // count): with two OpenBLAS threads logD seed 0 measured 0.102. The test allows for that.
  EXPECT_LT(json_number(eval.output, "energy_distance"), 0.15) << eval.output;
  // What a user looks at: the scatter plot over the target, and the sample CSVs.
  EXPECT_TRUE(std::filesystem::exists(run / "samples-000300.csv"));
  EXPECT_TRUE(std::filesystem::exists(run / "particles-000300.csv"));
  EXPECT_TRUE(std::filesystem::exists(run / "config.toml"));
}

INSTANTIATE_TEST_SUITE_P(Divergences, ToyLearning,
                         ::testing::Combine(::testing::Values("kl", "js", "logd", "jeffreys",
                                                              "pearson", "reverse-kl",
                                                              "hellinger"),
                                            ::testing::Values(0, 1)),
                         name_and_seed);

// The GAN baselines, as a user runs them: the same preset with run.method = gan or gan-ns.
// They must learn (a generator stuck at the centre is ~9 from the target in energy distance),
// not match VGrow. Measured on seeds 0-2 (docs/divergences.md): the minimax GAN covered all 8
// modes within 0.04, the non-saturating one 5-6 modes at 0.17-0.21; the bound is at least 4
// modes and below 0.5.
class GanBaselines : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(GanBaselines, LearnEightGaussians) {
  const auto& [method, seed] = GetParam();
  TempDir dir("vgrow-gan");
  const auto train = run_cli("train toy-8gaussians --quiet run.threads=1 run.method=" + method +
                             " run.seed=" + std::to_string(seed) + " run.out_dir=" + dir.str());
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const auto run = vgrow::testing::only_run(dir.path());
  EXPECT_NE(run.filename().string().find("8gaussians-" + method), std::string::npos) << run;
  const auto eval = run_cli("eval " + run.string() + " -n 5000");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  std::cout << method << " seed " << seed << ": " << eval.output;
  EXPECT_GE(json_number(eval.output, "modes_covered"), 4) << eval.output;
  EXPECT_LT(json_number(eval.output, "energy_distance"), 0.5) << eval.output;
}

INSTANTIATE_TEST_SUITE_P(Methods, GanBaselines,
                         ::testing::Combine(::testing::Values("gan", "gan-ns"),
                                            ::testing::Values(0, 1)),
                         name_and_seed);

}  // namespace
