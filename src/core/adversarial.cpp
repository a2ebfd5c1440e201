#include "vgrow/core/adversarial.h"

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include "core/name_table.h"

namespace vgrow {
namespace {

constexpr Named<TrainingMethod> kMethods[] = {
    {"vgrow", TrainingMethod::VGrow},
    {"gan", TrainingMethod::GanMinimax},
    {"gan-ns", TrainingMethod::GanNonSaturating},
};

}  // namespace

TrainingMethod training_method_from_name(std::string_view name) {
  const auto method = find_named(kMethods, name);
  TORCH_CHECK(method, "unknown training method '", name, "' (known: ", known_names(kMethods), ")");
  return *method;
}

std::string training_method_name(TrainingMethod method) { return name_of(kMethods, method); }

std::vector<std::string> training_method_names() { return names_of(kMethods); }

torch::Tensor generator_loss(TrainingMethod method, const torch::Tensor& d_fake) {
  switch (method) {
    case TrainingMethod::GanMinimax: return -torch::softplus(d_fake).mean();
    case TrainingMethod::GanNonSaturating: return torch::softplus(-d_fake).mean();
    case TrainingMethod::VGrow: break;
  }
  TORCH_CHECK(false, "training method 'vgrow' has no generator loss: G is projected onto the "
                     "moved particles");
}

torch::Tensor adversarial_generator_step(TrainingMethod method, torch::nn::AnyModule& generator,
                                         torch::nn::AnyModule& discriminator,
                                         torch::optim::Optimizer& optimizer,
                                         const torch::Tensor& latents,
                                         const MixedPrecision& precision) {
  generator.ptr()->train();
  discriminator.ptr()->eval();
  const auto fake = forward_fp32(generator, latents, precision.autocast);
  const auto loss = generator_loss(method, forward_fp32(discriminator, fake, precision.autocast));
  // Gradients for G's weights only, each assigned below (so no zero_grad first): D is not
  // stepped here, and its own step zeroes its grads.
  std::vector<torch::Tensor> weights;
  for (const auto& p : generator.ptr()->parameters()) {
    if (p.requires_grad()) weights.push_back(p);
  }
  const auto grads = torch::autograd::grad({precision.scale(loss)}, weights, {},
                                           /*retain_graph=*/c10::nullopt,
                                           /*create_graph=*/false, /*allow_unused=*/true);
  for (size_t i = 0; i < weights.size(); ++i) {
    // A fresh tensor, not a view of the graph's: the optimiser zeroes .grad in place.
    weights[i].mutable_grad() =
        grads[i].defined() ? grads[i].detach().clone() : torch::zeros_like(weights[i]);
  }
  precision.step(optimizer);
  return loss.detach();
}

}  // namespace vgrow
