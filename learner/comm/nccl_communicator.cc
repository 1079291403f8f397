#include "learner/comm/nccl_communicator.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstring>
#include <vector>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "absl/strings/str_cat.h"
#include "core/net_address.h"
#include "core/status_macros.h"

namespace agentgym::learner {

namespace {

// Like c10d's C10D_NCCL_CHECK, but returning a Status instead of throwing.
#define AG_NCCL_RETURN_IF_ERROR(expr)                                                        \
  do {                                                                                       \
    ncclResult_t ag_nccl_ = (expr);                                                          \
    if (ag_nccl_ != ncclSuccess) {                                                           \
      return absl::UnavailableError(absl::StrCat(__FILE__, ":", __LINE__, ": ", #expr, ": ", \
                                                 ncclGetErrorString(ag_nccl_)));             \
    }                                                                                        \
  } while (false)
#define AG_CUDA_RETURN_IF_ERROR(expr)                                                        \
  do {                                                                                       \
    cudaError_t ag_cuda_ = (expr);                                                           \
    if (ag_cuda_ != cudaSuccess) {                                                           \
      return absl::UnavailableError(absl::StrCat(__FILE__, ":", __LINE__, ": ", #expr, ": ", \
                                                 cudaGetErrorString(ag_cuda_)));             \
    }                                                                                        \
  } while (false)

absl::StatusOr<ncclDataType_t> NcclType(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return ncclFloat32;
    case torch::kFloat64:
      return ncclFloat64;
    case torch::kInt64:
      return ncclInt64;
    case torch::kUInt8:
      return ncclUint8;
    default:
      return absl::InvalidArgumentError(absl::StrCat("NCCL all-reduce of ", c10::toString(t)));
  }
}

}  // namespace

struct NcclCommunicator::Impl {
  NcclOptions options;
  c10::intrusive_ptr<c10d::TCPStore> store;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  void* staging = nullptr;
  size_t staging_bytes = 0;

  ~Impl() {
    if (comm != nullptr) ncclCommDestroy(comm);
    if (staging != nullptr) cudaFree(staging);
    if (stream != nullptr) cudaStreamDestroy(stream);
  }

  absl::Status Reserve(size_t bytes) {
    if (bytes <= staging_bytes) return absl::OkStatus();
    if (staging != nullptr) cudaFree(staging);
    staging = nullptr;
    AG_CUDA_RETURN_IF_ERROR(cudaMalloc(&staging, bytes));
    staging_bytes = bytes;
    return absl::OkStatus();
  }

  // Waits for the stream until the collective timeout; aborts the
  // communicator past it, so a lost peer never hangs the learner.
  absl::Status Wait(const char* what) {
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(absl::ToInt64Milliseconds(options.collective_timeout));
    while (true) {
      const cudaError_t e = cudaStreamQuery(stream);
      if (e == cudaSuccess) return absl::OkStatus();
      if (e != cudaErrorNotReady) {
        return absl::UnavailableError(absl::StrCat(what, ": ", cudaGetErrorString(e)));
      }
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm, &async);
      if (async != ncclSuccess) {
        return absl::UnavailableError(absl::StrCat(what, ": ", ncclGetErrorString(async)));
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ncclCommAbort(comm);
        comm = nullptr;
        return absl::DeadlineExceededError(absl::StrCat(what, " did not finish within ",
                                                        absl::FormatDuration(options.collective_timeout)));
      }
      absl::SleepFor(absl::Microseconds(50));
    }
  }
};

NcclCommunicator::NcclCommunicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NcclCommunicator::~NcclCommunicator() = default;

