#pragma once
// Data-parallel training over processes and machines on PyTorch's c10d engine.
//
// One process per rank, configured by torchrun's variables (MASTER_ADDR, MASTER_PORT, RANK,
// WORLD_SIZE, LOCAL_RANK); rendezvous through a c10d TCPStore served by rank 0; Gloo on the
// CPU, NCCL on the GPU (when LibTorch was built with it). A world of one is the plain
// process: no store, no process group, every collective the identity.
//
// Every call below is collective: each rank makes the same calls in the same order. A rank
// that dies, or never arrives, makes the others throw within the timeout instead of hanging.

#include <chrono>
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
};

// Reads the torchrun variables; a world of one when WORLD_SIZE is unset or 1.
DistContext context_from_env();

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
  // "2 ranks, gloo, rendezvous at 127.0.0.1:29500" (or "1 process").
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

 private:
  struct Impl;  // keeps c10d and gloo headers out of this one
  DistContext context_;
  std::unique_ptr<Impl> impl_;
};

// The job the environment describes: a world of one when WORLD_SIZE is unset or 1.
std::shared_ptr<Distributed> init_from_env(std::chrono::milliseconds timeout,
                                           torch::Device device = torch::kCPU);

}  // namespace vgrow::dist
