// Google Benchmark programs for the kernels of one outer loop, on the paper's ResNet-SN
// (Fashion-MNIST shape, 1x32x32): a flow step over a pool, one density-ratio (D) step, one
// projection pass, and spectral normalisation. Arguments: width, and fused resampling (1) or
// the authors' literal order (0). Counters: images/s and model GFLOP/s (models/flop_count.h).
//
//   build/vgrow_kernels_bench --benchmark_filter=FlowStep
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "vgrow/core/density_ratio.h"
#include "vgrow/core/divergence.h"
#include "vgrow/models/flop_count.h"
#include "vgrow/models/resnet.h"
#include "vgrow/core/particles.h"
#include "vgrow/core/projection.h"
#include "vgrow/run/runtime_settings.h"

namespace {

constexpr int64_t kBatch = 64, kPool = 256, kLatent = 128;

torch::nn::AnyModule discriminator(int64_t width, bool fused) {
  torch::manual_seed(0);
  return torch::nn::AnyModule(vgrow::models::ResNetDiscriminator(
      vgrow::models::ResNetDiscriminatorOptions().width(width).channels(1).fused_resampling(fused)));
}

torch::nn::AnyModule generator(int64_t width, bool fused) {
  torch::manual_seed(0);
  return torch::nn::AnyModule(vgrow::models::ResNetGenerator(
      vgrow::models::ResNetGeneratorOptions().width(width).channels(1).fused_resampling(fused)));
}

double forward_flops(torch::nn::AnyModule& m, const torch::Tensor& one_batch) {
  m.ptr()->eval();
  const double f = vgrow::models::forward_flops_per_sample(
      [&](int64_t) { m.forward(one_batch.narrow(0, 0, 1)); }, 1);
  m.ptr()->train();
  return f;
}

void set_counters(benchmark::State& state, double images, double flops) {
  state.counters["images/s"] =
      benchmark::Counter(images * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// Third argument: 0 fp32, 1 bf16 autocast.
vgrow::Autocast autocast(const benchmark::State& state) {
  return {state.range(2) ? vgrow::Precision::bf16 : vgrow::Precision::fp32, torch::kCPU};
}

void BM_FlowStep(benchmark::State& state) {
  torch::set_num_threads(2);
  auto d = discriminator(state.range(0), state.range(1) != 0);
  auto pool = torch::rand({kPool, 1, 32, 32}) * 2 - 1;
  const double f = forward_flops(d, pool);
  d.ptr()->eval();
  const auto kl = vgrow::Divergence::from_name("kl");
  for (auto _ : state) {
    vgrow::flow_step(d, pool, kl, vgrow::FlowStepOptions().eta(1e-6).chunk_size(256),
                     autocast(state));
  }
  set_counters(state, kPool, kPool * 2 * f);  // forward + input-only backward
}

void BM_DensityRatioStep(benchmark::State& state) {
  torch::set_num_threads(2);
  auto d = discriminator(state.range(0), state.range(1) != 0);
  const auto real = torch::rand({kBatch, 1, 32, 32}) * 2 - 1;
  const auto fake = torch::rand({kBatch, 1, 32, 32}) * 2 - 1;
  const double f = forward_flops(d, real);
  torch::optim::RMSprop opt(d.ptr()->parameters(), torch::optim::RMSpropOptions(1e-4));
  const vgrow::MixedPrecision precision{autocast(state)};
  for (auto _ : state) vgrow::density_ratio_step(d, opt, real, fake, {}, {}, precision);
  set_counters(state, 2 * kBatch, 2 * kBatch * 3 * f);  // forward + full backward
}

void BM_ProjectionPass(benchmark::State& state) {
  torch::set_num_threads(2);
  auto g = generator(state.range(0), state.range(1) != 0);
  const auto latents = torch::randn({kPool, kLatent});
  const auto targets = torch::rand({kPool, 1, 32, 32}) * 2 - 1;
  const double f = forward_flops(g, latents);
  torch::optim::RMSprop opt(g.ptr()->parameters(), torch::optim::RMSpropOptions(1e-4));
  const vgrow::MixedPrecision precision{autocast(state)};
  for (auto _ : state) {
    vgrow::project_generator(g, opt, latents, targets, 1, kBatch, {}, {}, precision);
  }
  set_counters(state, kPool, kPool * 3 * f);
}

void BM_SpectralNorm(benchmark::State& state) {
  const int64_t w = state.range(0);
  torch::manual_seed(0);
  const auto weight = torch::randn({w, w, 3, 3});
  auto u = torch::randn({w});
  auto v = torch::randn({w * 9});
  for (auto _ : state) {
    benchmark::DoNotOptimize(vgrow::models::spectral_normalize(weight, u, v, 5, true));
  }
}

BENCHMARK(BM_FlowStep)->MinWarmUpTime(1)->MinTime(2)->ArgsProduct({{32, 128}, {0, 1}, {0}})->ArgsProduct({{32, 128}, {1}, {1}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_DensityRatioStep)->MinWarmUpTime(1)->MinTime(2)->ArgsProduct({{32, 128}, {0, 1}, {0}})->ArgsProduct({{32, 128}, {1}, {1}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ProjectionPass)->MinWarmUpTime(1)->MinTime(2)->ArgsProduct({{32, 128}, {1}, {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SpectralNorm)->Arg(32)->Arg(128)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  vgrow::prefer_runtime_settings(argv);  // the CLI's OpenMP and allocator settings
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
