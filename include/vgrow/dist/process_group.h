#pragma once
// Data-parallel training over processes and machines on PyTorch's c10d engine.
//
// One process per rank, configured by torchrun's variables (MASTER_ADDR, MASTER_PORT, RANK,
// WORLD_SIZE, LOCAL_RANK); Gloo on the CPU, NCCL on the GPU (when LibTorch was built with it).
// A world of one is the plain process: no store, no process group, every collective the
// identity.
//
// The ranks meet through a c10d store. Across hosts it is a TCPStore served by rank 0 at
// MASTER_ADDR:MASTER_PORT: LibTorch 1.13 binds that server to every interface and it has no
// authentication, so multi-host runs belong on a trusted network. Ranks on one host meet
// through a FileStore instead when VGROW_STORE_FILE names one (a PrivateStoreFile): no port
// is opened, and only this user can read or write the file.
//
// Every call below is collective: each rank makes the same calls in the same order. A rank
// that dies, or never arrives, makes the others throw within the timeout instead of hanging.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace vgrow::dist {

// Where this process stands in the job, as the environment says.
struct DistContext {
  int rank = 0;
  int world = 1;
  int local_rank = 0;  // rank on this machine: picks the GPU
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::string store_file;  // a FileStore on this host instead of the TCPStore; empty: TCPStore
};

// The environment variable that names the rendezvous file (DistContext::store_file).
inline constexpr const char* kStoreFileVariable = "VGROW_STORE_FILE";

// Reads the torchrun variables and VGROW_STORE_FILE; a world of one when WORLD_SIZE is unset
// or 1.
DistContext context_from_env();

// A rendezvous file for ranks on this host: an empty file, mode 0600, in a new folder, mode
// 0700, under the temporary directory; both are removed with this object. Ranks that get its
// path (DistContext::store_file) meet through it without opening a port.
class PrivateStoreFile {
 public:
  PrivateStoreFile();
  ~PrivateStoreFile();
  PrivateStoreFile(const PrivateStoreFile&) = delete;
  PrivateStoreFile& operator=(const PrivateStoreFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// "TORCH_NCCL_ASYNC_ERROR_HANDLING=1" (PyTorch 2.2 on; "NCCL_ASYNC_ERROR_HANDLING=1" before):
// the setting with which ProcessGroupNCCL aborts collectives that a dead or stuck peer holds
// up, so that the job ends within the timeout. Empty when the environment already sets
// either variable: the user's choice stands.
std::string nccl_error_handling_setting();

class Distributed {
 public:
  // Joins the job (world > 1): every rank must arrive within `timeout`, and every collective
  // afterwards fails after `timeout` too. `device` picks the backend: Gloo for the CPU,
  // NCCL for CUDA (this process then works on GPU `local_rank`).
  Distributed(DistContext context, std::chrono::milliseconds timeout,
              torch::Device device = torch::kCPU);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return context_.rank; }
  int world() const { return context_.world; }
  bool is_main() const { return context_.rank == 0; }
  const DistContext& context() const { return context_; }
  // "2 ranks, gloo, rendezvous at 127.0.0.1:29500" (or "... in <store file>", "1 process").
  std::string describe() const;

  // Averages floating-point tensors over ranks, in place. The tensors are packed into a few
  // large flat buckets (one collective per bucket, not per tensor).
  void all_reduce_mean(const std::vector<torch::Tensor>& tensors);
  // Overwrites the tensors with rank `root`'s, in place, bucketed the same way.
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  void barrier();
  // True on every rank when `flag` is true on any rank.
  bool any(bool flag);
  // Throws on every rank, naming the ranks that differ, unless every rank holds bitwise
  // the same values as rank 0. `what` names the tensors in the message.
  void check_same(const std::vector<torch::Tensor>& tensors, const std::string& what);
  // Throws on every rank unless every rank holds the same `text` as rank 0, naming `what`,
  // the ranks that differ and the first line where the first of them differs from rank 0
  // (the resolved config: "key = value" lines).
  void check_same_text(const std::string& text, const std::string& what);

  // Runs `section` on rank 0 alone while the other ranks wait for it up to `wait_limit`,
  // instead of the collective timeout: work only rank 0 does (in-training evaluation) may
  // take far longer than any collective. Then every rank passes a barrier. An exception in
  // `section` is rethrown on rank 0 and makes the other ranks throw, naming `what` and its
  // message. A rank 0 that dies ends the wait early where its TCPStore dies with it.
  void run_on_main(const std::string& what, std::chrono::milliseconds wait_limit,
                   const std::function<void()>& section);

 private:
  struct Impl;  // keeps c10d and gloo headers out of this one
  DistContext context_;
  std::unique_ptr<Impl> impl_;
};

// The job the environment describes: a world of one when WORLD_SIZE is unset or 1.
std::shared_ptr<Distributed> init_from_env(std::chrono::milliseconds timeout,
                                           torch::Device device = torch::kCPU);

}  // namespace vgrow::dist
