// Moves your own particles with your own discriminator through VGrow's flow step, using only
// vgrow's public API. The discriminator here is the exact log density ratio
// D(x) = log p(x)/q(x) between p = N(mu, I) and the particles' start q = N(0, I):
// D(x) = mu.x - |mu|^2/2, so grad D = mu. The KL flow (s = 1) then moves every particle by
// eta * mu a step, and 10 steps of 0.1 carry q onto p; the other divergences scale the step
// by s(D(x)). (A trainer refits D to the moved particles before each step instead.)
//   flow_particles [divergence] [steps]
#include <iostream>
#include <string>

#include <torch/torch.h>

#include "vgrow/core/divergence.h"
#include "vgrow/core/particles.h"

namespace {

// Any module mapping [N, ...] to [N] logits can be the discriminator.
struct GaussianRatioImpl : torch::nn::Module {
  explicit GaussianRatioImpl(torch::Tensor mu) : mu(register_buffer("mu", mu)) {}
  torch::Tensor forward(const torch::Tensor& x) { return x.matmul(mu) - 0.5 * mu.dot(mu); }
  torch::Tensor mu;
};
TORCH_MODULE(GaussianRatio);

}  // namespace

int main(int argc, char** argv) try {
  const std::string name = argc > 1 ? argv[1] : "kl";
  const int64_t steps = argc > 2 ? std::stoll(argv[2]) : 10;
  torch::manual_seed(0);
  const auto mu = torch::tensor({3.0f, -2.0f});
  torch::nn::AnyModule discriminator{GaussianRatio(mu)};
  auto particles = torch::randn({1000, 2});  // q = N(0, I)

  const auto divergence = vgrow::Divergence::from_name(name);
  const auto options =
      vgrow::FlowStepOptions().eta(0.1).clamp_min(std::nullopt).clamp_max(std::nullopt);
  const auto start = (particles.mean(0) - mu).norm().item<double>();
  for (int64_t step = 0; step < steps; ++step) {
    vgrow::flow_step(discriminator, particles, divergence, options);
  }
  const auto end = (particles.mean(0) - mu).norm().item<double>();
  std::cout << divergence.name() << " flow, " << steps << " steps: distance of the particles' "
            << "mean to p's mean " << start << " -> " << end << "\n";
  return end < start ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "flow_particles: " << e.what() << "\n";
  return 1;
}
