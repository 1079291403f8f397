#include "actor/weights.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/logging.h"
#include "grpcpp/grpcpp.h"
#include "policy/checkpoint.h"
#include "policy/safetensors.h"

namespace agentgym::actor {

std::map<std::string, TensorSpec> ModelTensorSpecs(policy::CausalLm& model) {
  std::map<std::string, TensorSpec> specs;
  for (auto& [name, t] : policy::NamedWeights(model)) specs[name] = {t.sizes().vec(), t.scalar_type()};
  return specs;
}

void WeightSlot::Offer(WeightUpdate update) {
  absl::MutexLock lock(&mu_);
  if (pending_.has_value() && pending_->version > update.version) return;
  pending_ = std::move(update);
}

std::optional<WeightUpdate> WeightSlot::Take() {
  absl::MutexLock lock(&mu_);
  std::optional<WeightUpdate> out = std::move(pending_);
  pending_.reset();
  return out;
}

bool WeightSlot::WaitForPending(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto pending = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return pending_.has_value(); };
  return mu_.AwaitWithTimeout(absl::Condition(&pending), timeout);
}

absl::Status ApplyWeights(const WeightUpdate& update, policy::CausalLm& model) {
  std::map<std::string, torch::Tensor> params = policy::NamedWeights(model);
  for (const auto& [name, p] : params) {
    auto it = update.tensors.find(name);
    if (it == update.tensors.end()) {
      return absl::InvalidArgumentError(absl::StrCat("weights of version ", update.version, " lack ", name));
    }
    if (it->second.sizes() != p.sizes()) {
      return absl::InvalidArgumentError(absl::StrCat("weights of version ", update.version, ": ", name, " has shape [",
                                                     absl::StrJoin(it->second.sizes().vec(), ","), "], model [",
                                                     absl::StrJoin(p.sizes().vec(), ","), "]"));
    }
  }
  try {
    torch::NoGradGuard no_grad;
    for (auto& [name, p] : params) p.copy_(update.tensors.at(name));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("copying weights: ", e.what_without_backtrace()));
  }
  return absl::OkStatus();
}

absl::StatusOr<WeightUpdate> DecodeWeights(const lpb::WeightsManifest& manifest, const std::string& blob,
                                           const std::map<std::string, TensorSpec>& specs) {
  const std::string where = absl::StrCat("weights of version ", manifest.version(), ": ");
  if (static_cast<int64_t>(blob.size()) != manifest.total_bytes()) {
    return absl::DataLossError(
        absl::StrCat(where, "got ", blob.size(), " bytes, manifest says ", manifest.total_bytes()));
  }
  WeightUpdate update;
  update.version = manifest.version();
  for (const lpb::TensorEntry& e : manifest.tensors()) {
    auto spec = specs.find(e.name());
    if (spec == specs.end()) continue;  // a tensor the model does not use
    absl::StatusOr<torch::ScalarType> dtype = policy::DtypeFromSafetensors(e.dtype());
    if (!dtype.ok()) return absl::InvalidArgumentError(absl::StrCat(where, e.name(), ": ", dtype.status().message()));
    std::vector<int64_t> shape(e.shape().begin(), e.shape().end());
    if (shape != spec->second.shape) {
      return absl::InvalidArgumentError(absl::StrCat(where, e.name(), " has shape [", absl::StrJoin(shape, ","),
                                                     "], model [", absl::StrJoin(spec->second.shape, ","), "]"));
    }
    int64_t numel = 1;
    for (int64_t d : shape) numel *= d;
    const int64_t want = numel * static_cast<int64_t>(c10::elementSize(*dtype));
    if (e.length() != want || e.offset() < 0 || e.offset() + e.length() > manifest.total_bytes()) {
      return absl::InvalidArgumentError(absl::StrCat(where, e.name(), ": byte range [", e.offset(), ", +", e.length(),
                                                     ") does not hold ", want, " bytes inside ",
                                                     manifest.total_bytes()));
    }
    torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(*dtype));
    std::memcpy(t.data_ptr(), blob.data() + e.offset(), e.length());  // little-endian host, as safetensors
    update.tensors[e.name()] = t;
  }
  for (const auto& [name, spec] : specs) {
    if (update.tensors.count(name) == 0) return absl::InvalidArgumentError(absl::StrCat(where, "missing ", name));
  }
  return update;
}

absl::StatusOr<std::unique_ptr<WeightPuller>> WeightPuller::Create(WeightPullerOptions options,
                                                                    std::map<std::string, TensorSpec> specs,
                                                                    WeightSlot* slot, int64_t current_version) {
  if (!options.learner_address) return absl::InvalidArgumentError("WeightPuller needs learner_address");
  if (slot == nullptr) return absl::InvalidArgumentError("WeightPuller needs a slot");
  if (absl::Status s = MakeChannelCredentials(options.security).status(); !s.ok()) return s;
  return std::unique_ptr<WeightPuller>(new WeightPuller(std::move(options), std::move(specs), slot, current_version));
}

