// `vgrow study`: trains a list of methods (divergences and GAN baselines) on one preset at an
// equal budget and several seeds, scores every run with `vgrow eval`, and writes the table.
// Each run is a child `vgrow train` (then `vgrow eval`) started without a shell; a finished
// run leaves score.json, so `--resume` redoes only what was not finished.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "vgrow/metrics/classifier.h"
#include "vgrow/core/adversarial.h"
#include "vgrow/core/divergence.h"
#include "vgrow/io/atomic_file.h"
#include "vgrow/io/plots.h"
#include "vgrow/io/run_folder.h"

extern char** environ;

namespace vgrow::cli {
namespace {
namespace fs = std::filesystem;
using nlohmann::ordered_json;

struct Plan {
  std::vector<std::string> config;   // preset or file, then key=value overrides
  std::vector<std::string> methods;  // divergences, gan, gan-ns
  int64_t seeds = 2;
  double minutes = 0;
  int64_t loops = 0;
  int64_t samples = 5000;
  std::string classifier;
};

const std::vector<std::string>& default_methods() {
  static const auto methods = [] {
    auto m = Divergence::names();
    for (const auto& name : training_method_names()) {
      if (name != "vgrow") m.push_back(name);
    }
    return m;
  }();
  return methods;
}

bool is_gan(const std::string& method) {
  const auto methods = training_method_names();
  return method != "vgrow" && std::find(methods.begin(), methods.end(), method) != methods.end();
}

void check_plan(const Plan& p) {
  TORCH_CHECK(!p.methods.empty(), "a study needs at least one method (--methods)");
  std::set<std::string> seen;
  const auto& known = default_methods();
  for (const auto& m : p.methods) {
    TORCH_CHECK(std::find(known.begin(), known.end(), m) != known.end(), "unknown method '", m,
                "' in --methods (known: ",
                [&] {
                  std::string s;
                  for (const auto& k : known) s += (s.empty() ? "" : ", ") + k;
                  return s;
                }(),
                ")");
    TORCH_CHECK(seen.insert(m).second, "method '", m, "' is listed twice in --methods");
  }
  TORCH_CHECK(p.seeds >= 1 && p.seeds <= 100, "--seeds must be 1 to 100, got ", p.seeds);
  TORCH_CHECK(p.samples >= 100, "-n must be at least 100, got ", p.samples);
  const bool by_time = p.minutes > 0, by_loops = p.loops > 0;
  TORCH_CHECK(std::isfinite(p.minutes) && p.minutes >= 0 && p.loops >= 0,
              "the budget must not be negative");
  TORCH_CHECK(by_time != by_loops, by_time ? "give one budget, --minutes or --loops, not both"
                                           : "a study needs a budget above zero: --minutes M "
                                             "or --loops L per run");
}

ordered_json to_json(const Plan& p) {
  return {{"config", p.config},   {"methods", p.methods}, {"seeds", p.seeds},
          {"minutes", p.minutes}, {"loops", p.loops},     {"samples", p.samples},
          {"classifier", p.classifier}};
}

Plan from_json(const ordered_json& j) {
  Plan p;
  p.config = j.at("config").get<std::vector<std::string>>();
  p.methods = j.at("methods").get<std::vector<std::string>>();
  p.seeds = j.at("seeds").get<int64_t>();
  p.minutes = j.at("minutes").get<double>();
  p.loops = j.at("loops").get<int64_t>();
  p.samples = j.at("samples").get<int64_t>();
  p.classifier = j.at("classifier").get<std::string>();
  return p;
}

// Runs `exe args...` with stdout and stderr into `log`; returns its wait status.
int run_child(const std::vector<std::string>& args, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  TORCH_CHECK(err == 0, "cannot start ", args[0], ": ", std::strerror(err));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string last_json_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty() && line.front() == '{') last = line;
  }
  return last;
}

std::string tail_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string out;
  for (size_t i = lines.size() > 5 ? lines.size() - 5 : 0; i < lines.size(); ++i) {
    out += "\n  " + lines[i];
  }
  return out;
}

