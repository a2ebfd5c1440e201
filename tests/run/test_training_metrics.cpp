// In-training scores: eval.csv rows, best.pt kept by the chosen metric, reference
// statistics cached per dataset and extractor.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "cli_helpers.h"
#include "config_helpers.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/metrics/classifier.h"
#include "vgrow/metrics/protocol.h"
#include "vgrow/metrics/reference_stats.h"
#include "vgrow/run/evaluator.h"
#include "vgrow/run/experiment.h"
#include "vgrow/run/training_metrics.h"

namespace {

namespace fs = std::filesystem;
namespace vm = vgrow::metrics;
using ::testing::HasSubstr;
using vgrow::testing::only_run;
using vgrow::testing::run_cli;
using vgrow::testing::TempDir;

std::vector<std::vector<std::string>> read_csv(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    for (std::string c; std::getline(s, c, ',');) cells.push_back(c);
    rows.push_back(cells);
  }
  return rows;
}

TEST(TimedEvaluations, DueOncePerIntervalPassedHoweverLongALoop) {
  vgrow::Config c;
  c.eval.metrics = {"fid"};
  c.eval.every_minutes = 1.0;
  vgrow::TimedEvaluations timed(c);
  EXPECT_FALSE(timed.due(0.0));
  EXPECT_FALSE(timed.due(0.99));
  EXPECT_TRUE(timed.due(1.0));
  EXPECT_FALSE(timed.due(1.5));
  EXPECT_TRUE(timed.due(3.2));   // a slow loop spanned 2 and 3: one evaluation
  EXPECT_FALSE(timed.due(3.9));  // the next is at 4
  EXPECT_TRUE(timed.due(4.0));

  c.eval.every_minutes = 0;  // by loops only
  vgrow::TimedEvaluations off(c);
  EXPECT_FALSE(off.due(100.0));
  c.eval.every_minutes = 1.0;
  c.eval.metrics.clear();  // nothing to score
  vgrow::TimedEvaluations nothing(c);
  EXPECT_FALSE(nothing.due(100.0));
}

TEST(BestScore, LowerIsBetterForFidAndKidHigherForTheOthers) {
  vgrow::BestScore fid{"fid"};
  EXPECT_TRUE(fid.improved_by(50.0));  // nothing recorded yet
  fid.value = 10.0;
  fid.loop = 100;
  EXPECT_TRUE(fid.improved_by(9.0));
  EXPECT_FALSE(fid.improved_by(11.0));
  EXPECT_FALSE(fid.improved_by(NAN));
  vgrow::BestScore is{"is", 3.0, 100};
  EXPECT_TRUE(is.improved_by(3.5));
  EXPECT_FALSE(is.improved_by(2.5));
}

TEST(BestScore, SurvivesARoundTripAndIgnoresAnotherMetric) {
  TempDir dir("vgrow-best");
  const auto file = dir.path() / "best.toml";
  vgrow::BestScore{"kid", 0.0125, 400}.save(file);
  const auto back = vgrow::BestScore::load(file, "kid");
  EXPECT_EQ(back.loop, 400);
  EXPECT_DOUBLE_EQ(back.value, 0.0125);
  EXPECT_EQ(vgrow::BestScore::load(file, "fid").loop, -1);
}

TEST(ReferenceStats, ComputedOnceThenReadFromTheCacheAndRecomputedWhenCorrupt) {
  TempDir dir("vgrow-cache");
  int calls = 0;
  auto compute = [&] {
    ++calls;
    torch::manual_seed(0);
    return vgrow::metrics::gaussian_stats(torch::randn({50, 3}));
  };
  bool cached = true;
  const auto a = vgrow::metrics::cached_reference_stats(dir.path(), "toy:key/1", compute, &cached);
  EXPECT_FALSE(cached);
  const auto b = vgrow::metrics::cached_reference_stats(dir.path(), "toy:key/1", compute, &cached);
  EXPECT_TRUE(cached);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(torch::equal(a.cov, b.cov));
  const auto file = vgrow::metrics::reference_stats_path(dir.path(), "toy:key/1");
  EXPECT_EQ(file.filename(), "stats-toy-key-1.pt");
  std::ofstream(file, std::ios::trunc) << "not statistics";
  vgrow::metrics::cached_reference_stats(dir.path(), "toy:key/1", compute, &cached);
  EXPECT_FALSE(cached);
  EXPECT_EQ(calls, 2);
}

