#include "vgrow/data/csv_points.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>

#include <torch/torch.h>

namespace vgrow::data {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

std::vector<std::string_view> split_cells(std::string_view line) {
  std::vector<std::string_view> cells;
  for (size_t start = 0;;) {
    const auto comma = line.find(',', start);
    cells.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) return cells;
    start = comma + 1;
  }
}

std::optional<double> parse_number(std::string_view cell) {
  if (!cell.empty() && cell.front() == '+') cell.remove_prefix(1);  // from_chars refuses '+'
  double value = 0;
  const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (cell.empty() || ec != std::errc() || end != cell.data() + cell.size()) return std::nullopt;
  return value;
}

}  // namespace

torch::Tensor load_csv_points(const std::filesystem::path& path) {
  std::ifstream in(path);
  TORCH_CHECK(in.is_open(), "cannot open CSV file '", path.string(), "'");
  std::vector<float> values;
  bool first = true;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (trim(line).empty()) continue;
    const auto cells = split_cells(line);
    TORCH_CHECK(cells.size() == 2, "CSV file '", path.string(), "' line ", number,
                ": expected 2 columns, found ", cells.size());
    const auto x = parse_number(cells[0]), y = parse_number(cells[1]);
    const bool header = first && !x && !y;
    first = false;
    if (header) continue;
    for (const auto& [cell, value] : {std::pair{cells[0], x}, std::pair{cells[1], y}}) {
      TORCH_CHECK(value.has_value(), "CSV file '", path.string(), "' line ", number, ": '", cell,
                  "' is not a number");
      TORCH_CHECK(std::isfinite(*value), "CSV file '", path.string(), "' line ", number, ": '",
                  cell, "' is not finite");
      values.push_back(static_cast<float>(*value));
    }
  }
  TORCH_CHECK(!in.bad(), "error reading CSV file '", path.string(), "'");
  TORCH_CHECK(!values.empty(), "CSV file '", path.string(), "' holds no points");
  return torch::tensor(values, torch::kFloat32).reshape({-1, 2});
}

PointCloudSource::PointCloudSource(torch::Tensor points, std::string name)
    : points_(std::move(points)), name_(std::move(name)) {
  TORCH_CHECK(
      points_.defined() && points_.dim() == 2 && points_.size(1) == 2 && points_.size(0) > 0,
      "PointCloudSource '", name_, "' needs points [n > 0, 2], got ",
      points_.defined() ? c10::str(points_.sizes()) : "none");
  points_ = points_.to(torch::kFloat32).contiguous();
}

torch::Tensor PointCloudSource::next_batch(int64_t n) {
  TORCH_CHECK(n >= 0, "PointCloudSource sample count must be non-negative, got ", n);
  return points_.index_select(0, torch::randint(points_.size(0), {n}, torch::kLong));
}

torch::Tensor PointCloudSource::preview(int64_t n) const {
  TORCH_CHECK(n >= 0, "PointCloudSource preview size must be non-negative, got ", n);
  const auto rows =
      torch::randint(points_.size(0), {n}, at::detail::createCPUGenerator(20190101), torch::kLong);
  return points_.index_select(0, rows);
}

std::string PointCloudSource::describe() const {
  return c10::str("csv:", name_, " (", points_.size(0), " points)");
}

}  // namespace vgrow::data
