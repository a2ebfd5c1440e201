// The outer loop (Trainer) driven through its public API with tiny MLP nets on 2-D data.
#include <cmath>
#include <limits>
#include <memory>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "test_helpers.h"
#include "vgrow/core/trainer.h"
#include "vgrow/data/toy2d.h"
#include "vgrow/models/mlp.h"

namespace {

using ::testing::HasSubstr;
using vgrow::Trainer;
using vgrow::TrainerOptions;
using vgrow::testing::error_of;
namespace models = vgrow::models;

// Real samples from one Gaussian: an easy target whose centre the particles must reach.
class GaussianSource : public vgrow::data::RealSource {
 public:
  GaussianSource(torch::Tensor centre, double sigma) : centre_(std::move(centre)), sigma_(sigma) {}
  torch::Tensor next_batch(int64_t n) override { return centre_ + sigma_ * torch::randn({n, 2}); }
  std::vector<int64_t> sample_shape() const override { return {2}; }
  std::string describe() const override { return "gaussian"; }

 private:
  torch::Tensor centre_;
  double sigma_;
};

// Pool of 3 x 16 particles, 2 flow steps of 2 D steps each, 3 projection passes, no clamp
// (2-D data), latent_dim 3 so latents and particles differ in shape.
TrainerOptions small_options() {
  TrainerOptions o;
  o.batch_size = 16;
  o.pool_batches = 3;
  o.particle_steps = 2;
  o.d_steps = 2;
  o.latent_dim = 3;
  o.flow.eta(0.5).clamp_min(std::nullopt).clamp_max(std::nullopt);
  o.projection = vgrow::ProjectionSchedule::constant(3);
  o.g_optimizer.name = "adam";
  o.g_optimizer.lr = 1e-3;
  o.g_optimizer.beta1 = 0.5;
  o.g_optimizer.beta2 = 0.999;
  o.d_optimizer = o.g_optimizer;
  return o;
}

// The trainer and typed handles on the very networks it trains.
struct SmallTrainer {
  models::MLPGenerator g{nullptr};
  models::MLPDiscriminator d{nullptr};
  std::unique_ptr<Trainer> trainer;
};

// Seeds the global generator with `seed`, then builds G (16 hidden units), D (spectral norm
// on, so the power-iteration buffers are part of the state) and the trainer.
SmallTrainer make_small_trainer(uint64_t seed, const TrainerOptions& options = small_options(),
                                std::shared_ptr<vgrow::data::RealSource> source = nullptr,
                                bool spectral_norm = true) {
  torch::manual_seed(seed);
  SmallTrainer t;
  t.g = models::MLPGenerator(
      models::MLPGeneratorOptions().latent_dim(options.latent_dim).hidden(16).layers(2));
  t.d = models::MLPDiscriminator(models::MLPDiscriminatorOptions()
                                     .input_dim(2)
                                     .hidden(16)
                                     .layers(2)
                                     .spectral_norm(spectral_norm)
                                     .power_iterations(1));
  if (!source) source = std::make_shared<vgrow::data::Toy2DSource>("8gaussians");
  t.trainer = std::make_unique<Trainer>(options, torch::nn::AnyModule(t.g),
                                        torch::nn::AnyModule(t.d), std::move(source),
                                        vgrow::Divergence::from_name("kl"));
  return t;
}

std::string save_to_bytes(const Trainer& trainer) {
  torch::serialize::OutputArchive archive;
  trainer.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void load_from_bytes(Trainer& trainer, const std::string& bytes) {
  std::istringstream in(bytes);
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  trainer.load(archive);
}

// Parameters and buffers of two modules of the same architecture are bitwise equal.
void expect_same_state(torch::nn::Module& a, torch::nn::Module& b, const std::string& what) {
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  ASSERT_EQ(pa.size(), pb.size()) << what;
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pb[item.key()])) << what << " parameter " << item.key();
  }
  const auto ba = a.named_buffers(), bb = b.named_buffers();
  ASSERT_EQ(ba.size(), bb.size()) << what;
  for (const auto& item : ba) {
    EXPECT_TRUE(torch::equal(item.value(), bb[item.key()])) << what << " buffer " << item.key();
  }
}

