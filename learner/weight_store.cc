#include "learner/weight_store.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "policy/checkpoint.h"

namespace agentgym::learner {

namespace {

absl::StatusOr<std::string> DtypeName(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return std::string("F32");
    case torch::kBFloat16:
      return std::string("BF16");
    case torch::kFloat16:
      return std::string("F16");
    default:
      return absl::InvalidArgumentError(absl::StrCat("cannot serve weights of dtype ", c10::toString(t)));
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<const WeightsSnapshot>> SnapshotWeights(policy::CausalLm& model,
                                                                       int64_t version) {
  try {
    torch::NoGradGuard no_grad;
    auto snapshot = std::make_shared<WeightsSnapshot>();
    snapshot->version = version;
    auto& manifest = snapshot->manifest;
    manifest.set_version(version);
    manifest.set_model_config_json(model->config().ToJson());
    std::vector<torch::Tensor> cpu;
    int64_t offset = 0;
    for (const auto& [name, tensor] : policy::NamedWeights(model)) {
      auto host = tensor.detach().to(torch::kCPU).contiguous();
      auto dtype = DtypeName(host.scalar_type());
      if (!dtype.ok()) return dtype.status();
      auto* entry = manifest.add_tensors();
      entry->set_name(name);
      entry->set_dtype(*dtype);
      for (int64_t d : host.sizes()) entry->add_shape(d);
      offset = (offset + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
      const int64_t length = host.numel() * static_cast<int64_t>(host.element_size());
      entry->set_offset(offset);
      entry->set_length(length);
      offset += length;
      cpu.push_back(std::move(host));
    }
    manifest.set_total_bytes(offset);
    snapshot->blob.assign(static_cast<size_t>(offset), '\0');
    for (int i = 0; i < manifest.tensors_size(); ++i) {
      // x86-64 and aarch64 are little-endian: the tensor's bytes are the wire bytes.
      std::memcpy(snapshot->blob.data() + manifest.tensors(i).offset(), cpu[i].data_ptr(),
                  manifest.tensors(i).length());
    }
    return std::shared_ptr<const WeightsSnapshot>(std::move(snapshot));
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("weight snapshot failed: ", e.what_without_backtrace()));
  }
}

void WeightStore::Publish(std::shared_ptr<const WeightsSnapshot> snapshot) {
  absl::MutexLock lock(&mu_);
  versions_.push_back(std::move(snapshot));
  while (versions_.size() > keep_) versions_.pop_front();
}

absl::StatusOr<std::shared_ptr<const WeightsSnapshot>> WeightStore::Get(int64_t version) const {
  absl::MutexLock lock(&mu_);
  if (versions_.empty()) return absl::FailedPreconditionError("no weights published yet");
  if (version == 0) return versions_.back();
  for (const auto& v : versions_) {
    if (v->version == version) return v;
  }
  return absl::NotFoundError(absl::StrCat("weights version ", version, " is not served (latest ",
                                          versions_.back()->version, ", oldest kept ",
                                          versions_.front()->version, ")"));
}

int64_t WeightStore::latest_version() const {
  absl::MutexLock lock(&mu_);
  return versions_.empty() ? -1 : versions_.back()->version;
}

}  // namespace agentgym::learner
