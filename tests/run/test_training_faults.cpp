// NaN/Inf in training: checked after every step, read at the end of the loop (one host read
// per loop), named by the step it appeared in, the last good checkpoint kept;
// --resume with a smaller step works, and run.on_divergence = "rollback" does it by itself.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cli_helpers.h"
#include "test_helpers.h"
#include "vgrow/run/config.h"
#include "vgrow/run/experiment.h"
#include "vgrow/run/checkpoint.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vgrow::testing::only_run;
using vgrow::testing::run_cli;
using vgrow::testing::TempDir;

std::string read_file(const fs::path& p) { return vgrow::testing::file_contents(p); }

const char* kToy =
    "train toy-8gaussians --quiet flow.particle_steps=2 flow.d_steps=1 flow.pool_batches=2 "
    "run.checkpoint_every=2";

TEST(TrainingFaults, NonFiniteParticlesStopTheRunAndKeepTheLastCheckpoint) {
  TempDir dir("vgrow-nan");
  auto r = run_cli(std::string(kToy) + " run.loops=4 run.out_dir=" + dir.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = only_run(dir.path());
  const auto before = read_file(run / "checkpoint-000004.pt");
  ASSERT_FALSE(before.empty());
  // A step of 1e300 sends the particles to infinity in the first flow step.
  r = run_cli("train --resume " + run.string() + " --quiet run.loops=8 flow.eta=1e300");
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("training diverged at outer loop 4"));
  EXPECT_THAT(r.output, HasSubstr("the particle pool at flow step 1"));
  EXPECT_THAT(r.output, HasSubstr("checkpoint-000004.pt"));
  const auto checkpoints = vgrow::io::list_checkpoints(run);
  ASSERT_FALSE(checkpoints.empty());
  EXPECT_EQ(checkpoints.back().filename(), "checkpoint-000004.pt");
  EXPECT_EQ(read_file(checkpoints.back()), before);  // untouched
  // Resuming from it with a sane step works.
  r = run_cli("train --resume " + run.string() + " --quiet run.loops=6 flow.eta=0.5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(vgrow::io::list_checkpoints(run).back().filename(), "checkpoint-000006.pt");
}

TEST(TrainingFaults, RollbackContinuesWithASmallerStepAndSaysSo) {
  TempDir dir("vgrow-nan");
  auto r = run_cli(std::string(kToy) + " run.loops=2 run.out_dir=" + dir.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = only_run(dir.path());
  r = run_cli("train --resume " + run.string() +
              " --quiet run.loops=4 flow.eta=1e300 run.on_divergence=rollback "
              "run.rollback_factor=1e-300");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("rolled back to checkpoint-000002.pt"));
  EXPECT_THAT(read_file(run / "events.log"), HasSubstr("rolled back"));
  EXPECT_EQ(vgrow::io::list_checkpoints(run).back().filename(), "checkpoint-000004.pt");
  vgrow::Config stored;
  vgrow::apply_toml(stored, read_file(run / "config.toml"), "config.toml");
  EXPECT_NEAR(stored.flow.eta, 1.0, 1e-9);
}

TEST(TrainingFaults, RollbackGivesUpAfterMaxRollbacks) {
  TempDir dir("vgrow-nan");
  auto r = run_cli(std::string(kToy) + " run.loops=2 run.out_dir=" + dir.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = only_run(dir.path());
  // Halving 1e300 twice still diverges: two rollbacks, then a stop naming them.
  r = run_cli("train --resume " + run.string() +
              " --quiet run.loops=4 flow.eta=1e300 run.on_divergence=rollback run.max_rollbacks=2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("2 rollback(s) already made"));
}

TEST(TrainingFaults, APoisonedWeightIsCaughtInTheFirstStep) {
  vgrow::Config config;
  vgrow::apply_toml_file(config, std::string(VGROW_SOURCE_DIR) + "/configs/toy-8gaussians.toml");
  config.run.threads = 1;
  auto trainer = vgrow::make_trainer(config);
  {
    torch::NoGradGuard no_grad;
    trainer->discriminator().ptr()->parameters().front().fill_(NAN);
  }
  try {
    trainer->run_loop();
    FAIL() << "a NaN weight went unnoticed";
  } catch (const vgrow::TrainingDiverged& e) {
    EXPECT_EQ(e.loop, 0);
    EXPECT_THAT(e.what(), HasSubstr("at flow step 1"));
  }
}

}  // namespace
