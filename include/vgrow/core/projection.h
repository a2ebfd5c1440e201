#pragma once
// Projection: refit the generator to the moved particles by MSE regression, G(z) -> X.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/modules/container/any.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "vgrow/dist/shard.h"
#include "vgrow/support/mixed_precision.h"

namespace vgrow {

// How many projection passes outer loop t (0-based) makes: passes[i] while t < until[i],
// then `after`. The paper grows it as G gets closer to the particles.
class ProjectionSchedule {
 public:
  static ProjectionSchedule constant(int64_t passes);
  static ProjectionSchedule paper_mnist();    // 5 (<200), 10 (<1000), 15 (<1500), 20
  static ProjectionSchedule paper_cifar10();  // 5 (<600), 10 (<2000), 15 (<3000), 20
  // One of names(); "paper-mnist" serves Fashion-MNIST too.
  static ProjectionSchedule from_name(const std::string& name, int64_t constant_passes);
  static std::vector<std::string> names();

  int64_t passes_at(int64_t loop) const;

 private:
  std::vector<std::pair<int64_t, int64_t>> steps_;  // (until loop, passes)
  int64_t after_ = 1;
};

// `passes` shuffled passes of minibatch MSE regression of G(latents) onto `targets`.
// G runs in training mode. Returns the mean MSE over the last pass.
// `before_step` runs between backward and each step (distributed: average the gradients).
// With a `shard`, latents and targets are this rank's rows of the pool: every rank shuffles
// the whole pool alike and fits the rows of each global minibatch it holds.
// `precision`: G's forward under autocast, the MSE in fp32, scaled when there is a scaler.
torch::Tensor project_generator(torch::nn::AnyModule& generator,
                                torch::optim::Optimizer& optimizer, const torch::Tensor& latents,
                                const torch::Tensor& targets, int64_t passes, int64_t batch_size,
                                const std::function<void()>& before_step = {},
                                const dist::PoolShard& shard = {},
                                const MixedPrecision& precision = {});

}  // namespace vgrow