// Image runs are scored while they train, at six equal steps of the budget (by the clock for
// a budget in minutes, so fast and slow methods are scored at the same times), for the score
// against training time; the table's scores come from `vgrow eval` at the end. 2-D runs are
// scored at the end only.
constexpr int kCurvePoints = 6;
constexpr int64_t kCurveSamples = 1000;

std::vector<std::string> scoring_args(const Plan& p) {
  std::vector<std::string> args;
  const bool curves = !p.classifier.empty();  // image data: a classifier is always resolved
  if (!overrides_key(p.config, "eval.metrics")) {
    args.push_back(curves ? "eval.metrics=[fid]" : "eval.metrics=[]");
  }
  if (!curves) return args;
  args.push_back("eval.classifier=" + p.classifier);
  if (!overrides_key(p.config, "eval.count")) {
    args.push_back("eval.count=" + std::to_string(kCurveSamples));
  }
  if (p.minutes > 0) {
    args.push_back("eval.every=" + std::to_string(int64_t{1} << 40));
    args.push_back("eval.every_minutes=" + std::to_string(p.minutes / kCurvePoints));
  } else {
    args.push_back("eval.every=" + std::to_string(std::max<int64_t>(1, p.loops / kCurvePoints)));
  }
  return args;
}

// A run's folder in the study: dir/<method>-seed<k>.
std::string run_name(const std::string& method, int64_t seed) {
  return method + "-seed" + std::to_string(seed);
}

fs::path run_folder_of(const fs::path& out) {
  fs::path run;
  for (const auto& e : fs::directory_iterator(out / "run")) run = e.path();
  return run;
}

// Trains and scores one method and seed into dir/<method>-seed<k>; returns its score.
ordered_json run_one(const Plan& p, const fs::path& dir, const std::string& method, int64_t seed) {
  const auto name = run_name(method, seed);
  const auto out = dir / name;
  const auto score_file = out / "score.json";
  if (fs::exists(score_file)) {
    std::ifstream in(score_file);
    return ordered_json::parse(in);
  }
  fs::remove_all(out);  // an unfinished run starts again
  fs::create_directories(out);
  const auto exe = self_executable();
  std::vector<std::string> train{exe, "train"};
  train.insert(train.end(), p.config.begin(), p.config.end());
  train.push_back(is_gan(method) ? "run.method=" + method : "flow.divergence=" + method);
  if (!is_gan(method)) train.push_back("run.method=vgrow");
  train.push_back("run.seed=" + std::to_string(seed));
  train.push_back("run.out_dir=" + (out / "run").string());
  train.push_back("run.name=" + name);
  train.push_back("run.minutes=" + std::to_string(p.minutes));
  train.push_back("run.loops=" + std::to_string(p.loops > 0 ? p.loops : int64_t{1} << 40));
  for (const auto& arg : scoring_args(p)) train.push_back(arg);
  train.push_back("--quiet");
  std::cout << "study: " << name << ": training ..." << std::flush;
  const auto start = std::chrono::steady_clock::now();
  const int status = run_child(train, out / "train.log");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  TORCH_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "study run ", name,
              " did not finish training (", out / "train.log", "):", tail_of(out / "train.log"),
              "\nfix it and continue with `vgrow study --resume ", dir.string(), "`");
  const auto run = run_folder_of(out);
  std::vector<std::string> eval{exe, "eval", run.string(), "-n", std::to_string(p.samples),
                                "--seed", std::to_string(seed)};
  if (!p.classifier.empty()) {
    eval.push_back("--classifier");
    eval.push_back(p.classifier);
  }
  const int eval_status = run_child(eval, out / "eval.log");
  const auto line = last_json_line(out / "eval.log");
  TORCH_CHECK(WIFEXITED(eval_status) && WEXITSTATUS(eval_status) == 0 && !line.empty(),
              "study run ", name, ": scoring failed (", out / "eval.log",
              "):", tail_of(out / "eval.log"));
  ordered_json score{{"method", method}, {"seed", seed}, {"train_seconds", seconds}};
  const auto measured = ordered_json::parse(line);
  for (const auto& [k, v] : measured.items()) score[k] = v;
  io::write_text_atomically(score_file, score.dump() + "\n");
  std::cout << " " << std::lround(seconds) << " s\n";
  return score;
}

