#pragma once
// Sub-commands of the `vgrow` CLI; each registers itself on the CLI11 app.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "vgrow/run/config.h"

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

// A preset name or config file, then key=value overrides, into a validated Config.
Config resolve_config(const std::vector<std::string>& args);
// This program's own path, to start itself again (launch's ranks, study's runs).
std::string self_executable();
// The folder that holds the committed presets.
std::string config_dir();

}  // namespace vgrow::cli
