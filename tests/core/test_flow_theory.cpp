// The continuum flow behind the particle update, solved on a grid with the exact density
// ratio: for every f, q_t moved by v = s(D) grad D (D = log p/q_t, s from Divergence) must
// lower D_f(q_t||p) at every step, at exactly the rate the theory gives,
//   d/dt D_f(q_t||p) = -integral q_t |v|^2   (the flow is the Wasserstein gradient flow of D_f),
// and reach p. Any positive weight lowers D_f, so the rate identity is what pins s(D) down:
// a wrong s misses it by 30 % or more (a hand-swapped s for each f was tried).
//
// Densities: von Mises on the circle [0, 1) (the circular Gaussian), so there are no tails
// where q vanishes and the log-ratio blows up. Upwind finite volumes with an explicit step
// that respects both the transport (CFL) and the diffusion (s ~ d/dx log q) limits.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include <torch/torch.h>

#include "vgrow/core/divergence.h"

namespace vgrow {
namespace {

struct GridFlowResult {
  double initial = 0;        // D_f(q_0||p)
  double final = 0;          // D_f(q_T||p)
  double dissipated = 0;     // integral over [0, T] of integral q |v|^2
  double worst_rise = 0;     // largest step-to-step increase of D_f, relative to the initial
  int steps = 0;
};

std::vector<double> von_mises(int n, double concentration, double centre) {
  std::vector<double> density(n);
  double mass = 0;
  for (int i = 0; i < n; ++i) {
    const double x = (i + 0.5) / n;
    density[i] = std::exp(concentration * std::cos(2 * std::numbers::pi * (x - centre)));
    mass += density[i] / n;
  }
  for (auto& v : density) v /= mass;
  return density;
}

GridFlowResult run_grid_flow(const Divergence& divergence, double horizon, int n = 100) {
  const double dx = 1.0 / n;
  const auto p = von_mises(n, 1.5, 0.0);
  auto q = von_mises(n, 1.0, 0.3);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  const auto p_tensor = torch::tensor(p, opts);

  auto divergence_now = [&] {
    const auto q_tensor = torch::tensor(q, opts);
    return (p_tensor * divergence.f(q_tensor / p_tensor)).sum().item<double>() * dx;
  };

  GridFlowResult result;
  result.initial = divergence_now();
  double previous = result.initial;
  std::vector<double> log_ratio(n), flux(n), face_log_ratio(n);
  double t = 0;
  while (t < horizon) {
    for (int i = 0; i < n; ++i) log_ratio[i] = std::log(p[i]) - std::log(q[i]);
    for (int i = 0; i < n; ++i) face_log_ratio[i] = 0.5 * (log_ratio[i] + log_ratio[(i + 1) % n]);
    // s(D) at every face (between cell i and i+1, periodic), from the library.
    const auto scale_tensor = divergence.velocity_scale(torch::tensor(face_log_ratio, opts));
    const auto* scale = scale_tensor.data_ptr<double>();
    double max_speed = 1e-12, max_scale = 1e-12, dissipation_rate = 0;
    for (int i = 0; i < n; ++i) {
      const int j = (i + 1) % n;
      const double v = scale[i] * (log_ratio[j] - log_ratio[i]) / dx;
      flux[i] = v * (v > 0 ? q[i] : q[j]);
      max_speed = std::max(max_speed, std::abs(v));
      max_scale = std::max(max_scale, scale[i]);
      dissipation_rate += 0.5 * (q[i] + q[j]) * v * v * dx;
    }
    const double dt = std::min({0.25 * dx / max_speed, 0.2 * dx * dx / max_scale, horizon - t});
    for (int i = 0; i < n; ++i) q[i] -= dt / dx * (flux[i] - flux[(i + n - 1) % n]);
    t += dt;
    ++result.steps;
    result.dissipated += dt * dissipation_rate;
    const double now = divergence_now();
    result.worst_rise = std::max(result.worst_rise, (now - previous) / result.initial);
    previous = now;
  }
  result.final = previous;
  return result;
}

class FlowTheory : public ::testing::TestWithParam<std::string> {};

TEST_P(FlowTheory, DivergenceFallsAtTheGradientFlowRateAndReachesTheData) {
  const auto divergence = Divergence::from_name(GetParam());
  const auto early = run_grid_flow(divergence, 0.05);
  SCOPED_TRACE(GetParam() + ": D_f " + std::to_string(early.initial) + " -> " +
               std::to_string(early.final) + ", dissipated " + std::to_string(early.dissipated));
  ASSERT_GT(early.initial, 0.1);  // q_0 is far from p for every f
  EXPECT_LE(early.worst_rise, 1e-12);
  // Measured: 0.9987 .. 1.0054 for the seven f at n = 100; a wrong s gives 0.35 .. 4.2.
  EXPECT_NEAR((early.initial - early.final) / early.dissipated, 1.0, 0.02);

  const auto late = run_grid_flow(divergence, 0.3);
  EXPECT_LE(late.worst_rise, 1e-12);
  EXPECT_LT(late.final, 1e-3 * late.initial);  // measured <= 2e-6 of the initial
}

INSTANTIATE_TEST_SUITE_P(EveryDivergence, FlowTheory,
                         ::testing::ValuesIn(Divergence::names()),
                         [](const auto& info) {
                           auto name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace vgrow
