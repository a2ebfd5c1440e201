#include <iostream>

#include "commands.h"
#include "vgrow/io/checkpoint.h"
#include "vgrow/training_run.h"

namespace vgrow::cli {

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
  cmd->add_flag("--list-keys", args->list_keys, "list every config key with its default");
  cmd->add_flag("--quiet", args->quiet, "no progress lines");
  cmd->callback([args] {
    if (args->list_keys) {
      Config defaults;
      for (const auto& f : config_fields(defaults)) std::cout << f.key << "  " << f.help << "\n";
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
    install_stop_handlers();
    TrainingRunOptions options;
    options.resume_dir = args->resume;
    options.quiet = args->quiet;
    run_training(config, options);
  });
}

}  // namespace vgrow::cli
