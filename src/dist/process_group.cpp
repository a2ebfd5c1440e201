#include "vgrow/dist/process_group.h"

#include <cstdlib>
#include <exception>
#include <map>

#include <torch/torch.h>
#include <torch/version.h>
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
};

DistContext context_from_env() {
  DistContext c;
  c.world = env_int("WORLD_SIZE", 1);
  TORCH_CHECK(c.world >= 1, "WORLD_SIZE must be at least 1, got ", c.world);
  if (c.world == 1) return c;
  TORCH_CHECK(!env("RANK").empty(), "WORLD_SIZE=", c.world,
              " but RANK is not set (set MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE as torchrun "
              "does, or use `vgrow launch --nproc N -- train ...`)");
  c.rank = env_int("RANK", 0);
  TORCH_CHECK(c.rank >= 0 && c.rank < c.world, "RANK=", c.rank, " is outside WORLD_SIZE=",
              c.world);
  c.local_rank = env_int("LOCAL_RANK", 0);
  if (!env("MASTER_ADDR").empty()) c.master_addr = env("MASTER_ADDR");
  c.master_port = env_int("MASTER_PORT", c.master_port);
  TORCH_CHECK(c.master_port > 0 && c.master_port < 65536, "MASTER_PORT=", c.master_port,
              " is not a TCP port");
  return c;
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
  try {
    ::c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(context_.master_port);
    options.isServer = context_.rank == 0;
    options.numWorkers = static_cast<size_t>(context_.world);
    options.waitWorkers = true;
    options.timeout = timeout;
    impl_->store = c10::make_intrusive<::c10d::TCPStore>(context_.master_addr, options);
    if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
      c10::cuda::set_device(static_cast<c10::DeviceIndex>(context_.local_rank));
      impl_->device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(context_.local_rank));
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
      } else if (context_.master_addr == "127.0.0.1" || context_.master_addr == "localhost") {
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
    TORCH_CHECK(false, "rank ", context_.rank, " of ", context_.world, ": no rendezvous at ",
                context_.master_addr, ":", context_.master_port, " within ",
                timeout.count() / 1000.0,
                " s (run.dist_timeout_seconds): a rank did not arrive, or the port is taken\n  ",
                message_of(e));
  }
}

Distributed::~Distributed() = default;

std::string Distributed::describe() const {
  if (world() == 1) return "1 process";
  return std::to_string(world()) + " ranks, " + impl_->backend_name + ", rendezvous at " +
         context_.master_addr + ":" + std::to_string(context_.master_port);
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

std::shared_ptr<Distributed> init_from_env(std::chrono::milliseconds timeout,
                                           torch::Device device) {
  return std::make_shared<Distributed>(context_from_env(), timeout, device);
}

}  // namespace vgrow::dist
