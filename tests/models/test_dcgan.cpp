// DCGAN generator and discriminator: shapes, output range, spectral norm, clone, options.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model_helpers.h"
#include "test_helpers.h"
#include "vgrow/models/dcgan.h"

namespace {

using ::testing::HasSubstr;
using vgrow::testing::error_of;
using namespace vgrow::models;

double largest_singular_value(const torch::Tensor& w) {
  return torch::linalg_svdvals(w.reshape({w.size(0), -1}).to(torch::kFloat64))[0].item<double>();
}

// The layers of `module`'s tree that are of type T.
template <class T>
std::vector<T*> layers_of(torch::nn::Module& module) {
  std::vector<T*> out;
  for (const auto& m : module.modules(/*include_self=*/false)) {
    if (auto* layer = m->as<T>()) out.push_back(layer);
  }
  return out;
}

TEST(DCGANModels, ShapesForEveryImageSizeAndWidth) {
  torch::manual_seed(1);
  for (int64_t size : {8, 16, 32}) {
    for (int64_t width : {4, 8}) {
      for (int64_t channels : {1, 3}) {
        DCGANGenerator g(DCGANGeneratorOptions().latent_dim(16).width(width).channels(channels)
                             .image_size(size));
        DCGANDiscriminator d(
            DCGANDiscriminatorOptions().width(width).channels(channels).image_size(size));
        const auto x = g->forward(torch::randn({3, 16}));
        EXPECT_EQ(x.sizes(), (std::vector<int64_t>{3, channels, size, size}))
            << "size " << size << " width " << width;
        EXPECT_EQ(d->forward(x).sizes(), (std::vector<int64_t>{3}))
            << "size " << size << " width " << width;
      }
    }
  }
}

// The last layer's weights are blown up: without the final tanh the pixels would be huge.
TEST(DCGANModels, GeneratorOutputIsSquashedIntoMinusOneOne) {
  torch::manual_seed(2);
  DCGANGenerator g(DCGANGeneratorOptions().latent_dim(8).width(4).channels(3).image_size(16));
  const auto ups = layers_of<torch::nn::ConvTranspose2dImpl>(*g);
  ASSERT_EQ(ups.size(), 2u);  // 16 = 4 * 2^2
  {
    torch::NoGradGuard no_grad;
    ups.back()->weight.mul_(1000.0);
  }
  const auto x = g->forward(10 * torch::randn({4, 8}));
  EXPECT_LE(x.abs().max().item<double>(), 1.0);
  EXPECT_GT(x.abs().max().item<double>(), 0.99);
  EXPECT_LT(x.min().item<double>(), 0.0);
  EXPECT_GT(x.max().item<double>(), 0.0);
}

// One logit per sample, and each depends on its own sample only (no batch coupling in D).
TEST(DCGANModels, DiscriminatorGivesOneLogitPerSample) {
  torch::manual_seed(3);
  DCGANDiscriminator d(DCGANDiscriminatorOptions().width(4).channels(1).image_size(8));
  const auto x = torch::randn({5, 1, 8, 8});
  for (int i = 0; i < 3; ++i) d->forward(x);  // settle u, v
  d->eval();
  const auto batch = d->forward(x);
  ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{5}));
  for (int64_t i = 0; i < 5; ++i) {
    const auto alone = d->forward(x.narrow(0, i, 1));
    ASSERT_EQ(alone.sizes(), (std::vector<int64_t>{1}));
    EXPECT_NEAR(alone.item<double>(), batch[i].item<double>(), 1e-5) << "sample " << i;
  }
  EXPECT_GT((batch - batch.mean()).abs().max().item<double>(), 0.0);  // not a constant
}

