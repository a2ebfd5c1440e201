#pragma once
// When a run writes its checkpoints, how many it keeps, and how best.pt is recorded.

#include <filesystem>
#include <string>

#include "vgrow/core/trainer.h"
#include "vgrow/run/training_metrics.h"

namespace vgrow {

class CheckpointPolicy {
 public:
  // Every `every` loops and at the last loop into `run_dir`, keeping the newest `keep`.
  CheckpointPolicy(std::filesystem::path run_dir, int64_t every, int64_t keep);

  // After the loop that brought the counter to `loops_done`; `last`: the run stops after it.
  bool due(int64_t loops_done, bool last) const { return last || loops_done % every_ == 0; }
  // checkpoint-<loop>.pt, then the rotation; returns the file written.
  std::filesystem::path save(const Trainer& trainer, const std::string& config_toml) const;
  // best.pt, then best.toml: a crash between the two leaves best.toml naming an older score,
  // never a record without its checkpoint.
  void save_best(const Trainer& trainer, const std::string& config_toml,
                 const BestScore& best) const;

  const std::filesystem::path& run_dir() const { return run_dir_; }

 private:
  std::filesystem::path run_dir_;
  int64_t every_, keep_;
};

}  // namespace vgrow
