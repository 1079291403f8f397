#include "policy/torch_runtime.h"

#include <dlfcn.h>
#include <link.h>
#include <malloc.h>

#include <climits>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "core/logging.h"

namespace agentgym::policy {
namespace {

int CollectBlas(struct dl_phdr_info* info, size_t, void* data) {
  auto* out = static_cast<std::string*>(data);
  const std::string name = info->dlpi_name ? info->dlpi_name : "";
  const std::string base = name.substr(name.rfind('/') + 1);
  if (out->empty() && (base.rfind("libblas", 0) == 0 || base.rfind("libopenblas", 0) == 0 ||
                       base.rfind("libmkl", 0) == 0)) {
    char resolved[PATH_MAX];
    *out = realpath(name.c_str(), resolved) != nullptr ? std::string(resolved) : name;
  }
  return 0;
}

}  // namespace

int SetOpenBlasThreads(int threads) {
  using SetFn = void (*)(int);
  using GetFn = int (*)();
  auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  auto get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (set == nullptr || get == nullptr) return -1;
  set(threads);
  return get();
}

std::string LoadedBlasLibrary() {
  std::string path;
  dl_iterate_phdr(&CollectBlas, &path);
  return path;
}

absl::Status ConfigureTorchRuntime(const TorchRuntimeOptions& options) {
  if (options.intra_op_threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat("intra_op_threads must be >= 1, got ", options.intra_op_threads));
  }
  if (options.retain_freed_memory) {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  at::set_num_threads(options.intra_op_threads);
  // at::set_num_threads covers OpenMP (and MKL), not OpenBLAS's own pthread
  // pool, which would otherwise use every core for each GEMM.
  const int blas_threads = SetOpenBlasThreads(options.intra_op_threads);
  auto log = GetLogger("policy");
  std::string blas_info = "?";
  for (absl::string_view part : absl::StrSplit(torch::show_config(), absl::ByAnyChar("\n,"))) {
    // The entry reads "  - Build settings: BLAS_INFO=generic".
    const size_t at = part.find("BLAS_INFO=");
    if (at != absl::string_view::npos && (at == 0 || part[at - 1] == ' ')) {
      blas_info = std::string(absl::StripAsciiWhitespace(part.substr(at + 10)));
    }
  }
  const std::string loaded = LoadedBlasLibrary();
  log->info("LibTorch {}: intra-op threads {}, BLAS built for '{}', loaded BLAS: {}, OpenBLAS threads: {}, "
            "retain freed memory: {}",
            TORCH_VERSION, at::get_num_threads(), blas_info, loaded.empty() ? "none mapped" : loaded,
            blas_threads < 0 ? std::string("n/a") : std::to_string(blas_threads), options.retain_freed_memory);
  if (loaded.find("openblas") == std::string::npos && loaded.find("mkl") == std::string::npos) {
    log->warn("no optimised BLAS loaded (reference BLAS is ~15x slower); install libopenblas0-pthread");
  }
  return absl::OkStatus();
}

absl::StatusOr<torch::Device> ParseDevice(const std::string& name) {
  try {
    torch::Device d(name);
    if (d.is_cuda() && !torch::cuda::is_available()) {
      return absl::InvalidArgumentError(absl::StrCat("device ", name, " requested but CUDA is not available"));
    }
    return d;
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat("bad device \"", name, "\": ", e.what_without_backtrace()));
  }
}

}  // namespace agentgym::policy
