#pragma once
// DCGAN-style convolutional generator and discriminator (Radford et al. 2016): strided
// (transposed) 4x4 convolutions, BatchNorm in G, spectral norm in D. About 9 MFLOP per
// 32x32 image each at width 32 (the ResNets: 53 and 34), so a 2-core CPU makes thousands of
// updates in minutes: the default Fashion-MNIST preset uses them.

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include "vgrow/models/spectral_norm.h"

namespace vgrow::models {

struct DCGANGeneratorOptions {
  TORCH_ARG(int64_t, latent_dim) = 128;
  TORCH_ARG(int64_t, width) = 32;  // channels of the last hidden layer; doubles per level down
  TORCH_ARG(int64_t, channels) = 1;
  TORCH_ARG(int64_t, image_size) = 32;  // 4 * 2^levels
  // The transposed convs in their sub-pixel form (models/resampling_conv.h): the same
  // function, run by oneDNN.
  TORCH_ARG(bool, fused_resampling) = true;
  // Activations in channels-last (NHWC) layout (models/channels_last.h); the output is
  // returned in the usual layout either way.
  TORCH_ARG(bool, channels_last) = true;
};

class DCGANGeneratorImpl : public torch::nn::Cloneable<DCGANGeneratorImpl> {
 public:
  explicit DCGANGeneratorImpl(DCGANGeneratorOptions options = {});
  void reset() override;
  torch::Tensor forward(const torch::Tensor& z);

  DCGANGeneratorOptions options;

 private:
  int64_t base_channels_ = 0;
  torch::nn::Linear linear_{nullptr};
  torch::nn::BatchNorm2d bn0_{nullptr};
  torch::nn::ModuleList ups_{nullptr}, bns_{nullptr};
};
TORCH_MODULE(DCGANGenerator);

struct DCGANDiscriminatorOptions {
  TORCH_ARG(int64_t, width) = 32;  // channels of the first layer; doubles per level
  TORCH_ARG(int64_t, channels) = 1;
  TORCH_ARG(int64_t, image_size) = 32;
  TORCH_ARG(bool, spectral_norm) = true;
  TORCH_ARG(int64_t, power_iterations) = 1;
  // Activations in channels-last (NHWC) layout (models/channels_last.h).
  TORCH_ARG(bool, channels_last) = true;
};

class DCGANDiscriminatorImpl : public torch::nn::Cloneable<DCGANDiscriminatorImpl> {
 public:
  explicit DCGANDiscriminatorImpl(DCGANDiscriminatorOptions options = {});
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x);

  DCGANDiscriminatorOptions options;

 private:
  torch::nn::ModuleList convs_{nullptr};
  SNLinear linear_{nullptr};
};
TORCH_MODULE(DCGANDiscriminator);

}  // namespace vgrow::models
