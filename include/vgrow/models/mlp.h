#pragma once
// Fully connected generator and discriminator for low-dimensional data (2-D targets) and
// quick image baselines. The authors' toy models: one hidden layer of 256 units.

#include <vector>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include "vgrow/models/spectral_norm.h"

namespace vgrow::models {

struct MLPGeneratorOptions {
  TORCH_ARG(int64_t, latent_dim) = 2;
  TORCH_ARG(int64_t, hidden) = 256;
  TORCH_ARG(int64_t, layers) = 2;                      // hidden layers
  TORCH_ARG(std::vector<int64_t>, output_shape) = std::vector<int64_t>{2};
  TORCH_ARG(bool, tanh_output) = false;                // images live in [-1, 1]
};

class MLPGeneratorImpl : public torch::nn::Cloneable<MLPGeneratorImpl> {
 public:
  explicit MLPGeneratorImpl(MLPGeneratorOptions options = {});
  void reset() override;
  torch::Tensor forward(const torch::Tensor& z);

  MLPGeneratorOptions options;

 private:
  torch::nn::ModuleList layers_{nullptr};
};
TORCH_MODULE(MLPGenerator);

struct MLPDiscriminatorOptions {
  TORCH_ARG(int64_t, input_dim) = 2;
  TORCH_ARG(int64_t, hidden) = 256;
  TORCH_ARG(int64_t, layers) = 2;
  TORCH_ARG(bool, spectral_norm) = false;
  TORCH_ARG(int64_t, power_iterations) = 5;
};

class MLPDiscriminatorImpl : public torch::nn::Cloneable<MLPDiscriminatorImpl> {
 public:
  explicit MLPDiscriminatorImpl(MLPDiscriminatorOptions options = {});
  void reset() override;
  // Any input shape [N, ...] is flattened; returns D(x) = log p/q, shape [N].
  torch::Tensor forward(const torch::Tensor& x);

  MLPDiscriminatorOptions options;

 private:
  torch::nn::ModuleList layers_{nullptr};
};
TORCH_MODULE(MLPDiscriminator);

}  // namespace vgrow::models
