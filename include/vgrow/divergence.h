#pragma once
// f-divergences D_f(q||p) = E_p[f(q/p)] and the particle weight of their gradient flow.
//
// With the logistic density ratio D(x) = log p(x)/q(x), r = q/p = e^{-D}, the flow's
// velocity is v(x) = s(D(x)) * grad_x D(x) with s(D) = f''(r) * r (paper, section 3).

#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>

namespace vgrow {

enum class DivergenceKind { KL, JS, LogD, Jeffreys, PearsonChi2, ReverseKL, SquaredHellinger };

struct DivergenceOptions {
  // Weights that grow like e^{+-D} are capped here: a confident D must not fling particles
  // away (the TF reference caps Jeffreys at 100 the same way).
  double max_weight = 100.0;
};

class Divergence {
 public:
  explicit Divergence(DivergenceKind kind, DivergenceOptions options = {});
  // Accepts "kl", "js", "logd", "jeffreys", "pearson", "reverse-kl", "hellinger" (any case).
  static Divergence from_name(std::string_view name, DivergenceOptions options = {});
  static std::vector<std::string> names();

  DivergenceKind kind() const { return kind_; }
  std::string name() const;
  const DivergenceOptions& options() const { return options_; }

  // f(u) for u > 0, convex with f(1) = 0.
  double f(double u) const;
  torch::Tensor f(const torch::Tensor& u) const;
  // s(D) = f''(e^{-D}) e^{-D}, elementwise; finite for every finite D, capped at max_weight.
  torch::Tensor weight(const torch::Tensor& d) const;
  double weight(double d) const;
  // Monte-Carlo estimate of D_f(q||p) from D on real samples: E_p[f(e^{-D})].
  torch::Tensor estimate(const torch::Tensor& d_real) const;

 private:
  DivergenceKind kind_;
  DivergenceOptions options_;
};

}  // namespace vgrow
