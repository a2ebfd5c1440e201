#include "vgrow/core/projection.h"

#include <torch/torch.h>

#include "vgrow/support/device_transfer.h"

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
  std::string known;
  for (const auto& n : names()) known += (known.empty() ? "" : ", ") + n;
  TORCH_CHECK(false, "unknown projection schedule '", name, "' (known: ", known, ")");
}

std::vector<std::string> ProjectionSchedule::names() {
  return {"constant", "paper-mnist", "paper-cifar10"};
}

int64_t ProjectionSchedule::passes_at(int64_t loop) const {
  for (const auto& [until, passes] : steps_) {
    if (loop < until) return passes;
  }
  return after_;
}

torch::Tensor project_generator(torch::nn::AnyModule& generator,
                                torch::optim::Optimizer& optimizer, const torch::Tensor& latents,
                                const torch::Tensor& targets, int64_t passes, int64_t batch_size,
                                const std::function<void()>& before_step,
                                const dist::PoolShard& shard,
                                const MixedPrecision& precision) {
  TORCH_CHECK(latents.size(0) == targets.size(0), "projection needs one latent per particle: ",
              latents.size(0), " latents, ", targets.size(0), " particles");
  TORCH_CHECK(passes >= 1 && batch_size >= 1, "projection passes and batch size must be >= 1");
  TORCH_CHECK(shard.whole() || shard.size == latents.size(0), "projection shard holds ",
              shard.size, " rows, but got ", latents.size(0), " latents");
  generator.ptr()->train();
  const int64_t n = shard.whole() ? latents.size(0) : shard.total;
  const int64_t values_per_sample = targets.numel() / std::max<int64_t>(targets.size(0), 1);
  torch::Tensor last_pass_loss;
  for (int64_t pass = 0; pass < passes; ++pass) {
    // Shuffled on the host (the same order on any device), moved once per pass.
    const auto order = torch::randperm(n, torch::TensorOptions().dtype(torch::kLong));
    const auto device_order = shard.whole() ? to_device(order, latents.device()) : order;
    auto loss_sum = torch::zeros({}, targets.options());
    int64_t batches = 0;
    for (int64_t start = 0; start < n; start += batch_size) {
      const int64_t len = std::min(batch_size, n - start);
      const auto idx = shard.whole() ? device_order.narrow(0, start, len)
                                     : to_device(shard.local_rows(order.narrow(0, start, len)),
                                                 latents.device());
      optimizer.zero_grad();
      auto loss = torch::zeros({}, targets.options());
      // A rank may hold none of a minibatch; it still joins the gradient average.
      if (idx.numel() > 0) {
        const auto fit =
            forward_fp32(generator, latents.index_select(0, idx), precision.autocast);
        const auto target = targets.index_select(0, idx);
        loss = shard.whole() ? torch::mse_loss(fit, target)
                             : shard.share(len * values_per_sample).mean((fit - target).square());
        precision.scale(loss).backward();
      }
      if (before_step) before_step();
      precision.step(optimizer);
      loss_sum += loss.detach();
      ++batches;
    }
    last_pass_loss = loss_sum / batches;
  }
  return last_pass_loss;
}

}  // namespace vgrow
