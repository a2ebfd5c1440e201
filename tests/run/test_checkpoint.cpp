#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include "cli_helpers.h"
#include "vgrow/run/config.h"
#include "vgrow/run/experiment.h"
#include "vgrow/io/atomic_file.h"
#include "vgrow/run/checkpoint.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using vgrow::testing::only_run;
using vgrow::testing::run_cli;
using vgrow::testing::TempDir;

// Every parameter and buffer of the generator stored in a checkpoint.
std::vector<torch::Tensor> generator_state(const fs::path& run_dir) {
  auto trained = vgrow::load_trained_generator(run_dir.string());
  auto& module = *trained.generator.ptr();
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters()) out.push_back(p.detach().clone());
  for (const auto& b : module.buffers()) out.push_back(b.clone());
  return out;
}

void expect_bit_identical(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "tensor " << i;
}

// 2N loops in one go equal N loops, then a resume for N more, bit for bit (CPU).
void check_resume_is_exact(const std::string& config_args) {
  TempDir whole("vgrow-whole"), split("vgrow-split");
  auto r = run_cli("train " + config_args + " run.loops=6 run.out_dir=" + whole.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("train " + config_args + " run.loops=3 run.out_dir=" + split.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = only_run(split.path());
  r = run_cli("train --resume " + run.string() + " --quiet run.loops=6");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto a = generator_state(only_run(whole.path()));
  const auto b = generator_state(run);
  expect_bit_identical(a, b);
  // And the state really moved: a 3-loop generator differs from the 6-loop one.
  EXPECT_GT(vgrow::io::list_checkpoints(run).size(), 0u);
}

TEST(Checkpoint, ResumeIsBitIdenticalOnToyData) {
  check_resume_is_exact("toy-8gaussians --quiet run.threads=1 run.checkpoint_every=2");
}

TEST(Checkpoint, ResumeIsBitIdenticalOnImages) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  check_resume_is_exact(
      "--quiet run.threads=1 run.minutes=0 data.limit=256 model.g_width=8 model.d_width=8 "
      "flow.pool_batches=2 flow.batch_size=16 flow.particle_steps=2 run.checkpoint_every=2");
}

// bf16 autocast with loss scaling: the scalers' state travels in the checkpoint.
TEST(Checkpoint, ResumeIsBitIdenticalInBf16WithLossScaling) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  check_resume_is_exact(
      "--quiet run.threads=1 run.minutes=0 data.limit=256 model.g_width=8 model.d_width=8 "
      "flow.pool_batches=2 flow.batch_size=16 flow.particle_steps=2 run.checkpoint_every=2 "
      "run.precision=bf16 run.loss_scaling=true");
}

// run.reproducible: the same bits whatever kernels the host would pick. The second run gets
// the environment another CPU would give (other ATen, OpenBLAS and oneDNN kernel families);
// without the key those settings do change the result, so the comparison can fail.
TEST(ReproducibleRun, IsBitIdenticalWhateverKernelsTheHostOffers) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  const std::string args =
      " --quiet run.threads=2 run.minutes=0 data.limit=256 model.g_width=8 model.d_width=8 "
      "flow.pool_batches=2 flow.batch_size=16 flow.particle_steps=2 run.loops=3";
  const std::string other_cpu =
      "env ATEN_CPU_CAPABILITY=default OPENBLAS_CORETYPE=Nehalem ONEDNN_MAX_CPU_ISA=SSE41 ";
  const auto train = [&](const std::string& env, const std::string& extra, const TempDir& dir) {
    const auto r = vgrow::testing::run_shell(env + VGROW_CLI + std::string(" train") + args +
                                             extra + " run.out_dir=" + dir.str() + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return generator_state(only_run(dir.path()));
  };
  TempDir a("vgrow-repro"), b("vgrow-repro"), c("vgrow-repro"), d("vgrow-repro");
  const auto here = train("", " run.reproducible=true", a);
  const auto elsewhere = train(other_cpu, " run.reproducible=true", b);
  expect_bit_identical(here, elsewhere);

  const auto fast_here = train("", "", c);
  const auto fast_elsewhere = train(other_cpu, "", d);
  ASSERT_EQ(fast_here.size(), fast_elsewhere.size());
  bool any_differs = false;
  for (size_t i = 0; i < fast_here.size(); ++i) {
    any_differs = any_differs || !torch::equal(fast_here[i], fast_elsewhere[i]);
  }
  EXPECT_TRUE(any_differs) << "the host's kernels made no difference: this test proves nothing";
}

