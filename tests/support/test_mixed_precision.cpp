// Mixed precision: autocast scopes, fp32 where it must stay fp32, the loss scaler's rules,
// and the errors for fp16 without a GPU (bf16 training: ImageTraining.Bf16WithLossScaling...).
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cli_helpers.h"
#include "model_helpers.h"
#include "test_helpers.h"
#include "vgrow/run/config.h"
#include "vgrow/support/device_transfer.h"
#include "vgrow/run/experiment.h"
#include "vgrow/support/mixed_precision.h"
#include "vgrow/models/resnet.h"
#include "vgrow/models/spectral_norm.h"
#include "vgrow/core/particles.h"

namespace {

using ::testing::HasSubstr;
using vgrow::Autocast;
using vgrow::AutocastDisabled;
using vgrow::AutocastGuard;
using vgrow::LossScaler;
using vgrow::LossScalerOptions;
using vgrow::Precision;
using vgrow::testing::error_of;

const Autocast kBf16{Precision::bf16, torch::kCPU};

torch::Tensor linear_out(const torch::Tensor& x, const torch::Tensor& w) {
  return torch::nn::functional::linear(x, w);
}

TEST(MixedPrecision, PrecisionNames) {
  for (auto p : {Precision::fp32, Precision::bf16, Precision::fp16}) {
    EXPECT_EQ(vgrow::parse_precision(vgrow::precision_name(p)), p);
  }
  EXPECT_THAT(error_of([] { vgrow::parse_precision("fp8"); }),
              HasSubstr("unknown precision 'fp8' (fp32, bf16 or fp16)"));
}

TEST(MixedPrecision, AutocastGuardLowersConvAndLinearAndRestores) {
  const auto x = torch::randn({4, 8});
  const auto w = torch::randn({3, 8});
  const auto img = torch::randn({2, 1, 8, 8});
  const auto k = torch::randn({4, 1, 3, 3});
  EXPECT_EQ(linear_out(x, w).scalar_type(), torch::kFloat);
  {
    AutocastGuard guard(kBf16);
    EXPECT_EQ(linear_out(x, w).scalar_type(), torch::kBFloat16);
    EXPECT_EQ(torch::conv2d(img, k).scalar_type(), torch::kBFloat16);
    {
      AutocastGuard nested(kBf16);
      EXPECT_EQ(linear_out(x, w).scalar_type(), torch::kBFloat16);
    }
    // Leaving the nested scope keeps the outer one on.
    EXPECT_EQ(linear_out(x, w).scalar_type(), torch::kBFloat16);
    {
      AutocastDisabled fp32;
      EXPECT_EQ(linear_out(x, w).scalar_type(), torch::kFloat);
    }
    EXPECT_EQ(linear_out(x, w).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(linear_out(x, w).scalar_type(), torch::kFloat);
  {
    AutocastGuard off(Autocast{});  // fp32: nothing changes
    EXPECT_EQ(linear_out(x, w).scalar_type(), torch::kFloat);
  }
}

// Autocast caches the bf16 copy of a leaf weight (a conv's, say); an optimiser step changes
// the weight in place, so a stale copy must not survive the scope.
TEST(MixedPrecision, NoStaleCastWeightsAcrossScopes) {
  auto w = torch::ones({1, 1, 1, 1}, torch::requires_grad());
  const auto x = torch::ones({1, 1, 2, 2});
  {
    AutocastGuard guard(kBf16);
    EXPECT_EQ(torch::conv2d(x, w).sum().item<float>(), 4.0f);
  }
  {
    torch::NoGradGuard no_grad;
    w.mul_(2);
  }
  AutocastGuard guard(kBf16);
  EXPECT_EQ(torch::conv2d(x, w).sum().item<float>(), 8.0f);
}

TEST(MixedPrecision, SpectralNormStaysFp32UnderAutocast) {
  torch::manual_seed(0);
  const auto w = torch::randn({16, 8, 3, 3});
  auto u1 = torch::randn({16}), v1 = torch::randn({72});
  auto u2 = u1.clone(), v2 = v1.clone();
  const auto plain = vgrow::models::spectral_normalize(w, u1, v1, 3, true, 1e-12);
  torch::Tensor under_autocast;
  {
    AutocastGuard guard(kBf16);
    under_autocast = vgrow::models::spectral_normalize(w, u2, v2, 3, true, 1e-12);
  }
  EXPECT_EQ(under_autocast.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(plain, under_autocast));
  EXPECT_TRUE(torch::equal(u1, u2));
}

// A scale that is a power of two unscales exactly: the step equals the unscaled one.
TEST(LossScaler, ScaledStepEqualsThePlainStep) {
  torch::manual_seed(1);
  auto plain = torch::nn::Linear(5, 3);
  auto scaled = torch::nn::Linear(5, 3);
  {
    torch::NoGradGuard no_grad;
    scaled->weight.copy_(plain->weight);
    scaled->bias.copy_(plain->bias);
  }
  torch::optim::SGD opt_plain(plain->parameters(), torch::optim::SGDOptions(0.1));
  torch::optim::SGD opt_scaled(scaled->parameters(), torch::optim::SGDOptions(0.1));
  LossScaler scaler(LossScalerOptions().init_scale(1024));
  const auto x = torch::randn({7, 5});
  plain->forward(x).square().mean().backward();
  opt_plain.step();
  scaler.scale(scaled->forward(x).square().mean()).backward();
  EXPECT_TRUE(scaler.step(opt_scaled));
  EXPECT_TRUE(torch::equal(plain->weight, scaled->weight));
  EXPECT_TRUE(torch::equal(plain->bias, scaled->bias));
  EXPECT_EQ(scaler.scale_value(), 1024);
}

TEST(LossScaler, NonFiniteGradientsSkipTheStepAndHalveTheScale) {
  auto w = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD opt({w}, torch::optim::SGDOptions(0.1));
  LossScaler scaler(LossScalerOptions().init_scale(8));
  (w * torch::tensor({1.0f, INFINITY, 1.0f})).sum().backward();
  EXPECT_FALSE(scaler.step(opt));
  EXPECT_TRUE(torch::equal(w.detach(), torch::ones({3})));
  EXPECT_EQ(scaler.scale_value(), 4);
  EXPECT_EQ(scaler.skipped_steps(), 1);
}

TEST(LossScaler, ScaleGrowsAfterAnIntervalOfGoodSteps) {
  auto w = torch::ones({2}, torch::requires_grad());
  torch::optim::SGD opt({w}, torch::optim::SGDOptions(0.01));
  LossScaler scaler(LossScalerOptions().init_scale(2).growth_interval(3));
  std::vector<double> scales;
  for (int i = 0; i < 7; ++i) {
    opt.zero_grad();
    scaler.scale(w.sum()).backward();
    EXPECT_TRUE(scaler.step(opt));
    scales.push_back(scaler.scale_value());
  }
  EXPECT_EQ(scales, (std::vector<double>{2, 2, 4, 4, 4, 8, 8}));
}

TEST(LossScaler, StateRoundTripsAndBadOptionsAreRefused) {
  LossScaler a(LossScalerOptions().init_scale(16).growth_interval(2));
  auto w = torch::ones({1}, torch::requires_grad());
  torch::optim::SGD opt({w}, torch::optim::SGDOptions(0.1));
  (w * INFINITY).sum().backward();
  a.step(opt);
  torch::serialize::OutputArchive out;
  a.save(out);
  std::stringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  in.load_from(bytes);
  LossScaler b;
  b.load(in);
  EXPECT_EQ(b.scale_value(), 8);
  EXPECT_EQ(b.skipped_steps(), 1);
  EXPECT_THAT(error_of([] { LossScaler(LossScalerOptions().init_scale(0)); }),
              HasSubstr("loss scale must be positive"));
  EXPECT_THAT(error_of([] { LossScaler(LossScalerOptions().backoff_factor(1)); }),
              HasSubstr("backoff factor must lie in (0, 1)"));
}

// D in bf16 moves the particles almost as D in fp32 does; the pool stays fp32. Measured:
// relative error 0.10, cosine 0.995 (bf16 keeps 8 bits of mantissa through four blocks).
TEST(MixedPrecision, Bf16FlowStepIsCloseToFp32) {
  auto d = vgrow::testing::settled_discriminator(
      3, vgrow::models::ResNetDiscriminatorOptions().width(16).channels(1));
  d->eval();
  torch::nn::AnyModule any(d);
  const auto start = torch::rand({32, 1, 32, 32}) * 2 - 1;
  const auto options = vgrow::FlowStepOptions().eta(1.0).clamp_min(std::nullopt).clamp_max(
      std::nullopt);
  const auto divergence = vgrow::Divergence::from_name("kl");
  auto x32 = start.clone(), x16 = start.clone();
  vgrow::flow_step(any, x32, divergence, options);
  vgrow::flow_step(any, x16, divergence, options, kBf16);
  EXPECT_EQ(x16.scalar_type(), torch::kFloat);
  const auto v32 = x32 - start, v16 = x16 - start;
  const double rel = ((v16 - v32).norm() / v32.norm()).item<double>();
  const double cosine =
      (v16.flatten() * v32.flatten()).sum().item<double>() /
      (v16.norm() * v32.norm()).item<double>();
  std::cout << "bf16 vs fp32 flow velocity: relative error " << rel << ", cosine " << cosine
            << "\n";
  EXPECT_GT(v32.norm().item<double>(), 0);
  EXPECT_LT(rel, 0.2);
  EXPECT_GT(cosine, 0.98);
}

TEST(MixedPrecision, Fp16NeedsCuda) {
  vgrow::Config c;
  c.run.precision = "fp16";
  c.run.device = "cpu";
  EXPECT_THAT(error_of([&] { vgrow::validate(c); }),
              HasSubstr("'run.precision' = fp16: needs a CUDA device"));
  c.run.precision = "half";
  EXPECT_THAT(error_of([&] { vgrow::validate(c); }), HasSubstr("must be fp32, bf16 or fp16"));
  if (!torch::cuda::is_available()) {
    c.run.precision = "fp16";
    c.run.device = "auto";
    c.data.dataset = "toy";
    c.model.arch = "mlp";
    c.flow.clamp = false;
    EXPECT_THAT(error_of([&] { vgrow::make_trainer(c); }),
                HasSubstr("precision fp16 needs a CUDA device"));
  }
}

// Refused before a run folder is made: "auto" found no GPU.
TEST(MixedPrecision, Fp16WithoutAGpuLeavesNoRunFolder) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is present";
  vgrow::testing::TempDir dir("vgrow-fp16");
  const auto r = vgrow::testing::run_cli("train --quiet run.precision=fp16 run.loops=1 run.out_dir=" +
                                         dir.str());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("'run.precision' = fp16 needs a CUDA device"));
  EXPECT_FALSE(std::filesystem::exists(dir.path()) && !std::filesystem::is_empty(dir.path()));
}

TEST(DeviceTransfer, HostTensorsStayPutOnTheCpu) {
  const auto t = torch::arange(6);
  EXPECT_TRUE(vgrow::to_device(t, torch::kCPU).is_same(t));
}

}  // namespace
