#include "vgrow/core/divergence.h"

#include <cmath>

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include "core/name_table.h"

namespace vgrow {
namespace {

constexpr Named<DivergenceKind> kNames[] = {
    {"kl", DivergenceKind::KL},
    {"js", DivergenceKind::JS},
    {"logd", DivergenceKind::LogD},
    {"jeffreys", DivergenceKind::Jeffreys},
    {"pearson", DivergenceKind::PearsonChi2},
    {"reverse-kl", DivergenceKind::ReverseKL},
    {"hellinger", DivergenceKind::SquaredHellinger},
};
// The authors' spelling.
constexpr Named<DivergenceKind> kAliases[] = {{"jeffrey", DivergenceKind::Jeffreys}};

// e^{+-D} overflows float32 beyond |D| ~ 88; clamping D first keeps every weight finite,
// and the cap (max_velocity_scale) binds long before this bound does.
constexpr double kExpArgBound = 30.0;

}  // namespace

Divergence::Divergence(DivergenceKind kind, DivergenceOptions options)
    : kind_(kind), options_(options) {
  TORCH_CHECK(options_.max_velocity_scale > 0.0 && std::isfinite(options_.max_velocity_scale),
              "divergence max_velocity_scale must be a positive finite number, got ",
              options_.max_velocity_scale);
  TORCH_CHECK(options_.max_relative_weight >= 1.0 && std::isfinite(options_.max_relative_weight),
              "divergence max_relative_weight must be a finite number >= 1, got ",
              options_.max_relative_weight);
}

Divergence Divergence::from_name(std::string_view name, DivergenceOptions options) {
  auto kind = find_named(kNames, name);
  if (!kind) kind = find_named(kAliases, name);
  TORCH_CHECK(kind, "unknown divergence '", name, "' (known: ", known_names(kNames), ")");
  return Divergence(*kind, options);
}

std::vector<std::string> Divergence::names() { return names_of(kNames); }

std::string Divergence::name() const { return name_of(kNames, kind_); }

double Divergence::f(double u) const {
  TORCH_CHECK(u > 0.0, "f(u) needs u > 0, got ", u);
  return f(torch::tensor({u}, torch::kFloat64)).item<double>();
}

torch::Tensor Divergence::f(const torch::Tensor& u) const {
  switch (kind_) {
    case DivergenceKind::KL: return u * u.log();
    case DivergenceKind::JS: return u * u.log() - (u + 1) * ((u + 1) / 2).log();
    case DivergenceKind::LogD: return (u + 1) * (u + 1).log() - 2.0 * std::log(2.0);
    case DivergenceKind::Jeffreys: return (u - 1) * u.log();
    case DivergenceKind::PearsonChi2: return (u - 1).square();
    case DivergenceKind::ReverseKL: return -u.log();
    case DivergenceKind::SquaredHellinger: return (u.sqrt() - 1).square();
  }
  return torch::zeros_like(u);
}

torch::Tensor Divergence::velocity_scale(const torch::Tensor& d) const {
  const auto dc = d.clamp(-kExpArgBound, kExpArgBound);
  torch::Tensor s;
  switch (kind_) {
    case DivergenceKind::KL: s = torch::ones_like(d); break;            // f'' = 1/u
    case DivergenceKind::JS: s = torch::sigmoid(d); break;              // f'' = 1/(u(u+1))
    case DivergenceKind::LogD: s = torch::sigmoid(-d); break;           // f'' = 1/(u+1)
    case DivergenceKind::Jeffreys: s = 1.0 + dc.exp(); break;           // f'' = 1/u + 1/u^2
    case DivergenceKind::PearsonChi2: s = 2.0 * (-dc).exp(); break;     // f'' = 2
    case DivergenceKind::ReverseKL: s = dc.exp(); break;                // f'' = 1/u^2
    case DivergenceKind::SquaredHellinger: s = 0.5 * (0.5 * dc).exp(); break;  // f'' = u^{-3/2}/2
  }
  return s.clamp_max(options_.max_velocity_scale);
}

torch::Tensor Divergence::log_velocity_scale(const torch::Tensor& d) const {
  switch (kind_) {
    case DivergenceKind::KL: return torch::zeros_like(d);
    case DivergenceKind::JS: return torch::log_sigmoid(d);
    case DivergenceKind::LogD: return torch::log_sigmoid(-d);
    case DivergenceKind::Jeffreys: return torch::softplus(d);
    case DivergenceKind::PearsonChi2: return std::log(2.0) - d;
    case DivergenceKind::ReverseKL: return d.clone();
    case DivergenceKind::SquaredHellinger: return 0.5 * d - std::log(2.0);
  }
  return torch::zeros_like(d);
}

torch::Tensor Divergence::flow_weights(const torch::Tensor& d) const {
  // KL's weights are all one: relative ones would be too, up to rounding.
  if (options_.weighting == FlowWeighting::Exact || kind_ == DivergenceKind::KL || d.numel() == 0) {
    return velocity_scale(d);
  }
  // log(s / mean s) = log s - (logsumexp(log s) - log n): no overflow whatever D is.
  const auto log_s = log_velocity_scale(d);
  const auto log_mean = log_s.logsumexp(0) - std::log(static_cast<double>(d.numel()));
  const auto bound = std::log(options_.max_relative_weight);
  return (log_s - log_mean).clamp(-bound, bound).exp();
}

bool Divergence::weight_grows_exponentially() const {
  return kind_ == DivergenceKind::PearsonChi2 || kind_ == DivergenceKind::ReverseKL ||
         kind_ == DivergenceKind::SquaredHellinger;
}

double Divergence::velocity_scale(double d) const {
  return velocity_scale(torch::tensor({d}, torch::kFloat64)).item<double>();
}

torch::Tensor Divergence::estimate(const torch::Tensor& d_real) const {
  return f((-d_real.to(torch::kFloat64).clamp(-kExpArgBound, kExpArgBound)).exp()).mean();
}

}  // namespace vgrow
