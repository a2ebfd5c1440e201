#include "vgrow/run/run_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <c10/util/Exception.h>

#include "run/toml_parse.h"
#include "vgrow/io/atomic_file.h"
#include "vgrow/io/html.h"
#include "vgrow/io/plots.h"
#include "vgrow/io/run_folder.h"
#include "vgrow/run/config.h"

namespace vgrow {
namespace fs = std::filesystem;

namespace {

constexpr uintmax_t kMaxEmbeddedFile = 32u << 20;  // bytes; larger files are left out

// eval.csv's columns that time the evaluation rather than score G.
bool is_timing_column(const std::string& column) {
  return column == "seconds" || column == "minutes";
}

std::vector<std::string> read_lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

struct Frame {
  int64_t loop;
  fs::path file;
};

// `<stem>-<loop>.png` files of `dir` (regular files only: a link is not followed), by loop.
std::vector<Frame> numbered_pngs(const fs::path& dir, const std::string& stem) {
  std::vector<Frame> frames;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    if (name.rfind(stem + "-", 0) != 0 || name.size() <= stem.size() + 5 ||
        name.substr(name.size() - 4) != ".png") {
      continue;
    }
    const auto digits = name.substr(stem.size() + 1, name.size() - stem.size() - 5);
    if (digits.empty() || digits.size() > 12 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    frames.push_back({std::stoll(digits), entry.path()});
  }
  std::sort(frames.begin(), frames.end(),
            [](const Frame& a, const Frame& b) { return a.loop < b.loop; });
  return frames;
}

// At most `n` frames, evenly spaced, the first and the newest always among them.
std::vector<Frame> spaced(const std::vector<Frame>& frames, int64_t n) {
  if (static_cast<int64_t>(frames.size()) <= n || n < 2) return frames;
  std::vector<Frame> out;
  const double step = static_cast<double>(frames.size() - 1) / static_cast<double>(n - 1);
  for (int64_t i = 0; i < n; ++i) {
    out.push_back(frames[static_cast<size_t>(std::llround(static_cast<double>(i) * step))]);
  }
  return out;
}

struct RunView {
  fs::path dir;
  std::string name;
  std::vector<std::pair<std::string, std::string>> values;  // config key -> TOML value
  std::string data, method;
  int64_t sample_every = 0;
  io::MetricsTable stats, eval;
  std::vector<std::string> events, commands;
  std::string best;  // "fid 3.78 at loop 4500", or empty
  std::vector<Frame> samples, particles;
  bool reals = false;
};

std::string value_of(const RunView& run, const std::string& key) {
  for (const auto& [k, v] : run.values) {
    if (k == key) return v;
  }
  return "";
}

RunView read_run(const fs::path& dir) {
  TORCH_CHECK(fs::is_directory(dir), "'", dir.string(), "' is not a vgrow run folder: ",
              fs::exists(dir) ? "not a folder" : "no such folder");
  const auto config_file = dir / "config.toml";
  TORCH_CHECK(fs::is_regular_file(config_file), "'", dir.string(),
              "' is not a vgrow run folder: it has no config.toml (`vgrow train` writes one "
              "into every run folder)");
  RunView run;
  run.dir = dir;
  run.name = fs::weakly_canonical(dir).filename().string();
  Config config;
  try {
    apply_toml_file(config, config_file.string());
    validate(config);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "'", dir.string(), "' is not a run folder vgrow can read: ",
                e.what_without_backtrace());
  }
  run.values = config_values(config);
  run.data = config.data.dataset == "toy" ? "toy " + config.data.target : config.data.dataset;
  run.method = config.run.method == "vgrow" ? "VGrow, " + config.flow.divergence
                                             : config.run.method + " (GAN baseline)";
  run.sample_every = config.run.sample_every;
  run.stats = io::read_metrics_log(dir, "stats");
  run.eval = io::read_metrics_log(dir, "eval");
  run.events = read_lines(dir / "events.log");
  run.commands = read_lines(dir / "commands.log");
  if (fs::is_regular_file(dir / "best.toml")) {
    try {
      const auto t = parse_toml_file(dir / "best.toml");
      char text[160];
      std::snprintf(text, sizeof text, "%s %.4g at loop %lld",
                    t["metric"].value_or(std::string("?")).c_str(), t["value"].value_or(0.0),
                    static_cast<long long>(t["loop"].value_or(int64_t{-1})));
      run.best = text;
    } catch (const toml::parse_error&) {
      run.best = "best.toml unreadable";
    }
  }
  run.samples = numbered_pngs(dir, "samples");
  run.particles = numbered_pngs(dir, "particles");
  run.reals = fs::is_regular_file(dir / "reals.png");
  return run;
}

std::string format(const char* pattern, double v) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, v);
  return text;
}

