#include "vgrow/projection.h"

#include <torch/torch.h>

namespace vgrow {

ProjectionSchedule ProjectionSchedule::constant(int64_t passes) {
  TORCH_CHECK(passes >= 1, "projection passes must be at least 1, got ", passes);
  ProjectionSchedule s;
  s.after_ = passes;
  return s;
}

ProjectionSchedule ProjectionSchedule::paper_mnist() {
  ProjectionSchedule s;
  s.steps_ = {{200, 5}, {1000, 10}, {1500, 15}};
  s.after_ = 20;
  return s;
}

ProjectionSchedule ProjectionSchedule::paper_cifar10() {
  ProjectionSchedule s;
  s.steps_ = {{600, 5}, {2000, 10}, {3000, 15}};
  s.after_ = 20;
  return s;
}

ProjectionSchedule ProjectionSchedule::from_name(const std::string& name,
                                                 int64_t constant_passes) {
  if (name == "constant") return constant(constant_passes);
  if (name == "paper-mnist") return paper_mnist();
  if (name == "paper-cifar10") return paper_cifar10();
  TORCH_CHECK(false, "unknown projection schedule '", name,
              "' (known: constant, paper-mnist, paper-cifar10)");
}

int64_t ProjectionSchedule::passes_at(int64_t loop) const {
  for (const auto& [until, passes] : steps_) {
    if (loop < until) return passes;
  }
  return after_;
}

torch::Tensor project_generator(torch::nn::AnyModule& generator,
                                torch::optim::Optimizer& optimizer, const torch::Tensor& latents,
                                const torch::Tensor& targets, int64_t passes, int64_t batch_size) {
  TORCH_CHECK(latents.size(0) == targets.size(0), "projection needs one latent per particle: ",
              latents.size(0), " latents, ", targets.size(0), " particles");
  TORCH_CHECK(passes >= 1 && batch_size >= 1, "projection passes and batch size must be >= 1");
  generator.ptr()->train();
  const int64_t n = latents.size(0);
  torch::Tensor last_pass_loss;
  for (int64_t pass = 0; pass < passes; ++pass) {
    const auto order = torch::randperm(n, torch::TensorOptions().dtype(torch::kLong))
                           .to(latents.device());
    auto loss_sum = torch::zeros({}, targets.options());
    int64_t batches = 0;
    for (int64_t start = 0; start < n; start += batch_size) {
      const auto idx = order.narrow(0, start, std::min(batch_size, n - start));
      optimizer.zero_grad();
      const auto loss = torch::mse_loss(generator.forward(latents.index_select(0, idx)),
                                        targets.index_select(0, idx));
      loss.backward();
      optimizer.step();
      loss_sum += loss.detach();
      ++batches;
    }
    last_pass_loss = loss_sum / batches;
  }
  return last_pass_loss;
}

}  // namespace vgrow
