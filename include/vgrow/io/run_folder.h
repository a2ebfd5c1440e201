#pragma once
// Numbered run folders (runs/00003-fashion-mnist-kl/) and the metrics log inside them.

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace vgrow::io {

// Creates `<out_dir>/<NNNNN>-<suffix>` with NNNNN one past the highest existing number.
std::filesystem::path create_run_folder(const std::filesystem::path& out_dir,
                                        const std::string& suffix);

// One row per logged outer loop, as JSON lines (<stem>.jsonl) and CSV (<stem>.csv): stats
// for the training numbers, eval for the in-training scores. Appends when the files exist,
// so a resumed run continues the same log.
class MetricsLog {
 public:
  explicit MetricsLog(const std::filesystem::path& run_dir, const std::string& stem = "stats");
  void write(const std::vector<std::pair<std::string, double>>& row);
  std::filesystem::path csv_path() const { return csv_path_; }

 private:
  std::filesystem::path csv_path_;
  std::ofstream jsonl_, csv_;
  bool header_written_ = false;
};

}  // namespace vgrow::io
