// What a 2-D run folder shows: the target once, then samples, particles and curves after
// the loops run.sample_every picks, from fixed latents that leave training's random stream
// alone.
#include <filesystem>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "config_helpers.h"
#include "cli_helpers.h"
#include "test_helpers.h"
#include "vgrow/io/plots.h"
#include "vgrow/io/run_folder.h"
#include "vgrow/run/experiment.h"
#include "vgrow/run/loop_record.h"
#include "vgrow/run/run_outputs.h"

namespace {

namespace fs = std::filesystem;
using vgrow::testing::file_contents;
using vgrow::testing::TempDir;

vgrow::Config toy_config() {
  auto c = vgrow::testing::tiny_toy_config();
  c.run.sample_every = 3;
  return c;
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::istringstream in(file_contents(file));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(RunOutputs, A2DRunGetsItsTargetThenSamplesParticlesAndCurves) {
  TempDir dir("vgrow-outputs");
  const auto config = toy_config();
  auto trainer = vgrow::make_trainer(config);
  vgrow::RunOutputs outputs(config, dir.path(), *trainer);
  outputs.write_initial(*trainer);
  const auto target = lines_of(dir.path() / "target.csv");
  ASSERT_EQ(target.size(), 2001u);
  EXPECT_EQ(target[0], "x,y");
  EXPECT_FALSE(fs::exists(dir.path() / "reals.png"));

  vgrow::io::MetricsLog log(dir.path());
  log.write(vgrow::stats_row(vgrow::make_loop_record(trainer->run_loop(), trainer->pool_size())));
  outputs.write(*trainer, log.csv_path());
  const auto samples = lines_of(dir.path() / "samples-000001.csv");
  ASSERT_EQ(samples.size(), 2001u);  // 2000 fixed latents
  EXPECT_EQ(samples[0], "x,y");
  EXPECT_EQ(lines_of(dir.path() / "particles-000001.csv").size(), 65u);  // the pool
  if (vgrow::io::gnuplot_available()) {
    EXPECT_TRUE(fs::exists(dir.path() / "samples-000001.png"));
    EXPECT_TRUE(fs::exists(dir.path() / "curves.png"));
  }
}

TEST(RunOutputs, SamplesComeFromFixedLatentsAndLeaveTheRandomStreamAlone) {
  TempDir dir("vgrow-outputs");
  const auto config = toy_config();
  auto trainer = vgrow::make_trainer(config);
  trainer->run_loop();  // the pool exists after the first loop
  torch::manual_seed(5);
  const auto expected = torch::randn({8});
  torch::manual_seed(5);
  vgrow::RunOutputs outputs(config, dir.path(), *trainer);
  outputs.write_initial(*trainer);
  vgrow::io::MetricsLog log(dir.path());
  outputs.write(*trainer, log.csv_path());
  const auto first = file_contents(dir.path() / "samples-000001.csv");
  EXPECT_TRUE(torch::equal(torch::randn({8}), expected));
  // Another RunOutputs of the same config draws the same latents.
  TempDir other("vgrow-outputs");
  vgrow::RunOutputs again(config, other.path(), *trainer);
  again.write(*trainer, log.csv_path());
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(file_contents(other.path() / "samples-000001.csv"), first);
}

TEST(RunOutputs, DueEverySampleIntervalAndAtTheLastLoop) {
  TempDir dir("vgrow-outputs");
  const auto config = toy_config();
  auto trainer = vgrow::make_trainer(config);
  const vgrow::RunOutputs outputs(config, dir.path(), *trainer);
  EXPECT_FALSE(outputs.due(1, false));
  EXPECT_TRUE(outputs.due(3, false));
  EXPECT_FALSE(outputs.due(4, false));
  EXPECT_TRUE(outputs.due(4, true));
}

TEST(RunOutputs, PointsCsvNamesEveryColumn) {
  TempDir dir("vgrow-outputs");
  vgrow::write_points_csv(dir.path() / "p.csv", torch::tensor({{1.0, 2.0, 3.0}, {4.5, 5.0, 6.0}}));
  EXPECT_EQ(file_contents(dir.path() / "p.csv"), "x0,x1,x2\n1,2,3\n4.5,5,6\n");
  vgrow::write_points_csv(dir.path() / "q.csv", torch::tensor({{0.25, -1.0}}));
  EXPECT_EQ(file_contents(dir.path() / "q.csv"), "x,y\n0.25,-1\n");
}

}  // namespace
