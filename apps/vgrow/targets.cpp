#include <iostream>

#include "commands.h"
#include "vgrow/data/toy2d.h"
#include "vgrow/core/divergence.h"

namespace vgrow::cli {

void add_targets(CLI::App& app) {
  auto* cmd = app.add_subcommand("targets", "List the built-in 2-D targets and divergences");
  cmd->callback([] {
    std::cout << "2-D targets (data.dataset = \"toy\", data.target = NAME):\n";
    for (const auto& t : data::toy2d_targets()) std::cout << "  " << t.name << "  " << t.description << "\n";
    std::cout << "divergences (flow.divergence = NAME):\n ";
    for (const auto& n : Divergence::names()) std::cout << " " << n;
    std::cout << "\n";
  });
}

}  // namespace vgrow::cli
