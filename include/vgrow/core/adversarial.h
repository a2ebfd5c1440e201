#pragma once
// The GAN baselines on VGrow's own nets, data, optimisers and D step: D is the same logistic
// density-ratio estimator, and G takes one gradient step on a GAN loss where VGrow would move
// particles and project. The paper relates each to a flow: the minimax generator's gradient
// moves G(z) along sigmoid(D) grad D, the JS flow's velocity, and the non-saturating one along
// sigmoid(-D) grad D, the logD flow's (tests/core/test_adversarial.cpp checks both).

#include <string>
#include <string_view>
#include <vector>

#include <torch/nn/modules/container/any.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include "vgrow/support/mixed_precision.h"

namespace vgrow {

enum class TrainingMethod {
  VGrow,             // particles moved along the flow, then G projected onto them
  GanMinimax,        // G minimises E[log(1 - sigmoid D(G(z)))]
  GanNonSaturating,  // G minimises -E[log sigmoid D(G(z))]
};

// "vgrow", "gan" (minimax), "gan-ns" (non-saturating).
TrainingMethod training_method_from_name(std::string_view name);
std::string training_method_name(TrainingMethod method);
std::vector<std::string> training_method_names();

// G's loss on D's logits at G's samples, in the softplus form (stable for any D):
// minimax -E[softplus(D)], non-saturating E[softplus(-D)]. VGrow has none: refused.
torch::Tensor generator_loss(TrainingMethod method, const torch::Tensor& d_fake);

// One optimiser step of G on G(latents) against D (eval mode: spectral norm keeps the u, v
// of the last D step, as in the flow step). Only G's weights get gradients. Returns the loss.
torch::Tensor adversarial_generator_step(TrainingMethod method, torch::nn::AnyModule& generator,
                                         torch::nn::AnyModule& discriminator,
                                         torch::optim::Optimizer& optimizer,
                                         const torch::Tensor& latents,
                                         const MixedPrecision& precision = {});

}  // namespace vgrow
