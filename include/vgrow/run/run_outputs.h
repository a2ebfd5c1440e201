#pragma once
// What a run folder shows a person: reals, sample grids at fixed latents, particle grids
// (images) or point CSVs and scatter plots (2-D), and loss curves.

#include <filesystem>

#include "vgrow/run/config.h"
#include "vgrow/core/trainer.h"

namespace vgrow {

class RunOutputs {
 public:
  RunOutputs(const Config& config, std::filesystem::path run_dir, Trainer& trainer);
  // Once at the start of a fresh run: the real data (reals.png or target.csv).
  void write_initial(Trainer& trainer);
  // After the loop that brought the counter to `loops_done`: every run.sample_every loops,
  // and when the run stops after it (`last`).
  bool due(int64_t loops_done, bool last) const { return last || loops_done % every_ == 0; }
  // After an outer loop: samples, particles and curves for the loop just finished.
  void write(Trainer& trainer, const std::filesystem::path& stats_csv);

 private:
  bool images_;
  int64_t every_;
  std::filesystem::path dir_;
  torch::Tensor fixed_latents_;
  torch::Tensor reference_;  // 2-D: target points drawn once, for plots
};

// Writes [N, d] points as CSV with a header x,y(,...).
void write_points_csv(const std::filesystem::path& file, const torch::Tensor& points);

}  // namespace vgrow
