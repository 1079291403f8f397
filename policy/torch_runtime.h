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
