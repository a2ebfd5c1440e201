#pragma once
// Refinement at sampling time with the learned density ratio: the training flow continued on
// G's samples after training, the idea DGflow (Ansari et al., ICLR 2021) used to refine GAN
// samples with their discriminator. D ~ log p/q still points from G's distribution toward the
// data, so a few more flow steps move samples closer to it.
//   data space:   x <- clamp(x + eta * s(D(x)) * grad_x D(x)), K times: exactly the training
//                 flow step (particles.h), in chunks;
//   latent space: z <- z + eta * J_G(z)^T v(G(z)) + sqrt(2 eta) * noise * xi, K times, with
//                 v(x) = s(D(x)) grad_x D(x): the same velocity pulled back through G (the
//                 gradient in z of F(D(G(z))) with F' = s), xi ~ N(0, I); then x = G(z_K).

#include <cstdint>
#include <string>

#include <ATen/core/Generator.h>
#include <torch/nn/modules/container/any.h>

#include "vgrow/core/divergence.h"
#include "vgrow/core/particles.h"

namespace vgrow {

enum class RefineSpace { Data, Latent };
RefineSpace parse_refine_space(const std::string& name);  // "data" or "latent"
std::string refine_space_name(RefineSpace space);

// The defaults are the setting measured best on the default job (docs/sampling.md): latent
// space, eta 0.05; steps 0 leaves refinement off.
struct RefineOptions {
  int64_t steps = 0;  // K; 0 = the samples as G draws them, bit for bit
  double eta = 0.05;  // step size
  RefineSpace space = RefineSpace::Latent;
  double noise = 0.0;  // latent space: scale of the Langevin noise term
  // Data space: the training flow step's clamp; both spaces: rows per forward.
  FlowStepOptions flow;
};

// K data-space flow steps of `samples` (moved out of place). D's mode is left as it is:
// callers put a loaded D in eval mode.
torch::Tensor refine_samples(torch::nn::AnyModule& discriminator, const Divergence& divergence,
                             torch::Tensor samples, const RefineOptions& options);
// K latent-space steps from `latents`; returns G(z_K). `noise_source` draws xi.
torch::Tensor refine_latents(torch::nn::AnyModule& generator,
                             torch::nn::AnyModule& discriminator, const Divergence& divergence,
                             torch::Tensor latents, const RefineOptions& options,
                             at::Generator noise_source);

}  // namespace vgrow
