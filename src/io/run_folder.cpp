#include "vgrow/io/run_folder.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iomanip>
#include <sstream>

#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>

#include "vgrow/io/atomic_file.h"

namespace vgrow::io {
namespace fs = std::filesystem;

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

bool is_safe_file_name(const std::string& name) {
  if (name.empty() || name.size() > 100 || name[0] == '.' || name[0] == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::optional<uint64_t> run_number(const std::string& folder_name) {
  const auto dash = folder_name.find('-');
  if (dash == 0 || dash == std::string::npos) return std::nullopt;
  uint64_t number = 0;
  const auto [end, ec] = std::from_chars(folder_name.data(), folder_name.data() + dash, number);
  if (ec != std::errc() || end != folder_name.data() + dash) return std::nullopt;
  return number;
}

fs::path create_run_folder(const fs::path& out_dir, const std::string& suffix) {
  TORCH_CHECK(is_safe_file_name(suffix), "run folder name '", suffix,
              "' may hold only letters, digits, '-', '_' and '.' (at most 100, not starting "
              "with '.' or '-')");
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  TORCH_CHECK(!ec, "cannot create run folder root '", out_dir.string(), "': ", ec.message());
  uint64_t next = 0;
  for (const auto& entry : fs::directory_iterator(out_dir)) {
    if (const auto n = run_number(entry.path().filename().string())) next = std::max(next, *n + 1);
  }
  // mkdir fails on an existing folder, so two runs started together never share one: the
  // loser of a race takes the next number.
  for (int attempt = 0; attempt < 1000; ++attempt, ++next) {
    char prefix[32];
    std::snprintf(prefix, sizeof(prefix), "%05llu", static_cast<unsigned long long>(next));
    const auto dir = out_dir / (std::string(prefix) + "-" + suffix);
    if (::mkdir(dir.c_str(), 0777) == 0) return dir;
    TORCH_CHECK(errno == EEXIST, "cannot create run folder '", dir.string(), "': ",
                std::strerror(errno));
  }
  TORCH_CHECK(false, "cannot create a run folder in '", out_dir.string(),
              "': 1000 numbers in a row were taken");
}

MetricsLog::MetricsLog(const fs::path& run_dir, const std::string& stem)
    : csv_path_(run_dir / (stem + ".csv")) {
  header_written_ = fs::exists(csv_path_) && fs::file_size(csv_path_) > 0;
  jsonl_.open(run_dir / (stem + ".jsonl"), std::ios::app);
  csv_.open(csv_path_, std::ios::app);
  TORCH_CHECK(jsonl_.good() && csv_.good(), "cannot write the metrics log in '",
              run_dir.string(), "'");
}

std::string json_line(const std::vector<std::pair<std::string, double>>& row) {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  for (const auto& [key, value] : row) {
    // Counts (loop, passes) read as integers; NaN and Inf become null (nlohmann's rule).
    const bool whole =
        std::isfinite(value) && value == std::trunc(value) && std::abs(value) < 0x1p53;
    if (whole) {
      json[key] = static_cast<int64_t>(value);
    } else {
      json[key] = value;
    }
  }
  return json.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

void MetricsLog::write(const std::vector<std::pair<std::string, double>>& row) {
  std::ostringstream header, line;
  line << std::setprecision(8);
  for (size_t i = 0; i < row.size(); ++i) {
    const auto& [key, value] = row[i];
    const char* sep = i ? "," : "";
    header << sep << key;
    line << sep << value;
  }
  if (!header_written_) {
    csv_ << header.str() << "\n";
    header_written_ = true;
  }
  csv_ << line.str() << "\n";
  jsonl_ << json_line(row);
  csv_.flush();
  jsonl_.flush();
  TORCH_CHECK(csv_.good() && jsonl_.good(), "writing the metrics log failed (disk full?)");
}

void drop_log_rows_after(const fs::path& run_dir, const std::string& stem, double last_loop) {
  const auto csv = run_dir / (stem + ".csv"), jsonl = run_dir / (stem + ".jsonl");
  auto kept = [&](const fs::path& file, const std::function<bool(const std::string&, bool)>& keep) {
    if (!fs::exists(file)) return;
    std::ifstream in(file);
    std::string out, line;
    for (bool first = true; std::getline(in, line); first = false) {
      if (keep(line, first)) out += line + "\n";
    }
    write_text_atomically(file, out);
  };
  // A row is kept when its loop is known and not past `last_loop`; a torn last line goes.
  kept(csv, [&](const std::string& line, bool header) {
    if (header) return true;
    double loop = 0;
    const auto* first_end = line.data() + std::min(line.find(','), line.size());
    const auto [end, ec] = std::from_chars(line.data(), first_end, loop);
    return ec == std::errc() && end == first_end && loop <= last_loop;
  });
  kept(jsonl, [&](const std::string& line, bool) {
    const auto row = nlohmann::json::parse(line, nullptr, false);
    return !row.is_discarded() && row.is_object() && row.contains("loop") &&
           row["loop"].is_number() && row["loop"].get<double>() <= last_loop;
  });
}

int MetricsTable::column(const std::string& name) const {
  const auto it = std::find(columns.begin(), columns.end(), name);
  return it == columns.end() ? -1 : static_cast<int>(it - columns.begin());
}

std::vector<double> MetricsTable::values(const std::string& name) const {
  std::vector<double> out;
  const int c = column(name);
  if (c < 0) return out;
  for (const auto& r : rows) {
    if (static_cast<size_t>(c) < r.size() && std::isfinite(r[c])) out.push_back(r[c]);
  }
  return out;
}

MetricsTable read_metrics_log(const fs::path& run_dir, const std::string& stem) {
  MetricsTable table{run_dir / (stem + ".csv"), {}, {}};
  std::ifstream in(table.file);
  std::string line;
  if (!in || !std::getline(in, line)) return table;
  std::stringstream header(line);
  for (std::string cell; std::getline(header, cell, ',');) table.columns.push_back(cell);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) {
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      row.push_back(end != cell.c_str() ? v : std::nan(""));
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace vgrow::io
