#pragma once
// One self-contained HTML page (vgrow report) for one run folder or several side by side:
// configuration (for several runs, the keys that differ), training and evaluation curves
// with the runs overlaid (gnuplot SVG), sample and particle grids over training time behind
// a slider, events, run time and speed, and the commands that made the run. Everything is
// embedded (data: URIs): the page opens offline, from anywhere, with no server.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vgrow {

struct RunReportOptions {
  int64_t max_frames = 30;  // grids over time kept per run: evenly spaced, the newest always
};

struct RunReport {
  std::string html;
  // Said at the top of the page too: runs of different datasets, a run with no samples yet,
  // an image that is not a PNG and was left out.
  std::vector<std::string> notes;
};

// Throws, naming the folder, when one is not a vgrow run folder (no config.toml vgrow reads).
RunReport make_run_report(const std::vector<std::filesystem::path>& runs,
                          const RunReportOptions& options = {});
// make_run_report, written atomically: a failure (an unwritable folder, a full disk) leaves
// any earlier file as it was and never half a page.
RunReport write_run_report(const std::filesystem::path& html,
                           const std::vector<std::filesystem::path>& runs,
                           const RunReportOptions& options = {});

}  // namespace vgrow
