#pragma once
// What a training run tells the person watching it. The library calls a RunReporter on rank 0
// and prints nothing itself; the CLI's console reporter words the lines.

#include <filesystem>
#include <string>

#include "vgrow/io/progress.h"
#include "vgrow/run/divergence_recovery.h"
#include "vgrow/run/evaluator.h"
#include "vgrow/run/loop_record.h"
#include "vgrow/run/training_run.h"

namespace vgrow {

// Where the run starts and what it trains.
struct RunStart {
  std::filesystem::path run_dir;
  std::filesystem::path resumed_from;  // the checkpoint continued; empty for a fresh run
  int64_t first_loop = 0;              // the loop counter at the start
  std::string data;                    // the data source, described
  std::string divergence;
  int64_t pool_size = 0;
  int64_t threads = 0;
  std::string device;
  std::string precision;  // fp32, bf16 or fp16
  bool loss_scaling = false;
  std::string distributed;  // the job, when it has more than one rank; else empty
};

// Where a loop leaves the run.
struct LoopProgress {
  int64_t loops_done = 0;  // the loop counter after the loop
  bool last = false;       // the run stops after this loop
  bool log_due = false;    // run.log_every, or the last loop: a progress line is due
  const io::ProgressMeter& meter;
};

class RunReporter {
 public:
  virtual ~RunReporter() = default;
  // After the run folder is ready and a resumed run has loaded its checkpoint.
  virtual void run_started(const RunStart&) {}
  // With eval.metrics, once the scoring is set up: how the scores are computed.
  virtual void scoring_ready(const std::string& /*description*/) {}
  virtual void loop_finished(const LoopRecord&, const LoopProgress&) {}
  // After the scores are logged and best.pt is written (when `new_best`).
  virtual void evaluated(const EvalResult&) {}
  virtual void rolled_back(const Rollback&) {}
  // After the last checkpoint is written.
  virtual void stopped(const TrainingRunResult&) {}
};

}  // namespace vgrow
