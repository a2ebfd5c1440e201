// The HTML report of run folders: what it embeds, what it highlights, what it says about odd
// folders, and that no string from a run becomes markup. (It is rendered in Chromium by
// tests/browser/report-in-chromium.sh.)
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_helpers.h"
#include "config_helpers.h"
#include "test_helpers.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/io/plots.h"
#include "vgrow/run/run_report.h"
#include "vgrow/run/training_run.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using vgrow::testing::error_of;
using vgrow::testing::file_contents;
using vgrow::testing::only_run;
using vgrow::testing::TempDir;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

fs::path toy_run(const fs::path& out_dir, const std::string& divergence, int64_t loops = 4) {
  auto c = vgrow::testing::tiny_toy_config();
  c.run.out_dir = out_dir.string();
  c.run.loops = loops;
  c.run.minutes = 0;
  c.run.sample_every = 2;
  c.flow.divergence = divergence;
  vgrow::TrainingRunOptions options;
  options.command = "vgrow train toy flow.divergence=" + divergence;
  return vgrow::run_training(c, options).run_dir;
}

TEST(RunReport, TrainingKeepsAReportOfEveryGridCurveAndCommand) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  TempDir out("vgrow-report");
  auto c = vgrow::testing::tiny_image_config(256);
  c.run.device = "cpu";
  c.run.out_dir = out.str();
  c.run.loops = 4;
  c.run.minutes = 0;
  c.run.sample_every = 2;
  vgrow::TrainingRunOptions options;
  options.command = "vgrow train data.limit=256";
  const auto run = vgrow::run_training(c, options).run_dir;
  const auto html = file_contents(run / "report.html");
  ASSERT_FALSE(html.empty()) << "training wrote no report.html";
  // Loops 2 and 4: the latest grid large, two sample frames, two particle frames, the reals.
  EXPECT_EQ(count(html, "src=\"data:image/png;base64,"), 6u);
  EXPECT_EQ(count(html, "type=\"range\""), 2u);
  EXPECT_THAT(html, HasSubstr("data-loop=\"4\""));
  EXPECT_THAT(html, HasSubstr(" UTC  loop 0  vgrow train data.limit=256</code>"));
  EXPECT_THAT(html, HasSubstr("<td>4</td>"));  // loops done
  // One run: the keys it changed from the defaults, beside the default.
  EXPECT_THAT(html, HasSubstr("<th><code>data.limit</code></th><td class=\"differs\"><code>256"
                              "</code></td><td><code>0</code></td>"));
  EXPECT_THAT(html, Not(HasSubstr("<th><code>flow.eta</code></th><td class=\"differs\"")));
  if (vgrow::io::gnuplot_available()) {
    // d_loss_real, d_loss_particles, grad_norm, mean_d, projection_loss, seconds, images/s.
    EXPECT_EQ(count(html, "src=\"data:image/svg+xml;base64,"), 7u);
  }
  // Self-contained: nothing is fetched from elsewhere.
  EXPECT_THAT(html, Not(HasSubstr("src=\"http")));
  EXPECT_THAT(html, Not(HasSubstr("href=")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(file_contents(run / "commands.log"), HasSubstr("loop 0  vgrow train data.limit=256"));

  // run.report = false: no page.
  TempDir quiet("vgrow-report-off");
  c.run.out_dir = quiet.str();
  c.run.report = false;
  c.run.loops = 2;
  const auto silent = vgrow::run_training(c).run_dir;
  EXPECT_TRUE(fs::exists(silent / "samples-000002.png"));
  EXPECT_FALSE(fs::exists(silent / "report.html"));
}

TEST(RunReport, SeveralRunsHighlightTheKeysThatDiffer) {
  TempDir out("vgrow-report-two");
  const auto kl = toy_run(out.path() / "a", "kl");
  const auto js = toy_run(out.path() / "b", "js");
  const auto report = vgrow::make_run_report({kl, js});
  // flow.divergence and run.out_dir differ; each cell highlighted in the table of differing
  // keys and again in the table of every key.
  EXPECT_THAT(report.html, HasSubstr("2 key(s) differ"));
  EXPECT_EQ(count(report.html, "class=\"differs\""), 2u * 2u * 2u);
  EXPECT_THAT(report.html, HasSubstr("<code>&#39;js&#39;</code>"));
  EXPECT_THAT(report.html, HasSubstr("VGrow, js"));
  EXPECT_TRUE(report.notes.empty()) << report.notes.front();
  // 2-D runs: the scatter plots are the grids (with gnuplot), one panel per run.
  if (vgrow::io::gnuplot_available()) {
    EXPECT_EQ(count(report.html, "type=\"range\""), 2u);
    // Each quantity once, both runs in it.
    EXPECT_EQ(count(report.html, "src=\"data:image/svg+xml;base64,"), 7u);
  }
}

TEST(RunReport, RunsOfDifferentDataAreShownButSaid) {
  TempDir out("vgrow-report-data");
  const auto eight = toy_run(out.path(), "kl", 2);
  auto c = vgrow::testing::tiny_toy_config();
  c.run.out_dir = out.str();
  c.run.loops = 2;
  c.run.minutes = 0;
  c.data.target = "swissroll";
  const auto roll = vgrow::run_training(c).run_dir;
  const auto report = vgrow::make_run_report({eight, roll});
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_THAT(report.notes[0], HasSubstr("different data"));
  EXPECT_THAT(report.notes[0], HasSubstr("toy swissroll"));
  EXPECT_THAT(report.html, HasSubstr("id=\"notes\""));
}

TEST(RunReport, AFolderThatIsNotARunIsRefusedAndNoPageIsWritten) {
  TempDir out("vgrow-report-bad");
  const auto page = out.path() / "report.html";
  std::ofstream(page) << "the previous report";
  fs::create_directories(out.path() / "photos");
  const auto msg = error_of([&] { vgrow::write_run_report(page, {out.path() / "photos"}); });
  EXPECT_THAT(msg, HasSubstr("photos' is not a vgrow run folder"));
  EXPECT_THAT(msg, HasSubstr("no config.toml"));
  EXPECT_THAT(error_of([&] { vgrow::write_run_report(page, {out.path() / "missing"}); }),
              HasSubstr("no such folder"));
  std::ofstream(out.path() / "photos" / "config.toml") << "[flow]\ndivergence = 'nonsense'\n";
  EXPECT_THAT(error_of([&] { vgrow::write_run_report(page, {out.path() / "photos"}); }),
              HasSubstr("nonsense"));
  EXPECT_EQ(file_contents(page), "the previous report");
  // An output path that cannot be written: named, and nothing left beside it.
  const auto run = toy_run(out.path() / "runs", "kl", 2);
  const auto blocked = out.path() / "a-file" / "report.html";
  std::ofstream(out.path() / "a-file") << "not a folder";
  EXPECT_THAT(error_of([&] { vgrow::write_run_report(blocked, {run}); }),
              HasSubstr("a-file/report.html"));
  EXPECT_EQ(file_contents(out.path() / "a-file"), "not a folder");
}

TEST(RunReport, ARunWithNoSamplesYetIsSaid) {
  TempDir out("vgrow-report-fresh");
  const auto run = out.path() / "00000-8gaussians-kl";
  fs::create_directories(run);
  std::ofstream(run / "config.toml") << vgrow::to_toml(vgrow::testing::tiny_toy_config());
  const auto report = vgrow::make_run_report({run});
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_THAT(report.notes[0], HasSubstr("00000-8gaussians-kl has no samples yet"));
  EXPECT_THAT(report.html, HasSubstr("No samples yet"));
  EXPECT_THAT(report.html, HasSubstr("No loop has been logged yet"));
}

TEST(RunReport, NoStringFromARunBecomesMarkup) {
  TempDir out("vgrow-report-hostile");
  const auto run = out.path() / "00000-run";
  fs::create_directories(run);
  auto c = vgrow::testing::tiny_toy_config();
  c.data.path = "</code><script>alert(1)</script>";
  std::ofstream(run / "config.toml") << vgrow::to_toml(c);
  std::ofstream(run / "events.log") << "<img src=x onerror=alert(2)>\n";
  std::ofstream(run / "commands.log") << "vgrow train '<b>bold</b>'\n";
  std::ofstream(run / "stats.csv") << "loop,seconds,<i>x</i>\n0,0.5,1\n1,0.5,2\n";
  // Not a PNG under a grid's name: left out, and said.
  std::ofstream(run / "samples-000002.png") << "<svg onload=alert(3)>";
  const auto report = vgrow::make_run_report({run});
  EXPECT_THAT(report.html, Not(HasSubstr("<script>alert")));
  EXPECT_THAT(report.html, Not(HasSubstr("<img src=x")));
  EXPECT_THAT(report.html, Not(HasSubstr("<b>bold")));
  EXPECT_THAT(report.html, Not(HasSubstr("<svg onload")));
  EXPECT_THAT(report.html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(report.html, HasSubstr("&lt;img src=x onerror=alert(2)&gt;"));
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_THAT(report.notes[0], HasSubstr("samples-000002.png is not a PNG image"));
  EXPECT_THAT(report.html, HasSubstr("<td>2</td>"));  // loops done, from stats.csv
  EXPECT_EQ(count(report.html, "<script>"), 1u);     // the page's own slider script
}

}  // namespace