std::string duration_text(double seconds) {
  const auto s = static_cast<long long>(std::llround(seconds));
  char text[64];
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return text;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

double sum(const std::vector<double>& v) {
  double s = 0;
  for (const double x : v) s += x;
  return s;
}

class Page {
 public:
  explicit Page(std::vector<std::string>& notes) : notes_(notes) {}
  std::ostringstream out;

  // `<img>` of a PNG file, or nothing (and a note) when it is not one.
  std::string png(const fs::path& file, const std::string& alt, const std::string& attributes = "") {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    std::string bytes;
    if (!ec && size <= kMaxEmbeddedFile) {
      std::ifstream in(file, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    static const std::string kSignature("\x89PNG\r\n\x1a\n", 8);
    if (bytes.compare(0, kSignature.size(), kSignature) != 0) {
      if (refused_.insert(file.string()).second) {
        notes_.push_back(file.string() + " is not a PNG image (or is over 32 MiB): left out");
      }
      return "";
    }
    return "<img src=\"" + io::data_uri("image/png", bytes) + "\" alt=\"" + io::html_escape(alt) +
           "\"" + attributes + ">";
  }

 private:
  std::vector<std::string>& notes_;
  std::set<std::string> refused_;
};

const char* kStyle = R"(
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f6f4}
header,main{max-width:1500px;margin:0 auto;padding:0 20px}
header{padding-top:14px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;margin:26px 0 10px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:10px 0 6px}
.notes{background:#fff6d6;border:1px solid #e8cf75;padding:8px 14px;border-radius:6px}
table{border-collapse:collapse;background:#fff;max-width:100%}
.scroll{overflow-x:auto;max-width:100%}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#efefec}
td.differs{background:#ffe08a;font-weight:600}
code{font-family:ui-monospace,monospace;font-size:12.5px;word-break:break-all}
.grid{display:grid;gap:14px;grid-template-columns:repeat(auto-fill,minmax(min(100%,420px),1fr))}
.panel{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 10px;min-width:0}
.panel img{max-width:100%;height:auto;image-rendering:pixelated;display:block;margin:auto}
.latest img{width:100%;max-width:560px}
.frames input{width:100%}
[hidden]{display:none!important}
.frame-label{color:#555}
ul.events{margin:4px 0;padding-left:18px}
footer{color:#777;font-size:12px;margin:30px 0 20px}
)";

// Shows one frame of each `.frames` block at a time: the slider picks it.
const char* kScript = R"(
for (const block of document.querySelectorAll('.frames')) {
  const images = block.querySelectorAll('img');
  const slider = block.querySelector('input');
  const label = block.querySelector('.frame-label');
  const show = () => {
    images.forEach((image, i) => { image.hidden = i !== Number(slider.value); });
    label.textContent = 'after loop ' + images[Number(slider.value)].dataset.loop;
  };
  slider.addEventListener('input', show);
  show();
}
)";

void frames_block(Page& page, const std::string& title, const std::vector<Frame>& frames) {
  if (frames.empty()) return;
  std::string images;
  int64_t shown = 0;
  for (const auto& f : frames) {
    const auto tag = page.png(f.file, title + " after loop " + std::to_string(f.loop),
                              " data-loop=\"" + std::to_string(f.loop) + "\"");
    if (tag.empty()) continue;
    images += tag;
    ++shown;
  }
  if (shown == 0) return;
  page.out << "<div class=\"frames\"><h3>" << io::html_escape(title) << " over training ("
           << shown << " of " << frames.size() << " grids)</h3>"
           << "<input type=\"range\" min=\"0\" max=\"" << shown - 1 << "\" value=\"" << shown - 1
           << "\" aria-label=\"" << io::html_escape(title) << " frame\">"
           << "<div class=\"frame-label\"></div>" << images << "</div>";
}

void summary_section(Page& page, const std::vector<RunView>& runs) {
  auto& o = page.out;
  o << "<h2>Runs</h2><div class=\"scroll\"><table><tr><th></th>";
  for (const auto& r : runs) o << "<th>" << io::html_escape(r.name) << "</th>";
  o << "</tr>";
  const auto row = [&](const std::string& label, const auto& cell) {
    o << "<tr><th>" << label << "</th>";
    for (const auto& r : runs) o << "<td>" << cell(r) << "</td>";
    o << "</tr>";
  };
  row("folder", [](const RunView& r) { return "<code>" + io::html_escape(r.dir.string()) + "</code>"; });
  row("data", [](const RunView& r) { return io::html_escape(r.data); });
  row("method", [](const RunView& r) { return io::html_escape(r.method); });
  row("loops done", [](const RunView& r) {
    const auto loops = r.stats.values("loop");
    return loops.empty() ? std::string("none yet")
                         : std::to_string(static_cast<long long>(loops.back()) + 1);
  });
  row("training time", [](const RunView& r) {
    return duration_text(sum(r.stats.values("seconds"))) + " (h:mm:ss, outer loops only)";
  });
  row("seconds per loop (median)", [](const RunView& r) {
    return format("%.4g", median(r.stats.values("seconds")));
  });
  row("images per second (median)", [](const RunView& r) {
    return format("%.4g", median(r.stats.values("samples_per_second")));
  });
  row("evaluation time", [](const RunView& r) {
    const double eval = sum(r.eval.values("seconds")), train = sum(r.stats.values("seconds"));
    if (r.eval.rows.empty()) return std::string("no in-training evaluation");
    return duration_text(eval) + " (" + format("%.1f", 100.0 * eval / (eval + train)) +
           " % of the run)";
  });
  row("latest scores", [](const RunView& r) {
    if (r.eval.rows.empty()) return std::string("&ndash;");
    std::string text;
    const auto& last = r.eval.rows.back();
    for (size_t c = 0; c < r.eval.columns.size() && c < last.size(); ++c) {
      if (is_timing_column(r.eval.columns[c])) continue;
      text += (text.empty() ? "" : ", ") + io::html_escape(r.eval.columns[c]) + " " +
              format("%.4g", last[c]);
    }
    return text;
  });
  row("best.pt", [](const RunView& r) {
    return r.best.empty() ? std::string("&ndash;") : io::html_escape(r.best);
  });
  row("events", [](const RunView& r) {
    if (r.events.empty()) return std::string("none");
    std::string text = "<ul class=\"events\">";
    for (const auto& e : r.events) text += "<li>" + io::html_escape(e) + "</li>";
    return text + "</ul>";
  });
  row("commands", [](const RunView& r) {
    if (r.commands.empty()) return std::string("not recorded");
    std::string text;
    for (const auto& c : r.commands) text += "<code>" + io::html_escape(c) + "</code><br>";
    return text;
  });
  o << "</table></div>";
}

void config_section(Page& page, const std::vector<RunView>& runs) {
  auto& o = page.out;
  std::vector<std::string> keys;
  for (const auto& [k, v] : runs.front().values) keys.push_back(k);
  const auto differs = [&](const std::string& key) {
    for (const auto& r : runs) {
      if (value_of(r, key) != value_of(runs.front(), key)) return true;
    }
    return false;
  };
  const auto table = [&](bool only_differing) {
    o << "<div class=\"scroll\"><table><tr><th>key</th>";
    for (const auto& r : runs) o << "<th>" << io::html_escape(r.name) << "</th>";
    o << "</tr>";
    for (const auto& key : keys) {
      const bool d = runs.size() > 1 && differs(key);
      if (only_differing && !d) continue;
      o << "<tr><th><code>" << io::html_escape(key) << "</code></th>";
      for (const auto& r : runs) {
        o << "<td" << (d ? " class=\"differs\"" : "") << "><code>"
          << io::html_escape(value_of(r, key)) << "</code></td>";
      }
      o << "</tr>";
    }
    o << "</table></div>";
  };
  o << "<h2>Configuration</h2>";
  if (runs.size() > 1) {
    size_t n = 0;
    for (const auto& key : keys) n += differs(key);
    if (n == 0) {
      o << "<p>The runs have the same configuration.</p>";
    } else {
      o << "<p>" << n << " key(s) differ between the runs:</p>";
      table(true);
    }
  } else {
    // One run: what it changed from vgrow's defaults (the default job).
    const auto defaults = config_values(Config{});
    o << "<p>Keys that differ from vgrow&#39;s defaults (the default job):</p><div "
         "class=\"scroll\"><table><tr><th>key</th><th>this run</th><th>default</th></tr>";
    for (const auto& [key, value] : defaults) {
      const auto mine = value_of(runs.front(), key);
      if (mine == value) continue;
      o << "<tr><th><code>" << io::html_escape(key) << "</code></th><td class=\"differs\"><code>"
        << io::html_escape(mine) << "</code></td><td><code>" << io::html_escape(value)
        << "</code></td></tr>";
    }
    o << "</table></div>";
  }
  o << "<details><summary>every key (config.toml)</summary>";
  table(false);
  o << "</details>";
}

struct Quantity {
  const char* column;
  const char* title;
};

void curves_section(Page& page, const std::vector<RunView>& runs) {
  static const Quantity kStats[] = {
      {"d_loss_real", "D loss on real data"},
      {"d_loss_particles", "D loss on the particles"},
      {"grad_norm", "mean |grad D| at the particles"},
      {"mean_d", "mean D at the particles (log density ratio)"},
      {"projection_loss", "projection loss (G to the moved particles, MSE)"},
      {"seconds", "seconds per outer loop"},
      {"samples_per_second", "images per second"},
      {"lr_g", "generator learning rate"},
  };
  std::vector<io::OverlaidPlot> plots;
  const auto add = [&](const std::string& column, const std::string& title, bool from_eval) {
    io::OverlaidPlot plot{title, "loop", column, {}};
    bool varies = false;
    for (const auto& r : runs) {
      const auto& csv = from_eval ? r.eval : r.stats;
      const auto v = csv.values(column);
      if (v.empty()) continue;
      plot.series.push_back({r.name, csv.file});
      varies |= *std::min_element(v.begin(), v.end()) != *std::max_element(v.begin(), v.end());
    }
    // A constant learning rate says nothing as a curve.
    if (!plot.series.empty() && (varies || column != "lr_g")) plots.push_back(plot);
  };
  for (const auto& q : kStats) add(q.column, q.title, false);
  std::vector<std::string> eval_columns;
  for (const auto& r : runs) {
    for (const auto& c : r.eval.columns) {
      if (c != "loop" && !is_timing_column(c) &&
          std::find(eval_columns.begin(), eval_columns.end(), c) == eval_columns.end()) {
        eval_columns.push_back(c);
      }
    }
  }
  for (const auto& c : eval_columns) add(c, c + " (in-training evaluation)", true);
  auto& o = page.out;
  o << "<h2>Curves</h2>";
  if (plots.empty()) {
    o << "<p>No loop has been logged yet.</p>";
    return;
  }
  const auto svgs = io::plot_svgs(plots);
  o << "<div class=\"grid\">";
  size_t drawn = 0;
  for (size_t i = 0; i < plots.size(); ++i) {
    if (svgs[i].empty()) continue;
    ++drawn;
    o << "<div class=\"panel plot\"><img src=\"" << io::data_uri("image/svg+xml", svgs[i])
      << "\" alt=\"" << io::html_escape(plots[i].title) << "\"></div>";
  }
  o << "</div>";
  if (drawn < plots.size()) {
    o << "<p>" << plots.size() - drawn << " plot(s) not drawn: "
      << (io::gnuplot_available() ? "gnuplot failed on them"
                                  : "gnuplot is not installed (apt-get install gnuplot-nox)")
      << ".</p>";
  }
}

void images_section(Page& page, const std::vector<RunView>& runs, const RunReportOptions& options) {
  auto& o = page.out;
  o << "<h2>Samples</h2><div class=\"grid\">";
  for (const auto& r : runs) {
    o << "<div class=\"panel\"><h3>" << io::html_escape(r.name) << "</h3>";
    if (r.samples.empty()) {
      o << "<p>No samples yet: the first grid comes after run.sample_every = " << r.sample_every
        << " loops.</p>";
    } else {
      const auto& latest = r.samples.back();
      o << "<div class=\"latest\"><h3>G(z) after loop " << latest.loop << " (latest)</h3>"
        << page.png(latest.file, r.name + ": samples after loop " + std::to_string(latest.loop))
        << "</div>";
      frames_block(page, "samples", spaced(r.samples, options.max_frames));
    }
    frames_block(page, "particles (what G was refit to)", spaced(r.particles, options.max_frames));
    if (r.reals) o << "<h3>training data</h3>" << page.png(r.dir / "reals.png", "training data");
    o << "</div>";
  }
  o << "</div>";
}

}  // namespace

RunReport make_run_report(const std::vector<fs::path>& run_dirs, const RunReportOptions& options) {
  TORCH_CHECK(!run_dirs.empty(), "a report needs at least one run folder");
  std::vector<RunView> runs;
  for (const auto& dir : run_dirs) runs.push_back(read_run(dir));
  RunReport report;
  auto& notes = report.notes;
  std::set<std::string> data;
  for (const auto& r : runs) data.insert(r.data);
  if (data.size() > 1) {
    std::string which;
    for (const auto& r : runs) which += (which.empty() ? "" : ", ") + r.name + ": " + r.data;
    notes.push_back("the runs trained on different data (" + which +
                    "); their scores are not comparable");
  }
  for (const auto& r : runs) {
    if (r.samples.empty()) notes.push_back(r.name + " has no samples yet");
  }
  Page page(notes);
  std::string names;
  for (const auto& r : runs) names += (names.empty() ? "" : ", ") + r.name;
  std::ostringstream body;
  // Sections first: they may add notes (an image left out), shown above them.
  summary_section(page, runs);
  images_section(page, runs, options);
  curves_section(page, runs);
  config_section(page, runs);
  auto& o = body;
  o << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    << "<title>vgrow report: " << io::html_escape(names) << "</title><style>" << kStyle
    << "</style></head><body><header><h1>vgrow report: " << io::html_escape(names)
    << "</h1><div>" << runs.size() << " run(s), written " << io::utc_timestamp() << "</div>";
  if (!notes.empty()) {
    o << "<div class=\"notes\" id=\"notes\"><b>Notes</b><ul>";
    for (const auto& n : notes) o << "<li>" << io::html_escape(n) << "</li>";
    o << "</ul></div>";
  }
  o << "</header><main>" << page.out.str()
    << "<footer>Written by vgrow report. Self-contained: every image is embedded; the page "
       "needs no network and no other file.</footer></main><script>"
    << kScript << "</script></body></html>\n";
  report.html = body.str();
  return report;
}

RunReport write_run_report(const fs::path& html, const std::vector<fs::path>& runs,
                           const RunReportOptions& options) {
  auto report = make_run_report(runs, options);
  io::write_text_atomically(html, report.html);
  return report;
}

}  // namespace vgrow
