#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/models/resnet.h"
#include "vgrow/models/spectral_norm.h"

namespace {

using namespace vgrow::models;

double largest_singular_value(const torch::Tensor& w) {
  return torch::linalg_svdvals(w.reshape({w.size(0), -1}).to(torch::kFloat64))[0].item<double>();
}

// After enough training-mode forwards the normalised weight has spectral norm 1.
TEST(SpectralNorm, LinearWeightHasUnitSpectralNorm) {
  torch::manual_seed(1);
  SNLinear layer(SNLinearOptions(64, 32));
  for (int i = 0; i < 10; ++i) layer->forward(torch::randn({4, 64}));
  EXPECT_NEAR(largest_singular_value(layer->effective_weight().detach()), 1.0, 1e-2);
  EXPECT_GT(largest_singular_value(layer->weight.detach()), 0.0);
}

TEST(SpectralNorm, ConvWeightHasUnitSpectralNorm) {
  torch::manual_seed(2);
  SNConv2d conv(SNConv2dOptions(16, 24, 3).padding(1));
  {
    torch::NoGradGuard g;
    conv->weight.normal_(0, 0.02);
  }
  for (int i = 0; i < 10; ++i) conv->forward(torch::randn({2, 16, 8, 8}));
  EXPECT_NEAR(largest_singular_value(conv->effective_weight().detach()), 1.0, 1e-2);
}

TEST(SpectralNorm, EvalModeDoesNotAdvancePowerIteration) {
  SNLinear layer(SNLinearOptions(8, 8));
  layer->eval();
  const auto u = layer->u.clone();
  layer->forward(torch::randn({3, 8}));
  EXPECT_TRUE(torch::equal(u, layer->u));
  layer->train();
  layer->forward(torch::randn({3, 8}));
  EXPECT_FALSE(torch::equal(u, layer->u));
}

TEST(SpectralNorm, GradientFlowsThroughSigma) {
  SNLinear layer(SNLinearOptions(5, 3));
  layer->forward(torch::randn({2, 5})).sum().backward();
  ASSERT_TRUE(layer->weight.grad().defined());
  EXPECT_GT(layer->weight.grad().abs().sum().item<double>(), 0.0);
}

TEST(ResNetModels, ShapesMatchThePaper) {
  torch::manual_seed(3);
  ResNetGenerator g(ResNetGeneratorOptions().width(16).channels(3));
  ResNetDiscriminator d(ResNetDiscriminatorOptions().width(16).channels(3));
  const auto x = g->forward(torch::randn({5, 128}));
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{5, 3, 32, 32}));
  EXPECT_LE(x.abs().max().item<double>(), 1.0);
  EXPECT_EQ(d->forward(x).sizes(), (std::vector<int64_t>{5}));
  // Cloneable: a deep copy with its own parameters.
  auto copy = std::dynamic_pointer_cast<ResNetGeneratorImpl>(g->clone());
  ASSERT_TRUE(copy);
  EXPECT_NE(copy->parameters()[0].data_ptr(), g->parameters()[0].data_ptr());
}

}  // namespace
