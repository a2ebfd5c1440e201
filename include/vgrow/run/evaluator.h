#pragma once
// In-training scores (config [eval]) with their log: every eval.every loops G is scored by
// TrainingMetrics, the row goes to eval.csv / eval.jsonl, the curves to metrics.png, and the
// best value so far of eval.best is kept (best.toml, continued by a resumed run).

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "vgrow/core/trainer.h"
#include "vgrow/io/run_folder.h"
#include "vgrow/run/config.h"
#include "vgrow/run/training_metrics.h"

namespace vgrow {

struct EvalResult {
  int64_t loop = 0;                                    // the loop counter when scored
  double minutes = 0;  // wall-clock minutes this training process had run when scored
  std::vector<std::pair<std::string, double>> values;  // metric, value, in config order
  double seconds = 0;
  bool new_best = false;  // improved the best value of the chosen metric
};

// Whether the loop that brought the counter to `loops_done` is scored (`last`: the run stops
// after it). Asked on every rank: the others wait while rank 0 scores.
inline bool evaluation_due(const Config& config, int64_t loops_done, bool last) {
  return !config.eval.metrics.empty() && (last || loops_done % config.eval.every == 0);
}

// eval.every_minutes: due once the run's clock passes the next multiple of the interval
// (one evaluation however many multiples a slow loop spans).
class TimedEvaluations {
 public:
  explicit TimedEvaluations(const Config& config)
      : every_(config.eval.metrics.empty() ? 0.0 : config.eval.every_minutes), next_(every_) {}
  bool enabled() const { return every_ > 0; }
  bool due(double minutes) {
    if (every_ <= 0 || minutes < next_) return false;
    while (next_ <= minutes) next_ += every_;
    return true;
  }

 private:
  double every_, next_;
};

class Evaluator {
 public:
  Evaluator(const Config& config, Trainer& trainer, const std::filesystem::path& run_dir);

  // Scores G now, logs the row (with `minutes`, the run's clock) and plots the curves;
  // updates best() when it improved.
  EvalResult evaluate(Trainer& trainer, double minutes = 0);
  const BestScore& best() const { return best_; }
  // How the scores are computed (TrainingMetrics::description).
  const std::string& description() const { return metrics_.description(); }

 private:
  TrainingMetrics metrics_;
  io::MetricsLog log_;
  std::filesystem::path plot_;
  BestScore best_;
};

}  // namespace vgrow
