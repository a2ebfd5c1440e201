#include "vgrow/io/plots.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "vgrow/io/atomic_file.h"

namespace vgrow::io {
namespace fs = std::filesystem;

namespace {

// Runs `program args...` with its output discarded and returns its exit status (-1 when it
// cannot be started). An argument vector, never a shell: paths and titles stay data.
int run_quietly(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A new file beside `near` holding `content`, under a unique name created exclusively
// (mkstemps: O_EXCL, so a planted file or link is never written through).
fs::path unique_file(const fs::path& near, const std::string& tag, const std::string& content) {
  std::string name = near.string() + "." + tag + "-XXXXXX";
  const int fd = ::mkstemp(name.data());
  TORCH_CHECK(fd >= 0, "cannot create a temporary file beside '", near.string(), "': ",
              std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    const auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  TORCH_CHECK(done == content.size(), "cannot write '", name, "'");
  return name;
}

// `script` starts with its `set terminal` line; the output file is set right after it. The
// PNG is written atomically: gnuplot draws into write_atomically's temporary.
bool run_gnuplot(const std::string& script, const fs::path& png) {
  if (!gnuplot_available()) return false;
  try {
    write_atomically(png, [&](const fs::path& tmp) {
      const auto first_line = script.find('\n') + 1;
      const auto script_file = unique_file(
          png, "gp", script.substr(0, first_line) + "set output " + gnuplot_quote(tmp.string()) +
                         "\n" + script.substr(first_line));
      const int rc = run_quietly({"gnuplot", script_file.string()});
      std::error_code ignored;
      fs::remove(script_file, ignored);
      TORCH_CHECK(rc == 0, "gnuplot exited with status ", rc);
    });
  } catch (const c10::Error& e) {
    TORCH_WARN("plot '", png.string(), "' not drawn: ", e.what_without_backtrace());
    return false;
  }
  return true;
}

std::string points_text(const torch::Tensor& points) {
  const auto p = points.to(torch::kFloat64).contiguous();
  const auto* d = p.data_ptr<double>();
  std::ostringstream out;
  for (int64_t i = 0; i < p.size(0); ++i) out << d[2 * i] << ' ' << d[2 * i + 1] << '\n';
  return out.str();
}

}  // namespace

std::string gnuplot_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "''";  // gnuplot's escape inside a single-quoted string
    } else if (c == '\n' || c == '\r') {
      out += ' ';  // a newline would end the command
    } else {
      out += c;
    }
  }
  return out + "'";
}

bool gnuplot_available() {
  static const bool available = [] {
    const bool ok = run_quietly({"gnuplot", "--version"}) == 0;
    if (!ok) TORCH_WARN("gnuplot not found; plots are skipped (apt-get install gnuplot-nox)");
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
  const auto t = unique_file(png, "target", points_text(target));
  const auto s = unique_file(png, "samples", points_text(samples));
  std::ostringstream gp;
  gp << "set terminal pngcairo size 640,640 noenhanced\n"
     << "set size square\nset title " << gnuplot_quote(title) << "\n"
     << "plot " << gnuplot_quote(t.string())
     << " with points pt 7 ps 0.3 lc rgb '#a0a0a0' title 'target', " << gnuplot_quote(s.string())
     << " with points pt 7 ps 0.3 lc rgb '#d62728' title 'samples'\n";
  const bool ok = run_gnuplot(gp.str(), png);
  std::error_code ignored;
  fs::remove(t, ignored);
  fs::remove(s, ignored);
  return ok;
}

bool plot_curves(const fs::path& png, const fs::path& csv, const std::string& x,
                 const std::vector<std::string>& columns) {
  if (!gnuplot_available()) return false;
  std::ostringstream gp;
  const int rows = static_cast<int>((columns.size() + 1) / 2);
  gp << "set terminal pngcairo size 1000," << 300 * rows << " noenhanced\n"
     << "set datafile separator ','\nset key autotitle columnhead\nset grid\n"
     << "set multiplot layout " << rows << ",2\n";
  for (const auto& c : columns) {
    gp << "set title " << gnuplot_quote(c) << "\nset xlabel " << gnuplot_quote(x) << "\n"
       << "plot " << gnuplot_quote(csv.string()) << " using " << gnuplot_quote(x) << ":"
       << gnuplot_quote(c) << " with lines lw 2 notitle\n";
  }
  gp << "unset multiplot\n";
  return run_gnuplot(gp.str(), png);
}

namespace {

// The gnuplot commands that draw `p` into `svg`.
std::string overlaid_plot_script(const OverlaidPlot& p, const fs::path& svg) {
  std::ostringstream gp;
  gp << "set output " << gnuplot_quote(svg.string()) << "\nset title " << gnuplot_quote(p.title)
     << "\nset xlabel " << gnuplot_quote(p.x) << "\n"
     << (p.series.size() > 1 ? "set key\n" : "unset key\n") << "plot ";
  for (size_t j = 0; j < p.series.size(); ++j) {
    const auto& s = p.series[j];
    gp << (j ? ", " : "") << gnuplot_quote(s.csv.string()) << " using " << gnuplot_quote(p.x)
       << ":" << gnuplot_quote(p.y) << " with lines lw 2 title " << gnuplot_quote(s.label);
  }
  gp << "\nunset output\n";
  return gp.str();
}

}  // namespace

std::vector<std::string> plot_svgs(const std::vector<OverlaidPlot>& plots) {
  std::vector<std::string> svgs(plots.size());
  if (plots.empty() || !gnuplot_available()) return svgs;
  std::string dir = (fs::temp_directory_path() / "vgrow-plots-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) {
    TORCH_WARN("plots not drawn: cannot create a temporary folder: ", std::strerror(errno));
    return svgs;
  }
  const std::string header =
      "set terminal svg size 560,330 noenhanced font 'sans,11' background '#ffffff'\n"
      "set datafile separator ','\nset grid\nset key top right\n";
  const auto svg_of = [&](size_t i) { return fs::path(dir) / (std::to_string(i) + ".svg"); };
  const auto draw = [&](const std::vector<size_t>& which) {
    std::string script = header;
    for (const auto i : which) script += overlaid_plot_script(plots[i], svg_of(i));
    const auto file = fs::path(dir) / "plots.gp";
    std::ofstream(file) << script;
    return run_quietly({"gnuplot", file.string()}) == 0;
  };
  std::vector<size_t> all;
  for (size_t i = 0; i < plots.size(); ++i) {
    if (!plots[i].series.empty()) all.push_back(i);
  }
  // A plot gnuplot gave up on mid-way is an unfinished document: not shown.
  const auto finished = [&](size_t i) {
    std::ifstream in(svg_of(i), std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().find("</svg>") != std::string::npos) svgs[i] = text.str();
    return !svgs[i].empty();
  };
  // One process for all plots; gnuplot stops a script at its first error (a series with no
  // finite value), so after a failure each plot not drawn yet gets a process of its own.
  const bool all_drawn = draw(all);
  for (const auto i : all) {
    if (!finished(i) && !all_drawn && draw({i})) finished(i);
  }
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return svgs;
}

}  // namespace vgrow::io
