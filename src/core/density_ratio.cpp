#include "vgrow/core/density_ratio.h"

#include <torch/torch.h>

namespace vgrow {

LogisticLoss logistic_loss(const torch::Tensor& d_real, const torch::Tensor& d_particles,
                           const dist::BatchShare& particles_share) {
  return {torch::softplus(-d_real).mean(), particles_share.mean(torch::softplus(d_particles))};
}

LogisticLoss density_ratio_step(torch::nn::AnyModule& discriminator,
                                torch::optim::Optimizer& optimizer, const torch::Tensor& real,
                                const torch::Tensor& particles,
                                const std::function<void()>& before_step,
                                const dist::BatchShare& particles_share,
                                const MixedPrecision& precision) {
  TORCH_CHECK(real.sizes().slice(1) == particles.sizes().slice(1),
              "real samples ", real.sizes(), " and particles ", particles.sizes(),
              " differ in shape");
  discriminator.ptr()->train();
  optimizer.zero_grad();
  // One forward over both batches: D has no batch-coupled layers, so this equals two passes.
  const auto d = forward_fp32(discriminator, torch::cat({real, particles.detach()}),
                              precision.autocast);
  auto loss = logistic_loss(d.narrow(0, 0, real.size(0)),
                            d.narrow(0, real.size(0), particles.size(0)), particles_share);
  precision.scale(loss.real + loss.particles).backward();
  if (before_step) before_step();
  precision.step(optimizer);
  return {loss.real.detach(), loss.particles.detach()};
}

}  // namespace vgrow
