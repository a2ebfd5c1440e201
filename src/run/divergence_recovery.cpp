#include "vgrow/run/divergence_recovery.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "vgrow/io/atomic_file.h"
#include "vgrow/run/checkpoint.h"

namespace vgrow {
namespace fs = std::filesystem;

namespace {

void append_event(const fs::path& run_dir, const std::string& line) {
  std::ofstream out(run_dir / "events.log", std::ios::app);
  out << line << "\n";
}

}  // namespace

void check_finite(const LoopStats& s) {
  const std::pair<const char*, double> values[] = {
      {"D loss on real samples", s.d_loss_real},
      {"D loss on particles", s.d_loss_particles},
      {"|grad D| on the particle pool", s.grad_norm},
      {"projection loss", s.projection_loss}};
  for (const auto& [what, v] : values) {
    if (!std::isfinite(v)) {
      throw TrainingDiverged(s.loop, what,
                             "training diverged at outer loop " + std::to_string(s.loop) + ": " +
                                 what + " is " + std::to_string(v));
    }
  }
}

DivergenceRecovery::DivergenceRecovery(fs::path run_dir, bool main_rank, int world)
    : run_dir_(std::move(run_dir)), main_rank_(main_rank), world_(world) {}

Rollback DivergenceRecovery::recover(const TrainingDiverged& diverged, Config& config,
                                     std::string& config_toml, Trainer& trainer) {
  // Only rank 0 sees the run folder; the other ranks stop with it.
  const auto checkpoints = main_rank_ ? io::list_checkpoints(run_dir_) : std::vector<fs::path>{};
  const bool enabled = config.run.on_divergence == "rollback";
  const double eta = config.flow.eta * config.run.rollback_factor;
  if (!enabled || world_ != 1 || rollbacks_ >= config.run.max_rollbacks || checkpoints.empty()) {
    if (main_rank_) append_event(run_dir_, std::string(diverged.what()) + "; stopped");
    throw RunDiverged(diverged, run_dir_, checkpoints.empty() ? fs::path() : checkpoints.back(),
                      eta, enabled, rollbacks_);
  }
  io::load_checkpoint(checkpoints.back(), trainer);
  Rollback r{checkpoints.back(), trainer.loop(), config.flow.eta, eta, ++rollbacks_,
             config.run.max_rollbacks, ""};
  std::ostringstream msg;
  msg << diverged.what() << "; rolled back to " << r.checkpoint.filename().string() << " (loop "
      << r.loop << ") with flow.eta " << r.eta_before << " -> " << r.eta_after << " (rollback "
      << r.number << " of " << r.max << ")";
  r.message = msg.str();
  config.flow.eta = eta;
  trainer.set_eta(eta);
  config_toml = to_toml(config);
  io::write_text_atomically(run_dir_ / "config.toml", config_toml);
  append_event(run_dir_, r.message);
  return r;
}

}  // namespace vgrow
