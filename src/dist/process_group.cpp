#include "vgrow/dist/process_group.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>

#include <torch/torch.h>
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
// Gloo's headers come apart from LibTorch's (Debian: libgloo-dev); without them the CPU
// backend is missing at run time, not at build time.
#if defined(USE_C10D_GLOO) && __has_include(<gloo/algorithm.h>)
#define VGROW_HAVE_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace vgrow::dist {
namespace {

// Gloo and NCCL derive from ProcessGroup in LibTorch 1.x and from Backend in 2.x.
#if TORCH_VERSION_MAJOR >= 2
using BackendBase = ::c10d::Backend;
#else
using BackendBase = ::c10d::ProcessGroup;
#endif

// DDP's default bucket: large enough that per-call latency vanishes, small enough to
// bound the extra copy.
constexpr int64_t kBucketBytes = 25 << 20;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int env_int(const char* name, int fallback) {
  const auto text = env(name);
  if (text.empty()) return fallback;
  try {
    size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  TORCH_CHECK(false, "environment variable ", name, "='", text, "' is not an integer");
}

std::string message_of(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr == "::1" || addr.starts_with("127.");
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The rendezvous file and its folder must be this user's alone: whoever can write the store
// can join the job or feed the ranks' rendezvous what it likes.
void check_private(const std::filesystem::path& path, bool folder) {
  const auto name =
      std::string(folder ? "the folder of the rendezvous file" : "the rendezvous file") + " '" +
      path.string() + "' (" + kStoreFileVariable + ")";
  struct stat st {};
  TORCH_CHECK(::stat(path.c_str(), &st) == 0, name, " cannot be read: ", std::strerror(errno));
  TORCH_CHECK(folder ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode), name, " is not a ",
              folder ? "folder" : "regular file");
  TORCH_CHECK(st.st_uid == ::geteuid(), name, " belongs to user ", st.st_uid, ", not to this one (",
              ::geteuid(), ")");
  TORCH_CHECK((st.st_mode & 077) == 0, name, " has mode ", octal_mode(st.st_mode),
              ": others may use it; it must be ", folder ? "0700" : "0600");
}

c10::intrusive_ptr<::c10d::Store> make_store(const DistContext& c,
                                             std::chrono::milliseconds timeout) {
  if (!c.store_file.empty()) {
    auto store = c10::make_intrusive<::c10d::FileStore>(c.store_file, c.world);
    store->setTimeout(timeout);
    return store;
  }
  ::c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(c.master_port);
  options.isServer = c.rank == 0;
  options.numWorkers = static_cast<size_t>(c.world);
  options.waitWorkers = true;
  options.timeout = timeout;
  return c10::make_intrusive<::c10d::TCPStore>(c.master_addr, options);
}

// "at 127.0.0.1:29500" or "in /tmp/vgrow-rendezvous-ab12Cd/store".
std::string rendezvous_place(const DistContext& c) {
  if (!c.store_file.empty()) return "in " + c.store_file;
  return "at " + c.master_addr + ":" + std::to_string(c.master_port);
}

// The variable this LibTorch's ProcessGroupNCCL reads for its asynchronous error handling.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 2)
constexpr const char* kNcclErrorHandling = "TORCH_NCCL_ASYNC_ERROR_HANDLING";
#else
constexpr const char* kNcclErrorHandling = "NCCL_ASYNC_ERROR_HANDLING";
#endif

// Line `n` (from 0) of `text`, clipped for a message; nullopt past the last line.
std::optional<std::string> line_of(const std::string& text, size_t n) {
  size_t start = 0;
  for (size_t i = 0; i < n && start != std::string::npos; ++i) {
    start = text.find('\n', start);
    if (start != std::string::npos) ++start;
  }
  if (start == std::string::npos || start >= text.size()) return std::nullopt;
  auto line = text.substr(start, text.find('\n', start) - start);
  constexpr size_t kShown = 160;
  if (line.size() > kShown) line = line.substr(0, kShown) + "...";
  return line;
}

// Where `mine` (rank `rank`'s text) first differs from rank 0's `root`, line by line.
std::string first_difference(const std::string& root, const std::string& mine, int rank) {
  const auto quoted = [](const std::optional<std::string>& line) {
    return line ? "'" + *line + "'" : std::string("no such line");
  };
  for (size_t n = 0;; ++n) {
    const auto a = line_of(root, n), b = line_of(mine, n);
    if (a != b) {
      return "line " + std::to_string(n + 1) + ": rank 0 has " + quoted(a) + ", rank " +
             std::to_string(rank) + " has " + quoted(b);
    }
    if (!a) return "the end: only one of the texts ends in a newline";
  }
}

// Tensors of one dtype and device, flattened into one contiguous tensor on the backend's
// device (NCCL takes only CUDA tensors; a CPU tensor such as the random state travels too).
struct Bucket {
  torch::Tensor flat;
  std::vector<size_t> members;  // indices into the caller's list
};

std::vector<Bucket> make_buckets(const std::vector<torch::Tensor>& tensors, torch::Device device) {
  // Group by dtype and device first, in order of first appearance; then split by size.
  std::vector<std::vector<size_t>> groups;
  std::map<std::pair<int, std::string>, size_t> group_of;
  for (size_t i = 0; i < tensors.size(); ++i) {
    TORCH_CHECK(tensors[i].defined(), "collective on an undefined tensor (list position ", i, ")");
    const auto key = std::make_pair(static_cast<int>(tensors[i].scalar_type()),
                                    tensors[i].device().str());
    const auto [it, added] = group_of.emplace(key, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(i);
  }
  std::vector<Bucket> buckets;
  for (const auto& group : groups) {
    std::vector<torch::Tensor> parts;
    std::vector<size_t> members;
    int64_t bytes = 0;
    auto flush = [&] {
      if (parts.empty()) return;
      buckets.push_back({torch::cat(parts).to(device), members});
      parts.clear();
      members.clear();
      bytes = 0;
    };
    for (const size_t i : group) {
      const auto& t = tensors[i];
      const int64_t size = t.numel() * static_cast<int64_t>(t.element_size());
      if (bytes > 0 && bytes + size > kBucketBytes) flush();
      parts.push_back(t.detach().reshape({-1}));
      members.push_back(i);
      bytes += size;
    }
    flush();
  }
  return buckets;
}

void unpack(const Bucket& bucket, const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;  // the tensors may be parameters
  int64_t offset = 0;
  for (const size_t i : bucket.members) {
    auto t = tensors[i];
    t.copy_(bucket.flat.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

}  // namespace

struct Distributed::Impl {
  std::chrono::milliseconds timeout;
  torch::Device device = torch::kCPU;
  std::string backend_name;
  c10::intrusive_ptr<::c10d::Store> store;
  c10::intrusive_ptr<BackendBase> backend;
  int rank = 0, world = 1;

  int64_t main_sections = 0;  // run_on_main calls so far: each waits on a key of its own

  // Runs one collective and waits; a failure names this rank and the likely cause.
  template <class Start>
  void run(const char* what, Start&& start) {
    try {
      start()->wait();
    } catch (const std::exception& e) {
      TORCH_CHECK(false, "rank ", rank, " of ", world, ": ", what,
                  " failed: another rank has stopped, or did not answer within ",
                  timeout.count() / 1000.0, " s (run.dist_timeout_seconds)\n  ", message_of(e));
    }
  }
  void all_reduce(torch::Tensor& t, ::c10d::ReduceOp op) {
    std::vector<torch::Tensor> list{t};
    ::c10d::AllreduceOptions options;
    options.reduceOp = op;
    run("all-reduce", [&] { return backend->allreduce(list, options); });
  }
  void broadcast(torch::Tensor& t, int root) {
    std::vector<torch::Tensor> list{t};
    ::c10d::BroadcastOptions options;
    options.rootRank = root;
    run("broadcast", [&] { return backend->broadcast(list, options); });
  }
  // Rank `root`'s text, on every rank.
  std::string broadcast_text(const std::string& text, int root) {
    auto size = torch::full({1}, static_cast<int64_t>(text.size()),
                            torch::TensorOptions(torch::kLong).device(device));
    broadcast(size, root);
    const int64_t n = size.item<int64_t>();
    if (n == 0) return {};
    auto bytes = torch::empty({n}, torch::kByte);
    if (rank == root) std::memcpy(bytes.data_ptr(), text.data(), text.size());
    bytes = bytes.to(device);
    broadcast(bytes, root);
    bytes = bytes.cpu().contiguous();
    return std::string(static_cast<const char*>(bytes.data_ptr()), static_cast<size_t>(n));
  }
};

DistContext context_from_env() {
  DistContext c;
  c.world = env_int("WORLD_SIZE", 1);
  TORCH_CHECK(c.world >= 1, "WORLD_SIZE must be at least 1, got ", c.world);
  if (c.world == 1) return c;
  TORCH_CHECK(!env("RANK").empty(), "WORLD_SIZE=", c.world,
              " but RANK is not set (set MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE "
              "for every process, as torchrun does)");
  c.rank = env_int("RANK", 0);
  TORCH_CHECK(c.rank >= 0 && c.rank < c.world, "RANK=", c.rank, " is outside WORLD_SIZE=",
              c.world);
  c.local_rank = env_int("LOCAL_RANK", 0);
  if (!env("MASTER_ADDR").empty()) c.master_addr = env("MASTER_ADDR");
  c.master_port = env_int("MASTER_PORT", c.master_port);
  TORCH_CHECK(c.master_port > 0 && c.master_port < 65536, "MASTER_PORT=", c.master_port,
              " is not a TCP port");
  c.store_file = env(kStoreFileVariable);
  return c;
}

PrivateStoreFile::PrivateStoreFile() {
  auto pattern = (std::filesystem::temp_directory_path() / "vgrow-rendezvous-XXXXXX").string();
  TORCH_CHECK(::mkdtemp(pattern.data()) != nullptr, "cannot create a rendezvous folder like '",
              pattern, "': ", std::strerror(errno));
  const std::filesystem::path dir = pattern;
  path_ = dir / "store";
  // Exact modes, whatever the umask.
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  const bool ok = fd >= 0 && ::fchmod(fd, 0600) == 0 && ::chmod(dir.c_str(), 0700) == 0;
  const int error = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    TORCH_CHECK(false, "cannot create the rendezvous file '", path_.string(), "': ",
                std::strerror(error));
  }
}

PrivateStoreFile::~PrivateStoreFile() {
  std::error_code ignored;
  std::filesystem::remove_all(path_.parent_path(), ignored);
}

std::string nccl_error_handling_setting() {
  if (!env("TORCH_NCCL_ASYNC_ERROR_HANDLING").empty() ||
      !env("NCCL_ASYNC_ERROR_HANDLING").empty()) {
    return {};
  }
  return std::string(kNcclErrorHandling) + "=1";
}

Distributed::Distributed(DistContext context, std::chrono::milliseconds timeout,
                         torch::Device device)
    : context_(std::move(context)), impl_(std::make_unique<Impl>()) {
  TORCH_CHECK(timeout.count() > 0, "the distributed timeout must be positive");
  impl_->timeout = timeout;
  impl_->device = device;
  impl_->rank = context_.rank;
  impl_->world = context_.world;
  if (context_.world == 1) return;

#ifndef USE_C10D_NCCL
  TORCH_CHECK(!device.is_cuda(), "distributed training on CUDA needs LibTorch with NCCL; this "
                                 "build has none (use run.device=cpu)");
#endif
#ifndef VGROW_HAVE_GLOO
  TORCH_CHECK(device.is_cuda(), "distributed training on the CPU needs c10d's Gloo backend; "
                                "this build has none (Debian: install libgloo-dev, rebuild)");
#endif
  if (!context_.store_file.empty()) {
    check_private(context_.store_file, false);
    check_private(std::filesystem::absolute(context_.store_file).parent_path(), true);
  }
  try {
    impl_->store = make_store(context_, timeout);
    if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
      c10::cuda::set_device(static_cast<c10::DeviceIndex>(context_.local_rank));
      impl_->device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(context_.local_rank));
      // ProcessGroupNCCL reads its error handling from the environment only. With it, a
      // collective that a dead peer holds up is aborted after `timeout`, ending the job,
      // instead of waiting for ever.
      if (!nccl_error_handling_setting().empty()) ::setenv(kNcclErrorHandling, "1", 0);
      auto nccl = ::c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      impl_->backend = c10::make_intrusive<::c10d::ProcessGroupNCCL>(
          impl_->store, context_.rank, context_.world, nccl);
      impl_->backend_name = "nccl";
#endif
    } else {
#ifdef VGROW_HAVE_GLOO
      auto gloo = ::c10d::ProcessGroupGloo::Options::create(timeout);
      // Loopback for one machine (vgrow launch); otherwise the interface torch would pick.
      const auto ifname = env("GLOO_SOCKET_IFNAME");
      if (!ifname.empty()) {
        gloo->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (is_loopback(context_.master_addr)) {
        gloo->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        gloo->devices.push_back(::c10d::ProcessGroupGloo::createDefaultDevice());
      }
      impl_->backend = c10::make_intrusive<::c10d::ProcessGroupGloo>(
          impl_->store, context_.rank, context_.world, gloo);
      impl_->backend_name = "gloo";
#endif
    }
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "rank ", context_.rank, " of ", context_.world, ": no rendezvous ",
                rendezvous_place(context_), " within ", timeout.count() / 1000.0,
                " s (run.dist_timeout_seconds): a rank did not arrive",
                context_.store_file.empty() ? ", or the port is taken" : "", "\n  ",
                message_of(e));
  }
}

Distributed::~Distributed() = default;

std::string Distributed::describe() const {
  if (world() == 1) return "1 process";
  return std::to_string(world()) + " ranks, " + impl_->backend_name + ", rendezvous " +
         rendezvous_place(context_);
}

void Distributed::all_reduce_mean(const std::vector<torch::Tensor>& tensors) {
  if (world() == 1) return;
  for (auto& bucket : make_buckets(tensors, impl_->device)) {
    TORCH_CHECK(bucket.flat.is_floating_point(), "all_reduce_mean needs floating-point tensors, got ",
                bucket.flat.scalar_type());
    impl_->all_reduce(bucket.flat, ::c10d::ReduceOp::SUM);
    bucket.flat.div_(world());
    unpack(bucket, tensors);
  }
}

void Distributed::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  TORCH_CHECK(root >= 0 && root < world(), "broadcast root ", root, " is not a rank of ", world());
  if (world() == 1) return;
  for (auto& bucket : make_buckets(tensors, impl_->device)) {
    impl_->broadcast(bucket.flat, root);
    unpack(bucket, tensors);
  }
}

void Distributed::barrier() {
  if (world() == 1) return;
  impl_->run("barrier", [&] { return impl_->backend->barrier(); });
}

bool Distributed::any(bool flag) {
  if (world() == 1) return flag;
  auto t = torch::full({1}, flag ? 1 : 0, torch::TensorOptions(torch::kInt).device(impl_->device));
  impl_->all_reduce(t, ::c10d::ReduceOp::MAX);
  return t.item<int>() > 0;
}

void Distributed::check_same(const std::vector<torch::Tensor>& tensors, const std::string& what) {
  if (world() == 1) return;
  bool differs = false;
  for (auto& bucket : make_buckets(tensors, impl_->device)) {
    auto root = bucket.flat.clone();
    impl_->broadcast(root, 0);
    // Bytes, not values: NaN != NaN, and "identical" means identical.
    differs = differs || !torch::equal(root.view(torch::kByte), bucket.flat.view(torch::kByte));
  }
  auto flags = torch::zeros({world()}, torch::TensorOptions(torch::kInt).device(impl_->device));
  flags[rank()] = differs ? 1 : 0;
  impl_->all_reduce(flags, ::c10d::ReduceOp::MAX);
  const auto cpu = flags.cpu();
  std::string ranks;
  for (int r = 0; r < world(); ++r) {
    if (cpu[r].item<int>() != 0) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
  }
  TORCH_CHECK(ranks.empty(), "ranks out of step: ", what, " on rank(s) ", ranks,
              " differ from rank 0's (seen on rank ", rank(), ")");
}

void Distributed::check_same_text(const std::string& text, const std::string& what) {
  if (world() == 1) return;
  const auto root_text = impl_->broadcast_text(text, 0);
  const bool differs = root_text != text;
  auto flags = torch::zeros({world()}, torch::TensorOptions(torch::kInt).device(impl_->device));
  flags[rank()] = differs ? 1 : 0;
  impl_->all_reduce(flags, ::c10d::ReduceOp::MAX);
  const auto cpu = flags.cpu();
  std::string ranks;
  int first = -1;
  for (int r = 0; r < world(); ++r) {
    if (cpu[r].item<int>() == 0) continue;
    ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    if (first < 0) first = r;
  }
  if (first < 0) return;
  // The first rank that differs tells every rank where.
  const auto where = impl_->broadcast_text(
      rank() == first ? first_difference(root_text, text, rank()) : std::string(), first);
  TORCH_CHECK(false, "ranks out of step: ", what, " on rank(s) ", ranks,
              " differs from rank 0's (seen on rank ", rank(), "); first difference at ", where);
}

void Distributed::run_on_main(const std::string& what, std::chrono::milliseconds wait_limit,
                              const std::function<void()>& section) {
  TORCH_CHECK(wait_limit.count() > 0, "run_on_main(", what,
              "): the wait limit must be positive, got ", wait_limit.count(), " ms");
  if (world() == 1) {
    section();
    return;
  }
  // Rank 0 leaves its outcome under a key of this call's own; the others wait for it in the
  // store, where no collective timeout runs.
  const auto key = "vgrow/main/" + std::to_string(impl_->main_sections++);
  constexpr std::string_view kDone = "done", kFailed = "failed: ";
  std::string outcome(kDone);
  std::exception_ptr failure;
  if (is_main()) {
    try {
      section();
    } catch (const std::exception& e) {
      failure = std::current_exception();
      outcome = std::string(kFailed) + message_of(e);
    } catch (...) {
      failure = std::current_exception();
      outcome = std::string(kFailed) + "an exception of unknown type";
    }
    try {
      impl_->store->set(key, std::vector<uint8_t>(outcome.begin(), outcome.end()));
    } catch (const std::exception&) {
      if (!failure) throw;  // else the section's own error is the one to report
    }
  } else {
    std::vector<uint8_t> value;
    try {
      impl_->store->wait({key}, wait_limit);
      value = impl_->store->get(key);
    } catch (const std::exception& e) {
      TORCH_CHECK(false, "rank ", rank(), " of ", world(), ": rank 0 did not finish its ", what,
                  " within ", wait_limit.count() / 1000.0,
                  " s: it has stopped, or is still at it\n  ", message_of(e));
    }
    outcome.assign(value.begin(), value.end());
  }
  // Past the barrier every rank has read the outcome: the key may go, and a failing rank 0
  // may end (its TCPStore with it).
  if (outcome == kDone) {
    barrier();
    if (is_main()) impl_->store->deleteKey(key);
    return;
  }
  try {
    barrier();
  } catch (const std::exception&) {
    // the section's failure is the news, not a rank that has gone since
  }
  if (failure) std::rethrow_exception(failure);
  TORCH_CHECK(false, "rank ", rank(), " of ", world(), ": rank 0 failed in its ", what, ": ",
              outcome.substr(std::min(outcome.size(), kFailed.size())));
}

std::shared_ptr<Distributed> init_from_env(std::chrono::milliseconds timeout,
                                           torch::Device device) {
  return std::make_shared<Distributed>(context_from_env(), timeout, device);
}

}  // namespace vgrow::dist
