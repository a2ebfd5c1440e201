#include "vgrow/core/trainer.h"

#include <array>

#include <torch/torch.h>

#include "vgrow/core/density_ratio.h"
#include "vgrow/support/device_transfer.h"
#include "vgrow/dist/process_group.h"

namespace vgrow {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

torch::Tensor forward_in_chunks(torch::nn::AnyModule& module, const torch::Tensor& input,
                                int64_t chunk, const Autocast& autocast = {}) {
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < input.size(0); start += chunk) {
    parts.push_back(forward_fp32(
        module, input.narrow(0, start, std::min(chunk, input.size(0) - start)), autocast));
  }
  return torch::cat(parts);
}

// The loss scalers under their checkpoint keys; null where loss scaling is off.
std::array<std::pair<const char*, LossScaler*>, 2> loss_scalers(LossScaler* d, LossScaler* g) {
  return {{{"d_loss_scaler", d}, {"g_loss_scaler", g}}};
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
  TORCH_CHECK(options_.precision != Precision::fp16 || options_.device.is_cuda(),
              "precision fp16 needs a CUDA device (autocast on the CPU computes in bf16 only); "
              "use bf16 or fp32 on ", options_.device);
  generator_.ptr()->to(options_.device);
  discriminator_.ptr()->to(options_.device);
  g_optimizer_ = make_optimizer(generator_.ptr()->parameters(), options_.g_optimizer);
  d_optimizer_ = make_optimizer(discriminator_.ptr()->parameters(), options_.d_optimizer);
  g_schedule_ = std::make_unique<MultiStepLR>(*g_optimizer_, options_.lr_milestones,
                                              options_.lr_gamma);
  d_schedule_ = std::make_unique<MultiStepLR>(*d_optimizer_, options_.lr_milestones,
                                              options_.lr_gamma);
  if (options_.loss_scaling || options_.precision == Precision::fp16) {
    g_scaler_ = std::make_unique<LossScaler>();
    d_scaler_ = std::make_unique<LossScaler>();
  }
  if (options_.ema_decay > 0.0) {
    average_ = std::make_unique<GeneratorAverage>(generator_, options_.ema_decay);
  }
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
// the same BatchNorm statistics the projection will fit against. Drawn on the host: the
// same latents on any device, and the CPU random state alone makes a resume exact.
void Trainer::draw_pool() {
  torch::NoGradGuard no_grad;
  const auto latents = torch::randn({pool_size(), options_.latent_dim});
  if (!distributed()) {
    pool_.latents = to_device(latents, options_.device);
    pool_.particles = forward_in_chunks(generator_, pool_.latents, options_.batch_size,
                                        autocast());
    return;
  }
  pool_.latents = to_device(latents.narrow(0, shard_.offset, shard_.size).clone(),
                            options_.device);
  pool_.particles = forward_in_chunks(generator_, pool_.latents,
                                      options_.batch_size / dist_->world(), autocast());
}

// The global batch, drawn alike on every rank; this rank keeps its batch_size / world rows.
torch::Tensor Trainer::real_batch() {
  auto real = data_->next_batch(options_.batch_size);
  if (distributed()) {
    const int64_t n = options_.batch_size / dist_->world();
    real = real.narrow(0, dist_->rank() * n, n);
  }
  return to_device(real, options_.device);
}

// batch_size particles of the whole pool without replacement, drawn alike on every rank;
// this rank evaluates the ones it holds (batch_size / world on average).
torch::Tensor Trainer::particle_batch() {
  const auto rows = torch::randperm(pool_size(), torch::TensorOptions().dtype(torch::kLong))
                        .narrow(0, 0, options_.batch_size);
  return pool_.particles.index_select(0, to_device(shard_.local_rows(rows), options_.device));
}

// One flow step of this rank's pool: replayed from CUDA graphs where they are on and possible.
FlowStepStats Trainer::move_particles() {
  if (options_.cuda_graphs && options_.device.is_cuda() && FlowStepGraph::available()) {
    if (!flow_graph_) {
      flow_graph_ = std::make_unique<FlowStepGraph>(discriminator_, divergence_, options_.flow,
                                                    autocast());
    }
    return flow_graph_->step(pool_.particles);
  }
  return flow_step(discriminator_, pool_.particles, divergence_, options_.flow, autocast());
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

// Queues a count of the NaN/Inf values in `values`, read at the end of the loop: reading it
// now would make the host wait for the device at every step.
void Trainer::watch_finite(const torch::Tensor& values, const std::string& what, int64_t step,
                           torch::nn::Module* weights_of) {
  if (!options_.check_finite) return;
  torch::NoGradGuard no_grad;
  const auto v = values.detach();
  pending_checks_.push_back(
      {torch::isfinite(v).logical_not().sum(), v.numel(), what, step, weights_of});
}

void Trainer::watch_weights(torch::nn::Module& module, const std::string& what, int64_t step) {
  if (!options_.check_finite) return;
  std::vector<torch::Tensor> all;
  for (const auto& p : module.parameters()) all.push_back(p.detach().reshape({-1}));
  if (!all.empty()) watch_finite(torch::cat(all), what + " weights", step, &module);
}

// Throws TrainingDiverged for the first queued check that found NaN/Inf on any rank.
// Distributed, every rank sees every rank's counts, so all of them stop together instead of
// waiting for each other.
void Trainer::throw_if_diverged(const double* local, const double* global) {
  auto checks = std::move(pending_checks_);
  pending_checks_.clear();
  for (size_t i = 0; i < checks.size(); ++i) {
    if (!(global[i] > 0)) continue;
    const auto& c = checks[i];
    std::string name = c.what;
    if (c.weights_of) {
      // The first parameter holding a bad value now: the place to start looking.
      for (const auto& p : c.weights_of->named_parameters()) {
        if (!torch::isfinite(p.value().detach()).all().item<bool>()) {
          name = c.what.substr(0, c.what.find(' ')) + " weight '" + p.key() + "'";
          break;
        }
      }
    }
    const std::string where =
        name + (c.step >= 0 ? " at flow step " + std::to_string(c.step + 1) : "");
    const auto bad = static_cast<int64_t>(local[i]);
    throw TrainingDiverged(
        loop_, name,
        "training diverged at outer loop " + std::to_string(loop_) + ": " + where + " has " +
            (bad > 0 ? std::to_string(bad) + " NaN/Inf value(s) of " + std::to_string(c.numel)
                     : std::string("NaN/Inf values on another rank")));
  }
}

void Trainer::end_phase(double& seconds, Clock::time_point start) const {
  if (options_.synchronize_phases && options_.device.is_cuda()) {
    torch::cuda::synchronize(options_.device.index());
  }
  seconds += seconds_since(start);
}

LoopStats Trainer::run_loop() {
  const auto loop_start = Clock::now();
  LoopStats stats;
  stats.loop = loop_;
  g_schedule_->apply(loop_);
  d_schedule_->apply(loop_);
  stats.lr_g = g_schedule_->lr_at(loop_);
  stats.lr_d = d_schedule_->lr_at(loop_);

  const auto on_device = torch::TensorOptions().device(options_.device);
  LogisticLoss d_loss{torch::zeros({}, on_device), torch::zeros({}, on_device)};
  FlowStepStats flow{torch::zeros({}, on_device), torch::zeros({}, on_device)};
  pending_checks_.clear();
  const auto proj_loss = options_.method == TrainingMethod::VGrow
                             ? vgrow_steps(d_loss, flow, stats)
                             : adversarial_steps(d_loss, stats);

  // The loop's one host read: its numbers and every queued NaN/Inf count, together. Each
  // rank's numbers are its share of the global ones (equal shards, or BatchShare).
  std::vector<torch::Tensor> values{d_loss.real, d_loss.particles, flow.mean_grad_norm,
                                    flow.mean_d, proj_loss.reshape({})};
  for (const auto& c : pending_checks_) values.push_back(c.bad);
  for (auto& v : values) v = v.detach().reshape({}).to(torch::kDouble);
  auto numbers = torch::stack(values).to(torch::kCPU);
  const auto local = numbers.clone();
  if (distributed()) {
    sync_buffers();
    dist_->all_reduce_mean({numbers});
  }
  constexpr int64_t kStats = 5;
  throw_if_diverged(local.data_ptr<double>() + kStats, numbers.data_ptr<double>() + kStats);
  const auto* v = numbers.data_ptr<double>();
  stats.d_loss_real = v[0];
  stats.d_loss_particles = v[1];
  stats.grad_norm = v[2];
  stats.mean_d = v[3];
  stats.projection_loss = v[4];
  // After the divergence check: a loop that went bad never reaches the average.
  if (average_) average_->update(*generator_.ptr());
  stats.seconds = seconds_since(loop_start);
  ++loop_;
  return stats;
}

// d_steps steps of D on real batches against batches of the pool, before flow or G step t;
// distributed, each rank evaluates its share and the gradients are averaged.
void Trainer::density_ratio_steps(int64_t t, LogisticLoss& d_loss, LoopStats& stats) {
  const auto start = Clock::now();
  std::function<void()> sync_d;
  if (distributed()) sync_d = [this] { average_gradients(*discriminator_.ptr()); };
  const auto particles_share = shard_.share(options_.batch_size);
  for (int64_t k = 0; k < options_.d_steps; ++k) {
    const auto real = real_batch();
    d_loss = density_ratio_step(discriminator_, *d_optimizer_, real, particle_batch(), sync_d,
                                particles_share, d_precision());
    watch_finite(torch::stack({d_loss.real, d_loss.particles}), "the D loss", t);
  }
  if (options_.d_steps > 0) watch_weights(*discriminator_.ptr(), "D", t);
  end_phase(stats.seconds_d, start);
}

// VGrow's inner loop (Algorithm 1): the pool drawn once; T times d_steps D steps and one flow
// step of every particle; then G projected onto the moved pool. Returns the projection loss.
torch::Tensor Trainer::vgrow_steps(LogisticLoss& d_loss, FlowStepStats& flow, LoopStats& stats) {
  std::function<void()> sync_g;
  if (distributed()) sync_g = [this] { average_gradients(*generator_.ptr()); };
  // The pool is drawn in training mode (the authors draw it in eval mode).
  generator_.ptr()->train();
  draw_pool();
  for (int64_t t = 0; t < options_.particle_steps; ++t) {
    density_ratio_steps(t, d_loss, stats);
    auto start = Clock::now();
    // Eval mode: spectral norm keeps the u, v of the last D step for every chunk of the pool.
    discriminator_.ptr()->eval();
    flow = move_particles();
    watch_finite(pool_.particles, "the particle pool", t);
    end_phase(stats.seconds_flow, start);
  }

  auto start = Clock::now();
  stats.projection_passes = options_.projection.passes_at(loop_);
  auto proj_loss = project_generator(generator_, *g_optimizer_, pool_.latents, pool_.particles,
                                     stats.projection_passes, options_.batch_size, sync_g, shard_,
                                     g_precision());
  watch_finite(proj_loss, "the projection loss", -1);
  watch_weights(*generator_.ptr(), "G", -1);
  end_phase(stats.seconds_projection, start);
  return proj_loss;
}

// T times: the pool drawn from the current G, d_steps D steps against it, one G step on the
// GAN loss over batch_size new latents. D's seconds count as D, G's as projection.
torch::Tensor Trainer::adversarial_steps(LogisticLoss& d_loss, LoopStats& stats) {
  TORCH_CHECK(!distributed(), "the GAN baselines run in one process");
  torch::Tensor g_loss;
  for (int64_t t = 0; t < options_.particle_steps; ++t) {
    auto start = Clock::now();
    generator_.ptr()->train();
    draw_pool();
    end_phase(stats.seconds_d, start);
    density_ratio_steps(t, d_loss, stats);
    start = Clock::now();
    const auto latents = to_device(torch::randn({options_.batch_size, options_.latent_dim}),
                                   options_.device);
    g_loss = adversarial_generator_step(options_.method, generator_, discriminator_,
                                        *g_optimizer_, latents, g_precision());
    watch_finite(g_loss, "the generator loss", t);
    watch_weights(*generator_.ptr(), "G", t);
    end_phase(stats.seconds_projection, start);
  }
  return g_loss;
}

torch::Tensor Trainer::generate(const torch::Tensor& latents, bool raw) {
  torch::NoGradGuard no_grad;
  if (average_ && !raw) {
    return forward_in_chunks(average_->module(), latents.to(options_.device), 256).cpu();
  }
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
  for (const auto& [key, scaler] : loss_scalers(d_scaler_.get(), g_scaler_.get())) {
    if (!scaler) continue;
    torch::serialize::OutputArchive a;
    scaler->save(a);
    archive.write(key, a);
  }
  if (average_) {
    torch::serialize::OutputArchive a;
    average_->save(a);
    archive.write("generator_ema", a);
  }
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
  flow_graph_.reset();  // the load gave D new tensors; the graphs hold the old addresses
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
  // A run that turned loss scaling on at resume starts from the initial scale.
  for (const auto& [key, scaler] : loss_scalers(d_scaler_.get(), g_scaler_.get())) {
    torch::serialize::InputArchive a;
    if (scaler && archive.try_read(key, a)) scaler->load(a);
  }
  // A run that turned the generator EMA on at resume starts it from the loaded G.
  if (average_) {
    torch::serialize::InputArchive a;
    if (archive.try_read("generator_ema", a)) {
      average_->load(a);
      average_->module().ptr()->to(options_.device);
    } else {
      average_ = std::make_unique<GeneratorAverage>(generator_, options_.ema_decay);
    }
  }
  // Every rank read the same checkpoint; rank 0's copy settles any doubt.
  if (distributed()) broadcast_state();
}

}  // namespace vgrow
