#pragma once
// Networks the tests share.

#include <cstdint>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <torch/nn/modules/container/any.h>

#include "vgrow/models/mlp.h"
#include "vgrow/models/resnet.h"

namespace vgrow::testing {

// A small MLP discriminator on `input_dim` features, always the same weights (seed 7).
inline torch::nn::AnyModule small_mlp_discriminator(int64_t input_dim) {
  torch::manual_seed(7);
  return torch::nn::AnyModule(models::MLPDiscriminator(
      models::MLPDiscriminatorOptions().input_dim(input_dim).hidden(16).layers(2)));
}

// A ResNet D seeded with `seed` whose spectral-norm u, v have settled: from random vectors
// sigma is far off (D's gradients are then ~1e7), so four training-mode forwards come first.
inline models::ResNetDiscriminator settled_discriminator(
    uint64_t seed, const models::ResNetDiscriminatorOptions& options) {
  torch::manual_seed(seed);
  models::ResNetDiscriminator d(options);
  torch::NoGradGuard no_grad;
  const auto zeros =
      torch::zeros({1, options.channels(), options.image_size(), options.image_size()});
  for (int i = 0; i < 4; ++i) d->forward(zeros);
  return d;
}

// A discriminator's clone() answers alike and is independent: training the copy (which
// moves its spectral-norm u, v) and flipping its weights leave the original untouched.
template <class Impl, class Holder>
void expect_independent_equal_clone(Holder& d, const torch::Tensor& x) {
  d->forward(x);
  d->eval();
  auto copy = std::dynamic_pointer_cast<Impl>(d->clone());
  ASSERT_TRUE(copy);
  copy->eval();
  torch::NoGradGuard no_grad;
  const auto before = d->forward(x);
  EXPECT_TRUE(torch::allclose(copy->forward(x), before, 1e-6, 1e-7));
  const auto buffers = d->buffers();
  std::vector<torch::Tensor> saved;
  for (const auto& b : buffers) saved.push_back(b.clone());
  copy->train();
  for (int i = 0; i < 3; ++i) copy->forward(torch::randn(x.sizes()));
  for (auto& p : copy->parameters()) p.mul_(-1.0);
  for (size_t i = 0; i < buffers.size(); ++i) EXPECT_TRUE(torch::equal(buffers[i], saved[i]));
  EXPECT_TRUE(torch::equal(d->forward(x), before));
}

}  // namespace vgrow::testing
