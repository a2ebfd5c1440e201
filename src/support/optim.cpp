#include "vgrow/support/optim.h"

#include <cmath>

#include <torch/torch.h>

namespace vgrow {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params,
                                                        const OptimizerConfig& c) {
  TORCH_CHECK(c.lr > 0.0 && std::isfinite(c.lr), "learning rate must be positive, got ", c.lr);
  if (c.name == "rmsprop") {
    return std::make_unique<torch::optim::RMSprop>(
        std::move(params), torch::optim::RMSpropOptions(c.lr).alpha(c.alpha).eps(c.eps));
  }
  if (c.name == "adam") {
    return std::make_unique<torch::optim::Adam>(
        std::move(params),
        torch::optim::AdamOptions(c.lr).betas({c.beta1, c.beta2}).eps(c.eps));
  }
  TORCH_CHECK(false, "unknown optimizer '", c.name, "' (known: rmsprop, adam)");
}

MultiStepLR::MultiStepLR(torch::optim::Optimizer& optimizer, std::vector<int64_t> milestones,
                         double gamma)
    : optimizer_(optimizer),
      milestones_(std::move(milestones)),
      gamma_(gamma),
      base_lr_(optimizer.param_groups().at(0).options().get_lr()) {}

double MultiStepLR::lr_at(int64_t loop) const {
  int64_t passed = 0;
  for (auto m : milestones_) passed += (m <= loop) ? 1 : 0;
  return base_lr_ * std::pow(gamma_, static_cast<double>(passed));
}

void MultiStepLR::apply(int64_t loop) {
  for (auto& group : optimizer_.param_groups()) group.options().set_lr(lr_at(loop));
}

}  // namespace vgrow
