// The training run in-process, part by part: the loop records and their log, the stop
// request, resume, the checkpoint policy and the divergence recovery.
#include <filesystem>
#include <functional>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "config_helpers.h"
#include "cli_helpers.h"
#include "test_helpers.h"
#include "vgrow/run/checkpoint.h"
#include "vgrow/run/checkpoint_policy.h"
#include "vgrow/run/divergence_recovery.h"
#include "vgrow/run/experiment.h"
#include "vgrow/run/loop_record.h"
#include "vgrow/run/run_reporter.h"
#include "vgrow/run/training_run.h"

namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using vgrow::testing::error_of;
using vgrow::testing::file_contents;
using vgrow::testing::only_run;
using vgrow::testing::TempDir;

// A few milliseconds a loop: 2-D toy data, small MLPs, one 64-particle batch.
vgrow::Config tiny_config(const fs::path& out_dir) {
  auto c = vgrow::testing::tiny_toy_config();
  c.run.out_dir = out_dir.string();
  c.run.loops = 3;
  c.run.minutes = 0;
  c.run.log_every = 2;
  c.run.sample_every = 1000;
  c.run.checkpoint_every = 2;
  c.flow.eta = 0.5;
  c.flow.particle_steps = 2;
  c.projection.passes = 1;
  c.optim.lr_g = c.optim.lr_d = 1e-3;
  return c;
}

struct Recording : vgrow::RunReporter {
  std::vector<vgrow::RunStart> starts;
  std::vector<vgrow::LoopRecord> records;
  std::vector<int64_t> loops_done;
  std::vector<bool> last, log_due;
  std::vector<vgrow::Rollback> rollbacks;
  std::vector<vgrow::TrainingRunResult> stops;
  std::function<void(const vgrow::TrainingRunResult&)> on_stop;

  void run_started(const vgrow::RunStart& s) override { starts.push_back(s); }
  void loop_finished(const vgrow::LoopRecord& r, const vgrow::LoopProgress& p) override {
    records.push_back(r);
    loops_done.push_back(p.loops_done);
    last.push_back(p.last);
    log_due.push_back(p.log_due);
  }
  void rolled_back(const vgrow::Rollback& r) override { rollbacks.push_back(r); }
  void stopped(const vgrow::TrainingRunResult& r) override {
    stops.push_back(r);
    if (on_stop) on_stop(r);
  }
};

vgrow::TrainingRunResult train(const vgrow::Config& config, Recording& reporter,
                               const fs::path& resume_dir = {}) {
  vgrow::TrainingRunOptions options;
  options.reporter = &reporter;
  options.resume_dir = resume_dir;
  return vgrow::run_training(config, options);
}

