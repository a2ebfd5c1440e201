#include "vgrow/core/adversarial.h"

#include <algorithm>
#include <cctype>

#include <c10/util/Exception.h>
#include <torch/torch.h>

namespace vgrow {
namespace {

struct NamedMethod {
  const char* name;
  TrainingMethod method;
};

constexpr NamedMethod kMethods[] = {
    {"vgrow", TrainingMethod::VGrow},
    {"gan", TrainingMethod::GanMinimax},
    {"gan-ns", TrainingMethod::GanNonSaturating},
};

}  // namespace

TrainingMethod training_method_from_name(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& m : kMethods) {
    if (lower == m.name) return m.method;
  }
  std::string known;
  for (const auto& m : kMethods) known += std::string(known.empty() ? "" : ", ") + m.name;
  TORCH_CHECK(false, "unknown training method '", name, "' (known: ", known, ")");
}

std::string training_method_name(TrainingMethod method) {
  for (const auto& m : kMethods) {
    if (m.method == method) return m.name;
  }
  return "?";
}

std::vector<std::string> training_method_names() {
  std::vector<std::string> out;
  for (const auto& m : kMethods) out.emplace_back(m.name);
  return out;
}

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
  optimizer.zero_grad();
  const auto fake = forward_fp32(generator, latents, precision.autocast);
  const auto loss = generator_loss(method, forward_fp32(discriminator, fake, precision.autocast));
  // Gradients for G's weights only: D is not stepped here, and its own step zeroes its grads.
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
