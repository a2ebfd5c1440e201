#include "vgrow/io/plots.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <torch/torch.h>

#include "vgrow/io/atomic_file.h"

namespace vgrow::io {
namespace fs = std::filesystem;

namespace {

bool run_gnuplot(const std::string& script, const fs::path& png) {
  if (!gnuplot_available()) return false;
  const fs::path script_file = png.string() + ".gp";
  {
    std::ofstream out(script_file);
    out << script;
  }
  const fs::path tmp = png.string() + ".tmp.png";
  const std::string cmd = "gnuplot -e \"outfile='" + tmp.string() + "'\" '" +
                          script_file.string() + "' >/dev/null 2>&1";
  const int rc = std::system(cmd.c_str());
  fs::remove(script_file);
  std::error_code ec;
  if (rc != 0 || !fs::exists(tmp)) {
    fs::remove(tmp, ec);
    return false;
  }
  fs::rename(tmp, png, ec);
  return !ec;
}

void write_points(const fs::path& file, const torch::Tensor& points) {
  const auto p = points.to(torch::kFloat64).contiguous();
  const auto* d = p.data_ptr<double>();
  std::ofstream out(file);
  for (int64_t i = 0; i < p.size(0); ++i) out << d[2 * i] << ' ' << d[2 * i + 1] << '\n';
}

}  // namespace

bool gnuplot_available() {
  static const bool available = [] {
    const bool ok = std::system("gnuplot --version >/dev/null 2>&1") == 0;
    if (!ok) {
      std::cerr << "vgrow: gnuplot not found; plots are skipped (apt-get install gnuplot-nox)\n";
    }
    return ok;
  }();
  return available;
}

bool plot_scatter(const fs::path& png, const torch::Tensor& target, const torch::Tensor& samples,
                  const std::string& title) {
  TORCH_CHECK(target.dim() == 2 && target.size(1) == 2 && samples.dim() == 2 &&
                  samples.size(1) == 2,
              "plot_scatter needs [N, 2] points");
  if (!gnuplot_available()) return false;
  const fs::path t = png.string() + ".target.dat", s = png.string() + ".samples.dat";
  write_points(t, target);
  write_points(s, samples);
  std::ostringstream gp;
  gp << "set terminal pngcairo size 640,640 noenhanced\nset output outfile\n"
     << "set size square\nset title '" << title << "'\n"
     << "plot '" << t.string() << "' with points pt 7 ps 0.3 lc rgb '#a0a0a0' title 'target', '"
     << s.string() << "' with points pt 7 ps 0.3 lc rgb '#d62728' title 'samples'\n";
  const bool ok = run_gnuplot(gp.str(), png);
  fs::remove(t);
  fs::remove(s);
  return ok;
}

bool plot_curves(const fs::path& png, const fs::path& csv, const std::string& x,
                 const std::vector<std::string>& columns) {
  if (!gnuplot_available()) return false;
  std::ostringstream gp;
  const int rows = static_cast<int>((columns.size() + 1) / 2);
  gp << "set terminal pngcairo size 1000," << 300 * rows << " noenhanced\nset output outfile\n"
     << "set datafile separator ','\nset key autotitle columnhead\nset grid\n"
     << "set multiplot layout " << rows << ",2\n";
  for (const auto& c : columns) {
    gp << "set title '" << c << "'\nset xlabel '" << x << "'\n"
       << "plot '" << csv.string() << "' using '" << x << "':'" << c
       << "' with lines lw 2 notitle\n";
  }
  gp << "unset multiplot\n";
  return run_gnuplot(gp.str(), png);
}

}  // namespace vgrow::io
