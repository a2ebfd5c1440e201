// vgrow launch: N ranks of one distributed job on this machine, started as torchrun would
// (MASTER_ADDR, RANK, WORLD_SIZE, LOCAL_RANK). c10d does the rendezvous, through a file only
// this user can reach (VGROW_STORE_FILE) rather than a TCP port: LibTorch's TCPStore would
// listen on every interface.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>

#include <c10/util/Exception.h>

#include "commands.h"
#include "vgrow/dist/process_group.h"

extern char** environ;

namespace vgrow::cli {

std::string self_executable() {
  char buf[PATH_MAX];
  const auto n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  TORCH_CHECK(n > 0, "cannot read /proc/self/exe: ", std::strerror(errno));
  return std::string(buf, static_cast<size_t>(n));
}

namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int> g_signal{0};
void remember_signal(int sig) { g_signal.store(sig); }

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  }
  return "ended abnormally";
}

// This process's environment without the variables each rank gets its own value of.
std::vector<std::string> inherited_environment() {
  static const std::string kOwn[] = {"MASTER_ADDR=", "MASTER_PORT=", "RANK=", "WORLD_SIZE=",
                                     "LOCAL_RANK=", "LOCAL_WORLD_SIZE=",
                                     std::string(dist::kStoreFileVariable) + "="};
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    bool own = false;
    for (const auto& prefix : kOwn) own = own || entry.starts_with(prefix);
    if (!own) env.push_back(entry);
  }
  // NCCL's error handling on, so that a dead rank ends the job within the timeout.
  if (auto setting = dist::nccl_error_handling_setting(); !setting.empty()) {
    env.push_back(std::move(setting));
  }
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Starts one rank in process group `group` (0: a new one led by this rank). Everything the
// child needs is built before fork: a process that holds threads may make only system
// calls between fork and exec.
pid_t spawn_rank(const std::string& exe, std::vector<std::string> args,
                 std::vector<std::string> env, pid_t group) {
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, group);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a launcher that dies takes its ranks with it
    if (::getppid() != parent) ::_exit(1);
    ::execve(exe.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  TORCH_CHECK(pid > 0, "cannot start a rank: ", std::strerror(errno));
  ::setpgid(pid, group == 0 ? pid : group);  // also here, whichever of the two runs first
  return pid;
}

struct Rank {
  int rank = 0;
  pid_t pid = 0;
  bool running = true;
};

int run_ranks(int nproc, double timeout_seconds, const std::vector<std::string>& command) {
  const auto exe = self_executable();
  const dist::PrivateStoreFile store;  // removed when the ranks are done
  std::vector<std::string> args{exe};
  args.insert(args.end(), command.begin(), command.end());
  // The ranks get their own process group: Ctrl-C reaches the launcher, which passes it
  // on once (a second SIGINT would make a rank quit without its checkpoint).
  struct sigaction action {};
  action.sa_handler = remember_signal;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);

  std::vector<Rank> ranks;
  pid_t group = 0;
  for (int r = 0; r < nproc; ++r) {
    auto env = inherited_environment();
    env.push_back("MASTER_ADDR=127.0.0.1");  // Gloo's own connections stay on loopback
    env.push_back(std::string(dist::kStoreFileVariable) + "=" + store.path().string());
    env.push_back("RANK=" + std::to_string(r));
    env.push_back("LOCAL_RANK=" + std::to_string(r));
    env.push_back("WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    const pid_t pid = spawn_rank(exe, args, std::move(env), group);
    if (group == 0) group = pid;
    ranks.push_back({r, pid, true});
  }

  const auto start = Clock::now();
  std::string failure;
  auto kill_at = Clock::time_point::max();  // set once the ranks are being stopped
  auto stop_all = [&](const std::string& why) {
    failure = why;
    for (const auto& r : ranks) {
      if (r.running) ::kill(r.pid, SIGTERM);
    }
    kill_at = Clock::now() + std::chrono::seconds(10);  // then no more waiting for checkpoints
  };
  int running = nproc;
  while (running > 0) {
    // Reap every rank that ended since the last look. Ranks that fail together are named
    // together: one that dies takes the others down moments later.
    std::string failed;
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      for (auto& r : ranks) {
        if (r.pid != pid || !r.running) continue;
        r.running = false;
        --running;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
        failed += (failed.empty() ? "rank " : ", rank ") + std::to_string(r.rank) + " (pid " +
                  std::to_string(pid) + ") " + describe_status(status);
      }
    }
    if (!failed.empty() && failure.empty()) stop_all(failed + "; stopped the other ranks");
    if (const int sig = g_signal.exchange(0)) {
      for (const auto& r : ranks) {
        if (r.running) ::kill(r.pid, sig);
      }
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (timeout_seconds > 0 && elapsed > timeout_seconds && failure.empty()) {
      char limit[32];
      std::snprintf(limit, sizeof(limit), "%g", timeout_seconds);
      stop_all(std::string("the ranks were still running after ") + limit +
               " s (--timeout); stopped them");
    }
    if (Clock::now() > kill_at) {
      for (const auto& r : ranks) {
        if (r.running) ::kill(r.pid, SIGKILL);
      }
      kill_at = Clock::time_point::max();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  TORCH_CHECK(failure.empty(), failure);
  return 0;
}

}  // namespace

void add_launch(CLI::App& app) {
  struct Args {
    int nproc = 1;
    double timeout = 0;
    std::vector<std::string> command;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "launch", "Run a vgrow command as N ranks of one distributed job on this machine");
  cmd->add_option("--nproc", args->nproc, "number of ranks (processes)")
      ->required()
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--timeout", args->timeout,
                  "stop every rank and fail after S seconds (default 0: no limit)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("command", args->command, "-- COMMAND ARGS... (e.g. -- train toy-8gaussians)")
      ->required();
  cmd->footer(
      "Each rank runs this executable with RANK, WORLD_SIZE and LOCAL_RANK set, as torchrun\n"
      "would; the ranks meet through a file in a folder only you can read (VGROW_STORE_FILE),\n"
      "not through a TCP port. If one rank fails, the others are stopped and the launcher\n"
      "exits non-zero naming it. On several machines, start `vgrow train` on each with\n"
      "MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE (torchrun can do it), on a trusted\n"
      "network: c10d's store has no authentication.");
  cmd->callback([args] { run_ranks(args->nproc, args->timeout, args->command); });
}

}  // namespace vgrow::cli
