#include "vgrow/core/particles.h"

#include <torch/torch.h>

namespace vgrow {

namespace {

struct RatioAndGradient {
  torch::Tensor d;     // D(x), detached
  torch::Tensor grad;  // grad_x D(x)
};

RatioAndGradient ratio_and_gradient(torch::nn::AnyModule& discriminator, const torch::Tensor& x,
                                    const Autocast& autocast) {
  auto xg = x.detach().requires_grad_(true);
  const auto d = forward_fp32(discriminator, xg, autocast);
  TORCH_CHECK(d.dim() == 1 && d.size(0) == x.size(0),
              "discriminator must return one logit per sample, got shape ", d.sizes());
  // Gradient with respect to the input only: cheaper than a full backward into D's weights.
  auto grad = torch::autograd::grad({d.sum()}, {xg})[0];
  return {d.detach(), grad};
}

torch::Tensor per_sample(const torch::Tensor& w, int64_t dims) {
  std::vector<int64_t> shape(dims, 1);
  shape[0] = w.size(0);
  return w.view(shape);
}

// LibTorch 1.13's c10::optional is not std::optional (it is in 2.x).
c10::optional<c10::Scalar> to_c10(const std::optional<double>& v) {
  return v ? c10::optional<c10::Scalar>(*v) : c10::nullopt;
}

}  // namespace

FlowVelocity flow_velocity(torch::nn::AnyModule& discriminator, const torch::Tensor& x,
                           const Divergence& divergence, const Autocast& autocast) {
  const auto rg = ratio_and_gradient(discriminator, x, autocast);
  torch::NoGradGuard no_grad;
  return {per_sample(divergence.flow_weights(rg.d), x.dim()), rg.d, rg.grad};
}

ChunkFlow flow_chunk(torch::nn::AnyModule& discriminator, const torch::Tensor& x,
                     const Divergence& divergence, const FlowStepOptions& options,
                     const Autocast& autocast) {
  const auto v = flow_velocity(discriminator, x, divergence, autocast);
  torch::NoGradGuard no_grad;
  auto moved = x + v.along(options.eta());
  if (options.clamp_min() || options.clamp_max()) {
    moved = moved.clamp(to_c10(options.clamp_min()), to_c10(options.clamp_max()));
  }
  return {moved, v.grad.reshape({x.size(0), -1}).norm(2, 1).sum(), v.d.sum()};
}

FlowStepStats flow_step_in_chunks(torch::Tensor& particles, int64_t chunk_size,
                                  const ChunkStep& step_chunk) {
  TORCH_CHECK(chunk_size > 0, "flow chunk_size must be positive");
  const int64_t n = particles.size(0);
  auto grad_sum = torch::zeros({}, particles.options());
  auto d_sum = torch::zeros({}, particles.options());
  for (int64_t start = 0; start < n; start += chunk_size) {
    auto x = particles.narrow(0, start, std::min(chunk_size, n - start));
    const auto step = step_chunk(x);
    grad_sum += step.grad_norm_sum;
    d_sum += step.d_sum;
    x.copy_(step.moved);
  }
  return {grad_sum / n, d_sum / n};
}

FlowStepStats flow_step(torch::nn::AnyModule& discriminator, torch::Tensor& particles,
                        const Divergence& divergence, const FlowStepOptions& options,
                        const Autocast& autocast) {
  TORCH_CHECK(options.eta() > 0.0, "flow step size eta must be positive, got ", options.eta());
  return flow_step_in_chunks(particles, options.chunk_size(), [&](const torch::Tensor& x) {
    return flow_chunk(discriminator, x, divergence, options, autocast);
  });
}

}  // namespace vgrow
