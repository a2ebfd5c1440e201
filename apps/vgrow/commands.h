#pragma once
// Sub-commands of the `vgrow` CLI; each registers itself on the CLI11 app.

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "vgrow/run/config.h"
#include "vgrow/run/sampler.h"

namespace vgrow::cli {

void add_train(CLI::App& app);
void add_sample(CLI::App& app);
void add_targets(CLI::App& app);
void add_eval(CLI::App& app);
void add_classifier(CLI::App& app);
void add_launch(CLI::App& app);
void add_bench(CLI::App& app);
void add_study(CLI::App& app);
void add_report(CLI::App& app);

// A preset name or config file, then key=value overrides, into a validated Config. With no
// preset or file (the default job), in-training scores are on (default_job_metrics) when the
// data are images, eval.metrics is not given and a classifier for the dataset is at hand.
Config resolve_config(const std::vector<std::string>& args);
std::vector<std::string> default_job_metrics();
// Whether one of the key=value overrides sets `key` (spaces around the key allowed).
bool overrides_key(const std::vector<std::string>& args, std::string_view key);
// This program's own path, to start itself again (launch's ranks, study's runs).
std::string self_executable();
// --raw and --refine* of `vgrow sample` and `vgrow eval`.
struct SamplerArgs {
  SamplerOptions options = [] {
    SamplerOptions o;
    o.refine.steps = -1;  // the run's default (default_refine_steps)
    return o;
  }();
  std::string space = "latent";
  SamplerOptions resolved(uint64_t seed) const;
};
void add_sampler_options(CLI::App* cmd, SamplerArgs& args);

// The folder that holds the committed presets.
std::string config_dir();

}  // namespace vgrow::cli
