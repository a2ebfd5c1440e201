// `vgrow sample` as a user runs it: bounded counts, and an output folder that already holds
// samples is refused instead of mixing two sets (or replaced when asked).
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli_helpers.h"
#include "vgrow/data/image_dataset.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vgrow::testing::run_cli;
using vgrow::testing::TempDir;

size_t pngs_in(const fs::path& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().extension() == ".png";
  return n;
}

class Sample : public ::testing::Test {
 protected:
  // One outer loop of tiny image nets: a checkpoint to sample from in a few seconds.
  static void SetUpTestSuite() {
    if (!fs::exists(std::string(vgrow::data::kFashionMnistDir) + "/train-images-idx3-ubyte.gz")) {
      return;
    }
    runs_ = new TempDir("vgrow-sample");
    const auto r = run_cli("train --quiet run.threads=1 run.loops=1 data.limit=128 "
                           "model.g_width=4 model.d_width=4 run.out_dir=" + runs_->str());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    run_ = fs::directory_iterator(runs_->path())->path();
  }
  static void TearDownTestSuite() {
    delete runs_;
    runs_ = nullptr;
  }
  void SetUp() override {
    if (!runs_) GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed";
  }
  static inline TempDir* runs_ = nullptr;
  static inline fs::path run_;
};

TEST_F(Sample, AFolderWithSamplesIsRefusedUnlessOverwriteIsGiven) {
  TempDir out("vgrow-sample-out");
  auto r = run_cli("sample " + run_.string() + " -n 3 -o " + out.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(pngs_in(out.path()), 3u);
  r = run_cli("sample " + run_.string() + " -n 2 -o " + out.str());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("already holds 3 sample PNG(s)"));
  EXPECT_EQ(pngs_in(out.path()), 3u) << "a refused run must not touch the folder";
  r = run_cli("sample " + run_.string() + " -n 2 -o " + out.str() + " --overwrite");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(pngs_in(out.path()), 2u) << "--overwrite replaces the earlier samples";
}

TEST_F(Sample, AFolderWithSomeoneElsesPngsIsRefusedEvenWithOverwrite) {
  TempDir out("vgrow-sample-out");
  std::ofstream(out.path() / "holiday.png") << "not ours";
  const auto r = run_cli("sample " + run_.string() + " -n 2 -o " + out.str() + " --overwrite");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("holiday.png"));
  EXPECT_TRUE(fs::exists(out.path() / "holiday.png"));
}

TEST_F(Sample, ManySamplesAreWrittenInChunks) {
  TempDir out("vgrow-sample-out");
  const auto r = run_cli("sample " + run_.string() + " -n 1001 -o " + out.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(pngs_in(out.path()), 1001u);
  EXPECT_TRUE(fs::exists(out.path() / "001000.png"));
}

TEST(SampleLimits, CountsAndStepsAreBounded) {
  auto r = run_cli("sample no-such-run -n 20000000");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("--count"));
  r = run_cli("sample no-such-run --interpolate x.png --steps 100000");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("--steps"));
}

}  // namespace
