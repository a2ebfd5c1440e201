// Plots go through gnuplot started with an argument vector: a hostile folder name or title
// is data, never a command, and a path with a quote still gets its plot.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cli_helpers.h"
#include "vgrow/io/plots.h"

namespace {

using ::testing::HasSubstr;
using vgrow::io::gnuplot_quote;
namespace fs = std::filesystem;

TEST(Plots, QuotesAreDoubledAndNewlinesCannotEndTheCommand) {
  EXPECT_EQ(gnuplot_quote("plain"), "'plain'");
  EXPECT_EQ(gnuplot_quote("o'neil"), "'o''neil'");
  EXPECT_EQ(gnuplot_quote("a\nsystem 'touch x'"), "'a system ''touch x'''");
}

TEST(Plots, AHostileFolderNameIsDataNotACommand) {
  if (!vgrow::io::gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
  vgrow::testing::TempDir tmp("plots");
  const auto canary = tmp.path() / "pwned";
  const auto dir = tmp.path() / ("o'neil $(touch " + canary.string() + ") `touch " +
                                 canary.string() + "`; touch " + canary.string());
  fs::create_directories(dir);
  const auto csv = dir / "stats.csv";
  {
    std::ofstream out(csv);
    out << "loop,loss\n0,1.0\n1,0.5\n2,0.25\n";
  }
  EXPECT_TRUE(vgrow::io::plot_curves(dir / "curves.png", csv, "loop", {"loss"}));
  EXPECT_TRUE(fs::exists(dir / "curves.png"));
  const auto points = torch::randn({50, 2});
  EXPECT_TRUE(vgrow::io::plot_scatter(dir / "scatter.png", points, points,
                                      "title'); system('touch " + canary.string()));
  EXPECT_TRUE(fs::exists(dir / "scatter.png"));
  EXPECT_FALSE(fs::exists(canary)) << "a shell or gnuplot ran a command from a file name";
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_THAT(entry.path().filename().string(), ::testing::AnyOf(HasSubstr("curves.png"),
                                                                    HasSubstr("scatter.png"),
                                                                    HasSubstr("stats.csv")))
        << "a temporary file was left behind";
  }
}

}  // namespace