TEST(ReproducibleRun, RefusesLowerPrecision) {
  const auto r = run_cli("train --quiet run.reproducible=true run.precision=bf16 run.loops=1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("run.precision"));
  EXPECT_THAT(r.output, HasSubstr("run.reproducible"));
}

TEST(Checkpoint, ResumeRefusesAnIncompatibleConfig) {
  TempDir dir("vgrow-ckpt");
  auto r = run_cli("train toy-8gaussians --quiet run.loops=2 run.out_dir=" + dir.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("train --resume " + only_run(dir.path()).string() + " flow.particle_steps=3");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("flow.particle_steps"));
}

// Only vgrow's own checkpoint-<digits>.pt files count, ordered by loop number (past 999999
// too); a user's file beside them is never listed, so rotation never deletes it.
TEST(Checkpoint, RotationGoesByLoopNumberAndKeepsAUsersFiles) {
  TempDir dir("vgrow-ckpt");
  for (const char* name : {"checkpoint-999999.pt", "checkpoint-1000000.pt", "checkpoint-000200.pt",
                           "checkpoint-000200-good.pt", "checkpoint-.pt", "checkpoint-12.pt.bak",
                           "checkpoint-+5.pt"}) {
    std::ofstream(dir.path() / name) << "x";
  }
  std::vector<std::string> names;
  for (const auto& f : vgrow::io::list_checkpoints(dir.path())) names.push_back(f.filename());
  EXPECT_EQ(names, (std::vector<std::string>{"checkpoint-000200.pt", "checkpoint-999999.pt",
                                             "checkpoint-1000000.pt"}));

  TempDir runs("vgrow-ckpt");
  auto r = run_cli("train toy-8gaussians --quiet run.loops=2 run.checkpoint_every=1 "
                   "run.out_dir=" + runs.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = only_run(runs.path());
  fs::copy_file(run / "checkpoint-000002.pt", run / "checkpoint-000002-good.pt");
  r = run_cli("train --resume " + run.string() +
              " --quiet run.loops=5 run.checkpoint_every=1 run.keep_checkpoints=1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(run / "checkpoint-000002-good.pt")) << "rotation deleted a user's file";
  ASSERT_EQ(vgrow::io::list_checkpoints(run).size(), 1u);
  EXPECT_EQ(vgrow::io::list_checkpoints(run).front().filename(), "checkpoint-000005.pt");
}

// A damaged newest checkpoint is named, and the run resumes from the next older one.
TEST(Checkpoint, ResumeSkipsADamagedNewestCheckpointAndSaysSo) {
  TempDir dir("vgrow-ckpt");
  auto r = run_cli("train toy-8gaussians --quiet run.loops=2 run.checkpoint_every=1 "
                   "run.out_dir=" + dir.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = only_run(dir.path());
  std::ofstream(run / "checkpoint-000002.pt", std::ios::trunc) << "damaged";
  r = run_cli("train --resume " + run.string() + " run.loops=3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("checkpoint-000002.pt"));
  EXPECT_THAT(r.output, HasSubstr("using checkpoint-000001.pt instead"));
  EXPECT_THAT(r.output, HasSubstr("at loop 1"));
  EXPECT_TRUE(fs::exists(run / "checkpoint-000003.pt"));
  // With every checkpoint damaged there is nothing to resume from: an error, not a crash.
  for (const auto& f : vgrow::io::list_checkpoints(run)) {
    std::ofstream(f, std::ios::trunc) << "damaged";
  }
  r = run_cli("train --resume " + run.string() + " run.loops=4");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("every checkpoint in"));
}

// The config stored in a checkpoint builds the generator: a damaged or hostile one is refused
// by name before it can ask for a network of any size.
TEST(Checkpoint, AStoredConfigIsValidatedBeforeItBuildsAnything) {
  TempDir dir("vgrow-ckpt");
  auto r = run_cli("train toy-8gaussians --quiet run.loops=1 run.out_dir=" + dir.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto trained = vgrow::load_trained_generator(only_run(dir.path()).string());
  auto trainer = vgrow::make_trainer(trained.config);
  auto hostile = trained.config;
  hostile.model.mlp_hidden = 1'000'000'000;
  const auto file = dir.path() / "hostile.pt";
  vgrow::io::save_checkpoint_file(file, *trainer, vgrow::to_toml(hostile));
  r = run_cli("sample " + file.string() + " -n 4 -o " + dir.str() + "/x.csv");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("holds an invalid config"));
  EXPECT_THAT(r.output, HasSubstr("model.mlp_hidden"));
}

// A writer killed half way leaves the previous file whole and loadable.
TEST(Checkpoint, KilledWriteLeavesThePreviousCheckpointLoadable) {
  TempDir dir("vgrow-ckpt");
  auto r = run_cli("train toy-8gaussians --quiet run.loops=2 run.out_dir=" + dir.str());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto run = only_run(dir.path());
  const auto file = vgrow::io::resolve_checkpoint(run);
  const auto before = generator_state(run);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    vgrow::io::write_atomically(file, [](const fs::path& tmp) {
      std::ofstream out(tmp, std::ios::binary);
      out << "partial checkpoint bytes";
      out.flush();
      _exit(9);  // killed mid-write
    });
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 9);
  expect_bit_identical(before, generator_state(run));
  r = run_cli("train --resume " + run.string() + " --quiet run.loops=3");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// Ctrl-C finishes the outer loop, writes a checkpoint and exits cleanly; the run resumes.
TEST(Checkpoint, InterruptWritesACheckpointAndExitsCleanly) {
  TempDir dir("vgrow-int");
  std::ostringstream cmd;
  cmd << "(" << VGROW_CLI << " train toy-8gaussians run.threads=1 run.loops=100000 "
      << "run.checkpoint_every=100000 run.out_dir=" << dir.str()
      << " & pid=$!; sleep 6; kill -INT $pid; wait $pid; echo exit=$?) 2>&1";
  const auto out = vgrow::testing::run_shell(cmd.str()).output;
  EXPECT_THAT(out, HasSubstr("stopped (interrupted)"));
  EXPECT_THAT(out, HasSubstr("exit=0"));
  const auto run = only_run(dir.path());
  ASSERT_EQ(vgrow::io::list_checkpoints(run).size(), 1u) << out;
  const auto r = run_cli("train --resume " + run.string() + " --quiet run.loops=" +
                         std::to_string(vgrow::load_trained_generator(run.string()).loop + 1));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Checkpoint, CorruptCheckpointIsNamed) {
  TempDir dir("vgrow-ckpt");
  const auto file = dir.path() / "checkpoint-000001.pt";
  std::ofstream(file) << "not a checkpoint";
  const auto r = run_cli("sample " + file.string() + " -n 4 -o " + dir.str() + "/x.csv");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("checkpoint-000001.pt"));
}

}  // namespace
