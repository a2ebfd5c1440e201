#pragma once
// What a run does when training diverges (NaN/Inf): stop, keeping the last good checkpoint,
// or with run.on_divergence = "rollback" reload it and continue with a smaller flow.eta.

#include <filesystem>
#include <string>

#include "vgrow/core/trainer.h"
#include "vgrow/run/config.h"

namespace vgrow {

// Throws TrainingDiverged naming the first of a loop's numbers that is not finite.
void check_finite(const LoopStats& stats);

// The run stopped after TrainingDiverged; carries what the caller needs to advise a restart.
class RunDiverged : public TrainingDiverged {
 public:
  RunDiverged(const TrainingDiverged& cause, std::filesystem::path run_dir,
              std::filesystem::path last_checkpoint, double suggested_eta, bool rollback_enabled,
              int64_t rollbacks)
      : TrainingDiverged(cause),
        run_dir(std::move(run_dir)),
        last_checkpoint(std::move(last_checkpoint)),
        suggested_eta(suggested_eta),
        rollback_enabled(rollback_enabled),
        rollbacks(rollbacks) {}
  std::filesystem::path run_dir;
  std::filesystem::path last_checkpoint;  // empty: none was written yet
  double suggested_eta;                   // flow.eta * run.rollback_factor
  bool rollback_enabled;                  // run.on_divergence = "rollback"
  int64_t rollbacks;                      // made before giving up
};

// One rollback, as events.log records it.
struct Rollback {
  std::filesystem::path checkpoint;  // reloaded
  int64_t loop = 0;                  // the loop counter after reloading
  double eta_before = 0, eta_after = 0;
  int64_t number = 0, max = 0;  // rollback `number` of run.max_rollbacks
  std::string message;          // the events.log line
};

class DivergenceRecovery {
 public:
  // `main_rank` writes the run folder; a rollback needs a single process (`world` 1).
  DivergenceRecovery(std::filesystem::path run_dir, bool main_rank, int world);

  // After `diverged`: with run.on_divergence = "rollback", a checkpoint to return to and fewer
  // than run.max_rollbacks so far, reloads the newest checkpoint into `trainer`, multiplies
  // flow.eta by run.rollback_factor (in `config`, `config_toml`, config.toml and the trainer),
  // appends the rollback to events.log and returns it. Otherwise appends the stop to
  // events.log and throws RunDiverged.
  Rollback recover(const TrainingDiverged& diverged, Config& config, std::string& config_toml,
                   Trainer& trainer);
  int64_t rollbacks() const { return rollbacks_; }

 private:
  std::filesystem::path run_dir_;
  bool main_rank_;
  int world_;
  int64_t rollbacks_ = 0;
};

}  // namespace vgrow