double mean_distance(const torch::Tensor& points, const torch::Tensor& centre) {
  return (points - centre).norm(2, 1).mean().item<double>();
}

TEST(Trainer, RunLoopAdvancesTheCounterAndReportsFiniteStats) {
  auto t = make_small_trainer(1);
  EXPECT_EQ(t.trainer->loop(), 0);
  const auto s = t.trainer->run_loop();
  EXPECT_EQ(s.loop, 0);
  EXPECT_EQ(t.trainer->loop(), 1);
  EXPECT_EQ(s.projection_passes, 3);
  for (double v : {s.d_loss_real, s.d_loss_particles, s.grad_norm, s.mean_d, s.projection_loss,
                   s.lr_g, s.lr_d, s.seconds_d, s.seconds_flow, s.seconds_projection, s.seconds}) {
    EXPECT_TRUE(std::isfinite(v)) << v;
  }
  // softplus is positive, D has a gradient somewhere, G does not fit the moved pool exactly.
  EXPECT_GT(s.d_loss_real, 0.0);
  EXPECT_GT(s.d_loss_particles, 0.0);
  EXPECT_GT(s.grad_norm, 0.0);
  EXPECT_GT(s.projection_loss, 0.0);
  EXPECT_DOUBLE_EQ(s.lr_g, 1e-3);
  EXPECT_DOUBLE_EQ(s.lr_d, 1e-3);
  // The phases are disjoint parts of the loop.
  EXPECT_GT(s.seconds, 0.0);
  EXPECT_LE(s.seconds_d + s.seconds_flow + s.seconds_projection, s.seconds);

  const auto next = t.trainer->run_loop();
  EXPECT_EQ(next.loop, 1);
  EXPECT_EQ(t.trainer->loop(), 2);
}

TEST(Trainer, ProjectionPassesFollowTheSchedule) {
  auto options = small_options();
  options.particle_steps = 1;
  options.d_steps = 1;
  options.projection = vgrow::ProjectionSchedule::paper_mnist();
  auto t = make_small_trainer(2, options);
  EXPECT_EQ(t.trainer->run_loop().projection_passes, 5);
}

TEST(Trainer, PoolHoldsPoolBatchesTimesBatchSizeParticles) {
  auto t = make_small_trainer(3);
  EXPECT_EQ(t.trainer->pool_size(), 48);
  EXPECT_EQ(t.trainer->pool().size(), 0);  // drawn by the first loop
  t.trainer->run_loop();
  EXPECT_EQ(t.trainer->pool().size(), 48);
  EXPECT_EQ(t.trainer->pool().particles.sizes(), (std::vector<int64_t>{48, 2}));
  EXPECT_EQ(t.trainer->pool().latents.sizes(), (std::vector<int64_t>{48, 3}));
  EXPECT_TRUE(torch::isfinite(t.trainer->pool().particles).all().item<bool>());
}

TEST(Trainer, LearningRatesDecayAtTheMilestones) {
  auto options = small_options();
  options.particle_steps = 1;
  options.d_steps = 1;
  options.d_optimizer.lr = 2e-3;
  options.lr_milestones = {1, 2};
  options.lr_gamma = 0.1;
  auto t = make_small_trainer(4, options);
  const double expected_g[] = {1e-3, 1e-4, 1e-5, 1e-5};
  for (int loop = 0; loop < 4; ++loop) {
    const auto s = t.trainer->run_loop();
    EXPECT_NEAR(s.lr_g, expected_g[loop], 1e-12 * expected_g[loop]) << "loop " << loop;
    EXPECT_NEAR(s.lr_d, 2 * expected_g[loop], 2e-12 * expected_g[loop]) << "loop " << loop;
  }
}

