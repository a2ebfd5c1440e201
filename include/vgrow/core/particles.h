#pragma once
// The particle pool and the flow step X <- clamp(X + eta * s(D(X)) * grad_x D(X)).

#include <functional>
#include <optional>

#include <torch/nn/modules/container/any.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "vgrow/core/divergence.h"
#include "vgrow/support/mixed_precision.h"

namespace vgrow {

struct FlowStepOptions {
  TORCH_ARG(double, eta) = 0.5;
  // Images live in [-1, 1]; 2-D targets are not clamped.
  TORCH_ARG(std::optional<double>, clamp_min) = -1.0;
  TORCH_ARG(std::optional<double>, clamp_max) = 1.0;
  // The pool is processed in chunks so memory stays bounded for any pool size.
  TORCH_ARG(int64_t, chunk_size) = 256;
};

struct FlowStepStats {
  torch::Tensor mean_grad_norm;  // mean over particles of |grad_x D(x)|
  torch::Tensor mean_d;          // mean D on the particles before the step
};

// The velocity v(x) = s(D(x)) * grad_x D(x) of the divergence's gradient flow at x; every
// flow step (flow_chunk) moves particles by along(eta) = eta * v, the one place this
// equation is written.
struct FlowVelocity {
  torch::Tensor scale;  // the weight s(D(x)) (Divergence::flow_weights), shaped [N, 1, ...]
  torch::Tensor d;      // D(x), detached, [N]
  torch::Tensor grad;   // grad_x D(x), shaped like x

  // step * v(x); the step multiplies the per-particle scale first, so the whole pool is
  // touched once.
  torch::Tensor along(double step = 1.0) const { return (step * scale) * grad; }
};
// `autocast`: D's forward in lower precision; D(x), grad_x D and the velocity stay fp32.
FlowVelocity flow_velocity(torch::nn::AnyModule& discriminator, const torch::Tensor& x,
                           const Divergence& divergence, const Autocast& autocast = {});

// Moves every particle one flow step, in place. D's mode is left as the caller set it.
// `autocast`: D's forward in lower precision; D(x), grad_x D and the particles stay fp32.
FlowStepStats flow_step(torch::nn::AnyModule& discriminator, torch::Tensor& particles,
                        const Divergence& divergence, const FlowStepOptions& options,
                        const Autocast& autocast = {});

// One flow step of one chunk of particles, out of place: what flow_step does to each chunk
// (and what FlowStepGraph captures).
struct ChunkFlow {
  torch::Tensor moved;          // the chunk after the step
  torch::Tensor grad_norm_sum;  // sum over the chunk of |grad_x D(x)|
  torch::Tensor d_sum;          // sum over the chunk of D(x)
};
ChunkFlow flow_chunk(torch::nn::AnyModule& discriminator, const torch::Tensor& x,
                     const Divergence& divergence, const FlowStepOptions& options,
                     const Autocast& autocast = {});

// Applies `step_chunk` to the pool chunk by chunk, writing each moved chunk back in place.
using ChunkStep = std::function<ChunkFlow(const torch::Tensor& chunk)>;
FlowStepStats flow_step_in_chunks(torch::Tensor& particles, int64_t chunk_size,
                                  const ChunkStep& step_chunk);

// Latents z and the particles X = G(z) they started from; X moves, z stays.
struct ParticlePool {
  torch::Tensor latents;
  torch::Tensor particles;

  // Drawn, and sampled in batches, by the Trainer (draw_pool, particle_batch).
  int64_t size() const { return particles.defined() ? particles.size(0) : 0; }
};

}  // namespace vgrow
