#include "vgrow/trainer.h"

#include <torch/torch.h>

#include "vgrow/density_ratio.h"
#include "vgrow/dist/process_group.h"

namespace vgrow {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

torch::Tensor forward_in_chunks(torch::nn::AnyModule& module, const torch::Tensor& input,
                                int64_t chunk) {
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < input.size(0); start += chunk) {
    parts.push_back(module.forward(input.narrow(0, start, std::min(chunk, input.size(0) - start))));
  }
  return torch::cat(parts);
}

// Parameters and buffers: everything that must be identical on every rank.
std::vector<torch::Tensor> replicated_state(torch::nn::Module& module) {
  auto state = module.parameters();
  for (const auto& b : module.buffers()) state.push_back(b);
  return state;
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

void Trainer::distribute(std::shared_ptr<dist::Distributed> dist) {
  if (!dist || dist->world() == 1) return;
  const int64_t world = dist->world();
  TORCH_CHECK(pool_size() % world == 0, "the particle pool (", pool_size(),
              " = flow.pool_batches x flow.batch_size) does not split over ", world,
              " ranks: each rank holds pool_size / world particles");
  TORCH_CHECK(options_.batch_size % world == 0, "flow.batch_size ", options_.batch_size,
              " does not split over ", world,
              " ranks: each rank takes batch_size / world real samples per D step");
  dist_ = std::move(dist);
  shard_ = dist::PoolShard::of(pool_size(), dist_->rank(), world);
  // Ranks started with different configs would otherwise fail obscurely (or not at all).
  const auto numel = [](torch::nn::Module& m) {
    int64_t n = 0;
    for (const auto& t : replicated_state(m)) n += t.numel();
    return n;
  };
  dist_->check_same({torch::tensor({pool_size(), options_.batch_size, options_.particle_steps,
                                    options_.d_steps, options_.latent_dim,
                                    numel(*generator_.ptr()), numel(*discriminator_.ptr())})},
                    "the trainer options or network sizes");
  broadcast_state();
}

void Trainer::check_replicas() {
  if (!distributed()) return;
  auto state = replicated_state(*generator_.ptr());
  for (const auto& t : replicated_state(*discriminator_.ptr())) state.push_back(t);
  state.push_back(at::detail::getDefaultCPUGenerator().get_state());
  dist_->check_same(state, "G and D weights, buffers and the random state");
}

void Trainer::broadcast_state() {
  auto state = replicated_state(*generator_.ptr());
  for (const auto& t : replicated_state(*discriminator_.ptr())) state.push_back(t);
  dist_->broadcast(state, 0);
}

// Every rank draws the whole pool's latents from the same stream and keeps its rows: the
// ranks' shards together are the single-process pool. Drawn in projection-sized chunks:
// the same BatchNorm statistics the projection will fit against.
void Trainer::draw_pool() {
  torch::NoGradGuard no_grad;
  const auto latents = torch::randn({pool_size(), options_.latent_dim},
                                    torch::TensorOptions().device(options_.device));
  if (!distributed()) {
    pool_.latents = latents;
    pool_.particles = forward_in_chunks(generator_, latents, options_.batch_size);
    return;
  }
  pool_.latents = latents.narrow(0, shard_.offset, shard_.size).clone();
  pool_.particles = forward_in_chunks(generator_, pool_.latents,
                                      options_.batch_size / dist_->world());
}

// The global batch, drawn alike on every rank; this rank keeps its batch_size / world rows.
torch::Tensor Trainer::real_batch() {
  auto real = data_->next_batch(options_.batch_size);
  if (distributed()) {
    const int64_t n = options_.batch_size / dist_->world();
    real = real.narrow(0, dist_->rank() * n, n);
  }
  return real.to(options_.device);
}

// batch_size particles of the whole pool without replacement, drawn alike on every rank;
// this rank evaluates the ones it holds (batch_size / world on average).
torch::Tensor Trainer::particle_batch() {
  const auto rows = torch::randperm(pool_size(), torch::TensorOptions().dtype(torch::kLong))
                        .narrow(0, 0, options_.batch_size);
  return pool_.particles.index_select(0, shard_.local_rows(rows).to(pool_.particles.device()));
}

void Trainer::average_gradients(torch::nn::Module& module) {
  std::vector<torch::Tensor> grads;
  for (auto& p : module.parameters()) {
    if (!p.requires_grad()) continue;
    // A rank that evaluated no sample has no gradient yet: it contributes zeros.
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.mutable_grad());
  }
  dist_->all_reduce_mean(grads);
}

// BatchNorm running statistics saw different samples on each rank: averaged. Everything
// else (spectral-norm u and v, counters) is taken from rank 0, so the replicas stay equal.
void Trainer::sync_buffers() {
  std::vector<torch::Tensor> averaged, from_root;
  for (auto* module : {generator_.ptr().get(), discriminator_.ptr().get()}) {
    for (const auto& item : module->named_buffers()) {
      const auto& name = item.key();
      const bool statistic = item.value().is_floating_point() &&
                             (name.ends_with("running_mean") || name.ends_with("running_var"));
      (statistic ? averaged : from_root).push_back(item.value());
    }
  }
  dist_->all_reduce_mean(averaged);
  dist_->broadcast(from_root, 0);
}

