#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/core/divergence.h"

namespace {

using vgrow::Divergence;

// s(D) must equal f''(e^{-D}) e^{-D}, with f'' from central finite differences of f.
TEST(Divergence, WeightMatchesFiniteDifferenceSecondDerivative) {
  for (const auto& name : Divergence::names()) {
    const auto div = Divergence::from_name(name);
    for (double d = -3.0; d <= 3.0; d += 0.25) {
      const double u = std::exp(-d);
      const double h = 1e-4 * u;
      const double f2 = (div.f(u + h) - 2.0 * div.f(u) + div.f(u - h)) / (h * h);
      const double expected = f2 * u;
      EXPECT_NEAR(div.velocity_scale(d), expected, 1e-4 * std::max(1.0, std::abs(expected)))
          << name << " at D = " << d;
    }
  }
}

TEST(Divergence, GeneratorFunctionIsConvexAndZeroAtOne) {
  for (const auto& name : Divergence::names()) {
    const auto div = Divergence::from_name(name);
    EXPECT_NEAR(div.f(1.0), 0.0, 1e-12) << name;
    for (double u = 0.2; u < 5.0; u += 0.3) {
      EXPECT_GE(div.f(u + 0.1) - 2 * div.f(u) + div.f(u - 0.1), -1e-12) << name << " at " << u;
    }
  }
}

TEST(Divergence, PaperWeightsInClosedForm) {
  const auto d = torch::linspace(-5, 5, 41, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(Divergence::from_name("kl").velocity_scale(d), torch::ones_like(d)));
  EXPECT_TRUE(torch::allclose(Divergence::from_name("js").velocity_scale(d), 1 / (1 + (-d).exp())));
  EXPECT_TRUE(torch::allclose(Divergence::from_name("logd").velocity_scale(d), 1 / (1 + d.exp())));
  EXPECT_TRUE(torch::allclose(Divergence::from_name("jeffreys").velocity_scale(d),
                              (1 + d.exp()).clamp_max(100.0)));
  EXPECT_TRUE(torch::allclose(Divergence::from_name("Jeffrey").velocity_scale(d),
                              (1 + d.exp()).clamp_max(100.0)));
}

TEST(Divergence, WeightsStayFiniteForExtremeD) {
  const auto d = torch::tensor({-1e4, -100.0, -50.0, 0.0, 50.0, 100.0, 1e4}, torch::kFloat32);
  for (const auto& name : Divergence::names()) {
    const auto w = Divergence::from_name(name).velocity_scale(d);
    EXPECT_TRUE(torch::isfinite(w).all().item<bool>()) << name << ": " << w;
    EXPECT_TRUE((w >= 0).all().item<bool>()) << name;
    EXPECT_LE(w.max().item<double>(), 100.0) << name;
  }
  const auto est = Divergence::from_name("kl").estimate(d);
  EXPECT_TRUE(std::isfinite(est.item<double>()));
}

TEST(Divergence, UnknownNameIsRefusedWithTheKnownOnes) {
  try {
    Divergence::from_name("wasserstein");
    FAIL() << "no error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("wasserstein"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("jeffreys"), std::string::npos);
  }
}

// With D = log p/q exact, E_p[f(q/p)] is the divergence: KL(q||p) of two unit Gaussians
// N(m,1) (q) and N(0,1) (p) is m^2/2.
TEST(Divergence, EstimateMatchesClosedFormKL) {
  torch::manual_seed(0);
  const double m = 0.7;
  const auto x = torch::randn({200000}, torch::kFloat64);  // x ~ p
  const auto d = -0.5 * x.square() + 0.5 * (x - m).square();  // log p/q
  EXPECT_NEAR(Divergence::from_name("kl").estimate(d).item<double>(), m * m / 2, 0.01);
}

}  // namespace
