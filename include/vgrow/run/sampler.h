#pragma once
// Samples from a trained run as `vgrow sample` and `vgrow eval` draw them: the generator EMA
// when the checkpoint holds one (unless raw), optionally refined with the checkpoint's D
// (core/refinement.h).

#include <cstdint>
#include <string>

#include <ATen/core/Generator.h>

#include "vgrow/core/refinement.h"
#include "vgrow/run/experiment.h"

namespace vgrow {

// Refinement steps when none are asked for: 10 for image generators (with RefineOptions'
// latent space and eta 0.05, FID 4.06 -> 3.31 on the default job), none for 2-D data.
int64_t default_refine_steps(const Config& config);

struct SamplerOptions {
  bool raw = false;      // G's own weights even when the checkpoint holds its EMA
  // steps 0: no refinement (and D is not loaded); -1: default_refine_steps of the run.
  RefineOptions refine;
  uint64_t seed = 0;     // of the latent-space refinement's noise
};

class Sampler {
 public:
  Sampler(const std::string& checkpoint_or_run_dir, const SamplerOptions& options);
  const TrainedGenerator& trained() const { return trained_; }
  // The samples of `latents` ([N, latent_dim]): G(z), refined when asked. Call it chunk by
  // chunk: memory follows the chunk.
  torch::Tensor draw(const torch::Tensor& latents);
  // "G", "G (EMA)", "G (EMA) + 10 data-space steps, eta 0.5": what draw() returns.
  std::string describe() const;

 private:
  SamplerOptions options_;
  TrainedGenerator trained_;
  TrainedDensityRatio ratio_;  // loaded only when refining
  at::Generator noise_;
};

}  // namespace vgrow