std::vector<std::string> checkpoint_names(const fs::path& run) {
  std::vector<std::string> names;
  for (const auto& f : vgrow::io::list_checkpoints(run)) names.push_back(f.filename().string());
  return names;
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::istringstream in(file_contents(file));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// G's and D's weights and the random state a checkpoint holds, as a trainer loads them.
std::vector<torch::Tensor> trained_state(const vgrow::Config& config, const fs::path& file) {
  auto trainer = vgrow::make_trainer(config);
  vgrow::io::load_checkpoint(file, *trainer);
  std::vector<torch::Tensor> out;
  for (auto& p : trainer->generator().ptr()->parameters()) out.push_back(p.detach().clone());
  for (auto& p : trainer->discriminator().ptr()->parameters()) out.push_back(p.detach().clone());
  if (auto* average = trainer->generator_average()) {
    for (auto& p : average->module().ptr()->parameters()) out.push_back(p.detach().clone());
  }
  out.push_back(at::detail::getDefaultCPUGenerator().get_state());
  return out;
}

// The generator EMA is saved and restored exactly: a resumed run ends with the same average
// as one that never stopped, and the average is not G itself.
TEST(TrainingRun, ResumeWithAGeneratorEmaIsBitIdentical) {
  TempDir dir("vgrow-run-ema");
  auto config = tiny_config(dir.path() / "whole");
  config.model.ema_decay = 0.9;
  config.run.loops = 4;
  Recording whole;
  const auto uninterrupted = train(config, whole).run_dir;
  auto first = config;
  first.run.out_dir = (dir.path() / "split").string();
  first.run.loops = 2;
  Recording part1, part2;
  const auto run = train(first, part1).run_dir;
  auto rest = first;
  rest.run.loops = 4;
  train(rest, part2, run);
  const auto a = trained_state(config, uninterrupted / "checkpoint-000004.pt");
  const auto b = trained_state(config, run / "checkpoint-000004.pt");
  auto trainer = vgrow::make_trainer(config);
  const auto g_tensors = trainer->generator().ptr()->parameters().size();
  const auto d_tensors = trainer->discriminator().ptr()->parameters().size();
  ASSERT_EQ(a.size(), 2 * g_tensors + d_tensors + 1);  // G, D, G's average, random state
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "tensor " << i;
  EXPECT_FALSE(torch::equal(a[0], a[g_tensors + d_tensors]));  // the average lags G
}

TEST(TrainingRun, ReportsAndLogsOneRecordPerLoop) {
  TempDir dir("vgrow-run");
  Recording reporter;
  const auto result = train(tiny_config(dir.path()), reporter);
  const auto run = only_run(dir.path());
  EXPECT_EQ(result.run_dir, run);
  EXPECT_EQ(result.loops_done, 3);
  EXPECT_EQ(result.stop_reason, "loops");
  ASSERT_EQ(reporter.starts.size(), 1u);
  EXPECT_EQ(reporter.starts[0].run_dir, run);
  EXPECT_TRUE(reporter.starts[0].resumed_from.empty());
  EXPECT_EQ(reporter.starts[0].first_loop, 0);
  EXPECT_EQ(reporter.starts[0].pool_size, 64);
  ASSERT_EQ(reporter.records.size(), 3u);
  for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(reporter.records[i].loop, i);
  EXPECT_THAT(reporter.loops_done, ElementsAre(1, 2, 3));
  EXPECT_THAT(reporter.last, ElementsAre(false, false, true));
  EXPECT_THAT(reporter.log_due, ElementsAre(false, true, true));  // log_every 2, and the last
  ASSERT_EQ(reporter.stops.size(), 1u);
  // stats.csv: a header in stats_row's order, then one row per loop.
  const auto csv = lines_of(run / "stats.csv");
  ASSERT_EQ(csv.size(), 4u);
  std::string header;
  for (const auto& [name, value] : vgrow::stats_row(reporter.records[0])) {
    header += (header.empty() ? "" : ",") + name;
  }
  EXPECT_EQ(csv[0], header);
  EXPECT_EQ(lines_of(run / "stats.jsonl").size(), 3u);
  EXPECT_THAT(checkpoint_names(run), ElementsAre("checkpoint-000002.pt", "checkpoint-000003.pt"));
  EXPECT_TRUE(fs::exists(run / "config.toml"));
  EXPECT_TRUE(fs::exists(run / "target.csv"));
  EXPECT_TRUE(fs::exists(run / "samples-000003.csv"));  // the last loop always writes samples
}

TEST(TrainingRun, AStopRequestEndsTheRunAfterItsLoopWithACheckpoint) {
  TempDir dir("vgrow-run");
  auto config = tiny_config(dir.path());
  config.run.loops = 100;
  config.run.checkpoint_every = 1000;
  Recording reporter;
  std::vector<std::string> checkpoints_when_stopped;
  reporter.on_stop = [&](const vgrow::TrainingRunResult& r) {
    checkpoints_when_stopped = checkpoint_names(r.run_dir);
  };
  int polls = 0;
  vgrow::TrainingRunOptions options;
  options.reporter = &reporter;
  options.stop_requested = [&] { return ++polls >= 2; };
  const auto result = vgrow::run_training(config, options);
  EXPECT_EQ(result.stop_reason, "interrupted");
  EXPECT_EQ(result.loops_done, 2);
  EXPECT_EQ(reporter.records.size(), 2u);
  EXPECT_THAT(reporter.last, ElementsAre(false, true));
  // Written before the stop is reported.
  EXPECT_THAT(checkpoints_when_stopped, ElementsAre("checkpoint-000002.pt"));
}

TEST(TrainingRun, ResumeContinuesAtTheNextLoopBitIdentically) {
  TempDir dir("vgrow-run");
  auto config = tiny_config(dir.path() / "whole");
  config.run.loops = 4;
  Recording whole;
  const auto uninterrupted = train(config, whole).run_dir;

  auto first = tiny_config(dir.path() / "split");
  first.run.loops = 2;
  Recording part1;
  const auto run = train(first, part1).run_dir;
  auto rest = first;
  rest.run.loops = 4;
  Recording part2;
  const auto result = train(rest, part2, run);
  EXPECT_EQ(result.run_dir, run);
  EXPECT_EQ(result.loops_done, 4);
  ASSERT_EQ(part2.starts.size(), 1u);
  EXPECT_EQ(part2.starts[0].resumed_from.filename(), "checkpoint-000002.pt");
  EXPECT_EQ(part2.starts[0].first_loop, 2);
  ASSERT_EQ(part2.records.size(), 2u);
  EXPECT_EQ(part2.records[0].loop, 2);
  EXPECT_EQ(part2.records[1].loop, 3);
  EXPECT_EQ(lines_of(run / "stats.csv").size(), 5u);  // one header, one row per loop

  // The logged numbers too, up to the timings (column 10 on).
  const auto untimed = [](const std::string& line) {
    size_t end = 0;
    for (int i = 0; i < 9; ++i) end = line.find(',', end) + 1;
    return line.substr(0, end);
  };
  const auto whole_csv = lines_of(uninterrupted / "stats.csv");
  const auto split_csv = lines_of(run / "stats.csv");
  ASSERT_EQ(whole_csv.size(), split_csv.size());
  for (size_t i = 0; i < whole_csv.size(); ++i) {
    EXPECT_EQ(untimed(whole_csv[i]), untimed(split_csv[i])) << "stats.csv line " << i;
  }
  const auto a = trained_state(config, uninterrupted / "checkpoint-000004.pt");
  const auto b = trained_state(config, run / "checkpoint-000004.pt");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "tensor " << i;
}

TEST(TrainingRun, ResumeRefusesAChangedAlgorithm) {
  TempDir dir("vgrow-run");
  auto config = tiny_config(dir.path());
  config.run.loops = 2;
  Recording reporter;
  const auto run = train(config, reporter).run_dir;
  config.run.loops = 4;
  config.flow.divergence = "js";
  const auto message = error_of([&] { train(config, reporter, run); });
  EXPECT_THAT(message, HasSubstr("cannot resume"));
  EXPECT_THAT(message, HasSubstr("flow.divergence"));
  EXPECT_THAT(checkpoint_names(run), ElementsAre("checkpoint-000002.pt"));
}

TEST(TrainingRun, RefusesAnInvalidConfigBeforeWritingAnything) {
  TempDir dir("vgrow-run");
  auto config = tiny_config(dir.path() / "runs");
  config.flow.eta = -1;
  Recording reporter;
  EXPECT_THAT(error_of([&] { train(config, reporter); }), HasSubstr("flow.eta"));
  EXPECT_FALSE(fs::exists(dir.path() / "runs"));
  EXPECT_TRUE(reporter.starts.empty());
}

TEST(TrainingRun, DivergenceRollsBackAndContinuesWithASmallerStep) {
  TempDir dir("vgrow-run");
  auto config = tiny_config(dir.path());
  config.run.loops = 2;
  Recording first;
  const auto run = train(config, first).run_dir;
  // A step of 1e300 sends the particles to infinity in the first flow step of loop 2.
  config.run.loops = 4;
  config.flow.eta = 1e300;
  config.run.on_divergence = "rollback";
  config.run.rollback_factor = 1e-300;
  Recording reporter;
  const auto result = train(config, reporter, run);
  EXPECT_EQ(result.loops_done, 4);
  ASSERT_EQ(reporter.rollbacks.size(), 1u);
  const auto& r = reporter.rollbacks[0];
  EXPECT_EQ(r.checkpoint.filename(), "checkpoint-000002.pt");
  EXPECT_EQ(r.loop, 2);
  EXPECT_EQ(r.eta_before, 1e300);
  EXPECT_NEAR(r.eta_after, 1.0, 1e-9);
  EXPECT_EQ(r.number, 1);
  EXPECT_THAT(r.message, HasSubstr("training diverged at outer loop 2"));
  EXPECT_THAT(r.message, HasSubstr("rolled back to checkpoint-000002.pt (loop 2)"));
  EXPECT_THAT(file_contents(run / "events.log"), HasSubstr(r.message));
  ASSERT_EQ(reporter.records.size(), 2u);  // the diverged attempt is not a record
  EXPECT_EQ(reporter.records[0].loop, 2);
  vgrow::Config stored;
  vgrow::apply_toml(stored, file_contents(run / "config.toml"), "config.toml");
  EXPECT_NEAR(stored.flow.eta, 1.0, 1e-9);
  // The checkpoints written after the rollback carry the smaller step too.
  vgrow::Config in_checkpoint;
  vgrow::apply_toml(in_checkpoint, vgrow::io::checkpoint_config(run / "checkpoint-000004.pt"),
                    "checkpoint");
  EXPECT_NEAR(in_checkpoint.flow.eta, 1.0, 1e-9);
}

TEST(TrainingRun, DivergenceWithoutRollbackStopsWithTheLastGoodCheckpoint) {
  TempDir dir("vgrow-run");
  auto config = tiny_config(dir.path());
  config.run.loops = 2;
  Recording first;
  const auto run = train(config, first).run_dir;
  config.run.loops = 4;
  config.flow.eta = 1e300;
  Recording reporter;
  try {
    train(config, reporter, run);
    FAIL() << "a diverging run went on";
  } catch (const vgrow::RunDiverged& e) {
    EXPECT_EQ(e.loop, 2);
    EXPECT_THAT(e.what(), HasSubstr("training diverged at outer loop 2"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("vgrow train")));  // the CLI words advice
    EXPECT_EQ(e.run_dir, run);
    EXPECT_EQ(e.last_checkpoint.filename(), "checkpoint-000002.pt");
    EXPECT_EQ(e.suggested_eta, 0.5e300);
    EXPECT_FALSE(e.rollback_enabled);
    EXPECT_EQ(e.rollbacks, 0);
  }
  EXPECT_TRUE(reporter.stops.empty());
  EXPECT_THAT(checkpoint_names(run), ElementsAre("checkpoint-000002.pt"));
  EXPECT_THAT(file_contents(run / "events.log"), HasSubstr("; stopped"));
}

TEST(CheckpointPolicy, DueEveryIntervalAndAtTheLastLoop) {
  const vgrow::CheckpointPolicy policy("unused", 3, 2);
  EXPECT_FALSE(policy.due(1, false));
  EXPECT_TRUE(policy.due(3, false));
  EXPECT_FALSE(policy.due(4, false));
  EXPECT_TRUE(policy.due(4, true));
  EXPECT_TRUE(policy.due(6, false));
  EXPECT_THAT(error_of([] { vgrow::CheckpointPolicy("unused", 0, 2); }), HasSubstr("interval"));
  EXPECT_THAT(error_of([] { vgrow::CheckpointPolicy("unused", 1, 0); }), HasSubstr("keep"));
}

TEST(CheckpointPolicy, KeepsTheNewestAndRecordsTheBest) {
  TempDir dir("vgrow-policy");
  const auto config = tiny_config(dir.path());
  auto trainer = vgrow::make_trainer(config);
  const auto text = vgrow::to_toml(config);
  const vgrow::CheckpointPolicy policy(dir.path(), 1, 2);
  for (int i = 0; i < 3; ++i) {
    trainer->run_loop();
    EXPECT_EQ(policy.save(*trainer, text).filename(),
              "checkpoint-00000" + std::to_string(i + 1) + ".pt");
  }
  EXPECT_THAT(checkpoint_names(dir.path()),
              ElementsAre("checkpoint-000002.pt", "checkpoint-000003.pt"));
  policy.save_best(*trainer, text, vgrow::BestScore{"fid", 12.5, 3});
  EXPECT_EQ(vgrow::io::checkpoint_config(dir.path() / "best.pt"), text);
  const auto best = vgrow::BestScore::load(dir.path() / "best.toml", "fid");
  EXPECT_EQ(best.value, 12.5);
  EXPECT_EQ(best.loop, 3);
  // best.pt is outside the rotation.
  EXPECT_EQ(vgrow::io::list_checkpoints(dir.path()).size(), 2u);
}

TEST(DivergenceRecovery, RollsBackUpToTheLimitThenStops) {
  TempDir dir("vgrow-recovery");
  auto config = tiny_config(dir.path());
  config.run.on_divergence = "rollback";
  config.run.rollback_factor = 0.25;
  config.run.max_rollbacks = 1;
  auto trainer = vgrow::make_trainer(config);
  auto text = vgrow::to_toml(config);
  trainer->run_loop();
  trainer->run_loop();
  vgrow::io::save_checkpoint(dir.path(), *trainer, text, 3);
  trainer->run_loop();
  vgrow::DivergenceRecovery recovery(dir.path(), true, 1);
  const vgrow::TrainingDiverged boom(3, "the particle pool", "boom");
  const auto r = recovery.recover(boom, config, text, *trainer);
  EXPECT_EQ(r.loop, 2);
  EXPECT_EQ(trainer->loop(), 2);
  EXPECT_EQ(r.eta_before, 0.5);
  EXPECT_EQ(r.eta_after, 0.125);
  EXPECT_EQ(config.flow.eta, 0.125);
  EXPECT_EQ(trainer->options().flow.eta(), 0.125);
  EXPECT_EQ(text, vgrow::to_toml(config));
  EXPECT_EQ(file_contents(dir.path() / "config.toml"), text);
  EXPECT_EQ(r.message,
            "boom; rolled back to checkpoint-000002.pt (loop 2) with flow.eta 0.5 -> 0.125 "
            "(rollback 1 of 1)");
  EXPECT_EQ(recovery.rollbacks(), 1);
  try {
    recovery.recover(boom, config, text, *trainer);
    FAIL() << "rolled back past run.max_rollbacks";
  } catch (const vgrow::RunDiverged& e) {
    EXPECT_STREQ(e.what(), "boom");
    EXPECT_EQ(e.where, "the particle pool");
    EXPECT_EQ(e.last_checkpoint.filename(), "checkpoint-000002.pt");
    EXPECT_EQ(e.suggested_eta, 0.125 * 0.25);
    EXPECT_TRUE(e.rollback_enabled);
    EXPECT_EQ(e.rollbacks, 1);
  }
  EXPECT_THAT(lines_of(dir.path() / "events.log"), ElementsAre(r.message, "boom; stopped"));
}

TEST(DivergenceRecovery, StopsWhenNoCheckpointWasWritten) {
  TempDir dir("vgrow-recovery");
  auto config = tiny_config(dir.path());
  config.run.on_divergence = "rollback";
  auto trainer = vgrow::make_trainer(config);
  auto text = vgrow::to_toml(config);
  vgrow::DivergenceRecovery recovery(dir.path(), true, 1);
  try {
    recovery.recover(vgrow::TrainingDiverged(0, "x", "boom"), config, text, *trainer);
    FAIL() << "rolled back to nothing";
  } catch (const vgrow::RunDiverged& e) {
    EXPECT_TRUE(e.last_checkpoint.empty());
    EXPECT_EQ(e.rollbacks, 0);
  }
  EXPECT_EQ(config.flow.eta, 0.5);  // untouched
}

TEST(DivergenceRecovery, NamesTheFirstNumberThatIsNotFinite) {
  vgrow::LoopStats stats;
  stats.loop = 7;
  EXPECT_NO_THROW(vgrow::check_finite(stats));
  stats.grad_norm = INFINITY;
  stats.projection_loss = NAN;
  try {
    vgrow::check_finite(stats);
    FAIL() << "an infinite |grad D| went unnoticed";
  } catch (const vgrow::TrainingDiverged& e) {
    EXPECT_EQ(e.loop, 7);
    EXPECT_EQ(e.where, "|grad D| on the particle pool");
    EXPECT_THAT(e.what(), HasSubstr("training diverged at outer loop 7"));
  }
}

TEST(LoopRecord, AddsTheRateAndKeepsTheLogColumnsInOrder) {
  vgrow::LoopStats stats;
  stats.loop = 4;
  stats.seconds = 0.5;
  stats.projection_passes = 3;
  const auto record = vgrow::make_loop_record(stats, 256);
  EXPECT_EQ(record.loop, 4);
  EXPECT_EQ(record.samples_per_second, 512.0);
  const auto row = vgrow::stats_row(record);
  std::vector<std::string> names;
  for (const auto& [name, value] : row) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("loop", "d_loss_real", "d_loss_particles", "grad_norm", "mean_d",
                                 "projection_loss", "projection_passes", "lr_g", "lr_d",
                                 "seconds", "seconds_d", "seconds_flow", "seconds_projection",
                                 "samples_per_second"));
  EXPECT_EQ(row.front().second, 4.0);
  EXPECT_EQ(row[6].second, 3.0);
  EXPECT_EQ(row.back().second, 512.0);
}

}  // namespace
