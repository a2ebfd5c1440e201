#pragma once
// A whole training run as `vgrow train` performs it: run folder, outer loops, metrics log,
// samples and plots, in-training scores, checkpoints, divergence recovery, resume and a clean
// stop on request. The parts live in their own headers (loop_record.h, run_reporter.h,
// evaluator.h, checkpoint_policy.h, divergence_recovery.h, run_outputs.h); this wires them.

#include <filesystem>
#include <functional>
#include <string>

#include "vgrow/run/config.h"

namespace vgrow {

class RunReporter;

struct TrainingRunOptions {
  std::filesystem::path resume_dir;  // continue this run folder from its newest checkpoint
  RunReporter* reporter = nullptr;   // told of progress on rank 0; null: nobody watches
  // Polled after every outer loop (on every rank): true stops the run after that loop, with
  // a checkpoint.
  std::function<bool()> stop_requested;
  // How the run was started (e.g. "vgrow train flow.divergence=js"), appended with the time
  // and the loop to commands.log in the run folder; empty: nothing recorded.
  std::string command;
};

struct TrainingRunResult {
  std::filesystem::path run_dir;
  int64_t loops_done = 0;  // loop counter at the end (across resumes)
  std::string stop_reason;  // "loops", "time", "interrupted"
};

// Validates `config` first. Throws RunDiverged (divergence_recovery.h) when training diverged
// and run.on_divergence could not recover.
TrainingRunResult run_training(const Config& config, const TrainingRunOptions& options = {});

}  // namespace vgrow
