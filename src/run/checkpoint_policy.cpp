#include "vgrow/run/checkpoint_policy.h"

#include <c10/util/Exception.h>

#include "vgrow/run/checkpoint.h"

namespace vgrow {
namespace fs = std::filesystem;

CheckpointPolicy::CheckpointPolicy(fs::path run_dir, int64_t every, int64_t keep)
    : run_dir_(std::move(run_dir)), every_(every), keep_(keep) {
  TORCH_CHECK(every >= 1, "CheckpointPolicy: checkpoint interval must be at least 1, got ", every);
  TORCH_CHECK(keep >= 1, "CheckpointPolicy: must keep at least 1 checkpoint, got ", keep);
}

fs::path CheckpointPolicy::save(const Trainer& trainer, const std::string& config_toml) const {
  return io::save_checkpoint(run_dir_, trainer, config_toml, keep_);
}

void CheckpointPolicy::save_best(const Trainer& trainer, const std::string& config_toml,
                                 const BestScore& best) const {
  io::save_checkpoint_file(run_dir_ / "best.pt", trainer, config_toml);
  best.save(run_dir_ / "best.toml");
}

}  // namespace vgrow
