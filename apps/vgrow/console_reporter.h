#pragma once
// `vgrow train`'s lines on the terminal: the run's start, a progress line every
// run.log_every loops, the in-training scores and the stop on stdout; rollbacks on stderr.

#include "vgrow/run/run_reporter.h"

namespace vgrow::cli {

class ConsoleReporter : public RunReporter {
 public:
  // `quiet`: rollbacks only.
  explicit ConsoleReporter(bool quiet) : quiet_(quiet) {}
  void run_started(const RunStart& start) override;
  void scoring_ready(const std::string& description) override;
  void loop_finished(const LoopRecord& record, const LoopProgress& progress) override;
  void evaluated(const EvalResult& scores) override;
  void rolled_back(const Rollback& rollback) override;
  void stopped(const TrainingRunResult& result) override;

 private:
  bool quiet_;
};

}  // namespace vgrow::cli
