// The fast paths give the numbers of a plain, literal implementation (the authors' order of
// operations): fused resampling convs, sub-pixel transposed convs, channels-last generators,
// the one-forward D step, the chunked input-only flow
// step, and the projection. Tolerance: 1e-5 absolute (1e-4 relative) in float32, what
// reordering the sums of a 32x32 ResNet can change.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model_helpers.h"
#include "vgrow/core/density_ratio.h"
#include "vgrow/core/divergence.h"
#include "vgrow/models/channels_last.h"
#include "vgrow/models/dcgan.h"
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
ResNetDiscriminator make_d(bool fused, bool channels_last = false) {
  return vgrow::testing::settled_discriminator(11, ResNetDiscriminatorOptions()
                                                       .width(8)
                                                       .channels(1)
                                                       .fused_resampling(fused)
                                                       .channels_last(channels_last));
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

TEST(OptimisedEqualsPlain, TransposedConvIsASubPixelConv) {
  torch::manual_seed(3);
  for (bool channels_last : {false, true}) {
    auto x = torch::randn({3, 5, 6, 7});
    if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    x.requires_grad_(true);
    auto w = torch::randn({5, 4, 4, 4}, torch::requires_grad());
    auto b = torch::randn({4}, torch::requires_grad());
    const auto plain = torch::conv_transpose2d(x, w, b, 2, 1);
    const auto fused = vgrow::models::conv_transpose4x4_stride2(x, w, b);
    ASSERT_EQ(plain.sizes(), fused.sizes());
    EXPECT_TRUE(close(plain, fused)) << "channels_last " << channels_last;
    const auto g = torch::randn_like(plain);
    const auto gp = torch::autograd::grad({plain}, {x, w, b}, {g});
    const auto gf = torch::autograd::grad({fused}, {x, w, b}, {g});
    for (size_t i = 0; i < gp.size(); ++i) {
      EXPECT_TRUE(close(gp[i], gf[i])) << "gradient " << i << ", channels_last " << channels_last;
    }
  }
  // A wrong tap would not cancel out: the check above can fail.
  auto w = torch::randn({2, 3, 4, 4});
  auto k = vgrow::models::subpixel_kernel(w);
  EXPECT_EQ(k.sizes(), (std::vector<int64_t>{12, 2, 3, 3}));
  EXPECT_EQ(k.count_nonzero().item<int64_t>(), 12 * 2 * 4);
}

// Each generator with every fast path against its literal form: the same output in the usual
// layout and the same weight gradients of an MSE fit (the projection's loss).
template <class Make>
void expect_same_generator(Make make, int64_t latent_dim, const char* what) {
  auto plain = make(false), fast = make(true);
  torch::manual_seed(4);
  const auto z = torch::randn({6, latent_dim});
  for (bool train : {true, false}) {
    plain->train(train);
    fast->train(train);
    const auto a = plain->forward(z), b = fast->forward(z);
    EXPECT_TRUE(b.is_contiguous()) << what;
    EXPECT_TRUE(close(a, b)) << what << ", train " << train;
  }
  plain->train();
  fast->train();
  const auto target = torch::rand({6, 1, 32, 32}) * 2 - 1;
  torch::mse_loss(plain->forward(z), target).backward();
  torch::mse_loss(fast->forward(z), target).backward();
  const auto pa = plain->named_parameters(), pb = fast->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& item : pa) {
    EXPECT_TRUE(close(item.value().grad(), pb[item.key()].grad())) << what << " " << item.key();
  }
}

TEST(OptimisedEqualsPlain, GeneratorsInChannelsLastWithSubPixelConvsComputeTheSameFunction) {
  expect_same_generator(
      [](bool fast) {
        torch::manual_seed(13);
        return vgrow::models::DCGANGenerator(vgrow::models::DCGANGeneratorOptions()
                                                 .latent_dim(16)
                                                 .width(8)
                                                 .fused_resampling(fast)
                                                 .channels_last(fast));
      },
      16, "dcgan");
  expect_same_generator(
      [](bool fast) {
        torch::manual_seed(14);
        return ResNetGenerator(
            ResNetGeneratorOptions().latent_dim(16).width(8).channels(1).channels_last(fast));
      },
      16, "resnet");
}

// D in channels-last against NCHW: the same logits and the same input gradient (the flow
// velocity), for one and for three input channels (one channel is where LibTorch cannot tell
// the layouts apart by their strides).
TEST(OptimisedEqualsPlain, DiscriminatorsInChannelsLastComputeTheSameFunction) {
  for (int64_t channels : {1, 3}) {
    for (bool dcgan : {false, true}) {
      // Settled as make_d's: a few training-mode forwards bring sigma near its value.
      const auto make = [&](bool cl) {
        torch::manual_seed(15);
        auto d = dcgan ? torch::nn::AnyModule(vgrow::models::DCGANDiscriminator(
                             vgrow::models::DCGANDiscriminatorOptions()
                                 .width(8)
                                 .channels(channels)
                                 .channels_last(cl)))
                       : torch::nn::AnyModule(ResNetDiscriminator(
                             ResNetDiscriminatorOptions().width(8).channels(channels).channels_last(cl)));
        torch::NoGradGuard no_grad;
        for (int i = 0; i < 4; ++i) d.forward(torch::zeros({1, channels, 32, 32}));
        return d;
      };
      auto plain = make(false), fast = make(true);
      plain.ptr()->eval();
      fast.ptr()->eval();
      torch::manual_seed(5);
      const auto x = torch::rand({6, channels, 32, 32}) * 2 - 1;
      const auto xa = x.clone().requires_grad_(true), xb = x.clone().requires_grad_(true);
      const auto da = plain.forward(xa), db = fast.forward(xb);
      const std::string what = std::string(dcgan ? "dcgan" : "resnet") + ", " +
                               std::to_string(channels) + " channel(s)";
      EXPECT_TRUE(close(da, db)) << what;
      const auto ga = torch::autograd::grad({da.sum()}, {xa})[0];
      const auto gb = torch::autograd::grad({db.sum()}, {xb})[0];
      EXPECT_TRUE(close(ga, gb)) << what;
      EXPECT_GT(ga.abs().max().item<double>(), 0.0) << what;
    }
  }
  // The layout really is NHWC inside, even with one channel.
  const auto x1 = vgrow::models::to_channels_last(torch::rand({2, 1, 4, 4}));
  EXPECT_TRUE(x1.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_EQ(x1.suggest_memory_format(), torch::MemoryFormat::ChannelsLast);
  const auto y1 = torch::conv2d(x1, torch::rand({3, 1, 3, 3}), {}, 1, 1);
  EXPECT_EQ(y1.suggest_memory_format(), torch::MemoryFormat::ChannelsLast);
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
