#include "vgrow/io/run_folder.h"

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

#include <c10/util/Exception.h>

namespace vgrow::io {
namespace fs = std::filesystem;

fs::path create_run_folder(const fs::path& out_dir, const std::string& suffix) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  TORCH_CHECK(!ec, "cannot create run folder root '", out_dir.string(), "': ", ec.message());
  int next = 0;
  for (const auto& entry : fs::directory_iterator(out_dir)) {
    const auto name = entry.path().filename().string();
    if (name.size() > 5 && std::isdigit(static_cast<unsigned char>(name[0]))) {
      next = std::max(next, std::atoi(name.substr(0, 5).c_str()) + 1);
    }
  }
  char prefix[16];
  std::snprintf(prefix, sizeof(prefix), "%05d", next);
  const auto dir = out_dir / (std::string(prefix) + "-" + suffix);
  fs::create_directories(dir, ec);
  TORCH_CHECK(!ec, "cannot create run folder '", dir.string(), "': ", ec.message());
  return dir;
}

MetricsLog::MetricsLog(const fs::path& run_dir, const std::string& stem)
    : csv_path_(run_dir / (stem + ".csv")) {
  header_written_ = fs::exists(csv_path_) && fs::file_size(csv_path_) > 0;
  jsonl_.open(run_dir / (stem + ".jsonl"), std::ios::app);
  csv_.open(csv_path_, std::ios::app);
  TORCH_CHECK(jsonl_.good() && csv_.good(), "cannot write the metrics log in '",
              run_dir.string(), "'");
}

void MetricsLog::write(const std::vector<std::pair<std::string, double>>& row) {
  std::ostringstream json, header, line;
  json << std::setprecision(8) << "{";
  line << std::setprecision(8);
  for (size_t i = 0; i < row.size(); ++i) {
    const auto& [key, value] = row[i];
    const char* sep = i ? "," : "";
    json << sep << "\"" << key << "\":";
    if (std::isfinite(value)) json << value; else json << "null";
    header << sep << key;
    line << sep << value;
  }
  json << "}\n";
  if (!header_written_) {
    csv_ << header.str() << "\n";
    header_written_ = true;
  }
  csv_ << line.str() << "\n";
  jsonl_ << json.str();
  csv_.flush();
  jsonl_.flush();
  TORCH_CHECK(csv_.good() && jsonl_.good(), "writing the metrics log failed (disk full?)");
}

}  // namespace vgrow::io
