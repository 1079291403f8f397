#include "learner/comm/gloo_communicator.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/net_address.h"
#include "core/status_macros.h"

namespace agentgym::learner {

struct GlooCommunicator::Impl {
  GlooOptions options;
  std::string host;
  int port = 0;
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

std::chrono::milliseconds Millis(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1";
}

// Which interface this rank's Gloo pairs use. A loopback rendezvous means
// every rank is on this machine: loopback. Otherwise the operator's
// GLOO_SOCKET_IFNAME, else the rank's own advertised host, else the
// interface the hostname resolves to.
std::shared_ptr<::gloo::transport::Device> MakeDevice(const GlooOptions& o, const std::string& store_host) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0') {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (IsLoopback(store_host)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  if (!o.bind_host.empty()) return c10d::ProcessGroupGloo::createDeviceForHostname(o.bind_host);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

GlooCommunicator::GlooCommunicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GlooCommunicator::~GlooCommunicator() = default;

absl::StatusOr<std::unique_ptr<GlooCommunicator>> GlooCommunicator::Create(const GlooOptions& options) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rank ", options.rank, " must be in [0, --world-size ", options.world_size, ")"));
  }
  AG_ASSIGN_OR_RETURN(HostPort hp, ParseHostPort(options.rendezvous, options.rank == 0 ? 0 : 1));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->host = hp.host;
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(hp.port);
  store_options.isServer = options.rank == 0;
  store_options.numWorkers = options.world_size;
  store_options.waitWorkers = false;  // the mesh (Join) waits, with its own timeout
  store_options.timeout = Millis(options.store_timeout);
  try {
    impl->store = c10::make_intrusive<c10d::TCPStore>(hp.host, store_options);
    impl->port = impl->store->getPort();
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("rank ", options.rank, ": cannot ",
                                               options.rank == 0 ? "host" : "reach",
                                               " the rendezvous store at ", options.rendezvous,
                                               " within ", absl::FormatDuration(options.store_timeout),
                                               ": ", e.what()));
  }
  return std::unique_ptr<GlooCommunicator>(new GlooCommunicator(std::move(impl)));
}

std::string GlooCommunicator::store_address() const {
  return absl::StrCat(impl_->host, ":", impl_->port);
}

absl::Status GlooCommunicator::Join() {
  const auto& o = impl_->options;
  try {
    auto pg_options = c10d::ProcessGroupGloo::Options::create(Millis(o.collective_timeout));
    pg_options->devices.push_back(MakeDevice(o, impl_->host));
    pg_options->threads = 1;
    // The mesh reads peers' addresses from the store with the store's
    // timeout, so a missing rank fails Join after store_timeout.
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("agentgym", impl_->store);
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, o.rank, o.world_size, pg_options);
  } catch (const std::exception& e) {
    return absl::DeadlineExceededError(absl::StrCat("rank ", o.rank, " of ", o.world_size,
                                                    ": the ranks did not meet at ", store_address(),
                                                    " within ", absl::FormatDuration(o.store_timeout),
                                                    ": ", e.what()));
  }
  GetLogger("learner")->info("rank {} of {} joined the Gloo group at {}", o.rank, o.world_size,
                             store_address());
  return absl::OkStatus();
}

int GlooCommunicator::rank() const { return impl_->options.rank; }
int GlooCommunicator::world_size() const { return impl_->options.world_size; }

namespace {

absl::Status WaitWork(const c10::intrusive_ptr<c10d::Work>& work, absl::Duration timeout,
                      const char* what) {
  try {
    if (!work->wait(Millis(timeout))) {
      return absl::DeadlineExceededError(absl::StrCat(what, " did not finish within ",
                                                      absl::FormatDuration(timeout)));
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(what, " failed (a rank gone?): ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status GlooCommunicator::AllReduceSum(torch::Tensor& tensor) {
  if (!impl_->group) return absl::FailedPreconditionError("GlooCommunicator: Join() first");
  try {
    std::vector<at::Tensor> tensors = {tensor};
    auto work = impl_->group->allreduce(tensors);
    return WaitWork(work, impl_->options.collective_timeout, "all-reduce");
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("all-reduce failed: ", e.what()));
  }
}

absl::Status GlooCommunicator::Broadcast(std::string* bytes, int root) {
  if (!impl_->group) return absl::FailedPreconditionError("GlooCommunicator: Join() first");
  try {
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    auto size = torch::tensor({static_cast<int64_t>(bytes->size())}, torch::kInt64);
    std::vector<at::Tensor> sizes = {size};
    AG_RETURN_IF_ERROR(WaitWork(impl_->group->broadcast(sizes, opts),
                                impl_->options.collective_timeout, "broadcast (size)"));
    const int64_t n = size.item<int64_t>();
    auto data = torch::empty({std::max<int64_t>(n, 1)}, torch::kUInt8);
    if (impl_->options.rank == root && n > 0) std::memcpy(data.data_ptr(), bytes->data(), n);
    std::vector<at::Tensor> payload = {data};
    AG_RETURN_IF_ERROR(WaitWork(impl_->group->broadcast(payload, opts),
                                impl_->options.collective_timeout, "broadcast"));
    if (impl_->options.rank != root) bytes->assign(static_cast<const char*>(data.data_ptr()), n);
    return absl::OkStatus();
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("broadcast failed: ", e.what()));
  }
}

absl::Status GlooCommunicator::Barrier() {
  auto t = torch::zeros({1}, torch::kFloat32);
  return AllReduceSum(t);
}

}  // namespace agentgym::learner
