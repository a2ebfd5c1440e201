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

TEST(Divergence, LogWeightIsTheLogOfTheWeightAndNeverOverflows) {
  const auto d = torch::linspace(-20, 20, 81, torch::kFloat64);
  for (const auto& name : Divergence::names()) {
    const auto div = Divergence::from_name(name, {.max_velocity_scale = 1e30});
    EXPECT_TRUE(torch::allclose(div.log_velocity_scale(d), div.velocity_scale(d).log(), 1e-9,
                                1e-9))
        << name;
    const auto far = torch::tensor({-1e4, 1e4}, torch::kFloat32);
    EXPECT_TRUE(div.log_velocity_scale(far).isfinite().all().item<bool>()) << name;
  }
}

// Relative weights: s(D) over its batch mean, bounded in [1/R, R]. With no bound binding
// they are the exact weights up to one factor (a change of time scale), so the flow's
// trajectories and fixed point are the paper's.
TEST(Divergence, RelativeWeightsRescaleTheExactOnesByTheirMean) {
  const auto d = torch::linspace(-1, 1, 9, torch::kFloat64);
  for (const auto& name : Divergence::names()) {
    const auto exact = Divergence::from_name(name);
    const auto relative = Divergence::from_name(
        name, {.weighting = vgrow::FlowWeighting::Relative, .max_relative_weight = 1e6});
    const auto s = exact.velocity_scale(d);
    EXPECT_TRUE(torch::allclose(relative.flow_weights(d), s / s.mean(), 1e-9, 1e-12)) << name;
    EXPECT_TRUE(torch::equal(exact.flow_weights(d), s)) << name;
  }
}

TEST(Divergence, RelativeWeightsStayWithinTheirBoundForAnyD) {
  // Reverse KL at D = -40 .. 40: exact weights span e^80; relative ones lie in [1/R, R].
  const auto d = torch::cat({torch::full({99}, -40.0), torch::tensor({40.0})});
  const auto div = Divergence::from_name(
      "reverse-kl", {.weighting = vgrow::FlowWeighting::Relative, .max_relative_weight = 10});
  const auto w = div.flow_weights(d.to(torch::kFloat32));
  EXPECT_TRUE(w.isfinite().all().item<bool>());
  EXPECT_NEAR(w.max().item<double>(), 10.0, 1e-4);
  EXPECT_NEAR(w.min().item<double>(), 0.1, 1e-6);
  // KL's weights are all one: relative weighting changes nothing.
  const auto kl = Divergence::from_name(
      "kl", {.weighting = vgrow::FlowWeighting::Relative, .max_relative_weight = 10});
  EXPECT_TRUE(torch::equal(kl.flow_weights(d), torch::ones_like(d)));
  EXPECT_THROW(Divergence::from_name("kl", {.max_relative_weight = 0.5}), c10::Error);
}

TEST(Divergence, OnlyTheExponentialWeightsAreFlagged) {
  for (const auto& name : Divergence::names()) {
    const bool exponential = name == "pearson" || name == "reverse-kl" || name == "hellinger";
    EXPECT_EQ(Divergence::from_name(name).weight_grows_exponentially(), exponential) << name;
  }
}

}  // namespace
