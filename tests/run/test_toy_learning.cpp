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

// A divergence and a seed.
class ToyLearning : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

// Every divergence, on two seeds, covers all 8 modes (each 5-20 % of 5000 samples, within
// 3 sigma), puts at least 85 % of its samples within 3 sigma of a mode, and lands within
// energy distance 0.1 of the target (two independent 5000-point draws of the target are ~0.001
// apart; a generator stuck at the centre scores ~9). Before relative flow weights, reverse KL
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
  EXPECT_LT(json_number(eval.output, "energy_distance"), 0.1) << eval.output;
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
                         [](const auto& info) {
                           auto name = std::get<0>(info.param);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name + "_seed" + std::to_string(std::get<1>(info.param));
                         });

}  // namespace
