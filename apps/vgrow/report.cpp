#include <filesystem>
#include <iostream>

#include "commands.h"
#include "vgrow/run/run_report.h"

namespace vgrow::cli {

void add_report(CLI::App& app) {
  struct Args {
    std::vector<std::string> runs;
    std::string out;
    int64_t frames = RunReportOptions{}.max_frames;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "report", "One self-contained HTML page for one run or several side by side");
  cmd->add_option("runs", args->runs, "run folders")->required();
  cmd->add_option("-o,--out", args->out,
                  "HTML file (default: RUN/report.html for one run, report.html for several)");
  cmd->add_option("--frames", args->frames, "sample grids over time kept per run")
      ->check(CLI::Range(int64_t{2}, int64_t{1000}));
  cmd->callback([args] {
    namespace fs = std::filesystem;
    const fs::path out = !args->out.empty()      ? fs::path(args->out)
                         : args->runs.size() == 1 ? fs::path(args->runs[0]) / "report.html"
                                                  : fs::path("report.html");
    TORCH_CHECK(!fs::is_directory(out), "-o '", out.string(),
                "' is a folder; give the HTML file to write");
    const auto parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
    TORCH_CHECK(fs::is_directory(parent), "cannot write '", out.string(), "': no folder '",
                parent.string(), "'");
    std::vector<fs::path> runs(args->runs.begin(), args->runs.end());
    RunReportOptions options;
    options.max_frames = args->frames;
    const auto report = write_run_report(out, runs, options);
    for (const auto& note : report.notes) std::cout << "note: " << note << "\n";
    std::cout << "report: " << out.string() << " (" << report.html.size() / 1024 << " KiB)\n";
  });
}

}  // namespace vgrow::cli
