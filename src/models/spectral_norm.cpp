#include "vgrow/models/spectral_norm.h"

#include <torch/torch.h>

#include "vgrow/support/mixed_precision.h"
#include "vgrow/models/flop_count.h"

namespace vgrow::models {
namespace {

torch::Tensor unit(const torch::Tensor& x, double eps) {
  return x / (x.norm() + eps);
}

// Registers the weight, optional bias and the power-iteration buffers of an SN layer.
void register_sn_state(torch::nn::Module& m, std::vector<int64_t> shape, bool with_bias,
                       torch::Tensor& weight, torch::Tensor& bias, torch::Tensor& u,
                       torch::Tensor& v) {
  const int64_t rows = shape[0];
  int64_t cols = 1;
  for (size_t i = 1; i < shape.size(); ++i) cols *= shape[i];
  weight = m.register_parameter("weight", torch::empty(shape));
  const double bound = 1.0 / std::sqrt(static_cast<double>(cols));
  torch::NoGradGuard no_grad;
  weight.uniform_(-bound, bound);
  if (with_bias) {
    bias = m.register_parameter("bias", torch::zeros({rows}));
  }
  u = m.register_buffer("u", unit(torch::randn({rows}), 1e-12));
  v = m.register_buffer("v", unit(torch::randn({cols}), 1e-12));
}

}  // namespace

torch::Tensor spectral_normalize(const torch::Tensor& weight, torch::Tensor& u, torch::Tensor& v,
                                 int64_t iterations, bool update, double eps) {
  // Under autocast sigma would be estimated in bf16/fp16: the normalisation stays fp32.
  AutocastDisabled fp32;
  const auto w = weight.reshape({weight.size(0), -1});
  if (update) {
    torch::NoGradGuard no_grad;
    for (int64_t i = 0; i < iterations; ++i) {
      v.copy_(unit(torch::mv(w.t(), u), eps));
      u.copy_(unit(torch::mv(w, v), eps));
    }
  }
  // u and v are updated in place by later forwards; the graph must keep today's values.
  const auto sigma = torch::dot(u.clone(), torch::mv(w, v.clone()));
  return weight / sigma;
}

SNLinearImpl::SNLinearImpl(SNLinearOptions options_) : options(std::move(options_)) { reset(); }

void SNLinearImpl::reset() {
  register_sn_state(*this, {options.out_features(), options.in_features()}, options.bias(), weight,
                    bias, u, v);
}

torch::Tensor SNLinearImpl::forward(const torch::Tensor& x) {
  const auto w = options.spectral_norm()
                     ? spectral_normalize(weight, u, v, options.power_iterations(), is_training())
                     : weight;
  auto out = torch::nn::functional::linear(x, w, bias);
  count_linear(out, options.in_features());
  return out;
}

torch::Tensor SNLinearImpl::effective_weight() {
  return options.spectral_norm() ? spectral_normalize(weight, u, v, 0, false) : weight;
}

SNConv2dImpl::SNConv2dImpl(SNConv2dOptions options_) : options(std::move(options_)) { reset(); }

void SNConv2dImpl::reset() {
  register_sn_state(*this,
                    {options.out_channels(), options.in_channels(), options.kernel_size(),
                     options.kernel_size()},
                    options.bias(), weight, bias, u, v);
}

torch::Tensor SNConv2dImpl::forward_weight() {
  return options.spectral_norm()
             ? spectral_normalize(weight, u, v, options.power_iterations(), is_training())
             : weight;
}

torch::Tensor SNConv2dImpl::forward(const torch::Tensor& x) {
  auto out = torch::conv2d(x, forward_weight(), bias, options.stride(), options.padding());
  count_conv(out, options.in_channels(), options.kernel_size(), options.kernel_size());
  return out;
}

torch::Tensor SNConv2dImpl::effective_weight() {
  return options.spectral_norm() ? spectral_normalize(weight, u, v, 0, false) : weight;
}

}  // namespace vgrow::models
