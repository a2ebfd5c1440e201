#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>

#include <sys/resource.h>

#include <torch/torch.h>

#include "commands.h"
#include "json_line.h"
#include "vgrow/run/experiment.h"
#include "vgrow/run/runtime_settings.h"
#include "vgrow/models/flop_count.h"
#include "vgrow/support/op_profile.h"
#include "vgrow/support/threads.h"

namespace vgrow::cli {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Model FLOPs of one outer loop, counting a backward as twice its forward (input and weight
// gradients) and the flow step's input-only backward as once: pool draw P G-forwards; T x k
// D steps over 2B samples; T flow steps over P particles; `passes` projection passes over P.
struct LoopFlops {
  double g_forward = 0, d_forward = 0;  // per sample
  double per_loop(const Trainer& t, int64_t passes) const {
    const auto& o = t.options();
    const double p = static_cast<double>(t.pool_size()), steps = o.particle_steps;
    return p * g_forward + steps * o.d_steps * 2.0 * o.batch_size * 3.0 * d_forward +
           steps * p * 2.0 * d_forward + passes * p * 3.0 * g_forward;
  }
};

LoopFlops count_model_flops(Trainer& trainer) {
  const auto& o = trainer.options();
  auto shape = trainer.data().sample_shape();
  LoopFlops f;
  auto& g = trainer.generator();
  auto& d = trainer.discriminator();
  // Eval mode: no BatchNorm statistics or spectral-norm vectors change while counting.
  g.ptr()->eval();
  f.g_forward = models::forward_flops_per_sample([&](int64_t b) {
    g.forward(torch::randn({b, o.latent_dim}, torch::TensorOptions().device(o.device)));
  });
  d.ptr()->eval();
  f.d_forward = models::forward_flops_per_sample([&](int64_t b) {
    std::vector<int64_t> s{b};
    s.insert(s.end(), shape.begin(), shape.end());
    d.forward(torch::zeros(s, torch::TensorOptions().device(o.device)));
  });
  g.ptr()->train();
  d.ptr()->train();
  return f;
}

// Timings are noisy (±20 % on a shared machine): 4 significant digits say all they know.
double significant(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", x);
  return std::strtod(text, nullptr);
}

// The machine's arithmetic peak as this run can reach it: the best of a few 2048^3 matrix
// products in the run's precision on its device and threads (BLAS at full width for this).
// What a GEMM library reaches, not the data sheet's figure.
double peak_gflop_per_second(const Config& config, torch::Device device) {
  const int threads = static_cast<int>(config.run.threads);
  set_compute_threads(threads, threads);
  const auto dtype = config.run.precision == "bf16"   ? torch::kBFloat16
                     : config.run.precision == "fp16" ? torch::kHalf
                                                      : torch::kFloat;
  constexpr int64_t n = 2048;
  const auto on = torch::TensorOptions().device(device);
  const auto a = torch::randn({n, n}, on).to(dtype), b = torch::randn({n, n}, on).to(dtype);
  const auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize(device.index());
  };
  double best = 0;
  for (int i = 0; i < 8; ++i) {
    sync();
    const auto start = std::chrono::steady_clock::now();
    const auto c = torch::mm(a, b);
    sync();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (i >= 2) best = std::max(best, 2.0 * n * n * n / s / 1e9);
  }
  set_compute_threads(threads, blas_threads(config));
  return best;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux: KiB
}

}  // namespace

void add_bench(CLI::App& app) {
  struct Args {
    std::vector<std::string> config;
    int64_t loops = 3, warmup = 1;
    size_t profile = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "bench", "Time outer loops of a preset: seconds per loop split into D, flow and projection");
  cmd->add_option("config", args->config, "[PRESET|FILE.toml] [section.key=value ...]");
  cmd->add_option("--loops", args->loops, "timed outer loops (median reported)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "untimed outer loops first")->check(CLI::NonNegativeNumber);
  cmd->add_option("--profile", args->profile,
                  "also print the N operators that took the most time in the timed loops "
                  "(LibTorch's profiler; its bookkeeping slows the loops a little)");
  cmd->callback([args] {
    const auto config = resolve_config(args->config);
    if (config.run.reproducible) pin_reproducible_kernels();
    auto trainer = make_trainer(config);
    trainer->set_synchronize_phases(true);
    const auto flops = count_model_flops(*trainer);
    const double peak = peak_gflop_per_second(config, trainer->options().device);
    for (int64_t i = 0; i < args->warmup; ++i) trainer->run_loop();
    std::vector<double> total, d, flow, proj, gflops;
    std::unique_ptr<OpProfile> profile;
    if (args->profile > 0) profile = std::make_unique<OpProfile>();
    for (int64_t i = 0; i < args->loops; ++i) {
      const auto s = trainer->run_loop();
      total.push_back(s.seconds);
      d.push_back(s.seconds_d);
      flow.push_back(s.seconds_flow);
      proj.push_back(s.seconds_projection);
      const double loop_flops = flops.per_loop(*trainer, s.projection_passes);
      gflops.push_back(loop_flops / s.seconds / 1e9);
      std::cout << "loop " << i + 1 << "/" << args->loops << ": " << std::fixed
                << std::setprecision(3) << s.seconds << " s (D " << s.seconds_d << ", flow "
                << s.seconds_flow << ", projection " << s.seconds_projection << "), "
                << std::setprecision(1) << loop_flops / 1e12 << " TFLOP at " << gflops.back()
                << " GFLOP/s (" << std::setprecision(0) << 100.0 * gflops.back() / peak
                << " % of the measured peak, " << peak << ")\n";
    }
    if (profile) {
      double ms = 0;
      for (double s : total) ms += 1e3 * s;
      std::cout << "operators over the " << args->loops << " timed loops (" << std::setprecision(1)
                << ms << " ms):\n"
                << format_op_table(profile->stop(), ms, args->profile);
    }
    // Images per second: particles moved (pool size x flow steps) per second of a loop.
    const double moved = static_cast<double>(trainer->pool_size() * config.flow.particle_steps);
    nlohmann::ordered_json line;
    line["arch"] = config.model.arch;
    line["g_width"] = config.model.g_width;
    line["d_width"] = config.model.d_width;
    line["pool"] = trainer->pool_size();
    line["particle_steps"] = config.flow.particle_steps;
    line["threads"] = config.run.threads;
    line["device"] = trainer->options().device.str();
    line["precision"] = config.run.precision;
    line["loss_scaling"] = trainer->d_loss_scaler() != nullptr;
    line["cuda_graphs"] = trainer->flow_graph() && trainer->flow_graph()->captured() > 0;
    line["loops"] = args->loops;
    line["seconds_per_loop"] = significant(median(total));
    line["seconds_d"] = significant(median(d));
    line["seconds_flow"] = significant(median(flow));
    line["seconds_projection"] = significant(median(proj));
    line["images_per_second"] = significant(moved / median(total));
    line["g_forward_mflop"] = significant(flops.g_forward / 1e6);
    line["d_forward_mflop"] = significant(flops.d_forward / 1e6);
    line["gflop_per_second"] = significant(median(gflops));
    line["peak_gflop_per_second"] = significant(peak);
    line["share_of_peak"] = significant(median(gflops) / peak);
    line["fused_resampling"] = config.model.fused_resampling;
    line["channels_last"] = config.model.channels_last;
    line["reproducible"] = config.run.reproducible;
    line["onednn"] = at::globalContext().userEnabledMkldnn();
    line["peak_rss_mib"] = significant(peak_rss_mib());
    print_json_line(line);
  });
}

}  // namespace vgrow::cli
