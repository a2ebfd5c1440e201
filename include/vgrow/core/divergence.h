#pragma once
// f-divergences D_f(q||p) = E_p[f(q/p)] and the velocity scale s(D) of their gradient flow.
//
// With the logistic density ratio D(x) = log p(x)/q(x), r = q/p = e^{-D}, the flow's
// velocity is v(x) = s(D(x)) * grad_x D(x) with s(D) = f''(r) * r (paper, section 3).

#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>

namespace vgrow {

enum class DivergenceKind { KL, JS, LogD, Jeffreys, PearsonChi2, ReverseKL, SquaredHellinger };

// How the flow weighs each particle's step (docs/divergences.md has the measurements).
enum class FlowWeighting {
  // s(D) itself, capped at max_velocity_scale: the paper's update.
  Exact,
  // s(D) relative to its mean over the particles stepped together, in [1/R, R] with
  // R = max_relative_weight. Dividing by the mean only rescales time, so the flow's
  // fixed point p = q stays; the bound keeps weights that grow like e^{+-D} from flinging
  // a few particles (or stalling most of them) while D is far from the true log-ratio.
  Relative,
};

struct DivergenceOptions {
  // Scales that grow like e^{+-D} are capped here: a confident D must not fling particles
  // away (the TF reference caps Jeffreys at 100 the same way). Config key flow.max_weight.
  double max_velocity_scale = 100.0;
  FlowWeighting weighting = FlowWeighting::Exact;  // config key flow.weighting
  double max_relative_weight = 10.0;                // config key flow.max_relative_weight
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
  // s(D) = f''(e^{-D}) e^{-D}, elementwise; finite for every finite D, capped at
  // max_velocity_scale. The flow velocity is s(D) * grad_x D (particles.h).
  torch::Tensor velocity_scale(const torch::Tensor& d) const;
  double velocity_scale(double d) const;
  // log s(D), elementwise, without overflow for any finite D (no cap).
  torch::Tensor log_velocity_scale(const torch::Tensor& d) const;
  // The weight of each particle's step, s(D) or relative to the batch (FlowWeighting), for
  // the particles `d` stepped together. The flow velocity is flow_weights(D) * grad_x D.
  torch::Tensor flow_weights(const torch::Tensor& d) const;
  // The divergences whose weight grows exponentially in |D| (Pearson, reverse KL, squared
  // Hellinger) and need relative weights to learn reliably; the paper's four do not.
  bool weight_grows_exponentially() const;
  // Monte-Carlo estimate of D_f(q||p) from D on real samples: E_p[f(e^{-D})].
  torch::Tensor estimate(const torch::Tensor& d_real) const;

 private:
  DivergenceKind kind_;
  DivergenceOptions options_;
};

}  // namespace vgrow
