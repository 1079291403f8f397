#ifndef AGENTGYM_POLICY_TORCH_RUNTIME_H_
#define AGENTGYM_POLICY_TORCH_RUNTIME_H_

#include <string>

#include <torch/torch.h>

#include "absl/status/statusor.h"

namespace agentgym::policy {

struct TorchRuntimeOptions {
  // Small models run faster on one intra-op thread (measured 2x for a ~100k
  // parameter model, see LEARNING-FACTS); parallelism comes from processes.
  int intra_op_threads = 1;
  // Keeps freed tensor memory in the malloc heap (glibc M_MMAP_THRESHOLD
  // 256 MiB, M_TRIM_THRESHOLD 1 GiB) instead of unmapping it: every decode step
  // allocates and frees the same few-MB activations, and with glibc's defaults
  // each one comes back as fresh, zero-filled pages (measured on the tiny
  // preset: ~35% less time per 512-token full forward, the learner's path;
  // batch-64 decode within noise; see docs/benchmarks.md).
  // Process-wide; the heap then keeps up to ~1 GiB of freed memory.
  bool retain_freed_memory = true;
};

// Sets LibTorch's intra-op thread count (OpenMP and OpenBLAS) and logs (info, "policy" logger) the
// BLAS library actually loaded and LibTorch's build config. Call once at
// start-up, before any torch work. INVALID_ARGUMENT for threads < 1.
absl::Status ConfigureTorchRuntime(const TorchRuntimeOptions& options);

// Sets OpenBLAS's own thread pool size when OpenBLAS is loaded and returns
// the count it reports; -1 when no OpenBLAS is loaded.
int SetOpenBlasThreads(int threads);

// Resolved path of the BLAS shared library loaded in this process (e.g.
// ".../openblas-pthread/libblas.so.3"), or "" when none is mapped.
std::string LoadedBlasLibrary();

// "cpu", "cuda", "cuda:1"; INVALID_ARGUMENT when unparsable or CUDA is unavailable.
absl::StatusOr<torch::Device> ParseDevice(const std::string& name);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_TORCH_RUNTIME_H_