// A loop after save + load into a differently initialised trainer equals, bit for bit, the
// loop the saved trainer runs next: weights, spectral-norm buffers, optimiser moments, loop
// counter and random state all come back.
TEST(Trainer, LoadRestoresTheExactState) {
  auto a = make_small_trainer(5);
  a.trainer->run_loop();
  const auto checkpoint = save_to_bytes(*a.trainer);
  const auto expected = a.trainer->run_loop();

  auto b = make_small_trainer(6);
  ASSERT_FALSE(torch::equal(a.g->parameters()[0], b.g->parameters()[0]));
  load_from_bytes(*b.trainer, checkpoint);
  EXPECT_EQ(b.trainer->loop(), 1);
  const auto got = b.trainer->run_loop();

  EXPECT_EQ(got.loop, expected.loop);
  EXPECT_EQ(got.d_loss_real, expected.d_loss_real);
  EXPECT_EQ(got.d_loss_particles, expected.d_loss_particles);
  EXPECT_EQ(got.grad_norm, expected.grad_norm);
  EXPECT_EQ(got.mean_d, expected.mean_d);
  EXPECT_EQ(got.projection_loss, expected.projection_loss);
  EXPECT_EQ(b.trainer->loop(), 2);
  EXPECT_TRUE(torch::equal(b.trainer->pool().latents, a.trainer->pool().latents));
  EXPECT_TRUE(torch::equal(b.trainer->pool().particles, a.trainer->pool().particles));
  expect_same_state(*a.g, *b.g, "G");
  expect_same_state(*a.d, *b.d, "D");
}

// With one flow step per loop the pool moves by eta * v(G(z)) and D's steps come before it,
// so halving eta halves the displacement of every particle.
TEST(Trainer, SetEtaScalesTheFlowStep) {
  auto options = small_options();
  options.particle_steps = 1;
  const auto displacement = [&](double eta) {
    auto t = make_small_trainer(7, options);
    t.trainer->set_eta(eta);
    EXPECT_EQ(t.trainer->options().flow.eta(), eta);
    const auto g0 = std::dynamic_pointer_cast<models::MLPGeneratorImpl>(t.g->clone());
    t.trainer->run_loop();
    torch::NoGradGuard no_grad;
    const auto& pool = t.trainer->pool();
    return (pool.particles - g0->forward(pool.latents)).clone();
  };
  const auto full = displacement(0.5);
  const auto half = displacement(0.25);
  ASSERT_GT(full.abs().max().item<double>(), 1e-3);
  EXPECT_TRUE(torch::allclose(half, 0.5 * full, 1e-3, 1e-6))
      << (half - 0.5 * full).abs().max().item<double>();
}

TEST(Trainer, NonPositiveStepSizeIsRefused) {
  auto t = make_small_trainer(8);
  EXPECT_THAT(error_of([&] {
                t.trainer->set_eta(0.0);
                t.trainer->run_loop();
              }),
              HasSubstr("eta"));
}

TEST(Trainer, ImpossibleOptionsAreRefusedWithTheValue) {
  const auto build = [](const TrainerOptions& o,
                        std::shared_ptr<vgrow::data::RealSource> source =
                            std::make_shared<vgrow::data::Toy2DSource>("8gaussians")) {
    [[maybe_unused]] Trainer trainer(
        o, torch::nn::AnyModule(models::MLPGenerator(models::MLPGeneratorOptions().hidden(4))),
        torch::nn::AnyModule(models::MLPDiscriminator(models::MLPDiscriminatorOptions().hidden(4))),
        std::move(source), vgrow::Divergence::from_name("kl"));
  };
  auto o = small_options();
  o.batch_size = 0;
  EXPECT_THAT(error_of([&] { build(o); }), HasSubstr("batch_size must be >= 1, got 0"));
  o = small_options();
  o.pool_batches = -2;
  EXPECT_THAT(error_of([&] { build(o); }), HasSubstr("pool_batches must be >= 1, got -2"));
  o = small_options();
  o.particle_steps = 0;
  EXPECT_THAT(error_of([&] { build(o); }), HasSubstr("particle_steps must be >= 1, got 0"));
  o = small_options();
  o.d_steps = -1;
  EXPECT_THAT(error_of([&] { build(o); }), HasSubstr("d_steps must be >= 0, got -1"));
  o = small_options();
  o.g_optimizer.name = "sgd";
  EXPECT_THAT(error_of([&] { build(o); }), HasSubstr("unknown optimizer 'sgd'"));
  o = small_options();
  o.precision = vgrow::Precision::fp16;
  EXPECT_THAT(error_of([&] { build(o); }), HasSubstr("fp16 needs a CUDA device"));
  EXPECT_THAT(error_of([&] { build(small_options(), nullptr); }),
              HasSubstr("needs a source of real samples"));
}

