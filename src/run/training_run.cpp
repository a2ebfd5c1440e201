#include "vgrow/run/training_run.h"

#include <chrono>
#include <fstream>
#include <optional>

#include <torch/torch.h>

#include "vgrow/dist/process_group.h"
#include "vgrow/io/atomic_file.h"
#include "vgrow/io/progress.h"
#include "vgrow/io/run_folder.h"
#include "vgrow/run/checkpoint.h"
#include "vgrow/run/checkpoint_policy.h"
#include "vgrow/run/divergence_recovery.h"
#include "vgrow/run/evaluator.h"
#include "vgrow/run/experiment.h"
#include "vgrow/run/loop_record.h"
#include "vgrow/run/run_outputs.h"
#include "vgrow/run/run_report.h"
#include "vgrow/run/run_reporter.h"

namespace vgrow {
namespace fs = std::filesystem;

namespace {

// One process per rank when WORLD_SIZE > 1 (torchrun's variables, or `vgrow launch`):
// every rank computes; rank 0 alone writes the run folder, logs, samples and checkpoints.
std::shared_ptr<dist::Distributed> join_job(const Config& config) {
  const auto device = resolve_device(config.run.device);
  // Before the run folder exists: "auto" may have found no GPU.
  TORCH_CHECK(config.run.precision != "fp16" || device.is_cuda(),
              "config key 'run.precision' = fp16 needs a CUDA device, and run.device = ",
              config.run.device, " gives ", device, ": use bf16 or fp32");
  return dist::init_from_env(std::chrono::seconds(config.run.dist_timeout_seconds), device);
}

struct RunFolder {
  fs::path dir;
  fs::path resume_from;  // empty: a fresh run
};

// The folder to resume (refusing a config that changes what the checkpoint trained), or a
// new numbered one; the other ranks of a job leave `dir` empty.
RunFolder open_run_folder(const Config& config, const fs::path& resume_dir, bool main_rank) {
  if (!resume_dir.empty()) {
    RunFolder folder{resume_dir, io::resume_checkpoint(resume_dir)};
    Config stored;
    apply_toml(stored, io::checkpoint_config(folder.resume_from), folder.resume_from.string());
    std::string bad;
    for (const auto& diff : unresumable_differences(stored, config)) bad += "\n  " + diff;
    TORCH_CHECK(bad.empty(), "cannot resume: the config differs from the checkpoint's in", bad,
                "\n(only run.* scheduling keys, eval.*, flow.eta and the learning rates may "
                "change on resume)");
    return folder;
  }
  if (!main_rank) return {};
  const auto suffix = !config.run.name.empty() ? config.run.name
                      : (config.data.dataset == "toy" ? config.data.target : config.data.dataset) +
                            "-" + (config.run.method == "vgrow" ? config.flow.divergence
                                                                : config.run.method);
  return {io::create_run_folder(config.run.out_dir, suffix), {}};
}

RunStart describe_start(const Config& config, Trainer& trainer, const dist::Distributed& dist,
                        const RunFolder& folder) {
  return {folder.dir,
          folder.resume_from,
          trainer.loop(),
          trainer.data().describe(),
          trainer.options().method == TrainingMethod::VGrow
              ? trainer.divergence().name()
              : training_method_name(trainer.options().method) + " (GAN baseline)",
          trainer.pool_size(),
          config.run.threads,
          trainer.options().device.str(),
          config.run.precision,
          trainer.d_loss_scaler() != nullptr,
          dist.world() > 1 ? dist.describe() : std::string()};
}

// One line per start of the run: when, at which loop, and the command.
void record_command(const fs::path& run_dir, int64_t loop, const std::string& command) {
  if (command.empty()) return;
  std::ofstream out(run_dir / "commands.log", std::ios::app);
  out << io::utc_timestamp() << "  loop " << loop << "  " << command << "\n";
  if (!out) TORCH_WARN("cannot append to ", (run_dir / "commands.log").string());
}

// report.html beside the samples; a report that cannot be written never stops training.
void refresh_report(const fs::path& run_dir) {
  try {
    write_run_report(run_dir / "report.html", {run_dir});
  } catch (const c10::Error& e) {
    TORCH_WARN("report.html not refreshed: ", e.what_without_backtrace());
  } catch (const std::exception& e) {
    TORCH_WARN("report.html not refreshed: ", e.what());
  }
}

// Runs `score` and puts the global CPU generator back as it was: scoring (building the
// classifier initialises weights from it) never changes what training draws. So turning
// eval.metrics on leaves training as it was, and a run resumed after an evaluation the
// uninterrupted run never made (the last loop is always scored) continues bit-identically.
template <class Score>
void keeping_cpu_random_state(Score&& score) {
  auto cpu = at::detail::getDefaultCPUGenerator();
  const auto state = cpu.get_state();
  try {
    score();
  } catch (...) {
    cpu.set_state(state);
    throw;
  }
  cpu.set_state(state);
}

RunReporter& nobody() {
  static RunReporter silent;
  return silent;
}

}  // namespace

TrainingRunResult run_training(const Config& requested, const TrainingRunOptions& options) {
  validate(requested);  // once, before anything touches the disk; the parts trust it
  Config config = requested;
  const auto dist = join_job(config);
  const bool main_rank = dist->is_main();
  RunReporter& reporter = main_rank && options.reporter ? *options.reporter : nobody();
  const auto folder = open_run_folder(config, options.resume_dir, main_rank);
  auto config_text = to_toml(config);
  if (main_rank) io::write_text_atomically(folder.dir / "config.toml", config_text);

  // Temporaries of a run that was killed mid-write.
  if (main_rank) io::remove_stale_temporaries(folder.dir);

  auto trainer = make_trainer(config);
  trainer->distribute(dist);
  // A rank started with another dataset, divergence or step size is refused by name.
  dist->check_same_text(config_text, "the resolved config");
  std::optional<RunOutputs> outputs;
  if (main_rank) outputs.emplace(config, folder.dir, *trainer);
  if (!folder.resume_from.empty()) {
    io::load_checkpoint(folder.resume_from, *trainer);
    if (main_rank) {
      // Loops logged after the checkpoint (a killed run) are run again: log them once.
      // Stats rows carry the 0-based loop index, eval rows the count of loops done.
      io::drop_log_rows_after(folder.dir, "stats", static_cast<double>(trainer->loop() - 1));
      io::drop_log_rows_after(folder.dir, "eval", static_cast<double>(trainer->loop()));
    }
  } else if (outputs) {
    outputs->write_initial(*trainer);
  }
  if (main_rank) record_command(folder.dir, trainer->loop(), options.command);
  std::optional<io::MetricsLog> stats_log;
  if (main_rank) stats_log.emplace(folder.dir);
  reporter.run_started(describe_start(config, *trainer, *dist, folder));
  // Rank 0 alone scores; the other ranks wait for it outside the collective timeout, which
  // the first reference statistics or a long evaluation would exceed.
  const auto scoring_wait = std::chrono::hours(24);
  std::optional<Evaluator> evaluator;
  if (!config.eval.metrics.empty()) {
    dist->run_on_main("evaluation setup", scoring_wait, [&] {
      keeping_cpu_random_state([&] { evaluator.emplace(config, *trainer, folder.dir); });
      reporter.scoring_ready(evaluator->description());
    });
  }
  const CheckpointPolicy checkpoints(folder.dir, config.run.checkpoint_every,
                                     config.run.keep_checkpoints);
  DivergenceRecovery recovery(folder.dir, main_rank, dist->world());
  io::ProgressMeter progress(trainer->loop(), config.run.loops, config.run.minutes);
  TrainingRunResult result{folder.dir, trainer->loop(), "loops"};
  TimedEvaluations timed_evaluations(config);
  while (trainer->loop() < config.run.loops) {
    LoopRecord record;
    try {
      record = make_loop_record(trainer->run_loop(), trainer->pool_size());
      check_finite(record);
    } catch (const TrainingDiverged& e) {
      reporter.rolled_back(recovery.recover(e, config, config_text, *trainer));
      continue;
    }
    if (stats_log) stats_log->write(stats_row(record));
    const int64_t done = trainer->loop();
    // The ranks leave together: one rank's clock or stop request stops them all.
    const bool out_of_time = dist->any(progress.out_of_time());
    const bool interrupted = dist->any(options.stop_requested && options.stop_requested());
    const bool last = done >= config.run.loops || out_of_time || interrupted;
    const bool log_due = last || done % config.run.log_every == 0;
    reporter.loop_finished(record, {done, last, log_due, progress});
    const bool outputs_due = outputs && outputs->due(done, last);
    if (outputs_due) outputs->write(*trainer, stats_log->csv_path());
    std::optional<EvalResult> scores;
    const double minutes = progress.elapsed_seconds() / 60.0;
    // The same config on every rank: all of them take part in the collective, or none.
    const bool time_to_score =
        timed_evaluations.enabled() && dist->any(timed_evaluations.due(minutes));
    if (evaluation_due(config, done, last) || time_to_score) {
      dist->run_on_main("evaluation", scoring_wait, [&] {
        keeping_cpu_random_state([&] { scores = evaluator->evaluate(*trainer, minutes); });
      });
    }
    if (checkpoints.due(done, last)) {
      trainer->check_replicas();  // collective: rank 0's checkpoint stands for every rank
      if (main_rank) checkpoints.save(*trainer, config_text);
    }
    if (scores) {
      if (scores->new_best) checkpoints.save_best(*trainer, config_text, evaluator->best());
      reporter.evaluated(*scores);
    }
    if (outputs_due && config.run.report) refresh_report(folder.dir);
    if (interrupted || out_of_time) {
      result.stop_reason = interrupted ? "interrupted" : "time";
      break;
    }
  }
  result.loops_done = trainer->loop();
  reporter.stopped(result);
  return result;
}

}  // namespace vgrow
