// Fully connected generator and discriminator: shapes, tanh option, spectral norm, clone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model_helpers.h"
#include "test_helpers.h"
#include "vgrow/models/mlp.h"

namespace {

using ::testing::HasSubstr;
using vgrow::testing::error_of;
using namespace vgrow::models;

double largest_singular_value(const torch::Tensor& w) {
  return torch::linalg_svdvals(w.reshape({w.size(0), -1}).to(torch::kFloat64))[0].item<double>();
}

std::vector<SNLinearImpl*> linear_layers(torch::nn::Module& module) {
  std::vector<SNLinearImpl*> out;
  for (const auto& m : module.modules(/*include_self=*/false)) {
    if (auto* layer = m->as<SNLinearImpl>()) out.push_back(layer);
  }
  return out;
}

TEST(MLPModels, GeneratorOutputHasTheConfiguredShape) {
  torch::manual_seed(1);
  for (const auto& shape : {std::vector<int64_t>{2}, std::vector<int64_t>{1, 4, 4},
                            std::vector<int64_t>{3, 2, 5}}) {
    MLPGenerator g(MLPGeneratorOptions().latent_dim(7).hidden(8).output_shape(shape));
    std::vector<int64_t> expected{5};
    expected.insert(expected.end(), shape.begin(), shape.end());
    EXPECT_EQ(g->forward(torch::randn({5, 7})).sizes(), expected);
  }
}

TEST(MLPModels, LayersCountHiddenLayers) {
  for (int64_t layers : {1, 2, 4}) {
    MLPGenerator g(MLPGeneratorOptions().hidden(8).layers(layers));
    MLPDiscriminator d(MLPDiscriminatorOptions().hidden(8).layers(layers));
    const auto g_layers = linear_layers(*g), d_layers = linear_layers(*d);
    ASSERT_EQ(g_layers.size(), static_cast<size_t>(layers + 1));
    ASSERT_EQ(d_layers.size(), static_cast<size_t>(layers + 1));
    EXPECT_EQ(g_layers.back()->options.out_features(), 2);
    EXPECT_EQ(d_layers.front()->options.in_features(), 2);
    EXPECT_EQ(d_layers.back()->options.out_features(), 1);
  }
}

// The last layer's weights are blown up: only the tanh keeps the output in [-1, 1].
TEST(MLPModels, TanhOutputBoundsTheGenerator) {
  for (bool tanh : {true, false}) {
    torch::manual_seed(2);
    MLPGenerator g(MLPGeneratorOptions().latent_dim(4).hidden(16).tanh_output(tanh));
    {
      torch::NoGradGuard no_grad;
      linear_layers(*g).back()->weight.mul_(100.0);
    }
    const double largest = g->forward(3 * torch::randn({64, 4})).abs().max().item<double>();
    if (tanh) {
      EXPECT_LE(largest, 1.0);
      EXPECT_GT(largest, 0.99);
    } else {
      EXPECT_GT(largest, 1.0);
    }
  }
}

// Any input shape is flattened; one logit per sample that depends on that sample alone.
TEST(MLPModels, DiscriminatorGivesOneLogitPerSample) {
  torch::manual_seed(3);
  MLPDiscriminator d(MLPDiscriminatorOptions().input_dim(16).hidden(8));
  const auto x = torch::randn({5, 1, 4, 4});
  const auto batch = d->forward(x);
  ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{5}));
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(d->forward(x.narrow(0, i, 1)).item<double>(), batch[i].item<double>(), 1e-5)
        << "sample " << i;
  }
  EXPECT_TRUE(torch::allclose(d->forward(x.reshape({5, 16})), batch, 1e-6, 1e-7));
  EXPECT_GT((batch - batch.mean()).abs().max().item<double>(), 0.0);
}