// results.csv (one row per run) and table.md (mean +- sd per method of every number).
void write_tables(const fs::path& dir, const std::vector<ordered_json>& scores) {
  std::vector<std::string> columns;
  for (const auto& s : scores) {
    for (const auto& [k, v] : s.items()) {
      if (v.is_number() && std::find(columns.begin(), columns.end(), k) == columns.end()) {
        columns.push_back(k);
      }
    }
  }
  std::ostringstream csv;
  csv << "method";
  for (const auto& c : columns) csv << "," << c;
  csv << "\n";
  for (const auto& s : scores) {
    csv << s["method"].get<std::string>();
    for (const auto& c : columns) {
      csv << ",";
      if (s.contains(c) && s[c].is_number()) csv << s[c].dump();
    }
    csv << "\n";
  }
  io::write_text_atomically(dir / "results.csv", csv.str());

  std::vector<std::string> shown;
  for (const auto& c : columns) {
    if (c != "seed" && c != "samples" && c != "modes") shown.push_back(c);
  }
  std::ostringstream md;
  md << "| method |";
  for (const auto& c : shown) md << " " << c << " |";
  md << "\n|---|";
  for (size_t i = 0; i < shown.size(); ++i) md << "---|";
  md << "\n";
  std::vector<std::string> order;
  for (const auto& s : scores) {
    const auto m = s["method"].get<std::string>();
    if (std::find(order.begin(), order.end(), m) == order.end()) order.push_back(m);
  }
  for (const auto& m : order) {
    md << "| " << m << " |";
    for (const auto& c : shown) {
      std::vector<double> v;
      for (const auto& s : scores) {
        if (s["method"] == m && s.contains(c) && s[c].is_number()) v.push_back(s[c].get<double>());
      }
      double mean = 0, var = 0;
      for (double x : v) mean += x / static_cast<double>(v.size());
      for (double x : v) var += (x - mean) * (x - mean) / std::max<double>(1, v.size() - 1.0);
      char cell[64];
      std::snprintf(cell, sizeof(cell), " %.4g ± %.2g |", mean, std::sqrt(var));
      md << (v.empty() ? " - |" : cell);
    }
    md << "\n";
  }
  io::write_text_atomically(dir / "table.md", md.str());
  std::cout << md.str();
}

// curves/<method>.csv (the k-th in-training score and its time, averaged over seeds) and
// score-vs-time.svg, for runs scored while training (image data).
void write_curves(const Plan& p, const fs::path& dir) {
  io::OverlaidPlot plot{"", "minutes", "", {}};
  for (const auto& method : p.methods) {
    std::vector<io::MetricsTable> logs;
    for (int64_t seed = 0; seed < p.seeds; ++seed) {
      logs.push_back(io::read_metrics_log(run_folder_of(dir / run_name(method, seed)), "eval"));
    }
    if (logs.empty() || logs[0].columns.size() < 2 || logs[0].column("minutes") < 0) return;
    if (plot.y.empty()) plot.y = logs[0].columns[1];  // the first metric (fid by default)
    size_t points = SIZE_MAX;
    for (const auto& log : logs) points = std::min(points, log.rows.size());
    std::ostringstream csv;
    csv << "minutes," << plot.y << "\n";
    for (size_t k = 0; k < points; ++k) {
      double minutes = 0, score = 0;
      for (const auto& log : logs) {
        const auto& row = log.rows[k];
        const int m = log.column("minutes"), c = log.column(plot.y);
        minutes += row.at(m) / static_cast<double>(logs.size());
        score += (c >= 0 && static_cast<size_t>(c) < row.size() ? row[c] : std::nan("")) /
                 static_cast<double>(logs.size());
      }
      csv << minutes << "," << score << "\n";
    }
    fs::create_directories(dir / "curves");
    const auto file = dir / "curves" / (method + ".csv");
    io::write_text_atomically(file, csv.str());
    plot.series.push_back({method, file});
  }
  if (plot.series.empty()) return;
  plot.title = plot.y + " against training time (mean over " + std::to_string(p.seeds) +
               " seeds, " + std::to_string(kCurveSamples) + " samples while training)";
  const auto svgs = io::plot_svgs({plot});
  if (!svgs.empty() && !svgs[0].empty()) {
    io::write_text_atomically(dir / "score-vs-time.svg", svgs[0]);
  }
}

