// Refinement at sampling time against closed forms: with the exact log-ratio of two Gaussians
// as D, the flow continued on G's samples (data space) or on its latents (latent space)
// brings them closer to the target; K = 0 leaves them as G drew them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include "vgrow/core/refinement.h"
#include "vgrow/metrics/toy2d_metrics.h"

namespace {

const double kScale = 1.5;  // q = N(mu_q, 1.5^2 I), p = N(mu_p, I)

torch::Tensor mu_p() { return torch::tensor({2.0f, 1.0f}); }
torch::Tensor mu_q() { return torch::tensor({-1.0f, 0.0f}); }

// D(x) = log p(x) / q(x), exactly.
struct ExactLogRatioImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& x) {
    return -0.5 * (x - mu_p()).square().sum(1) +
           0.5 * (x - mu_q()).square().sum(1) / (kScale * kScale) + 2.0 * std::log(kScale);
  }
};
TORCH_MODULE(ExactLogRatio);

// G(z) = 1.5 z + mu_q: z ~ N(0, I) gives q.
struct AffineGeneratorImpl : torch::nn::Module {
  torch::Tensor forward(const torch::Tensor& z) { return kScale * z + mu_q(); }
};
TORCH_MODULE(AffineGenerator);

struct Case {
  const char* divergence;
  vgrow::RefineSpace space;
  double eta;
};

class Refinement : public ::testing::TestWithParam<Case> {};

TEST_P(Refinement, TheExactRatioBringsSamplesTowardTheTarget) {
  const auto c = GetParam();
  torch::nn::AnyModule d(ExactLogRatio{}), g(AffineGenerator{});
  const auto divergence = vgrow::Divergence::from_name(c.divergence);
  vgrow::RefineOptions o;
  o.steps = 20;
  o.eta = c.eta;
  o.space = c.space;
  o.flow.clamp_min(std::nullopt).clamp_max(std::nullopt);
  for (const uint64_t seed : {0, 1}) {
    auto draws = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto z = at::randn({2000, 2}, draws);
    const auto target = mu_p() + at::randn({2000, 2}, draws);
    const auto plain = g.forward(z);
    const auto refined =
        c.space == vgrow::RefineSpace::Data
            ? vgrow::refine_samples(d, divergence, plain, o)
            : vgrow::refine_latents(g, d, divergence, z, o, at::make_generator<at::CPUGeneratorImpl>(9));
    const double before = vgrow::metrics::energy_distance(plain, target);
    const double after = vgrow::metrics::energy_distance(refined, target);
    EXPECT_GT(before, 1.0) << "seed " << seed;
    // A fixed D keeps pushing past p (x ascends D toward its maximiser), so K and eta stay
    // moderate and the bound is a clear improvement, not a match (a pure-Python run of the
    // same flow: kl data 3.0 -> 0.48, logd 0.23, js at eta 1 1.42; latent kl 0.77, logd 0.22).
    EXPECT_LT(after, 0.6 * before) << c.divergence << " seed " << seed << ": " << before << " -> "
                                   << after;
  }
}

INSTANTIATE_TEST_SUITE_P(
    DivergencesAndSpaces, Refinement,
    ::testing::Values(Case{"kl", vgrow::RefineSpace::Data, 0.1},
                      Case{"js", vgrow::RefineSpace::Data, 1.0},
                      Case{"logd", vgrow::RefineSpace::Data, 0.2},
                      Case{"kl", vgrow::RefineSpace::Latent, 0.05},
                      Case{"logd", vgrow::RefineSpace::Latent, 0.1}),
    [](const auto& info) {
      return std::string(info.param.divergence) + "_" +
             vgrow::refine_space_name(info.param.space);
    });

TEST(Refinement, NoStepsIsPlainSamplingBitForBit) {
  torch::nn::AnyModule d(ExactLogRatio{}), g(AffineGenerator{});
  const auto divergence = vgrow::Divergence::from_name("kl");
  const auto z = torch::randn({300, 2});
  const auto plain = g.forward(z);
  vgrow::RefineOptions o;  // steps 0
  EXPECT_TRUE(torch::equal(vgrow::refine_samples(d, divergence, plain, o), plain));
  o.space = vgrow::RefineSpace::Latent;
  EXPECT_TRUE(torch::equal(
      vgrow::refine_latents(g, d, divergence, z, o, at::make_generator<at::CPUGeneratorImpl>(1)),
      plain));
}

TEST(Refinement, LatentNoiseIsSeededAndImagesStayClamped) {
  torch::nn::AnyModule d(ExactLogRatio{}), g(AffineGenerator{});
  const auto divergence = vgrow::Divergence::from_name("kl");
  const auto z = torch::randn({300, 2});
  vgrow::RefineOptions o;
  o.steps = 3;
  o.space = vgrow::RefineSpace::Latent;
  const auto quiet =
      vgrow::refine_latents(g, d, divergence, z, o, at::make_generator<at::CPUGeneratorImpl>(1));
  o.noise = 0.5;
  const auto a =
      vgrow::refine_latents(g, d, divergence, z, o, at::make_generator<at::CPUGeneratorImpl>(1));
  const auto b =
      vgrow::refine_latents(g, d, divergence, z, o, at::make_generator<at::CPUGeneratorImpl>(1));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::allclose(a, quiet));
  // Data space keeps the training step's clamp ([-1, 1] by default).
  vgrow::RefineOptions data;
  data.space = vgrow::RefineSpace::Data;
  data.eta = 0.5;
  data.steps = 5;
  const auto moved = vgrow::refine_samples(d, divergence, g.forward(z), data);
  EXPECT_LE(moved.abs().max().item<float>(), 1.0f);
  data.eta = -1;
  EXPECT_THROW(vgrow::refine_samples(d, divergence, g.forward(z), data), c10::Error);
  EXPECT_THROW(vgrow::parse_refine_space("pixels"), c10::Error);
}

}  // namespace
