#include <algorithm>
#include <cctype>
#include <cstring>
#include <iostream>

#include "commands.h"
#include "vgrow/run/runtime_settings.h"
#include "console_reporter.h"
#include "signals.h"
#include "vgrow/run/checkpoint.h"
#include "vgrow/run/training_run.h"

namespace vgrow::cli {
namespace {

// "run.device = 'auto'  (string: cpu | cuda | auto; may change on resume)", its help below.
void print_config_keys(std::ostream& out) {
  for (const auto& k : config_keys()) {
    std::string about = k.type;
    for (size_t i = 0; i < k.choices.size(); ++i) about += (i ? " | " : ": ") + k.choices[i];
    if (!k.rule.empty()) about += ", " + k.rule;
    if (k.resumable) about += "; may change on resume";
    out << k.key << " = " << k.default_value << "  (" << about << ")\n    " << k.help << "\n";
  }
}

// The command as a person would type it again: arguments with anything but letters, digits
// and -_./=,:+@ single-quoted.
std::string command_text(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& w : words) {
    const bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-_./=,:+@", c);
    });
    std::string quoted = "'";
    for (const char c : w) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    text += (text.empty() ? "" : " ") + (plain ? w : quoted + "'");
  }
  return text;
}

// A diverged run's message with what to do next.
std::string diverged_advice(const RunDiverged& e) {
  std::string message = e.what();
  if (e.last_checkpoint.empty()) {
    return message +
           "; no checkpoint was written yet: start again with a smaller flow.eta or learning rate";
  }
  message += "; the last good checkpoint is " + e.last_checkpoint.string() +
             ": resume with a smaller step, e.g. `vgrow train --resume " + e.run_dir.string() +
             " flow.eta=" + std::to_string(e.suggested_eta) +
             "`, or set run.on_divergence = \"rollback\"";
  if (e.rollback_enabled) {
    message += " (" + std::to_string(e.rollbacks) + " rollback(s) already made)";
  }
  return message;
}

}  // namespace

void add_train(CLI::App& app) {
  struct Args {
    std::vector<std::string> config;
    std::string resume;
    bool dry_run = false, list_keys = false, quiet = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "train", "Train a generator (default: Fashion-MNIST, 15 minutes on the CPU)");
  cmd->add_option("config", args->config,
                  "[PRESET|FILE.toml] [section.key=value ...] (presets: vgrow train --list-keys)");
  cmd->add_option("--resume", args->resume, "continue RUN_DIR from its newest checkpoint");
  cmd->add_flag("--dry-run", args->dry_run, "print the resolved config and exit");
  cmd->add_flag("--list-keys", args->list_keys, "list every config key: type, default, accepted values");
  cmd->add_flag("--quiet", args->quiet, "no progress lines");
  cmd->callback([args] {
    if (args->list_keys) {
      print_config_keys(std::cout);
      std::cout << "\npresets in " << config_dir() << "\n";
      return;
    }
    Config config;
    if (!args->resume.empty()) {
      // Resume: the run's own config, plus whatever scheduling overrides were given.
      const auto checkpoint = io::resume_checkpoint(args->resume);
      apply_toml(config, io::checkpoint_config(checkpoint), checkpoint.string());
      for (const auto& a : args->config) {
        TORCH_CHECK(a.find('=') != std::string::npos,
                    "with --resume, give only key=value overrides, not '", a, "'");
        apply_override(config, a);
      }
    } else {
      config = resolve_config(args->config);
    }
    if (args->dry_run) {
      validate(config);
      std::cout << to_toml(config);
      return;
    }
    validate(config);
    // Restarts the command once, before anything is written, when the kernels must be pinned.
    if (config.run.reproducible) pin_reproducible_kernels();
    install_training_signals();
    ConsoleReporter reporter(args->quiet);
    TrainingRunOptions options;
    options.resume_dir = args->resume;
    options.reporter = &reporter;
    options.stop_requested = stop_requested;
    std::vector<std::string> words{"vgrow", "train"};
    if (!args->resume.empty()) words.insert(words.end(), {"--resume", args->resume});
    if (args->quiet) words.push_back("--quiet");
    words.insert(words.end(), args->config.begin(), args->config.end());
    options.command = command_text(words);
    try {
      run_training(config, options);
    } catch (const RunDiverged& e) {
      throw std::runtime_error(diverged_advice(e));  // main prints it as the error
    }
  });
}

}  // namespace vgrow::cli
