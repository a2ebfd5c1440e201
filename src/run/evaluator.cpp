#include "vgrow/run/evaluator.h"

#include <chrono>

#include "vgrow/io/plots.h"
#include "vgrow/metrics/reference_stats.h"

namespace vgrow {
namespace fs = std::filesystem;

Evaluator::Evaluator(const Config& config, Trainer& trainer, const fs::path& run_dir)
    : metrics_(config, trainer, metrics::default_cache_dir()),
      log_(run_dir, "eval"),
      plot_(run_dir / "metrics.png"),
      best_(BestScore::load(run_dir / "best.toml", metrics_.best_metric())) {}

EvalResult Evaluator::evaluate(Trainer& trainer, double minutes) {
  const auto start = std::chrono::steady_clock::now();
  EvalResult result{trainer.loop(), minutes, metrics_.evaluate(trainer)};
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<std::string> names;
  for (const auto& [name, value] : result.values) {
    names.push_back(name);
    if (name == best_.metric && best_.improved_by(value)) {
      best_.value = value;
      best_.loop = result.loop;
      result.new_best = true;
    }
  }
  auto row = result.values;
  row.insert(row.begin(), {"loop", static_cast<double>(result.loop)});
  row.emplace_back("seconds", result.seconds);
  row.emplace_back("minutes", result.minutes);
  log_.write(row);
  io::plot_curves(plot_, log_.csv_path(), "loop", names);
  return result;
}

}  // namespace vgrow
