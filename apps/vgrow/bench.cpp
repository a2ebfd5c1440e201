#include <algorithm>
#include <iomanip>
#include <iostream>

#include <torch/torch.h>

#include "commands.h"
#include "vgrow/experiment.h"

namespace vgrow::cli {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

void add_bench(CLI::App& app) {
  struct Args {
    std::vector<std::string> config;
    int64_t loops = 3, warmup = 1;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "bench", "Time outer loops of a preset: seconds per loop split into D, flow and projection");
  cmd->add_option("config", args->config, "[PRESET|FILE.toml] [section.key=value ...]");
  cmd->add_option("--loops", args->loops, "timed outer loops (median reported)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", args->warmup, "untimed outer loops first")->check(CLI::NonNegativeNumber);
  cmd->callback([args] {
    const auto config = resolve_config(args->config);
    auto trainer = make_trainer(config);
    for (int64_t i = 0; i < args->warmup; ++i) trainer->run_loop();
    std::vector<double> total, d, flow, proj;
    for (int64_t i = 0; i < args->loops; ++i) {
      const auto s = trainer->run_loop();
      total.push_back(s.seconds);
      d.push_back(s.seconds_d);
      flow.push_back(s.seconds_flow);
      proj.push_back(s.seconds_projection);
      std::cout << "loop " << i + 1 << "/" << args->loops << ": " << std::fixed
                << std::setprecision(3) << s.seconds << " s (D " << s.seconds_d << ", flow "
                << s.seconds_flow << ", projection " << s.seconds_projection << ")\n";
    }
    // Particles moved per second: pool size x flow steps per loop.
    const double moved = static_cast<double>(trainer->pool_size() * config.flow.particle_steps);
    std::cout << std::setprecision(4) << "{\"arch\":\"" << config.model.arch
              << "\",\"g_width\":" << config.model.g_width << ",\"d_width\":" << config.model.d_width
              << ",\"pool\":" << trainer->pool_size() << ",\"particle_steps\":"
              << config.flow.particle_steps << ",\"threads\":" << config.run.threads
              << ",\"device\":\"" << config.run.device << "\",\"loops\":" << args->loops
              << ",\"seconds_per_loop\":" << median(total) << ",\"seconds_d\":" << median(d)
              << ",\"seconds_flow\":" << median(flow) << ",\"seconds_projection\":" << median(proj)
              << ",\"particle_steps_per_second\":" << moved / median(total) << "}\n";
  });
}

}  // namespace vgrow::cli