// Weights scaled to spectral norm ~3..6, power_iterations passed to every layer: after
// training-mode forwards every conv and the linear layer apply a weight of spectral norm 1.
TEST(DCGANModels, SpectralNormIsAppliedToEveryDiscriminatorLayer) {
  torch::manual_seed(4);
  DCGANDiscriminator d(DCGANDiscriminatorOptions()
                           .width(8)
                           .channels(1)
                           .image_size(16)
                           .spectral_norm(true)
                           .power_iterations(10));
  const auto convs = layers_of<SNConv2dImpl>(*d);
  const auto linears = layers_of<SNLinearImpl>(*d);
  ASSERT_EQ(convs.size(), 2u);
  ASSERT_EQ(linears.size(), 1u);
  {
    torch::NoGradGuard no_grad;
    for (auto* c : convs) c->weight.mul_(5.0);
    linears[0]->weight.mul_(5.0);
  }
  for (int i = 0; i < 20; ++i) d->forward(torch::randn({2, 1, 16, 16}));
  for (auto* c : convs) {
    EXPECT_EQ(c->options.power_iterations(), 10);
    EXPECT_GT(largest_singular_value(c->weight.detach()), 2.0);
    EXPECT_NEAR(largest_singular_value(c->effective_weight().detach()), 1.0, 1e-2);
  }
  EXPECT_EQ(linears[0]->options.power_iterations(), 10);
  EXPECT_NEAR(largest_singular_value(linears[0]->effective_weight().detach()), 1.0, 1e-2);
}

TEST(DCGANModels, SpectralNormOffAppliesTheRawWeights) {
  torch::manual_seed(5);
  DCGANDiscriminator d(
      DCGANDiscriminatorOptions().width(4).channels(3).image_size(8).spectral_norm(false));
  d->forward(torch::randn({2, 3, 8, 8}));
  const auto convs = layers_of<SNConv2dImpl>(*d);
  const auto linears = layers_of<SNLinearImpl>(*d);
  ASSERT_EQ(convs.size(), 1u);
  ASSERT_EQ(linears.size(), 1u);
  for (auto* c : convs) EXPECT_TRUE(torch::equal(c->effective_weight(), c->weight));
  EXPECT_TRUE(torch::equal(linears[0]->effective_weight(), linears[0]->weight));
}

TEST(DCGANModels, GeneratorCloneIsAnIndependentEqualCopy) {
  torch::manual_seed(6);
  DCGANGenerator g(DCGANGeneratorOptions().latent_dim(8).width(4).channels(1).image_size(16));
  g->forward(torch::randn({6, 8}));  // BatchNorm running statistics move off their defaults
  g->eval();
  auto copy = std::dynamic_pointer_cast<DCGANGeneratorImpl>(g->clone());
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->options.image_size(), 16);
  copy->eval();
  torch::NoGradGuard no_grad;
  const auto z = torch::randn({3, 8});
  const auto before = g->forward(z);
  EXPECT_TRUE(torch::allclose(copy->forward(z), before, 1e-6, 1e-7));
  for (auto& p : copy->parameters()) p.add_(0.5);
  for (auto& b : copy->buffers()) {
    if (b.is_floating_point()) b.mul_(2.0);
  }
  EXPECT_FALSE(torch::allclose(copy->forward(z), before, 1e-3, 1e-4));
  EXPECT_TRUE(torch::equal(g->forward(z), before));
}

TEST(DCGANModels, DiscriminatorCloneIsAnIndependentEqualCopy) {
  torch::manual_seed(7);
  DCGANDiscriminator d(DCGANDiscriminatorOptions().width(4).channels(1).image_size(8));
  vgrow::testing::expect_independent_equal_clone<DCGANDiscriminatorImpl>(d, torch::randn({3, 1, 8, 8}));
}

TEST(DCGANModels, ImageSizesThatAreNotFourTimesAPowerOfTwoAreRefused) {
  for (int64_t size : {24, 4, 0}) {
    EXPECT_THAT(error_of([&] { DCGANGenerator g(DCGANGeneratorOptions().image_size(size)); }),
                HasSubstr("image_size must be 4 * 2^k with k >= 1, got " + std::to_string(size)));
    EXPECT_THAT(
        error_of([&] { DCGANDiscriminator d(DCGANDiscriminatorOptions().image_size(size)); }),
        HasSubstr("image_size must be 4 * 2^k with k >= 1, got " + std::to_string(size)));
  }
}

}  // namespace