TEST(ReferenceStats, StreamedFeatureStatsEqualTheWholeMatrixOnes) {
  // A stand-in extractor: the flattened pixels are the features.
  struct Pixels : vgrow::metrics::FeatureExtractor {
    torch::Tensor features(const torch::Tensor& x) override { return x.reshape({x.size(0), -1}); }
    torch::Tensor probabilities(const torch::Tensor& x) override { return x; }
    int64_t feature_dim() const override { return 4; }
    std::string id() const override { return "pixels"; }
  } pixels;
  torch::manual_seed(1);
  const auto images = torch::randint(0, 256, {37, 1, 2, 2}, torch::kUInt8);
  const auto streamed = vgrow::metrics::feature_stats(pixels, images, 10);
  const auto whole = vgrow::metrics::gaussian_stats(
      (images.to(torch::kFloat32) / 127.5 - 1).reshape({37, 4}));
  EXPECT_EQ(streamed.count, 37);
  EXPECT_TRUE(torch::allclose(streamed.mean, whole.mean, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(streamed.cov, whole.cov, 1e-6, 1e-6));
}

bool fashion_mnist_installed() {
  return fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

TEST(TrainingMetrics, MissingClassifierSaysHowToTrainOne) {
  TempDir dir("vgrow-eval");
  const auto r = run_cli("train --quiet run.loops=1 eval.metrics=fid "
                         "eval.classifier=/nonexistent/c.pt data.limit=200 run.out_dir=" +
                         dir.str());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("/nonexistent/c.pt"));
  EXPECT_THAT(r.output, HasSubstr("vgrow classifier train"));
}

TEST(TrainingMetrics, UseTheProtocolOfVgrowEvalWithFidAgainstTrainingStatistics) {
  vgrow::Config c;
  c.eval.metrics = {"kid", "fid"};
  c.eval.count = 123;
  c.run.seed = 4;
  const auto o = vgrow::training_score_options(c);
  const vm::ScoreOptions eval;
  EXPECT_EQ(o.scores, c.eval.metrics);
  EXPECT_EQ(o.fid_protocol, vm::FidProtocol::kTrainStats);
  EXPECT_EQ(o.n, 123);
  EXPECT_EQ(o.seed, 6u);
  EXPECT_EQ(o.kid_subsets, eval.kid_subsets);
  EXPECT_EQ(o.kid_subset_size, eval.kid_subset_size);
  EXPECT_EQ(o.is_splits, eval.is_splits);
  EXPECT_EQ(o.pr_k, eval.pr_k);
  EXPECT_EQ(o.pr_max, eval.pr_max);
}

// The in-training scores equal what the shared protocol, with `vgrow eval --protocol
// train-stats`'s settings, gives for the same samples, real images and statistics.
TEST(TrainingMetrics, ScoresAreThoseOfVgrowEvalOnTheSameSamples) {
  if (!fashion_mnist_installed()) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  TempDir files("vgrow-eval-same");
  auto c = vgrow::testing::tiny_image_config(300);
  c.eval.metrics = {"fid", "kid", "is", "precision", "recall"};
  c.eval.count = 100;
  c.eval.classifier = (files.path() / "missing.pt").string();
  auto trainer = vgrow::make_trainer(c);
  try {
    vgrow::TrainingMetrics missing(c, *trainer, files.path() / "cache");
    ADD_FAILURE() << "no error for a missing classifier";
  } catch (const vm::ClassifierNotFound& e) {
    EXPECT_EQ(e.path, c.eval.classifier);
    EXPECT_EQ(e.dataset, "fashion-mnist");
    EXPECT_THAT(e.what(), HasSubstr("eval.classifier"));
  }
  torch::manual_seed(0);
  c.eval.classifier = (files.path() / "classifier.pt").string();
  vm::save_classifier(c.eval.classifier, vm::Classifier(vm::ClassifierOptions().width(4)),
                      {"fashion-mnist", 0.1, 28});
  vgrow::TrainingMetrics metrics(c, *trainer, files.path() / "cache");
  EXPECT_THAT(metrics.description(), HasSubstr("training-set statistics of 300 images saved to"));
  const auto values = metrics.evaluate(*trainer);

  auto extractor = vm::ClassifierExtractor::from_file(c.eval.classifier);
  vm::ScoreOptions eval;
  eval.fid_protocol = vm::FidProtocol::kTrainStats;
  eval.n = c.eval.count;
  eval.seed = static_cast<uint64_t>(c.run.seed) + 2;  // TrainingMetrics' latents and subsets
  auto gen = at::make_generator<at::CPUGeneratorImpl>(eval.seed);
  const auto samples = trainer->generate(at::randn({c.eval.count, c.model.latent_dim}, gen));
  const auto& images = dynamic_cast<const vgrow::data::ImageSource&>(trainer->data()).images();
  const auto generated =
      vm::generated_features(extractor, c.eval.count, vm::chunks_of(samples), eval);
  const vm::RealReference real{
      vm::real_features(extractor, c.eval.count, vm::chunks_of(trainer->data().preview(100)), eval),
      vm::feature_stats(extractor, images)};
  const auto expected = vm::score(generated, real, eval);
  ASSERT_EQ(values.size(), 5u);
  for (const auto& [name, value] : values) {
    EXPECT_NEAR(value, expected.value(name), 1e-9 * std::max(1.0, std::abs(value))) << name;
  }
}

// eval.refine scores what `vgrow sample --refine K` draws, with the trainer's own D, and
// leaves training exactly as it was: weights, buffers (spectral norm), gradients and modes.
TEST(TrainingMetrics, RefinedScoringScoresRefinedSamplesAndLeavesTrainingAlone) {
  if (!fashion_mnist_installed()) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  TempDir files("vgrow-eval-refined");
  auto c = vgrow::testing::tiny_image_config(300);
  c.eval.metrics = {"fid"};
  c.eval.count = 100;
  c.eval.classifier = (files.path() / "classifier.pt").string();
  torch::manual_seed(0);
  vm::save_classifier(c.eval.classifier, vm::Classifier(vm::ClassifierOptions().width(4)),
                      {"fashion-mnist", 0.1, 28});
  auto trainer = vgrow::make_trainer(c);
  trainer->run_loop();
  vgrow::TrainingMetrics plain(c, *trainer, files.path() / "cache");
  c.eval.refine = 3;
  vgrow::TrainingMetrics refined(c, *trainer, files.path() / "cache");
  EXPECT_THAT(refined.description(), HasSubstr("refined by 3 latent-space steps"));

  auto& g = trainer->generator();
  auto& d = trainer->discriminator();
  auto state = [&] {
    std::vector<torch::Tensor> s;
    for (auto* m : {g.ptr().get(), d.ptr().get()}) {
      for (const auto& p : m->parameters()) {
        s.push_back(p.detach().clone());
        s.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros({0}));
      }
      for (const auto& b : m->buffers()) s.push_back(b.clone());
    }
    return s;
  };
  const auto before = state();
  const bool g_mode = g.ptr()->is_training(), d_mode = d.ptr()->is_training();
  const auto z = torch::randn({20, c.model.latent_dim});
  const auto samples = refined.draw(*trainer, z);
  EXPECT_EQ(g.ptr()->is_training(), g_mode);
  EXPECT_EQ(d.ptr()->is_training(), d_mode);
  const auto after = state();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i])) << i;

  g.ptr()->eval();
  d.ptr()->eval();
  vgrow::RefineOptions by_hand;
  by_hand.steps = 3;
  const auto expected = vgrow::refine_latents(g, d, trainer->divergence(), z, by_hand,
                                              at::make_generator<at::CPUGeneratorImpl>(0));
  g.ptr()->train(g_mode);
  d.ptr()->train(d_mode);
  EXPECT_TRUE(torch::equal(samples, expected));
  const auto drawn = plain.draw(*trainer, z);
  EXPECT_TRUE(torch::equal(drawn, trainer->generate(z)));
  EXPECT_GT((samples - drawn).abs().max().item<double>(), 0.0);  // refinement moved them
  EXPECT_NE(refined.evaluate(*trainer)[0].second, plain.evaluate(*trainer)[0].second);
}