absl::StatusOr<std::unique_ptr<NcclCommunicator>> NcclCommunicator::Create(const NcclOptions& options) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError("NCCL: rank must be in [0, world_size)");
  }
  AG_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(options.rendezvous, 1));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  ncclUniqueId id;
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(hp.port);
    so.isServer = options.rank == 0;
    so.numWorkers = options.world_size;
    so.waitWorkers = false;
    so.timeout = std::chrono::milliseconds(absl::ToInt64Milliseconds(options.store_timeout));
    impl->store = c10::make_intrusive<c10d::TCPStore>(hp.host, so);
    if (options.rank == 0) {
      AG_NCCL_RETURN_IF_ERROR(ncclGetUniqueId(&id));
      std::vector<uint8_t> bytes(sizeof(id));
      std::memcpy(bytes.data(), &id, sizeof(id));
      impl->store->set("agentgym/nccl_unique_id", bytes);
    } else {
      std::vector<uint8_t> bytes = impl->store->get("agentgym/nccl_unique_id");
      if (bytes.size() != sizeof(id)) return absl::DataLossError("NCCL unique id has the wrong size");
      std::memcpy(&id, bytes.data(), sizeof(id));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("NCCL rendezvous at ", options.rendezvous, ": ", e.what()));
  }
  AG_CUDA_RETURN_IF_ERROR(cudaSetDevice(options.device));
  AG_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking));
  AG_NCCL_RETURN_IF_ERROR(ncclCommInitRank(&impl->comm, options.world_size, id, options.rank));
  return std::unique_ptr<NcclCommunicator>(new NcclCommunicator(std::move(impl)));
}

int NcclCommunicator::rank() const { return impl_->options.rank; }
int NcclCommunicator::world_size() const { return impl_->options.world_size; }

absl::Status NcclCommunicator::AllReduceSum(torch::Tensor& tensor) {
  if (impl_->comm == nullptr) return absl::FailedPreconditionError("NCCL communicator was aborted");
  AG_ASSIGN_OR_RETURN(ncclDataType_t type, NcclType(tensor.scalar_type()));
  torch::Tensor host = tensor.to(torch::kCPU).contiguous();
  const size_t bytes = host.numel() * host.element_size();
  AG_RETURN_IF_ERROR(impl_->Reserve(bytes));
  AG_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(impl_->staging, host.data_ptr(), bytes, cudaMemcpyHostToDevice, impl_->stream));
  AG_NCCL_RETURN_IF_ERROR(ncclAllReduce(impl_->staging, impl_->staging, host.numel(), type, ncclSum,
                                        impl_->comm, impl_->stream));
  AG_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(host.data_ptr(), impl_->staging, bytes, cudaMemcpyDeviceToHost, impl_->stream));
  AG_RETURN_IF_ERROR(impl_->Wait("NCCL all-reduce"));
  tensor.copy_(host);
  return absl::OkStatus();
}

absl::Status NcclCommunicator::Broadcast(std::string* bytes, int root) {
  if (impl_->comm == nullptr) return absl::FailedPreconditionError("NCCL communicator was aborted");
  int64_t size = static_cast<int64_t>(bytes->size());
  AG_RETURN_IF_ERROR(impl_->Reserve(std::max<size_t>(sizeof(size), bytes->size())));
  AG_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(impl_->staging, &size, sizeof(size), cudaMemcpyHostToDevice, impl_->stream));
  AG_NCCL_RETURN_IF_ERROR(ncclBroadcast(impl_->staging, impl_->staging, 1, ncclInt64, root, impl_->comm, impl_->stream));
  AG_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(&size, impl_->staging, sizeof(size), cudaMemcpyDeviceToHost, impl_->stream));
  AG_RETURN_IF_ERROR(impl_->Wait("NCCL broadcast (size)"));
  if (size == 0) {
    bytes->clear();
    return absl::OkStatus();
  }
  AG_RETURN_IF_ERROR(impl_->Reserve(static_cast<size_t>(size)));
  if (impl_->options.rank != root) bytes->assign(static_cast<size_t>(size), '\0');
  AG_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(impl_->staging, bytes->data(), size, cudaMemcpyHostToDevice, impl_->stream));
  AG_NCCL_RETURN_IF_ERROR(ncclBroadcast(impl_->staging, impl_->staging, size, ncclUint8, root, impl_->comm, impl_->stream));
  AG_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(bytes->data(), impl_->staging, size, cudaMemcpyDeviceToHost, impl_->stream));
  return impl_->Wait("NCCL broadcast");
}

absl::Status NcclCommunicator::Barrier() {
  auto t = torch::zeros({1}, torch::kFloat32);
  return AllReduceSum(t);
}

}  // namespace agentgym::learner