TEST(Trainer, GenerateMapsLatentsThroughGOnTheCpu) {
  auto t = make_small_trainer(9);
  const auto z = torch::randn({300, 3});  // more than one chunk
  const auto x = t.trainer->generate(z);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{300, 2}));
  EXPECT_TRUE(x.device().is_cpu());
  EXPECT_FALSE(x.requires_grad());
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(x, t.g->forward(z), 1e-5, 1e-6));
  EXPECT_TRUE(t.g->is_training());  // left as the loop needs it
}

// NaN weights in G make NaN particles: the loop throws at its end, names the first bad
// quantity and leaves the loop counter where it was.
TEST(Trainer, NonFiniteValuesThrowTrainingDiverged) {
  auto t = make_small_trainer(10);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : t.g->parameters()) p.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  try {
    t.trainer->run_loop();
    ADD_FAILURE() << "no TrainingDiverged thrown";
  } catch (const vgrow::TrainingDiverged& e) {
    EXPECT_EQ(e.loop, 0);
    EXPECT_THAT(e.where, HasSubstr("D loss"));
    EXPECT_THAT(e.what(), HasSubstr("training diverged at outer loop 0"));
    EXPECT_THAT(e.what(), HasSubstr("NaN/Inf"));
  }
  EXPECT_EQ(t.trainer->loop(), 0);
}

TEST(Trainer, FiniteChecksCanBeTurnedOff) {
  auto options = small_options();
  options.check_finite = false;
  auto t = make_small_trainer(11, options);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : t.g->parameters()) p.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  const auto s = t.trainer->run_loop();
  EXPECT_TRUE(std::isnan(s.d_loss_particles));
  EXPECT_EQ(t.trainer->loop(), 1);
}

// The toy preset's settings (KL, eta 0.5, 5 x 5 steps, Adam 1e-3) with 32-unit nets on one
// Gaussian 2.8 away from where G starts: after 40 loops the pool and G's samples are on
// average at most half as far from its centre as G's samples were at the start.
TEST(Trainer, ParticlesAndGeneratorMoveTowardsAGaussian) {
  auto options = small_options();
  options.batch_size = 64;
  options.pool_batches = 4;
  options.particle_steps = 5;
  options.d_steps = 5;
  options.latent_dim = 2;
  const auto centre = torch::tensor({2.0f, 2.0f});
  torch::manual_seed(12);
  models::MLPGenerator g(models::MLPGeneratorOptions().latent_dim(2).hidden(32).layers(2));
  models::MLPDiscriminator d(
      models::MLPDiscriminatorOptions().input_dim(2).hidden(32).layers(2).spectral_norm(false));
  Trainer trainer(options, torch::nn::AnyModule(g), torch::nn::AnyModule(d),
                  std::make_shared<GaussianSource>(centre, 0.5),
                  vgrow::Divergence::from_name("kl"));
  const auto z = torch::randn({512, 2});
  const double before = mean_distance(trainer.generate(z), centre);
  ASSERT_GT(before, 2.0);
  for (int i = 0; i < 40; ++i) trainer.run_loop();
  const double particles = mean_distance(trainer.pool().particles, centre);
  const double samples = mean_distance(trainer.generate(z), centre);
  EXPECT_LT(particles, 0.5 * before) << "G's samples started " << before << " away";
  EXPECT_LT(samples, 0.5 * before) << "G's samples started " << before << " away";
}

}  // namespace
