// The fast paths give the numbers of a plain, literal implementation (the authors' order of
// operations): fused resampling convs, the one-forward D step, the chunked input-only flow
// step, and the projection. Tolerance: 1e-5 absolute (1e-4 relative) in float32, what
// reordering the sums of a 32x32 ResNet can change.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model_helpers.h"
#include "vgrow/core/density_ratio.h"
#include "vgrow/core/divergence.h"
#include "vgrow/models/resampling_conv.h"
#include "vgrow/models/resnet.h"
#include "vgrow/core/particles.h"
#include "vgrow/core/projection.h"

namespace {

using vgrow::models::ResNetDiscriminator;
using vgrow::models::ResNetDiscriminatorOptions;
using vgrow::models::ResNetGenerator;
using vgrow::models::ResNetGeneratorOptions;

bool close(const torch::Tensor& a, const torch::Tensor& b, double rtol = 1e-4,
           double atol = 1e-5) {
  return torch::allclose(a, b, rtol, atol);
}

// Same seed, same parameter order: the two networks start with identical weights. A few
// training-mode forwards let spectral norm's u and v converge (from random vectors sigma is
// far off, and D's gradients are then ~1e7), the same way in both.
ResNetDiscriminator make_d(bool fused) {
  return vgrow::testing::settled_discriminator(
      11, ResNetDiscriminatorOptions().width(8).channels(1).fused_resampling(fused));
}
ResNetGenerator make_g(bool fused) {
  torch::manual_seed(12);
  return ResNetGenerator(ResNetGeneratorOptions()
                             .latent_dim(16)
                             .width(8)
                             .channels(1)
                             .fused_resampling(fused));
}

void expect_same_weights(torch::nn::Module& a, torch::nn::Module& b) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    EXPECT_TRUE(close(item.value(), pb[item.key()])) << item.key();
  }
}

TEST(OptimisedEqualsPlain, ConvThenAvgPoolIsOneStridedConv) {
  torch::manual_seed(0);
  auto x = torch::randn({3, 5, 8, 6}, torch::requires_grad());
  auto w = torch::randn({4, 5, 3, 3}, torch::requires_grad());
  const auto plain = torch::avg_pool2d(torch::conv2d(x, w, {}, 1, 1), 2);
  const auto fused = vgrow::models::conv3x3_then_avgpool(x, w);
  ASSERT_EQ(plain.sizes(), fused.sizes());
  EXPECT_TRUE(close(plain, fused));
  const auto g = torch::randn_like(plain);
  const auto gp = torch::autograd::grad({plain}, {x, w}, {g});
  const auto gf = torch::autograd::grad({fused}, {x, w}, {g});
  EXPECT_TRUE(close(gp[0], gf[0]));
  EXPECT_TRUE(close(gp[1], gf[1]));
}

TEST(OptimisedEqualsPlain, ResNetsWithFusedResamplingComputeTheSameFunction) {
  auto d_plain = make_d(false), d_fused = make_d(true);
  auto g_plain = make_g(false), g_fused = make_g(true);
  torch::manual_seed(2);
  const auto z = torch::randn({10, 16});
  for (bool train : {true, false}) {
    g_plain->train(train);
    g_fused->train(train);
    EXPECT_TRUE(close(g_plain->forward(z), g_fused->forward(z))) << "train " << train;
  }
  const auto x = torch::rand({10, 1, 32, 32}) * 2 - 1;
  d_plain->eval();
  d_fused->eval();
  EXPECT_TRUE(close(d_plain->forward(x), d_fused->forward(x)));
}

