#include "console_reporter.h"

#include <filesystem>

#include <cstdio>
#include <iostream>

namespace vgrow::cli {

void ConsoleReporter::run_started(const RunStart& s) {
  if (quiet_) return;
  if (!s.resumed_from.empty()) {
    std::cout << "resumed " << s.resumed_from.string() << " at loop " << s.first_loop << "\n";
  }
  std::cout << "run folder: " << s.run_dir.string() << "\n"
            << "data: " << s.data << ", divergence " << s.divergence << ", pool " << s.pool_size
            << ", " << s.threads << " thread(s), device " << s.device
            << (s.precision == "fp32" ? "" : ", " + s.precision + " autocast")
            << (s.loss_scaling ? ", loss scaling" : "") << "\n";
  if (!s.distributed.empty()) std::cout << "distributed: " << s.distributed << "\n";
}

void ConsoleReporter::scoring_ready(const std::string& description) {
  if (!quiet_) std::cout << description << "\n";
}

void ConsoleReporter::loop_finished(const LoopRecord& r, const LoopProgress& progress) {
  if (quiet_ || !progress.log_due) return;
  char buf[160];
  std::snprintf(buf, sizeof(buf), "  D real %.4f  D part %.4f  |gradD| %.4g  proj %.4g",
                r.d_loss_real, r.d_loss_particles, r.grad_norm, r.projection_loss);
  std::cout << progress.meter.line(r.loop) << buf << std::endl;
}

void ConsoleReporter::evaluated(const EvalResult& scores) {
  if (quiet_) return;
  std::string line = "  eval after loop " + std::to_string(scores.loop) + ":";
  for (const auto& [name, value] : scores.values) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), " %s %.5g", name.c_str(), value);
    line += buf;
  }
  std::cout << line << (scores.new_best ? "  (best so far: best.pt)" : "") << std::endl;
}

void ConsoleReporter::rolled_back(const Rollback& rollback) {
  std::cerr << "vgrow: " << rollback.message << std::endl;
}

void ConsoleReporter::stopped(const TrainingRunResult& result) {
  if (quiet_) return;
  std::cout << "stopped (" << result.stop_reason << ") after loop " << result.loops_done
            << "; checkpoint and samples in " << result.run_dir.string() << "\n";
  const auto report = result.run_dir / "report.html";
  if (std::filesystem::exists(report)) std::cout << "report: " << report.string() << "\n";
}

}  // namespace vgrow::cli
