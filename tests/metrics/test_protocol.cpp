// The one metrics protocol that `vgrow eval` and the in-training scores share: its settings,
// its size checks, the equality of the two FID routes, and the JSON that records the scores.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli_helpers.h"
#include "test_helpers.h"
#include "vgrow/io/png.h"
#include "vgrow/io/run_folder.h"
#include "vgrow/metrics/classifier.h"
#include "vgrow/metrics/protocol.h"
#include "vgrow/metrics/reference_stats.h"

namespace vm = vgrow::metrics;
using ::testing::HasSubstr;
using vgrow::testing::error_of;
using vgrow::testing::run_cli;
using vgrow::testing::TempDir;

namespace {

// A stand-in extractor: the flattened pixels are the features. Records the largest batch.
struct Pixels : vm::FeatureExtractor {
  int64_t largest_batch = 0;
  torch::Tensor features(const torch::Tensor& x) override {
    largest_batch = std::max(largest_batch, x.size(0));
    return x.reshape({x.size(0), -1});
  }
  torch::Tensor probabilities(const torch::Tensor& x) override {
    return torch::softmax(x.reshape({x.size(0), -1}), 1);
  }
  int64_t feature_dim() const override { return 4; }
  std::string id() const override { return "pixels"; }
};

// One-hot rows cycling through the classes: every IS split sees each class equally often.
torch::Tensor cycling_one_hot(int64_t n, int64_t classes) {
  return torch::one_hot(torch::arange(n) % classes, classes).to(torch::kFloat32);
}

std::string first_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

TEST(Protocol, DefaultsAreTheSettingsOfVgrowEval) {
  const vm::ScoreOptions o;
  EXPECT_EQ(o.scores, (std::vector<std::string>{"fid", "kid", "is", "precision", "recall"}));
  EXPECT_EQ(o.fid_protocol, vm::FidProtocol::kPaper);
  EXPECT_EQ(o.n, 10000);
  EXPECT_EQ(o.fid_draws, 5);
  EXPECT_EQ(o.kid_subsets, 100);
  EXPECT_EQ(o.kid_subset_size, 1000);
  EXPECT_EQ(o.is_splits, 10);
  EXPECT_EQ(o.pr_k, 3);
  EXPECT_EQ(o.pr_max, 10000);
  EXPECT_TRUE(vm::lower_is_better("fid"));
  EXPECT_TRUE(vm::lower_is_better("kid"));
  EXPECT_FALSE(vm::lower_is_better("recall"));
}

TEST(Protocol, IdenticalSetsGiveZeroDistancesAndFullPrecisionRecall) {
  torch::manual_seed(11);
  const auto x = torch::randn({600, 6});
  vm::ScoreOptions o;
  o.n = 600;
  o.fid_draws = 3;
  const vm::SampleFeatures same_features{x, cycling_one_hot(600, 10)};
  const auto same = vm::score(same_features, {x, {}}, o);
  EXPECT_NEAR(same.fid, 0.0, 1e-9);
  EXPECT_NEAR(same.fid_sd, 0.0, 1e-9);  // n equals both counts: every draw is everything
  EXPECT_EQ(same.n, 600);
  EXPECT_EQ(same.draws, 3);
  EXPECT_DOUBLE_EQ(same.precision, 1.0);
  EXPECT_DOUBLE_EQ(same.recall, 1.0);
  EXPECT_NEAR(same.is, 10.0, 1e-9);
  // KID's subsets of the same rows: near 0, far below that of a shifted set.
  const auto shifted = vm::score({x + 0.5, same_features.probabilities}, {x, {}}, o);
  EXPECT_GT(shifted.fid, 1.0);  // |mean shift|^2 = 6 x 0.25
  EXPECT_GT(shifted.kid, 0.3);
  EXPECT_NEAR(same.kid, 0.0, 0.05 * shifted.kid);
  EXPECT_LT(shifted.precision, same.precision);
}

// `vgrow eval --protocol paper` with n = all and one draw scores the reference features;
// training scores the streamed statistics of its training images. Same images, same FID.
TEST(Protocol, EvalAndTrainingRoutesGiveTheSameFid) {
  Pixels pixels;
  torch::manual_seed(12);
  const auto real_images = torch::randint(0, 256, {300, 1, 2, 2}, torch::kUInt8);
  const auto generated_images = torch::rand({300, 1, 2, 2}) * 1.2 - 0.2;
  vm::ScoreOptions paper;
  paper.scores = {"fid"};
  paper.n = 300;
  paper.fid_draws = 1;
  paper.chunk = 64;
  const auto generated =
      vm::generated_features(pixels, 300, vm::chunks_of(generated_images), paper);
  EXPECT_EQ(pixels.largest_batch, 64);
  EXPECT_FALSE(generated.probabilities.defined());  // no IS asked, no second pass
  const auto real = vm::real_features(pixels, 300, vm::chunks_of(real_images), paper);
  const double eval_fid = vm::score(generated, {real, {}}, paper).fid;

  auto train_stats = paper;
  train_stats.fid_protocol = vm::FidProtocol::kTrainStats;
  const auto stats = vm::feature_stats(pixels, real_images, 64);
  const auto training = vm::score(generated, {{}, stats}, train_stats);  // no real features
  EXPECT_GT(eval_fid, 0.3);  // about 4 x (0.4^2 + (0.58 - 0.35)^2)
  EXPECT_NEAR(training.fid, eval_fid, 1e-9 * eval_fid);
  EXPECT_EQ(training.n, 300);
  EXPECT_EQ(training.draws, 1);
  EXPECT_TRUE(std::isnan(training.kid));  // not asked
}

TEST(Protocol, RefusesUnknownScoresAndSizesTheScoresCannotUse) {
  vm::ScoreOptions o;
  EXPECT_THAT(error_of([&] { o.check(5, 100); }),
              HasSubstr("IS in 10 splits needs at least 10 generated samples, got 5"));
  EXPECT_THAT(error_of([&] { o.check(100, 1); }), HasSubstr("at least 2 real samples, got 1"));
  o.scores = {"fid", "sharpness"};
  EXPECT_THAT(error_of([&] { o.check(100, 100); }), HasSubstr("'sharpness' is not a score"));
  o.scores = {"precision"};
  o.pr_k = 5;
  EXPECT_THAT(error_of([&] { o.check(100, 5); }), HasSubstr("need more than 5 samples per side"));
  o.scores = {"fid"};
  o.fid_protocol = vm::FidProtocol::kTrainStats;
  EXPECT_NO_THROW(o.check(100, 0));  // reference statistics stand in for real features
  const vm::SampleFeatures generated{torch::randn({20, 3}), {}};
  EXPECT_THAT(error_of([&] { vm::score(generated, {}, o); }),
              HasSubstr("needs the reference statistics"));
  EXPECT_THAT(error_of([] { vm::parse_fid_protocol("50k"); }), HasSubstr("paper or train-stats"));
  EXPECT_EQ(vm::parse_fid_protocol(vm::fid_protocol_name(vm::FidProtocol::kTrainStats)),
            vm::FidProtocol::kTrainStats);
}

TEST(Protocol, ValuesFollowTheAskedOrderAndTheRecordHasEvalsKeys) {
  vm::ScoreSet s;
  s.fid = 1.5;
  s.is = 2.5;
  const auto values = s.values({"is", "fid"});
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], (std::pair<std::string, double>{"is", 2.5}));
  EXPECT_EQ(values[1], (std::pair<std::string, double>{"fid", 1.5}));
  std::vector<std::string> keys;
  for (const auto& [key, value] : s.record()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"fid", "fid_sd", "kid", "kid_sd", "is", "is_sd",
                                            "precision", "recall"}));
  EXPECT_THAT(error_of([&] { s.value("fld"); }), HasSubstr("'fld' is not a score"));
}

