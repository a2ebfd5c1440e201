#pragma once
// Numbered run folders (runs/00003-fashion-mnist-kl/) and the metrics log inside them.

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vgrow::io {

// Letters, digits, '-', '_' and '.', at most 100, not starting with '.' or '-': a name that
// is one path component on any system and means nothing to a shell.
bool is_safe_file_name(const std::string& name);
// The number a run folder's name starts with ("00012-fashion-mnist-kl" -> 12), any length.
std::optional<uint64_t> run_number(const std::string& folder_name);
// Creates `<out_dir>/<NNNNN>-<suffix>` with NNNNN past the highest existing number, and
// exclusively: a folder another run created first is never shared. `suffix` must be a safe
// file name.
std::filesystem::path create_run_folder(const std::filesystem::path& out_dir,
                                        const std::string& suffix);

// "2026-12-02 16:40:05 UTC": the time stamp of run folder logs and reports.
std::string utc_timestamp();

// One JSON object on one line, keys in row order, whole numbers as integers, NaN and Inf
// as null (JSON has no NaN): the format of MetricsLog's .jsonl.
std::string json_line(const std::vector<std::pair<std::string, double>>& row);

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

// A MetricsLog's CSV read back: a header, then numbers ("nan" and empty cells read as NaN).
// A missing file is an empty table: the run has not logged that yet.
struct MetricsTable {
  std::filesystem::path file;
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;

  // The column's index, or -1.
  int column(const std::string& name) const;
  // The column's finite values, in row order; empty for an unknown column.
  std::vector<double> values(const std::string& name) const;
};
MetricsTable read_metrics_log(const std::filesystem::path& run_dir, const std::string& stem);

// A resumed run continues from its checkpoint's loop: rows of <stem>.csv/.jsonl logged after
// it (by a run killed between checkpoints) are dropped, so no loop appears twice. Call before
// a MetricsLog opens the files.
void drop_log_rows_after(const std::filesystem::path& run_dir, const std::string& stem,
                         double last_loop);

}  // namespace vgrow::io
