#pragma once
// Plots drawn by gnuplot (Debian's gnuplot-nox). Without gnuplot, training carries on:
// the first call says so once and every call returns false.

#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

namespace vgrow::io {

bool gnuplot_available();

// Scatter of generated points over target points ([N, 2] each) into a PNG.
bool plot_scatter(const std::filesystem::path& png, const torch::Tensor& target,
                  const torch::Tensor& samples, const std::string& title);

// Curves of the named CSV columns against column `x` (one panel per column).
bool plot_curves(const std::filesystem::path& png, const std::filesystem::path& csv,
                 const std::string& x, const std::vector<std::string>& columns);

}  // namespace vgrow::io