TEST(Protocol, MetricsLogWritesNullForNonFiniteValuesInColumnOrder) {
  TempDir dir("vgrow-log");
  {
    vgrow::io::MetricsLog log(dir.path(), "eval");
    log.write({{"loop", 2}, {"fid", NAN}, {"kid", 0.125}, {"is", INFINITY}, {"recall", -1e-7}});
  }
  const auto line = first_line(dir.path() / "eval.jsonl");
  EXPECT_EQ(line, R"({"loop":2,"fid":null,"kid":0.125,"is":null,"recall":-1e-07})");
  EXPECT_TRUE(nlohmann::json::parse(line)["fid"].is_null());
  EXPECT_EQ(first_line(dir.path() / "eval.csv"), "loop,fid,kid,is,recall");
}

TEST(Protocol, VgrowEvalPrintsTheScoresAsOneJsonLine) {
  TempDir dir("vgrow-eval-protocol");
  torch::manual_seed(13);
  const auto images = dir.path() / "images";
  std::filesystem::create_directories(images);
  for (int i = 0; i < 40; ++i) {
    vgrow::io::write_png(images / ("img" + std::to_string(100 + i) + ".png"),
                         torch::randint(0, 256, {1, 28, 28}, torch::kUInt8));
  }
  // An untrained classifier is a fixed random feature map (16-d): enough for the plumbing.
  const auto classifier = dir.path() / "classifier.pt";
  vm::save_classifier(classifier.string(), vm::Classifier(vm::ClassifierOptions().width(4)),
                      {"folder", 0.1, 28});
  const auto r = run_cli("eval " + images.string() + " --reference " + images.string() +
                         " --classifier " + classifier.string() + " -n 40 --draws 2 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto start = r.output.find("{\"source\"");
  ASSERT_NE(start, std::string::npos) << r.output;
  const auto json =
      nlohmann::ordered_json::parse(r.output.substr(start, r.output.find('\n', start) - start));
  std::vector<std::string> keys;
  for (const auto& item : json.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"source", "reference", "protocol", "extractor", "n",
                                            "draws", "fid", "fid_sd", "kid", "kid_sd", "is",
                                            "is_sd", "precision", "recall"}));
  EXPECT_EQ(json["protocol"], "paper");
  EXPECT_EQ(json["n"], 40);
  EXPECT_EQ(json["draws"], 2);
  EXPECT_NEAR(json["fid"].get<double>(), 0.0, 1e-6);  // the same 40 images on both sides
  EXPECT_DOUBLE_EQ(json["precision"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(json["recall"].get<double>(), 1.0);
}

// Yours ($VGROW_CLASSIFIER_DIR, then classifiers/ in the working folder) before the shipped one;
// the shipped Fashion-MNIST classifier opens and is what its README says.
TEST(Protocol, TheDefaultClassifierIsYoursElseTheShippedOne) {
  const std::string shipped = std::string(VGROW_SOURCE_DIR) + "/share/classifiers/fashion-mnist.pt";
  ASSERT_EQ(vm::default_classifier_file("fashion-mnist"), shipped);
  const auto loaded = vm::load_classifier(shipped);
  EXPECT_EQ(loaded.metadata.dataset, "fashion-mnist");
  EXPECT_NEAR(loaded.metadata.accuracy, 0.9215, 5e-4);
  EXPECT_THAT(vm::ClassifierExtractor::from_file(shipped).id(),
              HasSubstr("8782858b1a9b1a18eda657afc6b1d6c223f071813f9c5974d6c7dc9b11b2528d"));
  EXPECT_EQ(vm::default_classifier_file("cifar10"), "classifiers/cifar10.pt");  // none: where to train one

  TempDir dir("vgrow-own-classifier");
  std::ofstream(dir.path() / "fashion-mnist.pt") << "mine";
  ::setenv("VGROW_CLASSIFIER_DIR", dir.str().c_str(), 1);
  EXPECT_EQ(vm::default_classifier_file("fashion-mnist"), (dir.path() / "fashion-mnist.pt").string());
  ::unsetenv("VGROW_CLASSIFIER_DIR");
  EXPECT_EQ(vm::default_classifier_file("fashion-mnist"), shipped);
}

TEST(Protocol, AMissingClassifierFileHasItsOwnType) {
  try {
    vm::load_classifier("/nonexistent/classifier.pt");
    ADD_FAILURE() << "no error for a missing classifier";
  } catch (const vm::ClassifierNotFound& e) {
    EXPECT_EQ(e.path, "/nonexistent/classifier.pt");
    EXPECT_THAT(e.what(), HasSubstr("'/nonexistent/classifier.pt' does not exist"));
  }
}
