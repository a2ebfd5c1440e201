#include "vgrow/training_run.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <unistd.h>
#include <optional>

#include <torch/torch.h>

#include "vgrow/dist/process_group.h"
#include "vgrow/experiment.h"
#include "vgrow/io/atomic_file.h"
#include "vgrow/io/checkpoint.h"
#include "vgrow/io/progress.h"
#include "vgrow/io/plots.h"
#include "vgrow/io/run_folder.h"
#include "vgrow/metrics/reference_stats.h"
#include "vgrow/run_outputs.h"
#include "vgrow/training_metrics.h"

namespace vgrow {
namespace fs = std::filesystem;

namespace {

std::atomic<int> g_stop_signals{0};

void on_stop_signal(int) {
  if (g_stop_signals.fetch_add(1) >= 1) std::_Exit(130);  // second Ctrl-C: leave at once
  static const char msg[] =
      "\nvgrow: stopping after this outer loop and writing a checkpoint (Ctrl-C again to quit now)\n";
  [[maybe_unused]] auto ignored = ::write(2, msg, sizeof(msg) - 1);  // async-signal-safe
}

// Refuses to resume under a config whose algorithmic keys differ from the checkpoint's.
void check_resumable(const Config& stored, const Config& requested) {
  std::string bad;
  for (const auto& diff : config_differences(stored, requested)) {
    const auto key = diff.substr(0, diff.find(':'));
    if (!resumable_key(key)) bad += "\n  " + diff;
  }
  TORCH_CHECK(bad.empty(), "cannot resume: the config differs from the checkpoint's in", bad,
              "\n(only run.* scheduling keys, eval.*, flow.eta and the learning rates may change on "
              "resume)");
}

void check_finite(const LoopStats& s) {
  const std::pair<const char*, double> values[] = {
      {"D loss on real samples", s.d_loss_real},
      {"D loss on particles", s.d_loss_particles},
      {"|grad D| on the particle pool", s.grad_norm},
      {"projection loss", s.projection_loss}};
  for (const auto& [what, v] : values) {
    if (!std::isfinite(v)) {
      throw TrainingDiverged(s.loop, what,
                             "training diverged at outer loop " + std::to_string(s.loop) + ": " +
                                 what + " is " + std::to_string(v));
    }
  }
}

void append_event(const fs::path& run_dir, const std::string& line) {
  std::ofstream out(run_dir / "events.log", std::ios::app);
  out << line << "\n";
}

// After a TrainingDiverged: throws it again with what to do next, or, with
// run.on_divergence = "rollback", reloads the newest checkpoint with a smaller flow.eta
// (recorded in config.toml and events.log) and returns.
void recover_or_throw(const TrainingDiverged& e, Config& config, std::string& config_text,
                      Trainer& trainer, const fs::path& run_dir, bool main_rank, int64_t world,
                      int64_t& rollbacks) {
  const auto checkpoints = main_rank ? io::list_checkpoints(run_dir) : std::vector<fs::path>{};
  const bool can_roll_back = config.run.on_divergence == "rollback" && world == 1 &&
                             rollbacks < config.run.max_rollbacks && !checkpoints.empty();
  if (!can_roll_back) {
    std::string advice;
    if (checkpoints.empty()) {
      advice = "; no checkpoint was written yet: start again with a smaller flow.eta or "
               "learning rate";
    } else {
      advice = "; the last good checkpoint is " + checkpoints.back().string() +
               ": resume with a smaller step, e.g. `vgrow train --resume " + run_dir.string() +
               " flow.eta=" + std::to_string(config.flow.eta * config.run.rollback_factor) +
               "`, or set run.on_divergence = \"rollback\"";
      if (config.run.on_divergence == "rollback") {
        advice += " (" + std::to_string(rollbacks) + " rollback(s) already made)";
      }
    }
    if (main_rank) append_event(run_dir, std::string(e.what()) + "; stopped");
    throw TrainingDiverged(e.loop, e.where, e.what() + advice);
  }
  ++rollbacks;
  const double eta = config.flow.eta * config.run.rollback_factor;
  io::load_checkpoint(checkpoints.back(), trainer);
  std::ostringstream msg;
  msg << e.what() << "; rolled back to " << checkpoints.back().filename().string() << " (loop "
      << trainer.loop() << ") with flow.eta " << config.flow.eta << " -> " << eta << " (rollback "
      << rollbacks << " of " << config.run.max_rollbacks << ")";
  config.flow.eta = eta;
  trainer.set_eta(eta);
  config_text = to_toml(config);
  io::write_text_atomically(run_dir / "config.toml", config_text);
  append_event(run_dir, msg.str());
  std::cerr << "vgrow: " << msg.str() << std::endl;
}

}  // namespace

bool resumable_key(const std::string& key) {
  return key == "run.loops" || key == "run.minutes" || key == "run.log_every" ||
         key == "run.sample_every" || key == "run.checkpoint_every" ||
         key == "run.keep_checkpoints" || key == "run.threads" || key == "run.device" ||
         key == "run.precision" || key == "run.loss_scaling" ||
         key == "run.cuda_graphs" ||
         key == "run.out_dir" || key == "run.name" || key == "run.dist_timeout_seconds" ||
         key == "run.on_divergence" || key == "run.rollback_factor" ||
         key == "run.max_rollbacks" || key.rfind("eval.", 0) == 0 ||
         key == "model.fused_resampling" ||  // the same function, computed another way
         // Step sizes: a run that diverged resumes from its last checkpoint with smaller ones.
         key == "flow.eta" || key == "optim.lr_g" || key == "optim.lr_d";
}

void install_stop_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested() { return g_stop_signals.load() > 0; }

TrainingRunResult run_training(const Config& requested, const TrainingRunOptions& options) {
  validate(requested);
  Config config = requested;
  // One process per rank when WORLD_SIZE > 1 (torchrun's variables, or `vgrow launch`):
  // every rank computes; rank 0 alone writes the run folder, logs, samples and checkpoints.
  const auto device = resolve_device(config.run.device);
  // Before the run folder exists: "auto" may have found no GPU.
  TORCH_CHECK(config.run.precision != "fp16" || device.is_cuda(),
              "config key 'run.precision' = fp16 needs a CUDA device, and run.device = ",
              config.run.device, " gives ", device, ": use bf16 or fp32");
  const auto dist =
      dist::init_from_env(std::chrono::seconds(config.run.dist_timeout_seconds), device);
  const bool main_rank = dist->is_main();
  const bool quiet = options.quiet || !main_rank;
  fs::path run_dir;
  fs::path resume_from;
  if (!options.resume_dir.empty()) {
    run_dir = options.resume_dir;
    resume_from = io::resume_checkpoint(run_dir);
    Config stored;
    apply_toml(stored, io::checkpoint_config(resume_from), resume_from.string());
    check_resumable(stored, config);
  } else if (main_rank) {
    const auto suffix = config.run.name.empty()
                            ? (config.data.dataset == "toy" ? config.data.target : config.data.dataset) +
                                  "-" + config.flow.divergence
                            : config.run.name;
    run_dir = io::create_run_folder(config.run.out_dir, suffix);
  }
  auto config_text = to_toml(config);
  if (main_rank) io::write_text_atomically(run_dir / "config.toml", config_text);

  auto trainer = make_trainer(config);
  trainer->distribute(dist);
  std::optional<RunOutputs> outputs;
  if (main_rank) outputs.emplace(config, run_dir, *trainer);
  if (!resume_from.empty()) {
    io::load_checkpoint(resume_from, *trainer);
    if (!quiet) std::cout << "resumed " << resume_from.string() << " at loop " << trainer->loop() << "\n";
  } else if (outputs) {
    outputs->write_initial(*trainer);
  }
  if (!quiet) {
    std::cout << "run folder: " << run_dir.string() << "\n"
              << "data: " << trainer->data().describe() << ", divergence "
              << trainer->divergence().name() << ", pool " << trainer->pool_size() << ", "
              << config.run.threads << " thread(s), device " << trainer->options().device.str()
              << (config.run.precision == "fp32" ? "" : ", " + config.run.precision + " autocast")
              << (trainer->d_loss_scaler() ? ", loss scaling" : "") << "\n";
    if (dist->world() > 1) std::cout << "distributed: " << dist->describe() << "\n";
  }

  std::optional<io::MetricsLog> log;
  if (main_rank) log.emplace(run_dir);
  // In-training scores (rank 0 alone: the other ranks wait at the next collective).
  std::optional<TrainingMetrics> scores;
  std::optional<io::MetricsLog> eval_log;
  BestScore best;
  if (main_rank && !config.eval.metrics.empty()) {
    scores.emplace(config, *trainer, metrics::default_cache_dir(), !quiet);
    eval_log.emplace(run_dir, "eval");
    best = BestScore::load(run_dir / "best.toml", scores->best_metric());
  }
  io::ProgressMeter progress(trainer->loop(), config.run.loops, config.run.minutes);
  TrainingRunResult result{run_dir, trainer->loop(), "loops"};
  int64_t rollbacks = 0;
  while (trainer->loop() < config.run.loops) {
    LoopStats stats;
    try {
      stats = trainer->run_loop();
      check_finite(stats);
    } catch (const TrainingDiverged& e) {
      recover_or_throw(e, config, config_text, *trainer, run_dir, main_rank, dist->world(),
                       rollbacks);
      continue;
    }
    if (log) log->write({{"loop", static_cast<double>(stats.loop)},
               {"d_loss_real", stats.d_loss_real},
               {"d_loss_particles", stats.d_loss_particles},
               {"grad_norm", stats.grad_norm},
               {"mean_d", stats.mean_d},
               {"projection_loss", stats.projection_loss},
               {"projection_passes", static_cast<double>(stats.projection_passes)},
               {"lr_g", stats.lr_g},
               {"lr_d", stats.lr_d},
               {"seconds", stats.seconds},
               {"seconds_d", stats.seconds_d},
               {"seconds_flow", stats.seconds_flow},
               {"seconds_projection", stats.seconds_projection},
               {"samples_per_second",
                static_cast<double>(trainer->pool_size()) / std::max(stats.seconds, 1e-9)}});
    const int64_t done = trainer->loop();
    // The ranks leave together: one rank's clock or signal stops them all.
    const bool out_of_time = dist->any(progress.out_of_time());
    const bool interrupted = dist->any(stop_requested());
    const bool last = done >= config.run.loops || out_of_time || interrupted;
    if (!quiet && (done % config.run.log_every == 0 || last)) {
      char buf[160];
      std::snprintf(buf, sizeof(buf), "  D real %.4f  D part %.4f  |gradD| %.4g  proj %.4g",
                    stats.d_loss_real, stats.d_loss_particles, stats.grad_norm,
                    stats.projection_loss);
      std::cout << progress.line(stats.loop) << buf << std::endl;
    }
    if (outputs && (done % config.run.sample_every == 0 || last)) {
      outputs->write(*trainer, log->csv_path());
    }
    bool new_best = false;
    if (scores && (done % config.eval.every == 0 || last)) {
      const auto start = std::chrono::steady_clock::now();
      auto values = scores->evaluate(*trainer);
      std::vector<std::string> names;
      std::string line = "  eval after loop " + std::to_string(done) + ":";
      for (const auto& [name, value] : values) {
        names.push_back(name);
        char buf[64];
        std::snprintf(buf, sizeof(buf), " %s %.5g", name.c_str(), value);
        line += buf;
        if (name == best.metric && best.improved_by(value)) {
          best.value = value;
          best.loop = done;
          new_best = true;
        }
      }
      values.insert(values.begin(), {"loop", static_cast<double>(done)});
      values.emplace_back("seconds", std::chrono::duration<double>(
                                         std::chrono::steady_clock::now() - start)
                                         .count());
      eval_log->write(values);
      io::plot_curves(run_dir / "metrics.png", eval_log->csv_path(), "loop", names);
      if (!quiet) std::cout << line << (new_best ? "  (best so far: best.pt)" : "") << std::endl;
    }
    if (done % config.run.checkpoint_every == 0 || last) {
      trainer->check_replicas();  // collective: rank 0's checkpoint stands for every rank
      if (main_rank) io::save_checkpoint(run_dir, *trainer, config_text, config.run.keep_checkpoints);
    }
    if (new_best) {
      // best.pt first: a crash between the two leaves best.toml naming an older score, never
      // a record without its checkpoint.
      io::save_checkpoint_file(run_dir / "best.pt", *trainer, config_text);
      best.save(run_dir / "best.toml");
    }
    if (interrupted) {
      result.stop_reason = "interrupted";
      break;
    }
    if (out_of_time) {
      result.stop_reason = "time";
      break;
    }
  }
  result.loops_done = trainer->loop();
  if (!quiet) {
    std::cout << "stopped (" << result.stop_reason << ") after loop " << result.loops_done
              << "; checkpoint and samples in " << run_dir.string() << "\n";
  }
  return result;
}

}  // namespace vgrow
