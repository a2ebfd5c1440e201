#pragma once
// The VGrow outer loop (paper, Algorithm 1):
//   draw a particle pool X = G(z);
//   T times: one or more density-ratio steps on D, then one flow step of every particle;
//   refit G to the moved particles (projection).

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include <torch/nn/modules/container/any.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "vgrow/data/source.h"
#include "vgrow/dist/shard.h"
#include "vgrow/core/adversarial.h"
#include "vgrow/core/density_ratio.h"
#include "vgrow/core/divergence.h"
#include "vgrow/core/flow_step_graph.h"
#include "vgrow/core/generator_average.h"
#include "vgrow/support/mixed_precision.h"
#include "vgrow/support/optim.h"
#include "vgrow/core/particles.h"
#include "vgrow/core/projection.h"

namespace vgrow {

namespace dist {
class Distributed;
}

struct TrainerOptions {
  // VGrow, or a GAN baseline: per step t the pool is drawn afresh, D takes d_steps steps on
  // it, and G one step on the GAN loss (adversarial.h) over a batch of new latents, in
  // place of the flow steps and the projection. Single process only.
  TrainingMethod method = TrainingMethod::VGrow;
  int64_t batch_size = 64;      // D batch and projection minibatch
  int64_t pool_batches = 20;    // pool size = pool_batches * batch_size
  int64_t particle_steps = 20;  // T, flow steps per outer loop (nPiter)
  int64_t d_steps = 1;          // density-ratio steps before each flow step (nDiter)
  int64_t latent_dim = 128;
  FlowStepOptions flow;
  ProjectionSchedule projection = ProjectionSchedule::paper_mnist();
  OptimizerConfig g_optimizer, d_optimizer;
  std::vector<int64_t> lr_milestones;  // outer loops at which both learning rates decay
  double lr_gamma = 0.5;
  torch::Device device = torch::kCPU;
  // bf16/fp16: G's and D's forwards under autocast (mixed_precision.h); fp16 needs CUDA.
  Precision precision = Precision::fp32;
  // Dynamic loss scaling of D's and G's losses; fp16 turns it on whatever this says.
  bool loss_scaling = false;
  // Checks every loss, the particles after each flow step and the weights after each update
  // for NaN/Inf. The checks are queued on the device and read once per loop, with the
  // loop's numbers; the first bad one is reported.
  bool check_finite = true;
  // On CUDA, the flow step is replayed from CUDA graphs captured once (flow_step_graph.h).
  bool cuda_graphs = true;
  // Waits for the device at the end of each phase so the per-phase seconds are exact on a
  // GPU (benchmarks); otherwise the loop never waits for the device before its end.
  bool synchronize_phases = false;
  // Generator EMA (generator_average.h): 0 = off; else the weight of the old average after
  // each outer loop (e.g. 0.999). generate() then samples the average.
  double ema_decay = 0.0;
};

// A loss, a particle or a weight stopped being finite. `where` names it, `loop` the outer
// loop; the trainer's state is then unusable: reload a checkpoint.
class TrainingDiverged : public std::runtime_error {
 public:
  TrainingDiverged(int64_t loop, std::string where, const std::string& message)
      : std::runtime_error(message), loop(loop), where(std::move(where)) {}
  int64_t loop;
  std::string where;
};

// What one outer loop did; tensors are reduced to numbers once per loop.
struct LoopStats {
  int64_t loop = 0;             // 0-based index of the loop just finished
  double d_loss_real = 0;       // last D step: E_p softplus(-D)
  double d_loss_particles = 0;  // last D step: E_q softplus(D)
  double grad_norm = 0;         // mean |grad_x D| over the pool, last flow step
  double mean_d = 0;            // mean D on the pool, last flow step
  double projection_loss = 0;   // MSE of the last projection pass (GAN: the last G loss)
  int64_t projection_passes = 0;
  double lr_g = 0, lr_d = 0;
  double seconds_d = 0, seconds_flow = 0, seconds_projection = 0, seconds = 0;
};

class Trainer {
 public:
  Trainer(TrainerOptions options, torch::nn::AnyModule generator,
          torch::nn::AnyModule discriminator, std::shared_ptr<data::RealSource> data,
          Divergence divergence);

  // Makes this process one rank of a data-parallel job; call on every rank before the first
  // loop. Rank 0's weights and buffers are broadcast. Each rank then holds pool_size / world
  // particles and takes batch_size / world real samples per D step; every rank draws the
  // global random tensors alike and evaluates its own rows (see dist/shard.h), and D's and
  // G's gradients are averaged before every optimiser step. So N ranks compute what one
  // process computes, split N ways, up to float rounding (exactly so when G has no
  // BatchNorm: its batch statistics are per rank, as in PyTorch's DDP). A world of one, or
  // null, leaves the trainer a single process.
  void distribute(std::shared_ptr<dist::Distributed> dist);
  // Collective: throws on every rank unless all ranks hold identical G, D and random state.
  void check_replicas();