// Weights scaled to spectral norm > 4: after training-mode forwards every layer of D
// applies a weight of spectral norm 1; G's layers never normalise.
TEST(MLPModels, SpectralNormIsAppliedToEveryDiscriminatorLayer) {
  torch::manual_seed(4);
  MLPDiscriminator d(MLPDiscriminatorOptions()
                         .input_dim(6)
                         .hidden(24)
                         .layers(2)
                         .spectral_norm(true)
                         .power_iterations(10));
  const auto layers = linear_layers(*d);
  ASSERT_EQ(layers.size(), 3u);
  {
    torch::NoGradGuard no_grad;
    for (auto* l : layers) l->weight.mul_(10.0);
  }
  for (int i = 0; i < 20; ++i) d->forward(torch::randn({4, 6}));
  for (auto* l : layers) {
    EXPECT_TRUE(l->options.spectral_norm());
    EXPECT_EQ(l->options.power_iterations(), 10);
    EXPECT_GT(largest_singular_value(l->weight.detach()), 4.0);
    EXPECT_NEAR(largest_singular_value(l->effective_weight().detach()), 1.0, 1e-2);
  }

  MLPGenerator g(MLPGeneratorOptions().hidden(8));
  g->forward(torch::randn({4, 2}));
  for (auto* l : linear_layers(*g)) {
    EXPECT_FALSE(l->options.spectral_norm());
    EXPECT_TRUE(torch::equal(l->effective_weight(), l->weight));
  }
}

TEST(MLPModels, SpectralNormOffAppliesTheRawWeights) {
  torch::manual_seed(5);
  MLPDiscriminator d(MLPDiscriminatorOptions().hidden(8).spectral_norm(false));
  d->forward(torch::randn({4, 2}));
  for (auto* l : linear_layers(*d)) {
    EXPECT_FALSE(l->options.spectral_norm());
    EXPECT_TRUE(torch::equal(l->effective_weight(), l->weight));
  }
}

TEST(MLPModels, GeneratorCloneIsAnIndependentEqualCopy) {
  torch::manual_seed(6);
  MLPGenerator g(MLPGeneratorOptions().latent_dim(3).hidden(8).output_shape({1, 2, 2}));
  auto copy = std::dynamic_pointer_cast<MLPGeneratorImpl>(g->clone());
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->options.output_shape(), (std::vector<int64_t>{1, 2, 2}));
  torch::NoGradGuard no_grad;
  const auto z = torch::randn({4, 3});
  const auto before = g->forward(z);
  EXPECT_TRUE(torch::allclose(copy->forward(z), before, 1e-6, 1e-7));
  for (auto& p : copy->parameters()) p.add_(1.0);
  EXPECT_FALSE(torch::allclose(copy->forward(z), before, 1e-3, 1e-4));
  EXPECT_TRUE(torch::equal(g->forward(z), before));
}

TEST(MLPModels, DiscriminatorCloneIsAnIndependentEqualCopy) {
  torch::manual_seed(7);
  MLPDiscriminator d(MLPDiscriminatorOptions().hidden(8).spectral_norm(true));
  vgrow::testing::expect_independent_equal_clone<MLPDiscriminatorImpl>(d, torch::randn({4, 2}));
}

TEST(MLPModels, EmptyNetworksAreRefused) {
  EXPECT_THAT(error_of([] { MLPGenerator g(MLPGeneratorOptions().layers(0)); }),
              HasSubstr("MLP generator needs layers >= 1 and hidden >= 1, got layers 0"));
  EXPECT_THAT(error_of([] { MLPGenerator g(MLPGeneratorOptions().hidden(0)); }),
              HasSubstr("hidden 0"));
  EXPECT_THAT(error_of([] { MLPDiscriminator d(MLPDiscriminatorOptions().layers(0)); }),
              HasSubstr("MLP discriminator needs layers >= 1 and hidden >= 1, got layers 0"));
  EXPECT_THAT(error_of([] { MLPDiscriminator d(MLPDiscriminatorOptions().hidden(0)); }),
              HasSubstr("hidden 0"));
}

}  // namespace
