#pragma once
// The authors' ResNet generator and discriminator (SNGAN-style), spectral norm on every
// conv and linear. Their in-place ReLU at the start of each residual block makes the
// shortcut carry relu(x); we match that (shortcut_after_relu) so presets reproduce them.

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "vgrow/models/spectral_norm.h"

namespace vgrow::models {

struct ResNetGeneratorOptions {
  TORCH_ARG(int64_t, latent_dim) = 128;
  TORCH_ARG(int64_t, width) = 128;
  TORCH_ARG(int64_t, channels) = 1;
  TORCH_ARG(int64_t, image_size) = 32;  // 4 * 2^blocks
  TORCH_ARG(bool, spectral_norm) = true;
  TORCH_ARG(int64_t, power_iterations) = 5;
  TORCH_ARG(bool, shortcut_after_relu) = true;
  // Resampling in its exact cheaper form: D's conv + average pooling as one 4x4 stride-2
  // conv (models/resampling_conv.h), 1x1 shortcuts before upsampling / after pooling. The
  // same function with fewer multiply-adds; false: the authors' literal order.
  TORCH_ARG(bool, fused_resampling) = true;
  // Activations in channels-last (NHWC) layout (models/channels_last.h); the output is
  // returned in the usual layout either way.
  TORCH_ARG(bool, channels_last) = true;
};

class UpBlockImpl : public torch::nn::Cloneable<UpBlockImpl> {
 public:
  UpBlockImpl(int64_t width, bool spectral_norm, int64_t power_iterations,
              bool shortcut_after_relu, bool fused_resampling = true);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t width_, power_iterations_;
  bool spectral_norm_, shortcut_after_relu_, fused_;
  SNConv2d conv1_{nullptr}, conv2_{nullptr}, shortcut_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(UpBlock);

class ResNetGeneratorImpl : public torch::nn::Cloneable<ResNetGeneratorImpl> {
 public:
  explicit ResNetGeneratorImpl(ResNetGeneratorOptions options = {});
  void reset() override;
  // z: [N, latent_dim] -> images [N, channels, image_size, image_size] in (-1, 1).
  torch::Tensor forward(const torch::Tensor& z);

  ResNetGeneratorOptions options;

 private:
  SNLinear linear_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  SNConv2d to_image_{nullptr};
};
TORCH_MODULE(ResNetGenerator);

struct ResNetDiscriminatorOptions {
  TORCH_ARG(int64_t, width) = 128;
  TORCH_ARG(int64_t, channels) = 1;
  TORCH_ARG(int64_t, image_size) = 32;  // 8 * 2^(down blocks - 1) ... down to 8x8
  TORCH_ARG(bool, spectral_norm) = true;
  TORCH_ARG(int64_t, power_iterations) = 5;
  TORCH_ARG(bool, shortcut_after_relu) = true;
  // Resampling in its exact cheaper form: D's conv + average pooling as one 4x4 stride-2
  // conv (models/resampling_conv.h), 1x1 shortcuts before upsampling / after pooling. The
  // same function with fewer multiply-adds; false: the authors' literal order.
  TORCH_ARG(bool, fused_resampling) = true;
  // Activations in channels-last (NHWC) layout (models/channels_last.h).
  TORCH_ARG(bool, channels_last) = true;
};

class DiscBlockImpl : public torch::nn::Cloneable<DiscBlockImpl> {
 public:
  DiscBlockImpl(int64_t in_channels, int64_t width, bool down, bool first, bool spectral_norm,
                int64_t power_iterations, bool shortcut_after_relu, bool fused_resampling = true);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t in_, width_, power_iterations_;
  bool down_, first_, spectral_norm_, shortcut_after_relu_, fused_;
  SNConv2d conv1_{nullptr}, conv2_{nullptr}, shortcut_{nullptr};
};
TORCH_MODULE(DiscBlock);

class ResNetDiscriminatorImpl : public torch::nn::Cloneable<ResNetDiscriminatorImpl> {
 public:
  explicit ResNetDiscriminatorImpl(ResNetDiscriminatorOptions options = {});
  void reset() override;
  // x: [N, channels, S, S] -> logits D(x) = log p/q, shape [N].
  torch::Tensor forward(const torch::Tensor& x);

  ResNetDiscriminatorOptions options;

 private:
  torch::nn::ModuleList blocks_{nullptr};
  SNLinear linear_{nullptr};
};
TORCH_MODULE(ResNetDiscriminator);

// The authors' initialisation: conv/linear weights N(0, 0.02), BN gamma N(1, 0.02), biases 0.
void init_paper_weights(torch::nn::Module& module);

}  // namespace vgrow::models
