#pragma once
// A whole training run as `vgrow train` performs it: run folder, outer loops, progress,
// metrics log, samples and plots, checkpoints, resume and clean interruption.

#include <filesystem>
#include <functional>
#include <string>

#include "vgrow/config.h"
#include "vgrow/trainer.h"

namespace vgrow {

struct TrainingRunOptions {
  std::filesystem::path resume_dir;  // continue this run folder from its newest checkpoint
  bool quiet = false;                // no progress lines on stdout
};

struct TrainingRunResult {
  std::filesystem::path run_dir;
  int64_t loops_done = 0;  // loop counter at the end (across resumes)
  std::string stop_reason;  // "loops", "time", "interrupted"
};

// Keys that may change between a checkpoint and the run that resumes it.
bool resumable_key(const std::string& key);

TrainingRunResult run_training(const Config& config, const TrainingRunOptions& options = {});

// Installs SIGINT/SIGTERM handlers that ask the running loop to checkpoint and stop.
void install_stop_handlers();
bool stop_requested();

}  // namespace vgrow