TEST(OptimisedEqualsPlain, DensityRatioStepMatchesTheLiteralLosses) {
  auto d_plain = make_d(false), d_fused = make_d(true);
  torch::manual_seed(3);
  const auto real = torch::rand({16, 1, 32, 32}) * 2 - 1;
  const auto fake = torch::rand({16, 1, 32, 32}) * 2 - 1;
  // SGD with lr 1: the weights after the step are w - grad, so they compare gradients.
  torch::optim::SGD opt_fused(d_fused->parameters(), torch::optim::SGDOptions(1.0));
  torch::nn::AnyModule any_fused(d_fused);
  const auto loss = vgrow::density_ratio_step(any_fused, opt_fused, real, fake);
  // The authors' form: log(1 + e^{-D}) on real, log(1 + e^{D}) on particles (one forward
  // over both, as ours: spectral norm then advances once).
  torch::optim::SGD opt_plain(d_plain->parameters(), torch::optim::SGDOptions(1.0));
  d_plain->train();
  opt_plain.zero_grad();
  const auto d = d_plain->forward(torch::cat({real, fake}));
  const auto l_real = torch::log(1 + torch::exp(-d.narrow(0, 0, 16))).mean();
  const auto l_fake = torch::log(1 + torch::exp(d.narrow(0, 16, 16))).mean();
  (l_real + l_fake).backward();
  opt_plain.step();
  EXPECT_NEAR(loss.real.item<double>(), l_real.item<double>(), 1e-5);
  EXPECT_NEAR(loss.particles.item<double>(), l_fake.item<double>(), 1e-5);
  expect_same_weights(*d_plain, *d_fused);
}

TEST(OptimisedEqualsPlain, ChunkedInputOnlyFlowStepMatchesTheWholePoolBackward) {
  auto d_plain = make_d(false), d_fused = make_d(true);
  d_plain->eval();
  d_fused->eval();
  torch::manual_seed(4);
  const auto pool = torch::rand({40, 1, 32, 32}) * 2 - 1;
  for (const char* name : {"kl", "logd", "js", "jeffreys"}) {
    const auto divergence = vgrow::Divergence::from_name(name);
    auto moved = pool.clone();
    torch::nn::AnyModule any_fused(d_fused);
    vgrow::flow_step(any_fused, moved, divergence,
                     vgrow::FlowStepOptions().eta(0.5).chunk_size(16));
    // Literal: D over the whole pool, a full backward (weights too), then the step.
    auto x = pool.clone().requires_grad_(true);
    const auto dx = d_plain->forward(x);
    dx.backward(torch::ones_like(dx));
    const auto dd = dx.detach();
    torch::Tensor s;
    if (std::string(name) == "kl") s = torch::ones_like(dd);
    if (std::string(name) == "logd") s = 1 / (1 + dd.exp());
    if (std::string(name) == "js") s = 1 / (1 + 1 / dd.exp());
    if (std::string(name) == "jeffreys") s = 1 + dd.exp();
    const auto expected =
        torch::clamp(pool + 0.5 * s.view({-1, 1, 1, 1}) * x.grad(), -1.0, 1.0);
    EXPECT_TRUE(close(moved, expected)) << name << ": max diff "
                                        << (moved - expected).abs().max().item<double>();
    d_plain->zero_grad();
  }
}

TEST(OptimisedEqualsPlain, ProjectionMatchesALiteralMinibatchLoop) {
  auto g_plain = make_g(false), g_fused = make_g(true);
  torch::manual_seed(5);
  const auto latents = torch::randn({48, 16});
  const auto targets = torch::rand({48, 1, 32, 32}) * 2 - 1;
  torch::optim::SGD opt_fused(g_fused->parameters(), torch::optim::SGDOptions(0.1));
  torch::nn::AnyModule any_fused(g_fused);
  torch::manual_seed(6);
  const auto loss = vgrow::project_generator(any_fused, opt_fused, latents, targets, 2, 16);
  // The authors' loop: shuffled minibatches of the pool, MSE, one optimiser step each.
  torch::optim::SGD opt_plain(g_plain->parameters(), torch::optim::SGDOptions(0.1));
  g_plain->train();
  torch::manual_seed(6);
  double last = 0;
  for (int pass = 0; pass < 2; ++pass) {
    const auto order = torch::randperm(48, torch::kLong);
    double sum = 0;
    for (int64_t start = 0; start < 48; start += 16) {
      const auto idx = order.narrow(0, start, 16);
      opt_plain.zero_grad();
      const auto l = torch::mse_loss(g_plain->forward(latents.index_select(0, idx)),
                                     targets.index_select(0, idx));
      l.backward();
      opt_plain.step();
      sum += l.item<double>();
    }
    last = sum / 3;
  }
  EXPECT_NEAR(loss.item<double>(), last, 1e-5);
  expect_same_weights(*g_plain, *g_fused);
}

}  // namespace
