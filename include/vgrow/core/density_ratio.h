#pragma once
// The density-ratio estimator: D is trained by logistic regression, real samples labelled 1
// and particles 0, so that at the optimum D(x) = log p(x)/q(x).

#include <functional>

#include <torch/nn/modules/container/any.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "vgrow/dist/shard.h"
#include "vgrow/support/mixed_precision.h"

namespace vgrow {

struct LogisticLoss {
  torch::Tensor real;       // E_p[softplus(-D)]
  torch::Tensor particles;  // E_q[softplus(D)]
};

// Softplus form of the logistic loss: stable for any |D| (the authors' log(1+e^D) is not).
// `particles_share`: how this rank's particles count in the global batch (distributed).
LogisticLoss logistic_loss(const torch::Tensor& d_real, const torch::Tensor& d_particles,
                           const dist::BatchShare& particles_share = {});

// One optimiser step of D on a batch of real samples and a batch of particles.
// D runs in training mode (spectral norm advances its power iteration once per step).
// `before_step` runs between backward and the step (distributed: average the gradients).
// `precision`: D's forward under autocast, the loss in fp32, scaled when there is a scaler.
LogisticLoss density_ratio_step(torch::nn::AnyModule& discriminator,
                                torch::optim::Optimizer& optimizer, const torch::Tensor& real,
                                const torch::Tensor& particles,
                                const std::function<void()>& before_step = {},
                                const dist::BatchShare& particles_share = {},
                                const MixedPrecision& precision = {});

}  // namespace vgrow
