#include "vgrow/data/toy2d.h"

#include <cmath>
#include <numbers>

#include <torch/torch.h>

namespace vgrow::data {
namespace {

constexpr double kPi = std::numbers::pi;

torch::Tensor ring_centres(int64_t k, double radius) {
  auto angle = torch::arange(k, torch::kFloat64) * (2.0 * kPi / static_cast<double>(k));
  return torch::stack({radius * torch::cos(angle), radius * torch::sin(angle)}, 1);
}

torch::Tensor mixture(const GaussianModes& modes, int64_t n) {
  const auto pick = torch::randint(modes.centres.size(0), {n}, torch::kLong);
  return modes.centres.index_select(0, pick) + modes.sigma * torch::randn({n, 2}, torch::kFloat64);
}

// Two concentric circles as the authors used: r = 15 and 5, noise 0.5, weights 0.67 / 0.33.
torch::Tensor circles(int64_t n) {
  const auto outer = torch::rand({n}, torch::kFloat64) < 0.67;
  const auto radius = torch::where(outer, torch::full({n}, 15.0, torch::kFloat64),
                                   torch::full({n}, 5.0, torch::kFloat64));
  const auto angle = torch::rand({n}, torch::kFloat64) * (2 * kPi);
  return torch::stack({radius * angle.cos(), radius * angle.sin()}, 1) +
         0.5 * torch::randn({n, 2}, torch::kFloat64);
}

torch::Tensor swiss_roll(int64_t n) {
  const auto t = 1.5 * kPi * (1 + 2 * torch::rand({n}, torch::kFloat64));
  return torch::stack({t * t.cos(), t * t.sin()}, 1) / 1.5 + 0.25 * torch::randn({n, 2}, torch::kFloat64);
}

torch::Tensor two_moons(int64_t n) {
  const auto upper = torch::rand({n}, torch::kFloat64) < 0.5;
  const auto t = kPi * torch::rand({n}, torch::kFloat64);
  const auto x = torch::where(upper, t.cos(), 1 - t.cos());
  const auto y = torch::where(upper, t.sin(), 0.5 - t.sin());
  return 4.0 * torch::stack({x - 0.5, y - 0.25}, 1) + 0.4 * torch::randn({n, 2}, torch::kFloat64);
}

// 4x4 board on [-8, 8]^2, points uniform on the 8 dark squares.
torch::Tensor checkerboard(int64_t n) {
  const auto col = torch::randint(4, {n}, torch::kLong);
  const auto row = 2 * torch::randint(2, {n}, torch::kLong) + (col % 2);
  const auto x = (col.to(torch::kFloat64) + torch::rand({n}, torch::kFloat64)) * 4 - 8;
  const auto y = (row.to(torch::kFloat64) + torch::rand({n}, torch::kFloat64)) * 4 - 8;
  return torch::stack({x, y}, 1);
}

// Five twisted arms (the pinwheel of Johnson et al. 2016), scaled to radius ~8.
torch::Tensor pinwheel(int64_t n) {
  const int64_t arms = 5;
  const double radial_std = 0.3, tangential_std = 0.1, rate = 0.25;
  const auto arm = torch::randint(arms, {n}, torch::kLong).to(torch::kFloat64);
  auto f = torch::randn({n, 2}, torch::kFloat64) * torch::tensor({radial_std, tangential_std}, torch::kFloat64);
  f.select(1, 0).add_(1.0);
  const auto angle = arm * (2 * kPi / arms) + rate * f.select(1, 0).exp();
  const auto c = angle.cos(), s = angle.sin();
  const auto x = c * f.select(1, 0) - s * f.select(1, 1);
  const auto y = s * f.select(1, 0) + c * f.select(1, 1);
  return 4.0 * torch::stack({x, y}, 1);
}

}  // namespace

std::vector<Toy2DInfo> toy2d_targets() {
  return {
      {"8gaussians", "8 Gaussians on a circle of radius 10, sigma 1 (the authors')"},
      {"8gaussians-small", "8 Gaussians on a circle of radius 2, sigma 0.02 (WGAN-GP scale)"},
      {"25gaussians", "5x5 grid of Gaussians at {-4,-2,0,2,4}^2, sigma 0.05"},
      {"circles", "two concentric circles, r = 15 and 5, noise 0.5, weights 0.67/0.33"},
      {"swissroll", "swiss roll, noise 0.25"},
      {"moons", "two interleaved half circles, scaled x4, noise 0.4"},
      {"checkerboard", "uniform on the dark squares of a 4x4 board on [-8, 8]^2"},
      {"pinwheel", "five twisted arms"},
  };
}

GaussianModes toy2d_modes(const std::string& name) {
  if (name == "8gaussians") return {ring_centres(8, 10.0), 1.0};
  if (name == "8gaussians-small") return {ring_centres(8, 2.0), 0.02};
  if (name == "25gaussians") {
    auto g = torch::arange(-2, 3, torch::kFloat64) * 2.0;
    auto grid = torch::meshgrid({g, g}, "ij");
    return {torch::stack({grid[0].flatten(), grid[1].flatten()}, 1), 0.05};
  }
  return {};
}

torch::Tensor sample_toy2d(const std::string& name, int64_t n) {
  TORCH_CHECK(n >= 0, "sample count must be non-negative");
  torch::Tensor out;
  if (auto modes = toy2d_modes(name); modes.centres.defined()) {
    out = mixture(modes, n);
  } else if (name == "circles") {
    out = circles(n);
  } else if (name == "swissroll") {
    out = swiss_roll(n);
  } else if (name == "moons") {
    out = two_moons(n);
  } else if (name == "checkerboard") {
    out = checkerboard(n);
  } else if (name == "pinwheel") {
    out = pinwheel(n);
  } else {
    std::string known;
    for (const auto& t : toy2d_targets()) known += (known.empty() ? "" : ", ") + t.name;
    TORCH_CHECK(false, "unknown 2-D target '", name, "' (known: ", known, ")");
  }
  return out.to(torch::kFloat32);
}

torch::Tensor Toy2DSource::preview(int64_t n) const {
  // A private generator: the training stream of random numbers is left untouched.
  auto state = at::detail::getDefaultCPUGenerator().get_state();
  torch::manual_seed(20190101);
  auto out = sample_toy2d(name_, n);
  auto generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(state);
  return out;
}

Toy2DSource::Toy2DSource(std::string name) : name_(std::move(name)) {
  sample_toy2d(name_, 0);  // validates the name up front; draws nothing
}

}  // namespace vgrow::data
