#pragma once
// Spectral normalisation (Miyato et al. 2018) for the C++ frontend, which has none.
//
// The weight W (viewed as out x rest) is divided by sigma = u^T W v, where u and v are
// kept as buffers and refined by power iteration on every training-mode forward, as in
// PyTorch's torch.nn.utils.spectral_norm. In eval mode u and v stay as they are.

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace vgrow::models {

// Advances (u, v) by `iterations` power iterations when `update` is true (no autograd),
// then returns W / (u^T W v), differentiable in W.
torch::Tensor spectral_normalize(const torch::Tensor& weight, torch::Tensor& u, torch::Tensor& v,
                                 int64_t iterations, bool update, double eps = 1e-12);

struct SNLinearOptions {
  SNLinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TORCH_ARG(int64_t, in_features);
  TORCH_ARG(int64_t, out_features);
  TORCH_ARG(bool, bias) = true;
  TORCH_ARG(bool, spectral_norm) = true;
  TORCH_ARG(int64_t, power_iterations) = 5;
};

class SNLinearImpl : public torch::nn::Cloneable<SNLinearImpl> {
 public:
  explicit SNLinearImpl(SNLinearOptions options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  // The weight actually applied (normalised when spectral norm is on), without advancing u, v.
  torch::Tensor effective_weight();

  SNLinearOptions options;
  torch::Tensor weight, bias, u, v;
};
TORCH_MODULE(SNLinear);

struct SNConv2dOptions {
  SNConv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, padding) = 0;
  TORCH_ARG(int64_t, stride) = 1;
  TORCH_ARG(bool, bias) = false;
  TORCH_ARG(bool, spectral_norm) = true;
  TORCH_ARG(int64_t, power_iterations) = 5;
};

class SNConv2dImpl : public torch::nn::Cloneable<SNConv2dImpl> {
 public:
  explicit SNConv2dImpl(SNConv2dOptions options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor effective_weight();
  // The weight forward() applies: normalised, advancing u and v in training mode. For
  // callers that fuse this conv with resampling (models/resampling_conv.h).
  torch::Tensor forward_weight();

  SNConv2dOptions options;
  torch::Tensor weight, bias, u, v;
};
TORCH_MODULE(SNConv2d);

}  // namespace vgrow::models
