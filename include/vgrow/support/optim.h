#pragma once
// Optimisers by name and the paper's step learning-rate decay in outer-loop units.

#include <memory>
#include <string>
#include <vector>

#include <torch/optim/optimizer.h>

namespace vgrow {

struct OptimizerConfig {
  std::string name = "rmsprop";  // "rmsprop" (paper) or "adam" (the TF version)
  double lr = 1e-4;
  double alpha = 0.99;  // RMSprop smoothing
  double beta1 = 0.0;   // Adam
  double beta2 = 0.99;
  double eps = 1e-8;
};

std::unique_ptr<torch::optim::Optimizer> make_optimizer(std::vector<torch::Tensor> params,
                                                        const OptimizerConfig& config);

// MultiStepLR: lr = base * gamma^(number of milestones <= loop), loop 0-based, as the
// authors' scheduler.step() at the top of each outer loop gives.
class MultiStepLR {
 public:
  MultiStepLR(torch::optim::Optimizer& optimizer, std::vector<int64_t> milestones, double gamma);
  double lr_at(int64_t loop) const;
  void apply(int64_t loop);

 private:
  torch::optim::Optimizer& optimizer_;
  std::vector<int64_t> milestones_;
  double gamma_;
  double base_lr_;
};

}  // namespace vgrow
