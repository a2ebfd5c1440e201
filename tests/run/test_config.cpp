#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <stdexcept>

#include "vgrow/core/adversarial.h"
#include "vgrow/core/divergence.h"
#include "vgrow/core/projection.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/data/toy2d.h"
#include "vgrow/run/config.h"
#include "vgrow/support/mixed_precision.h"

namespace {

using vgrow::Config;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  }
  return "";
}

TEST(Config, DefaultsAreValidAndRoundTripThroughToml) {
  Config c;
  vgrow::validate(c);
  c.flow.eta = 0.25;
  c.optim.milestones = {1, 2};
  c.run.name = "x";
  Config back;
  vgrow::apply_toml(back, vgrow::to_toml(c), "roundtrip");
  EXPECT_TRUE(vgrow::config_differences(c, back).empty());
  EXPECT_EQ(back.flow.eta, 0.25);
}

TEST(Config, OverridesParseTomlValuesAndBareWords) {
  Config c;
  vgrow::apply_override(c, "flow.divergence=js");
  vgrow::apply_override(c, "flow.eta=0.1");
  vgrow::apply_override(c, "flow.clamp=false");
  vgrow::apply_override(c, "optim.milestones=[10, 20]");
  vgrow::apply_override(c, "run.loops=7");
  EXPECT_EQ(c.flow.divergence, "js");
  EXPECT_DOUBLE_EQ(c.flow.eta, 0.1);
  EXPECT_FALSE(c.flow.clamp);
  EXPECT_EQ(c.optim.milestones, (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(c.run.loops, 7);
}

TEST(Config, UnknownKeyIsNamed) {
  Config c;
  EXPECT_NE(error_of([&] { vgrow::apply_override(c, "flow.etta=1"); }).find("flow.etta"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { vgrow::apply_toml(c, "[flow]\nbogus = 1\n", "f.toml"); }).find("flow.bogus"),
      std::string::npos);
}

TEST(Config, WrongTypeIsNamed) {
  Config c;
  const auto msg = error_of([&] { vgrow::apply_override(c, "run.loops=abc"); });
  EXPECT_NE(msg.find("run.loops"), std::string::npos) << msg;
  EXPECT_NE(msg.find("integer"), std::string::npos) << msg;
}

TEST(Config, ImpossibleValuesAndCombinationsAreRefused) {
  Config c;
  c.flow.eta = -0.5;
  auto msg = error_of([&] { vgrow::validate(c); });
  EXPECT_NE(msg.find("flow.eta"), std::string::npos) << msg;
  EXPECT_NE(msg.find("-0.5"), std::string::npos) << msg;

  Config toy;
  toy.data.dataset = "toy";
  toy.flow.clamp = false;
  msg = error_of([&] { vgrow::validate(toy); });
  EXPECT_NE(msg.find("model.arch"), std::string::npos) << msg;

  Config huge;
  huge.flow.pool_batches = 100000000;
  msg = error_of([&] { vgrow::validate(huge); });
  EXPECT_NE(msg.find("GiB"), std::string::npos) << msg;
}

}  // namespace

namespace {

TEST(Config, MetricListsParseQuotedOrBareAndRoundTrip) {
  Config c;
  vgrow::apply_override(c, "eval.metrics=[\"fid\", \"kid\"]");
  EXPECT_EQ(c.eval.metrics, (std::vector<std::string>{"fid", "kid"}));
  vgrow::apply_override(c, "eval.metrics=[fid, is]");
  EXPECT_EQ(c.eval.metrics, (std::vector<std::string>{"fid", "is"}));
  vgrow::apply_override(c, "eval.metrics=precision");
  EXPECT_EQ(c.eval.metrics, (std::vector<std::string>{"precision"}));
  vgrow::apply_override(c, "eval.metrics=fid,recall");
  vgrow::validate(c);
  Config back;
  vgrow::apply_toml(back, vgrow::to_toml(c), "roundtrip");
  EXPECT_EQ(back.eval.metrics, c.eval.metrics);
}

TEST(Config, UnknownMetricsAndABestOutsideTheListAreRefused) {
  Config c;
  c.eval.metrics = {"fid", "sharpness"};
  EXPECT_NE(error_of([&] { vgrow::validate(c); }).find("sharpness"), std::string::npos);
  c.eval.metrics = {"fid"};
  c.eval.best = "is";
  EXPECT_NE(error_of([&] { vgrow::validate(c); }).find("eval.best"), std::string::npos);
  c.eval.best = "";
  c.data.dataset = "toy";
  c.model.arch = "mlp";
  c.flow.clamp = false;
  EXPECT_NE(error_of([&] { vgrow::validate(c); }).find("needs image data"), std::string::npos);
  Config r;
  r.run.on_divergence = "retry";
  EXPECT_NE(error_of([&] { vgrow::validate(r); }).find("run.on_divergence"), std::string::npos);
  r.run.on_divergence = "rollback";
  r.run.rollback_factor = 1.5;
  EXPECT_NE(error_of([&] { vgrow::validate(r); }).find("run.rollback_factor"), std::string::npos);
}

}  // namespace

namespace {

using vgrow::ConfigKey;

const ConfigKey& key_info(const std::string& key) {
  for (const auto& k : vgrow::config_keys()) {
    if (k.key == key) return k;
  }
  throw std::runtime_error("no config key " + key);
}

// A value of the key's type other than its default.
std::string other_value(const ConfigKey& k) {
  if (k.type == "boolean") return k.default_value == "true" ? "false" : "true";
  if (k.type == "integer") return std::to_string(std::stoll(k.default_value) + 1);
  if (k.type == "number") return "0.375";
  if (k.type == "integer list") return "[3, 7]";
  if (k.type == "string list") return k.choices.empty() ? "[a, b]" : "[" + k.choices.back() + "]";
  for (const auto& c : k.choices) {
    if ("'" + c + "'" != k.default_value) return c;
  }
  return "\"a b\"";
}

TEST(ConfigSchema, EveryKeyIsDescribedAndItsDefaultIsConfigs) {
  const auto& keys = vgrow::config_keys();
  ASSERT_GE(keys.size(), 50u);
  Config defaults;
  const auto fields = vgrow::config_fields(defaults);
  ASSERT_EQ(fields.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& k = keys[i];
    EXPECT_EQ(fields[i].key, k.key);
    EXPECT_FALSE(k.help.empty()) << k.key;
    EXPECT_FALSE(k.type.empty()) << k.key;
    // Writing the listed default back changes nothing.
    Config c;
    vgrow::apply_override(c, k.key + "=" + k.default_value);
    EXPECT_TRUE(vgrow::config_differences(defaults, c).empty())
        << k.key << " = " << k.default_value;
  }
}

TEST(ConfigSchema, EveryKeyRoundTripsThroughToml) {
  for (const auto& k : vgrow::config_keys()) {
    Config c;
    vgrow::apply_override(c, k.key + "=" + other_value(k));
    const auto changed = vgrow::config_differences(Config{}, c);
    ASSERT_EQ(changed.size(), 1u) << k.key << " = " << other_value(k);
    EXPECT_EQ(changed[0].substr(0, changed[0].find(':')), k.key);
    Config back;
    vgrow::apply_toml(back, vgrow::to_toml(c), "roundtrip");
    EXPECT_TRUE(vgrow::config_differences(c, back).empty()) << k.key;
  }
}

TEST(ConfigSchema, ChoicesAreTheLibrarysNameTables) {
  EXPECT_EQ(key_info("flow.divergence").choices, vgrow::Divergence::names());
  EXPECT_EQ(key_info("run.method").choices, vgrow::training_method_names());
  EXPECT_EQ(key_info("projection.schedule").choices, vgrow::ProjectionSchedule::names());
  EXPECT_EQ(key_info("run.precision").choices, vgrow::precision_names());
  auto datasets = vgrow::data::image_dataset_kinds();
  datasets.insert(datasets.end(), {"toy", "csv"});
  EXPECT_EQ(key_info("data.dataset").choices, datasets);
  std::vector<std::string> targets;
  for (const auto& t : vgrow::data::toy2d_targets()) targets.push_back(t.name);
  EXPECT_EQ(key_info("data.target").choices, targets);
  EXPECT_EQ(key_info("eval.best").choices, key_info("eval.metrics").choices);
  EXPECT_FALSE(key_info("eval.metrics").choices.empty());
}

TEST(ConfigSchema, EveryChoiceIsAcceptedAndAnythingElseRefusedNamingTheKey) {
  int choice_keys = 0;
  for (const auto& k : vgrow::config_keys()) {
    if (k.choices.empty()) continue;
    ++choice_keys;
    const bool list = k.type == "string list";
    for (const auto& choice : k.choices) {
      Config c;
      vgrow::apply_override(c, k.key + "=" + (list ? "[" + choice + "]" : choice));
      // Rules over several keys may object; the key's own rule must not.
      const auto own_rule = "config key '" + k.key + "' = " + choice + ": must be " + k.choices[0];
      EXPECT_EQ(error_of([&] { vgrow::validate(c); }).find(own_rule), std::string::npos)
          << own_rule;
    }
    Config c;
    vgrow::apply_override(c, k.key + "=" + (list ? "[no-such-name]" : "no-such-name"));
    const auto msg = error_of([&] { vgrow::validate(c); });
    EXPECT_NE(msg.find("config key '" + k.key + "' = no-such-name: must be "), std::string::npos)
        << msg;
    EXPECT_NE(msg.find(k.choices.front()), std::string::npos) << msg;
  }
  EXPECT_GE(choice_keys, 10);
}

TEST(ConfigSchema, DivergencesAreAcceptedAsTheLibraryParsesThem) {
  Config c;
  c.flow.divergence = "Jeffrey";  // the authors' spelling, any case
  EXPECT_NO_THROW(vgrow::validate(c));
}

TEST(ConfigSchema, EveryNumberSaysWhatItAcceptsAndRefusesTheRest) {
  for (const auto& k : vgrow::config_keys()) {
    if (k.type != "integer" && k.type != "number") continue;
    if (k.key == "run.seed") continue;  // any seed will do
    EXPECT_FALSE(k.rule.empty()) << k.key;
    Config c;
    vgrow::apply_override(c, k.key + "=" + (k.type == "number" ? "nan" : "-1000000000"));
    const auto msg = error_of([&] { vgrow::validate(c); });
    EXPECT_NE(msg.find("config key '" + k.key + "' = "), std::string::npos) << msg;
    EXPECT_NE(msg.find(k.rule), std::string::npos) << msg;
  }
}

TEST(ConfigSchema, KeepsTheWordingTestsAndUsersRelyOn) {
  Config c;
  c.run.threads = 0;
  const auto msg = error_of([&] { vgrow::validate(c); });
  EXPECT_NE(msg.find("config key 'run.threads' = 0: must be at least 1"), std::string::npos) << msg;
  Config p;
  p.run.precision = "half";
  EXPECT_NE(error_of([&] { vgrow::validate(p); }).find("must be fp32, bf16 or fp16"),
            std::string::npos);
}

TEST(ConfigSchema, UnknownKeysSuggestTheClosestOne) {
  Config c;
  const auto msg = error_of([&] { vgrow::apply_override(c, "flow.etta=1"); });
  EXPECT_NE(msg.find("unknown config key 'flow.etta'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'flow.eta'"), std::string::npos) << msg;
  EXPECT_EQ(error_of([&] { vgrow::apply_override(c, "nothing.like=1"); }).find("did you mean"),
            std::string::npos);
}

TEST(ConfigSchema, ResumableKeysAreTheSchedulingKeysEvalAndStepSizes) {
  const std::set<std::string> expected{"run.loops",
                                       "run.minutes",
                                       "run.log_every",
                                       "run.sample_every",
                                       "run.report",
                                       "run.checkpoint_every",
                                       "run.keep_checkpoints",
                                       "run.threads",
                                       "run.device",
                                       "run.precision",
                                       "run.loss_scaling",
                                       "run.reproducible",
                                       "run.cuda_graphs",
                                       "run.out_dir",
                                       "run.name",
                                       "run.dist_timeout_seconds",
                                       "run.on_divergence",
                                       "run.rollback_factor",
                                       "run.max_rollbacks",
                                       "model.fused_resampling",
                                       "model.channels_last",
                                       "model.ema_decay",
                                       "flow.eta",
                                       "optim.lr_g",
                                       "optim.lr_d"};
  std::set<std::string> resumable;
  for (const auto& k : vgrow::config_keys()) {
    const bool eval = k.key.rfind("eval.", 0) == 0;
    EXPECT_EQ(k.resumable, eval || expected.count(k.key) == 1) << k.key;
    EXPECT_EQ(vgrow::resumable_key(k.key), k.resumable) << k.key;
    if (k.resumable && !eval) resumable.insert(k.key);
  }
  EXPECT_EQ(resumable, expected);
  EXPECT_FALSE(vgrow::resumable_key("no.such_key"));
}

TEST(ConfigSchema, UnresumableDifferencesNameOnlyTheKeysThatMayNotChange) {
  Config stored;
  Config requested;
  requested.flow.divergence = "js";
  requested.flow.eta = 0.5;
  requested.run.minutes = 60;
  requested.eval.metrics = {"fid"};
  requested.model.g_width = 64;
  EXPECT_EQ(vgrow::unresumable_differences(stored, requested),
            (std::vector<std::string>{"model.g_width: 32 -> 64", "flow.divergence: 'kl' -> 'js'"}));
  EXPECT_EQ(vgrow::config_differences(stored, requested).size(), 5u);
  EXPECT_TRUE(vgrow::unresumable_differences(stored, stored).empty());
}

// Checkpoints hold to_toml's text: its layout may not change.
TEST(ConfigSchema, TomlLayoutIsSectionsOfKeyValueLines) {
  Config c;
  const auto text = vgrow::to_toml(c);
  EXPECT_EQ(text.rfind("[run]\nname = ''\nout_dir = 'runs'\nseed = 0\n", 0), 0u) << text;
  EXPECT_NE(text.find("\n\n[flow]\ndivergence = 'kl'\neta = 1.0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nmilestones = []\n"), std::string::npos) << text;
  const auto msg = error_of([&] { vgrow::apply_toml(c, "eta = 1\n", "top.toml"); });
  EXPECT_NE(msg.find("[section] (run, data, model, flow, projection, optim, eval)"),
            std::string::npos)
      << msg;
}

// A bare override becomes a TOML string as it is: only text config.toml can hold, so the
// resolved config always loads back (found by fuzz/fuzz_override).
TEST(Config, OverridesMustBeUtf8TextAndRoundTrip) {
  for (const std::string bad : {"\xff", "a\xc3\x28", "\xed\xa0\x80", "\xc0\xaf", "x\xf4\x90\x80\x80"}) {
    Config c;
    EXPECT_NE(error_of([&] { vgrow::apply_override(c, "data.path=" + bad); }).find("not valid UTF-8"),
              std::string::npos)
        << bad;
  }
  Config c;
  vgrow::apply_override(c, "data.path=donn\xc3\xa9" "es/\xe2\x82\xac \"quoted\" 'x'");
  Config back;
  vgrow::apply_toml(back, vgrow::to_toml(c), "round trip");
  EXPECT_EQ(back.data.path, c.data.path);
  EXPECT_EQ(c.data.path, "donn\xc3\xa9" "es/\xe2\x82\xac \"quoted\" 'x'");
}

// A shared config cannot ask for networks of absurd size: each size key has a ceiling.
TEST(Config, NetworkSizesAreBounded) {
  for (const std::string key : {"model.g_width", "model.d_width", "model.latent_dim",
                                "model.mlp_hidden", "model.mlp_layers", "data.image_size"}) {
    Config c;
    vgrow::apply_override(c, key + "=1000000");
    const auto msg = error_of([&] { vgrow::validate(c); });
    EXPECT_NE(msg.find("config key '" + key + "' = 1000000: must be from"), std::string::npos)
        << msg;
  }
}

}  // namespace