// Throws TrainingDiverged naming `what` when `values` hold NaN or Inf. step < 0: after the
// flow steps (projection). Distributed, every rank learns of any rank's bad values, so all
// of them stop together instead of waiting for each other.
void Trainer::check_finite(const torch::Tensor& values, const std::string& what,
                           int64_t step) const {
  if (!options_.check_finite) return;
  const int64_t bad = values.numel() - torch::isfinite(values).sum().item<int64_t>();
  if (!(distributed() ? dist_->any(bad > 0) : bad > 0)) return;
  const std::string where = what + (step >= 0 ? " at flow step " + std::to_string(step + 1) : "");
  throw TrainingDiverged(
      loop_, what,
      "training diverged at outer loop " + std::to_string(loop_) + ": " + where + " has " +
          (bad > 0 ? std::to_string(bad) + " NaN/Inf value(s) of " + std::to_string(values.numel())
                   : std::string("NaN/Inf values on another rank")));
}

void Trainer::check_weights(torch::nn::Module& module, const std::string& what,
                            int64_t step) const {
  if (!options_.check_finite) return;
  std::vector<torch::Tensor> all;
  for (const auto& p : module.parameters()) all.push_back(p.detach().reshape({-1}));
  if (all.empty()) return;
  const auto flat = torch::cat(all);
  // Name the first parameter that holds a bad value, the place to start looking.
  std::string name = what + " weights";
  if (!torch::isfinite(flat).all().item<bool>()) {
    for (const auto& p : module.named_parameters()) {
      if (!torch::isfinite(p.value().detach()).all().item<bool>()) {
        name = what + " weight '" + p.key() + "'";
        break;
      }
    }
  }
  check_finite(flat, name, step);
}

LoopStats Trainer::run_loop() {
  const auto loop_start = Clock::now();
  LoopStats stats;
  stats.loop = loop_;
  g_schedule_->apply(loop_);
  d_schedule_->apply(loop_);
  stats.lr_g = g_schedule_->lr_at(loop_);
  stats.lr_d = d_schedule_->lr_at(loop_);

  // The pool is drawn in training mode (the authors draw it in eval mode).
  generator_.ptr()->train();
  draw_pool();

  std::function<void()> sync_d, sync_g;
  if (distributed()) {
    sync_d = [this] { average_gradients(*discriminator_.ptr()); };
    sync_g = [this] { average_gradients(*generator_.ptr()); };
  }
  const auto particles_share = shard_.share(options_.batch_size);
  LogisticLoss d_loss{torch::zeros({}), torch::zeros({})};
  FlowStepStats flow{torch::zeros({}), torch::zeros({})};
  for (int64_t t = 0; t < options_.particle_steps; ++t) {
    auto start = Clock::now();
    for (int64_t k = 0; k < options_.d_steps; ++k) {
      const auto real = real_batch();
      d_loss = density_ratio_step(discriminator_, *d_optimizer_, real, particle_batch(), sync_d,
                                  particles_share);
      check_finite(torch::stack({d_loss.real, d_loss.particles}).detach(), "the D loss", t);
    }
    if (options_.d_steps > 0) check_weights(*discriminator_.ptr(), "D", t);
    stats.seconds_d += seconds_since(start);
    start = Clock::now();
    // Eval mode: spectral norm keeps the u, v of the last D step for every chunk of the pool.
    discriminator_.ptr()->eval();
    flow = flow_step(discriminator_, pool_.particles, divergence_, options_.flow);
    check_finite(pool_.particles, "the particle pool", t);
    stats.seconds_flow += seconds_since(start);
  }

  auto start = Clock::now();
  stats.projection_passes = options_.projection.passes_at(loop_);
  const auto proj_loss = project_generator(generator_, *g_optimizer_, pool_.latents,
                                           pool_.particles, stats.projection_passes,
                                           options_.batch_size, sync_g, shard_);
  check_finite(proj_loss.detach(), "the projection loss", -1);
  check_weights(*generator_.ptr(), "G", -1);
  stats.seconds_projection = seconds_since(start);

  // Each rank's numbers are its share of the global ones (equal shards, or BatchShare).
  auto numbers = torch::stack({d_loss.real, d_loss.particles, flow.mean_grad_norm, flow.mean_d,
                               proj_loss.reshape({})})
                     .to(torch::kCPU, torch::kDouble);
  if (distributed()) {
    sync_buffers();
    dist_->all_reduce_mean({numbers});
  }
  const auto* v = numbers.data_ptr<double>();
  stats.d_loss_real = v[0];
  stats.d_loss_particles = v[1];
  stats.grad_norm = v[2];
  stats.mean_d = v[3];
  stats.projection_loss = v[4];
  stats.seconds = seconds_since(loop_start);
  ++loop_;
  return stats;
}

torch::Tensor Trainer::generate(const torch::Tensor& latents) {
  torch::NoGradGuard no_grad;
  generator_.ptr()->eval();
  auto samples = forward_in_chunks(generator_, latents.to(options_.device), 256);
  generator_.ptr()->train();
  return samples.cpu();
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
  // Every rank read the same checkpoint; rank 0's copy settles any doubt.
  if (distributed()) broadcast_state();
}

}  // namespace vgrow