void run_study(const Plan& p, const fs::path& dir) {
  std::vector<ordered_json> scores;
  for (const auto& method : p.methods) {
    for (int64_t seed = 0; seed < p.seeds; ++seed) scores.push_back(run_one(p, dir, method, seed));
  }
  write_tables(dir, scores);
  write_curves(p, dir);
  std::cout << "study: " << scores.size() << " runs; " << (dir / "results.csv").string() << ", "
            << (dir / "table.md").string() << "\n";
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

void add_study(CLI::App& app) {
  struct Args {
    std::vector<std::string> config;
    std::string methods, out, resume;
    Plan plan;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "study", "Train several methods at one budget and several seeds, score them, tabulate");
  cmd->add_option("config", args->config, "[PRESET|FILE.toml] [section.key=value ...]");
  cmd->add_option("--methods", args->methods,
                  "comma-separated divergences and GAN baselines (default: all seven "
                  "divergences, gan, gan-ns)");
  cmd->add_option("--seeds", args->plan.seeds, "seeds 0 .. N-1 per method (default 2)");
  cmd->add_option("--minutes", args->plan.minutes, "budget of each run in minutes");
  cmd->add_option("--loops", args->plan.loops, "budget of each run in outer loops");
  cmd->add_option("-n", args->plan.samples, "samples scored per run (default 5000)");
  cmd->add_option("--classifier", args->plan.classifier,
                  "feature extractor for image data (default: the dataset's own classifier, "
                  "yours in classifiers/ or the one shipped with vgrow)");
  cmd->add_option("-o", args->out, "the study folder (must not exist)");
  cmd->add_option("--resume", args->resume, "continue the study in this folder");
  cmd->callback([args] {
    if (!args->resume.empty()) {
      TORCH_CHECK(args->config.empty() && args->methods.empty() && args->out.empty(),
                  "with --resume, the study's own plan is used: give no config, --methods or -o");
      const fs::path dir = args->resume;
      std::ifstream in(dir / "study.json");
      TORCH_CHECK(in.good(), "'", dir.string(), "' is not a study folder (no study.json)");
      Plan plan;
      try {
        plan = from_json(ordered_json::parse(in));
      } catch (const nlohmann::json::exception& e) {
        TORCH_CHECK(false, dir / "study.json", " is damaged: ", e.what());
      }
      check_plan(plan);
      run_study(plan, dir);
      return;
    }
    auto plan = args->plan;
    plan.config = args->config;
    plan.methods = args->methods.empty() ? default_methods() : split_list(args->methods);
    check_plan(plan);
    const auto config = resolve_config(plan.config);  // refuses a bad preset before any run
    if (config.data.dataset != "toy" && plan.classifier.empty()) {
      plan.classifier = metrics::default_classifier_file(config.data.dataset);
      TORCH_CHECK(fs::is_regular_file(plan.classifier),
                  "scoring images needs a feature extractor: vgrow ships none for ",
                  config.data.dataset, "; give --classifier FILE (train one with `vgrow "
                  "classifier train --dataset ", config.data.dataset, "`)");
    }
    const fs::path dir =
        args->out.empty() ? fs::path(config.run.out_dir) / ("study-" + (config.data.dataset == "toy"
                                                                           ? config.data.target
                                                                           : config.data.dataset))
                          : fs::path(args->out);
    TORCH_CHECK(!fs::exists(dir), "study folder '", dir.string(),
                "' exists already: continue it with `vgrow study --resume ", dir.string(),
                "`, or give another -o");
    fs::create_directories(dir);
    io::write_text_atomically(dir / "study.json", to_json(plan).dump(2) + "\n");
    run_study(plan, dir);
  });
}

}  // namespace vgrow::cli
