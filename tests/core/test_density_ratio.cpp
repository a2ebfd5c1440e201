#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/core/density_ratio.h"

namespace {

// A logistic model with quadratic features: the family that holds log p/q of two Gaussians.
struct QuadraticLogitImpl : torch::nn::Module {
  QuadraticLogitImpl() { linear = register_module("linear", torch::nn::Linear(2, 1)); }
  torch::Tensor forward(const torch::Tensor& x) {
    return linear(torch::cat({x, x.square()}, 1)).squeeze(1);
  }
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(QuadraticLogit);

// p = N(0, 1) (real), q = N(1, 1.5^2) (particles): log p/q is quadratic in x.
TEST(DensityRatio, LogisticDiscriminatorRecoversAnalyticLogRatio) {
  torch::manual_seed(0);
  QuadraticLogit model;
  torch::nn::AnyModule d(model);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(0.05));
  const double mq = 1.0, sq = 1.5;
  for (int step = 0; step < 1500; ++step) {
    const auto real = torch::randn({512, 1});
    const auto particles = mq + sq * torch::randn({512, 1});
    vgrow::density_ratio_step(d, opt, real, particles);
  }
  const auto x = torch::linspace(-1.5, 1.5, 31).unsqueeze(1);  // where both have mass
  const auto analytic = (-0.5 * x.square() + 0.5 * ((x - mq) / sq).square() + std::log(sq)).squeeze(1);
  torch::NoGradGuard g;
  const auto learned = d.forward(x);
  const double max_err = (learned - analytic).abs().max().item<double>();
  EXPECT_LT(max_err, 0.15) << "learned " << learned << "\nanalytic " << analytic;
}

TEST(DensityRatio, LossIsSoftplusFormAndStable) {
  const auto d = torch::tensor({-1000.0f, 0.0f, 1000.0f});
  const auto loss = vgrow::logistic_loss(d, d);
  EXPECT_TRUE(std::isfinite(loss.real.item<double>()));
  EXPECT_TRUE(std::isfinite(loss.particles.item<double>()));
  EXPECT_NEAR(loss.real.item<double>(), (1000.0 + std::log(2.0)) / 3, 1e-3);
}

TEST(DensityRatio, MismatchedShapesAreRefused) {
  QuadraticLogit model;
  torch::nn::AnyModule d(model);
  torch::optim::SGD opt(model->parameters(), 0.1);
  EXPECT_THROW(vgrow::density_ratio_step(d, opt, torch::randn({4, 1}), torch::randn({4, 2})),
               c10::Error);
}

}  // namespace