WeightPuller::WeightPuller(WeightPullerOptions options, std::map<std::string, TensorSpec> specs, WeightSlot* slot,
                           int64_t current_version)
    : options_(std::move(options)),
      specs_(std::move(specs)),
      slot_(slot),
      wanted_(current_version),
      pulled_(current_version) {
  thread_ = std::thread([this] { Loop(); });
}

WeightPuller::~WeightPuller() { Stop(); }

void WeightPuller::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (active_ != nullptr) active_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void WeightPuller::Want(int64_t version) {
  absl::MutexLock lock(&mu_);
  wanted_ = std::max(wanted_, version);
}

int64_t WeightPuller::pulled_version() const {
  absl::MutexLock lock(&mu_);
  return pulled_;
}

int64_t WeightPuller::failures() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

bool WeightPuller::WaitForFailures(int64_t n, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return failures_ >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

absl::StatusOr<WeightUpdate> WeightPuller::PullOnce(const std::string& address, int64_t version) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = CreateSecureChannel(address, options_.security);
  if (!channel.ok()) return channel.status();
  auto stub = lpb::Learner::NewStub(*channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.timeout));
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return absl::CancelledError("stopping");
    active_ = &ctx;
  }
  lpb::GetWeightsRequest req;
  req.set_version(version);
  req.set_chunk_bytes(options_.chunk_bytes);
  std::unique_ptr<grpc::ClientReader<lpb::WeightsChunk>> reader = stub->GetWeights(&ctx, req);
  lpb::WeightsChunk chunk;
  lpb::WeightsManifest manifest;
  bool have_manifest = false;
  std::string blob;
  absl::Status bad;
  while (reader->Read(&chunk)) {
    if (chunk.has_manifest()) {
      if (have_manifest) {
        bad = absl::DataLossError("second manifest in one GetWeights stream");
        ctx.TryCancel();
        break;
      }
      manifest = chunk.manifest();
      have_manifest = true;
      if (manifest.total_bytes() < 0 || manifest.total_bytes() > (int64_t{64} << 30)) {
        bad = absl::InvalidArgumentError(absl::StrCat("implausible total_bytes ", manifest.total_bytes()));
        ctx.TryCancel();
        break;
      }
      blob.reserve(manifest.total_bytes());
    } else if (!have_manifest) {
      bad = absl::DataLossError("GetWeights data before the manifest");
      ctx.TryCancel();
      break;
    } else {
      if (static_cast<int64_t>(blob.size() + chunk.data().size()) > manifest.total_bytes()) {
        bad = absl::DataLossError("GetWeights sent more bytes than total_bytes");
        ctx.TryCancel();
        break;
      }
      blob += chunk.data();
    }
  }
  grpc::Status st = reader->Finish();
  {
    absl::MutexLock lock(&mu_);
    active_ = nullptr;
  }
  if (!bad.ok()) return bad;
  if (!st.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(st.error_code()),
                        absl::StrCat("GetWeights(", version, ") from ", address, ": ", st.error_message()));
  }
  if (!have_manifest) return absl::DataLossError("GetWeights stream without a manifest");
  return DecodeWeights(manifest, blob, specs_);
}

void WeightPuller::Loop() {
  auto log = GetLogger("actor");
  absl::Duration backoff = options_.initial_backoff;
  while (true) {
    int64_t target = 0;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_ || wanted_ > pulled_; };
      mu_.Await(absl::Condition(&ready));
      if (stop_) return;
      target = wanted_;
    }
    const std::string address = options_.learner_address();
    absl::StatusOr<WeightUpdate> update =
        address.empty() ? absl::UnavailableError("learner address not known yet") : PullOnce(address, target);
    // The learner serves only recent versions: take the latest instead.
    if (update.status().code() == absl::StatusCode::kNotFound) update = PullOnce(address, 0);
    if (update.ok() && update->version < target) {
      update = absl::FailedPreconditionError(
          absl::StrCat("asked for version ", target, ", learner sent ", update->version));
    }
    if (update.ok()) {
      const int64_t version = update->version;
      {
        // Recorded before the offer: whoever sees the update in the slot
        // must also see pulled_version() at least as new.
        absl::MutexLock lock(&mu_);
        pulled_ = std::max(pulled_, version);
      }
      slot_->Offer(std::move(*update));
      backoff = options_.initial_backoff;
      log->info("pulled policy version {}", version);
      continue;
    }
    log->warn("weight pull of version {} failed (keeping the old weights, retrying in {}): {}", target,
              absl::FormatDuration(backoff), update.status().ToString());
    absl::MutexLock lock(&mu_);
    ++failures_;
    auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopping), backoff);
    if (stop_) return;
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace agentgym::actor