  // Runs one outer loop and advances the loop counter. Throws TrainingDiverged at its end
  // when a loss, the pool or a weight stopped being finite during it.
  LoopStats run_loop();

  int64_t loop() const { return loop_; }
  // The global pool size; each rank holds pool_size() / world of it.
  int64_t pool_size() const { return options_.pool_batches * options_.batch_size; }
  // This rank's particles (all of them in a single process).
  const ParticlePool& pool() const { return pool_; }
  const TrainerOptions& options() const { return options_; }
  // Null unless loss scaling is on.
  const LossScaler* d_loss_scaler() const { return d_scaler_.get(); }
  const LossScaler* g_loss_scaler() const { return g_scaler_.get(); }
  // Null unless the flow step runs from CUDA graphs.
  const FlowStepGraph* flow_graph() const { return flow_graph_.get(); }
  // The particle step size (a run that rolled back after diverging continues with less).
  void set_eta(double eta) {
    TORCH_CHECK(eta > 0.0, "flow step size eta must be positive, got ", eta);
    options_.flow.eta(eta);
    flow_graph_.reset();  // eta is baked into the captured graphs
  }
  // Exact per-phase seconds on a GPU, at the cost of waiting for it (benchmarks).
  void set_synchronize_phases(bool on) { options_.synchronize_phases = on; }
  const Divergence& divergence() const { return divergence_; }
  torch::nn::AnyModule& generator() { return generator_; }
  torch::nn::AnyModule& discriminator() { return discriminator_; }
  data::RealSource& data() { return *data_; }

  // G(z) in eval mode (BatchNorm running statistics), without gradients, in chunks: the
  // generator EMA when there is one, unless `raw`.
  torch::Tensor generate(const torch::Tensor& latents, bool raw = false);
  // Null unless options().ema_decay > 0.
  GeneratorAverage* generator_average() { return average_.get(); }

  // Everything a bit-identical resume needs: weights, optimiser states, loop counter,
  // the data sampler and the global CPU random state. All of it is the same on every rank,
  // so rank 0's checkpoint resumes a job at any world size (every rank loads it).
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  bool distributed() const { return dist_ != nullptr; }
  void draw_pool();
  torch::Tensor real_batch();
  torch::Tensor particle_batch();
  FlowStepStats move_particles();
  // d_steps D steps before flow (or G) step t, timed as D.
  void density_ratio_steps(int64_t t, LogisticLoss& d_loss, LoopStats& stats);
  // The outer loop's inner part, VGrow's or the GAN baselines' (options_.method); each
  // returns G's loss (projection MSE, or the GAN loss of the last G step).
  torch::Tensor vgrow_steps(LogisticLoss& d_loss, FlowStepStats& flow, LoopStats& stats);
  torch::Tensor adversarial_steps(LogisticLoss& d_loss, LoopStats& stats);
  void average_gradients(torch::nn::Module& module);
  void sync_buffers();
  void broadcast_state();
  // NaN/Inf checks: queued during the loop, read with its numbers (see run_loop).
  struct FiniteCheck {
    torch::Tensor bad;  // count of NaN/Inf values, on the device
    int64_t numel;
    std::string what;
    int64_t step;                            // flow step, -1: projection
    torch::nn::Module* weights_of = nullptr;  // a weights check: name the bad parameter
  };
  void watch_finite(const torch::Tensor& values, const std::string& what, int64_t step,
                    torch::nn::Module* weights_of = nullptr);
  void watch_weights(torch::nn::Module& module, const std::string& what, int64_t step);
  // `local` and `global` hold each queued check's count on this rank and on all ranks.
  void throw_if_diverged(const double* local, const double* global);
  void end_phase(double& seconds, std::chrono::steady_clock::time_point start) const;
  MixedPrecision d_precision() const { return {autocast(), d_scaler_.get()}; }
  MixedPrecision g_precision() const { return {autocast(), g_scaler_.get()}; }
  Autocast autocast() const { return {options_.precision, options_.device.type()}; }

  TrainerOptions options_;
  torch::nn::AnyModule generator_, discriminator_;
  std::shared_ptr<data::RealSource> data_;
  Divergence divergence_;
  std::unique_ptr<torch::optim::Optimizer> g_optimizer_, d_optimizer_;
  std::unique_ptr<MultiStepLR> g_schedule_, d_schedule_;
  std::unique_ptr<LossScaler> g_scaler_, d_scaler_;  // null: no loss scaling
  std::vector<FiniteCheck> pending_checks_;
  std::unique_ptr<FlowStepGraph> flow_graph_;  // made at the first CUDA flow step
  std::unique_ptr<GeneratorAverage> average_;  // null: no generator EMA
  ParticlePool pool_;
  int64_t loop_ = 0;
  std::shared_ptr<dist::Distributed> dist_;  // null: a single process
  dist::PoolShard shard_;                    // this rank's rows of the pool
};

}  // namespace vgrow
