#pragma once
// Plots drawn by gnuplot (Debian's gnuplot-nox). Without gnuplot, training carries on:
// the first call warns once (TORCH_WARN) and every call returns false.

#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

namespace vgrow::io {

// gnuplot is started with an argument vector, never through a shell; every path and title
// goes into its script through gnuplot_quote.
bool gnuplot_available();
// `text` as a single-quoted gnuplot string ('' for a quote; newlines become spaces).
std::string gnuplot_quote(const std::string& text);

// Scatter of generated points over target points ([N, 2] each) into a PNG.
bool plot_scatter(const std::filesystem::path& png, const torch::Tensor& target,
                  const torch::Tensor& samples, const std::string& title);

// Curves of the named CSV columns against column `x` (one panel per column).
bool plot_curves(const std::filesystem::path& png, const std::filesystem::path& csv,
                 const std::string& x, const std::vector<std::string>& columns);

// One curve of an overlaid plot: column `y` against column `x` of a CSV file with a header.
struct PlotSeries {
  std::string label;
  std::filesystem::path csv;
};
struct OverlaidPlot {
  std::string title;
  std::string x, y;  // column names
  std::vector<PlotSeries> series;
};
// Each plot as SVG text, drawn by one gnuplot process (cheap enough to redraw while training
// runs); empty strings when gnuplot is absent or fails. Self-contained SVG: no scripts, no
// links to other files.
std::vector<std::string> plot_svgs(const std::vector<OverlaidPlot>& plots);

}  // namespace vgrow::io
