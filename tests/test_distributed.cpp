// Data-parallel training on c10d (Gloo over 127.0.0.1): the collectives in-process, one
// thread per rank; then whole `vgrow` runs, one process per rank.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/config.h"
#include "vgrow/dist/process_group.h"
#include "vgrow/dist/shard.h"
#include "vgrow/experiment.h"
#include "vgrow/io/checkpoint.h"
#include "test_helpers.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using vgrow::dist::Distributed;
using vgrow::dist::DistContext;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string error_text(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

// Runs `body` as every rank of a world of `world` threads; returns each rank's error ("" if none).
std::vector<std::string> run_threads(int world, const std::function<void(Distributed&)>& body,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const int port = free_port();
  std::vector<std::string> errors(world);
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        Distributed d(DistContext{r, world, r, "127.0.0.1", port}, timeout);
        body(d);
      } catch (const std::exception& e) {
        errors[r] = error_text(e);
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

void expect_no_errors(const std::vector<std::string>& errors) {
  for (size_t r = 0; r < errors.size(); ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
}

TEST(DistributedShard, LocalRowsOfEveryRankMakeUpTheGlobalDraw) {
  const auto rows = torch::randperm(12, torch::kLong).narrow(0, 0, 7);
  int64_t seen = 0;
  for (int64_t r = 0; r < 3; ++r) {
    const auto shard = vgrow::dist::PoolShard::of(12, r, 3);
    const auto local = shard.local_rows(rows);
    seen += local.numel();
    EXPECT_TRUE(((local >= 0) & (local < 4)).all().item<bool>());
  }
  EXPECT_EQ(seen, 7);
  EXPECT_THROW(vgrow::dist::PoolShard::of(10, 0, 3), c10::Error);
  // The share of a global mean: the ranks' contributions average to the global mean.
  const auto terms = torch::rand({8}, torch::kDouble);
  const vgrow::dist::BatchShare share{8, 2};
  const auto avg = (share.mean(terms.narrow(0, 0, 3)) + share.mean(terms.narrow(0, 3, 5))) / 2;
  EXPECT_NEAR(avg.item<double>(), terms.mean().item<double>(), 1e-12);
}

TEST(DistributedApi, WorldOfOneIsTheIdentity) {
  Distributed d(DistContext{}, std::chrono::seconds(1));
  auto t = torch::arange(4, torch::kFloat);
  d.all_reduce_mean({t});
  d.broadcast({t});
  d.barrier();
  d.check_same({t}, "t");
  EXPECT_TRUE(torch::equal(t, torch::arange(4, torch::kFloat)));
  EXPECT_TRUE(d.any(true));
  EXPECT_FALSE(d.any(false));
  EXPECT_EQ(d.describe(), "1 process");
}

TEST(DistributedApi, AllReduceMeanBroadcastAnyOverTwoRanks) {
  expect_no_errors(run_threads(2, [](Distributed& d) {
    const double r = d.rank();
    // Many small tensors of two dtypes: packed into buckets, unpacked in place.
    std::vector<torch::Tensor> grads;
    for (int i = 0; i < 50; ++i) grads.push_back(torch::full({3, i % 4 + 1}, r + i, torch::kFloat));
    grads.push_back(torch::full({5}, 10.0 * r, torch::kDouble));
    d.all_reduce_mean(grads);
    for (int i = 0; i < 50; ++i) {
      if (!torch::allclose(grads[i], torch::full({3, i % 4 + 1}, 0.5 + i, torch::kFloat))) {
        throw std::runtime_error("all_reduce_mean: wrong float result");
      }
    }
    if (!torch::allclose(grads.back(), torch::full({5}, 5.0, torch::kDouble))) {
      throw std::runtime_error("all_reduce_mean: wrong double result");
    }
    auto weights = torch::full({2, 2}, r, torch::kFloat);
    auto counter = torch::full({1}, static_cast<int64_t>(r) + 7, torch::kLong);
    d.broadcast({weights, counter}, 1);
    if (weights.sum().item<double>() != 4.0 || counter.item<int64_t>() != 8) {
      throw std::runtime_error("broadcast from rank 1 did not arrive");
    }
    if (!d.any(d.rank() == 1) || d.any(false)) throw std::runtime_error("any() is wrong");
    d.barrier();
  }));
}

TEST(DistributedApi, CheckSameNamesTheRankThatDiffers) {
  expect_no_errors(run_threads(2, [](Distributed& d) {
    d.check_same({torch::ones({3}), torch::arange(5)}, "weights");
  }));
  const auto errors = run_threads(2, [](Distributed& d) {
    auto w = torch::ones({3});
    if (d.rank() == 1) w[2] = 1.0f + 1e-7f;  // one ulp is enough
    d.check_same({w}, "weights");
  });
  for (const auto& e : errors) EXPECT_NE(e.find("weights on rank(s) 1 differ"), std::string::npos) << e;
}

TEST(DistributedApi, AMissingRankFailsWithinTheTimeout) {
  // Rank 0 waits for a rank 1 that never comes; a rank 1 finds no rank 0.
  for (int rank : {0, 1}) {
    const auto start = Clock::now();
    std::string error;
    try {
      Distributed d(DistContext{rank, 2, rank, "127.0.0.1", free_port()}, std::chrono::seconds(2));
    } catch (const std::exception& e) {
      error = error_text(e);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    EXPECT_NE(error.find("no rendezvous at 127.0.0.1"), std::string::npos) << error;
    EXPECT_LT(seconds, 15.0) << "rank " << rank;
  }
}

TEST(DistributedApi, TrainerRefusesABatchThatDoesNotSplit) {
  vgrow::Config c;
  vgrow::apply_toml_file(c, std::string(VGROW_SOURCE_DIR) + "/configs/toy-8gaussians.toml");
  c.run.threads = 1;
  c.flow.batch_size = 255;
  std::vector<std::unique_ptr<vgrow::Trainer>> trainers;
  for (int r = 0; r < 2; ++r) trainers.push_back(vgrow::make_trainer(c));
  const auto errors = run_threads(2, [&](Distributed& d) {
    trainers[d.rank()]->distribute(std::shared_ptr<Distributed>(&d, [](Distributed*) {}));
  });
  for (const auto& e : errors) EXPECT_NE(e.find("does not split over 2 ranks"), std::string::npos) << e;
}

// ---- whole runs, one process per rank ------------------------------------------------

struct Process {
  pid_t pid = 0;
  fs::path out, err;
};

// Starts the CLI with `args`, extra environment entries, stdout/stderr to files in `dir`.
Process start_cli(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                  const fs::path& dir, const std::string& name) {
  Process p{0, dir / (name + ".out"), dir / (name + ".err")};
  std::vector<std::string> argv_s{VGROW_CLI};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> argv, envp;
  for (auto& s : argv_s) argv.push_back(s.data());
  for (auto& s : env_s) envp.push_back(s.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const int rc = posix_spawn(&p.pid, VGROW_CLI, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0) << "cannot start " << VGROW_CLI;
  return p;
}

// Waits up to `seconds`; returns the wait status, or kills the process and returns -1.
int wait_for(const Process& p, double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(p.pid, &status, WNOHANG) == p.pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(p.pid, SIGKILL);
  ::waitpid(p.pid, nullptr, 0);
  return -1;
}

std::string slurp(const fs::path& file) { return vgrow::testing::file_contents(file); }

bool succeeded(int status) { return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

fs::path fresh_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("vgrow-test-dist-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The toy preset, small: pool 4 x 64, 5 flow steps of 5 D steps, 3 projection passes.
std::vector<std::string> toy_args(const fs::path& out_dir, int64_t loops) {
  return {"train", "toy-8gaussians", "--quiet", "run.loops=" + std::to_string(loops),
          "run.minutes=0", "run.threads=1", "run.seed=5", "run.checkpoint_every=1",
          "run.sample_every=1000", "flow.batch_size=64", "run.dist_timeout_seconds=30",
          "run.out_dir=" + out_dir.string()};
}

fs::path only_run_folder(const fs::path& out_dir) {
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(out_dir)) runs.push_back(e.path());
  EXPECT_EQ(runs.size(), 1u) << out_dir;
  return runs.empty() ? out_dir : runs.front();
}

// G's and D's parameters from a run folder's newest checkpoint, in one flat vector.
torch::Tensor trained_weights(const fs::path& run_dir) {
  const auto file = vgrow::io::resolve_checkpoint(run_dir);
  const auto ck = vgrow::io::read_generator_checkpoint(file);
  vgrow::Config c;
  vgrow::apply_toml(c, ck.config_toml, file.string());
  auto nets = vgrow::make_networks(c, ck.sample_shape);
  torch::serialize::InputArchive archive, g, d;
  archive.load_from(file.string());
  archive.read("generator", g);
  archive.read("discriminator", d);
  nets.generator.ptr()->load(g);
  nets.discriminator.ptr()->load(d);
  std::vector<torch::Tensor> flat;
  for (const auto& p : nets.generator.ptr()->parameters()) flat.push_back(p.detach().flatten());
  for (const auto& p : nets.discriminator.ptr()->parameters()) flat.push_back(p.detach().flatten());
  return torch::cat(flat);
}

// Two ranks compute what one process computes: the same global batches, pool and
// shuffles, split two ways. Only float rounding differs (sums taken in another order): after
// 3 outer loops (75 D steps, 36 G steps of Adam) the weights differed by 1e-6 at most when
// measured; the test allows 2e-5 (weights are of order 0.1). The two
// ranks themselves must agree bitwise: each checkpoint runs Trainer::check_replicas, which
// fails the run if they do not (DistributedApi.CheckSameNamesTheRankThatDiffers).
TEST(DistributedTraining, TwoRanksMatchOneProcess) {
  const auto dir = fresh_dir("match");
  auto single = start_cli(toy_args(dir / "single", 3), {}, dir, "single");
  ASSERT_TRUE(succeeded(wait_for(single, 120))) << slurp(single.err);
  auto launch_args = std::vector<std::string>{"launch", "--nproc", "2", "--port",
                                              std::to_string(free_port()), "--timeout", "120", "--"};
  for (const auto& a : toy_args(dir / "dist", 3)) launch_args.push_back(a);
  auto two = start_cli(launch_args, {}, dir, "two");
  ASSERT_TRUE(succeeded(wait_for(two, 150))) << slurp(two.err);

  const auto one_rank = trained_weights(only_run_folder(dir / "single"));
  const auto two_ranks = trained_weights(only_run_folder(dir / "dist"));
  const double diff = (one_rank - two_ranks).abs().max().item<double>();
  EXPECT_LT(diff, 2e-5) << "1 process vs 2 ranks, max |weight difference|";
  EXPECT_GT(one_rank.abs().max().item<double>(), 0.05);  // a real network, not zeros
  std::cout << "[          ] max |w(1 process) - w(2 ranks)| = " << diff << "\n";
  fs::remove_all(dir);
}

TEST(DistributedTraining, CheckpointOfTwoRanksResumesInOneProcess) {
  // Every rank's state is the global state (weights, optimiser moments, sampler and
  // random stream), so a 2-rank checkpoint continues in one process as if never split.
  const auto dir = fresh_dir("resume");
  auto launch_args = std::vector<std::string>{"launch", "--nproc", "2", "--timeout", "120", "--"};
  for (const auto& a : toy_args(dir / "dist", 2)) launch_args.push_back(a);
  auto two = start_cli(launch_args, {}, dir, "two");
  ASSERT_TRUE(succeeded(wait_for(two, 150))) << slurp(two.err);
  const auto run = only_run_folder(dir / "dist");
  auto resumed = start_cli({"train", "--resume", run.string(), "--quiet", "run.loops=3"}, {}, dir,
                           "resumed");
  ASSERT_TRUE(succeeded(wait_for(resumed, 120))) << slurp(resumed.err);
  auto single = start_cli(toy_args(dir / "single", 3), {}, dir, "single");
  ASSERT_TRUE(succeeded(wait_for(single, 120))) << slurp(single.err);
  const double diff =
      (trained_weights(run) - trained_weights(only_run_folder(dir / "single"))).abs().max().item<double>();
  EXPECT_LT(diff, 2e-5);
  std::cout << "[          ] max |w(1 process) - w(2 ranks, resumed in 1)| = " << diff << "\n";
  fs::remove_all(dir);
}

// A long toy run that prints a progress line after every outer loop.
std::vector<std::string> endless_toy_args(const fs::path& out_dir) {
  auto args = toy_args(out_dir, 1000000);
  args.erase(std::find(args.begin(), args.end(), "--quiet"));
  args.push_back("run.log_every=1");
  args.push_back("run.dist_timeout_seconds=20");
  return args;
}

// Waits until `p` has printed a progress line, i.e. finished an outer loop.
bool wait_for_progress(const Process& p) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    if (slurp(p.out).find("/1000000]") != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Rank 1 is killed mid-run (no launcher in between): rank 0 must notice by itself and
// exit non-zero with a message, well within its timeout, instead of hanging.
TEST(DistributedFailure, KilledRankStopsTheOtherWithAMessage) {
  const auto dir = fresh_dir("kill");
  const auto args = endless_toy_args(dir / "runs");
  const auto port = std::to_string(free_port());
  auto env = [&](int rank) {
    return std::vector<std::string>{"MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port,
                                    "WORLD_SIZE=2", "RANK=" + std::to_string(rank),
                                    "LOCAL_RANK=" + std::to_string(rank)};
  };
  auto rank0 = start_cli(args, env(0), dir, "rank0");
  auto rank1 = start_cli(args, env(1), dir, "rank1");
  ASSERT_TRUE(wait_for_progress(rank0)) << slurp(rank0.err);
  ::kill(rank1.pid, SIGKILL);
  ::waitpid(rank1.pid, nullptr, 0);
  const auto killed = Clock::now();
  const int status = wait_for(rank0, 40);
  const double seconds = std::chrono::duration<double>(Clock::now() - killed).count();
  ASSERT_NE(status, -1) << "rank 0 still running 40 s after rank 1 died";
  EXPECT_FALSE(succeeded(status));
  EXPECT_LT(seconds, 25.0);
  const auto err = slurp(rank0.err);
  EXPECT_NE(err.find("rank 0 of 2"), std::string::npos) << err;
  EXPECT_NE(err.find("another rank has stopped"), std::string::npos) << err;
  fs::remove_all(dir);
}

// Under `vgrow launch`, a rank that dies makes the launcher stop the others and name it.
TEST(DistributedFailure, LauncherStopsTheOthersAndNamesTheFailedRank) {
  const auto dir = fresh_dir("launch");
  auto launch_args = std::vector<std::string>{"launch", "--nproc", "2", "--timeout", "120", "--"};
  for (const auto& a : endless_toy_args(dir / "runs")) launch_args.push_back(a);
  auto launcher = start_cli(launch_args, {}, dir, "launcher");
  ASSERT_TRUE(wait_for_progress(launcher)) << slurp(launcher.err);
  // Rank 1 is the launcher's child whose environment says RANK=1.
  pid_t rank1 = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (rank1 == 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::istringstream children(slurp("/proc/" + std::to_string(launcher.pid) + "/task/" +
                                      std::to_string(launcher.pid) + "/children"));
    for (pid_t child; children >> child;) {
      auto environment = slurp("/proc/" + std::to_string(child) + "/environ");
      std::replace(environment.begin(), environment.end(), '\0', '\n');
      if (("\n" + environment).find("\nRANK=1\n") != std::string::npos) rank1 = child;
    }
  }
  ASSERT_NE(rank1, 0) << "no rank 1 among the launcher's children";
  ::kill(rank1, SIGKILL);
  const auto killed = Clock::now();
  const int status = wait_for(launcher, 30);
  ASSERT_NE(status, -1) << "launcher still running 30 s after rank 1 died";
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - killed).count(), 5.0);
  EXPECT_FALSE(succeeded(status));
  const auto err = slurp(launcher.err);
  EXPECT_NE(err.find("rank 1 (pid " + std::to_string(rank1) + ") was killed by signal 9"),
            std::string::npos)
      << err;
  fs::remove_all(dir);
}

}  // namespace