TEST(TrainingMetrics, ScoresAreLoggedAndBestCheckpointFollowsTheMetric) {
  if (!fashion_mnist_installed()) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  TempDir dir("vgrow-eval"), files("vgrow-eval-files");
  // An untrained classifier is a fixed random feature map: enough to test the plumbing.
  torch::manual_seed(0);
  vgrow::metrics::Classifier classifier(vgrow::metrics::ClassifierOptions().width(4));
  const auto classifier_file = files.path() / "classifier.pt";
  vgrow::metrics::save_classifier(classifier_file.string(), classifier,
                                  {"fashion-mnist", 0.1, 28});
  const auto cache = files.path() / "cache";
  ::setenv("VGROW_CACHE_DIR", cache.c_str(), 1);
  const std::string args =
      " run.threads=1 data.limit=500 model.g_width=8 model.d_width=8 eval.metrics=fid,is"
      " eval.every=2 eval.count=100 eval.classifier=" + classifier_file.string();
  auto r = run_cli("train run.loops=4 run.out_dir=" + dir.str() + args);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("saved to"));
  const auto run = only_run(dir.path());
  auto rows = read_csv(run / "eval.csv");
  ASSERT_EQ(rows.size(), 3u);  // header, loops 2 and 4
  EXPECT_EQ(rows[0][0], "loop");
  EXPECT_EQ(rows[0][1], "fid");
  EXPECT_EQ(rows[0][2], "is");
  double best_fid = 1e300;
  int64_t best_loop = -1;
  for (size_t i = 1; i < rows.size(); ++i) {
    const double fid = std::stod(rows[i][1]), is = std::stod(rows[i][2]);
    EXPECT_GE(fid, 0.0);
    EXPECT_GE(is, 1.0 - 1e-6);
    EXPECT_LE(is, 10.0 + 1e-6);
    if (fid < best_fid) best_fid = fid, best_loop = std::stoll(rows[i][0]);
  }
  const auto best = vgrow::BestScore::load(run / "best.toml", "fid");
  EXPECT_EQ(best.loop, best_loop);
  EXPECT_NEAR(best.value, best_fid, 1e-4 * std::max(1.0, best_fid));
  ASSERT_TRUE(fs::exists(run / "best.pt"));
  EXPECT_FALSE(fs::is_empty(cache));
  // best.pt is a checkpoint like the others: it samples.
  r = run_cli("sample " + (run / "best.pt").string() + " -n 4 --grid " +
              (files.path() / "best.png").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // A resumed run reads the cached training-set statistics instead of recomputing them.
  r = run_cli("train --resume " + run.string() + " run.loops=6" );
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("statistics of 500 images from"));
  EXPECT_EQ(read_csv(run / "eval.csv").size(), 4u);
  ::unsetenv("VGROW_CACHE_DIR");
}

}  // namespace
