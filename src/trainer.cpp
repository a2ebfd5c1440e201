#include "vgrow/trainer.h"

#include <torch/torch.h>

#include "vgrow/density_ratio.h"

namespace vgrow {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

Trainer::Trainer(TrainerOptions options, torch::nn::AnyModule generator,
                 torch::nn::AnyModule discriminator, std::shared_ptr<data::RealSource> data,
                 Divergence divergence)
    : options_(std::move(options)),
      generator_(std::move(generator)),
      discriminator_(std::move(discriminator)),
      data_(std::move(data)),
      divergence_(divergence) {
  TORCH_CHECK(options_.batch_size >= 1, "batch_size must be >= 1, got ", options_.batch_size);
  TORCH_CHECK(options_.pool_batches >= 1, "pool_batches must be >= 1, got ",
              options_.pool_batches);
  TORCH_CHECK(options_.particle_steps >= 1, "particle_steps must be >= 1, got ",
              options_.particle_steps);
  TORCH_CHECK(options_.d_steps >= 0, "d_steps must be >= 0, got ", options_.d_steps);
  TORCH_CHECK(data_, "trainer needs a source of real samples");
  generator_.ptr()->to(options_.device);
  discriminator_.ptr()->to(options_.device);
  g_optimizer_ = make_optimizer(generator_.ptr()->parameters(), options_.g_optimizer);
  d_optimizer_ = make_optimizer(discriminator_.ptr()->parameters(), options_.d_optimizer);
  g_schedule_ = std::make_unique<MultiStepLR>(*g_optimizer_, options_.lr_milestones,
                                              options_.lr_gamma);
  d_schedule_ = std::make_unique<MultiStepLR>(*d_optimizer_, options_.lr_milestones,
                                              options_.lr_gamma);
}

LoopStats Trainer::run_loop() {
  const auto loop_start = Clock::now();
  LoopStats stats;
  stats.loop = loop_;
  g_schedule_->apply(loop_);
  d_schedule_->apply(loop_);
  stats.lr_g = g_schedule_->lr_at(loop_);
  stats.lr_d = d_schedule_->lr_at(loop_);

  // The pool is drawn in training mode, in projection-sized chunks: the same BatchNorm
  // statistics the projection will fit against (the authors draw it in eval mode).
  generator_.ptr()->train();
  pool_.draw(generator_, pool_size(), options_.latent_dim, options_.batch_size, options_.device);

  LogisticLoss d_loss{torch::zeros({}), torch::zeros({})};
  FlowStepStats flow{torch::zeros({}), torch::zeros({})};
  for (int64_t t = 0; t < options_.particle_steps; ++t) {
    auto start = Clock::now();
    for (int64_t k = 0; k < options_.d_steps; ++k) {
      const auto real = data_->next_batch(options_.batch_size).to(options_.device);
      d_loss = density_ratio_step(discriminator_, *d_optimizer_, real,
                                  pool_.sample(options_.batch_size));
    }
    stats.seconds_d += seconds_since(start);
    start = Clock::now();
    // Eval mode: spectral norm keeps the u, v of the last D step for every chunk of the pool.
    discriminator_.ptr()->eval();
    flow = flow_step(discriminator_, pool_.particles, divergence_, options_.flow);
    stats.seconds_flow += seconds_since(start);
  }

  auto start = Clock::now();
  stats.projection_passes = options_.projection.passes_at(loop_);
  const auto proj_loss = project_generator(generator_, *g_optimizer_, pool_.latents,
                                           pool_.particles, stats.projection_passes,
                                           options_.batch_size);
  stats.seconds_projection = seconds_since(start);

  stats.d_loss_real = d_loss.real.item<double>();
  stats.d_loss_particles = d_loss.particles.item<double>();
  stats.grad_norm = flow.mean_grad_norm.item<double>();
  stats.mean_d = flow.mean_d.item<double>();
  stats.projection_loss = proj_loss.item<double>();
  stats.seconds = seconds_since(loop_start);
  ++loop_;
  return stats;
}

torch::Tensor Trainer::generate(const torch::Tensor& latents) {
  torch::NoGradGuard no_grad;
  generator_.ptr()->eval();
  std::vector<torch::Tensor> parts;
  const auto z = latents.to(options_.device);
  for (int64_t start = 0; start < z.size(0); start += 256) {
    parts.push_back(generator_.forward(z.narrow(0, start, std::min<int64_t>(256, z.size(0) - start))));
  }
  generator_.ptr()->train();
  return torch::cat(parts).cpu();
}

void Trainer::save(torch::serialize::OutputArchive& archive) const {
  torch::serialize::OutputArchive g, d, og, od, sampler;
  generator_.ptr()->save(g);
  discriminator_.ptr()->save(d);
  g_optimizer_->save(og);
  d_optimizer_->save(od);
  data_->save_state(sampler);
  archive.write("generator", g);
  archive.write("discriminator", d);
  archive.write("g_optimizer", og);
  archive.write("d_optimizer", od);
  archive.write("sampler", sampler);
  archive.write("loop", torch::tensor(loop_, torch::kLong));
  archive.write("sample_shape", torch::tensor(data_->sample_shape(), torch::kLong));
  archive.write("cpu_rng", at::detail::getDefaultCPUGenerator().get_state());
}

void Trainer::load(torch::serialize::InputArchive& archive) {
  torch::serialize::InputArchive g, d, og, od, sampler;
  archive.read("generator", g);
  archive.read("discriminator", d);
  archive.read("g_optimizer", og);
  archive.read("d_optimizer", od);
  archive.read("sampler", sampler);
  generator_.ptr()->load(g);
  discriminator_.ptr()->load(d);
  generator_.ptr()->to(options_.device);
  discriminator_.ptr()->to(options_.device);
  g_optimizer_->load(og);
  d_optimizer_->load(od);
  data_->load_state(sampler);
  torch::Tensor loop, rng;
  archive.read("loop", loop);
  archive.read("cpu_rng", rng);
  loop_ = loop.item<int64_t>();
  auto generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng);
}

}  // namespace vgrow
