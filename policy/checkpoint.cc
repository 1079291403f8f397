#include "policy/checkpoint.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/logging.h"
#include "core/status_macros.h"

namespace agentgym::policy {
namespace {
namespace fs = std::filesystem;

std::string ShapeString(c10::IntArrayRef s) { return absl::StrCat("[", absl::StrJoin(s, ", "), "]"); }
bool IsValueHead(const std::string& name) { return name.rfind("value_head.", 0) == 0; }
}  // namespace

std::map<std::string, torch::Tensor> NamedWeights(CausalLm& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : model->named_parameters()) out[item.key()] = item.value();
  return out;
}

absl::Status LoadWeights(const TensorStore& store, CausalLm& model) {
  try {
    torch::NoGradGuard no_grad;
    int missing_value_head = 0;
    for (auto& [name, param] : NamedWeights(model)) {
      if (!store.Contains(name)) {
        if (IsValueHead(name)) {
          ++missing_value_head;
          continue;
        }
        return absl::NotFoundError(absl::StrCat("checkpoint lacks tensor \"", name, "\""));
      }
      AG_ASSIGN_OR_RETURN(TensorInfo info, store.Info(name));
      if (c10::IntArrayRef(info.shape) != param.sizes()) {
        return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\": checkpoint shape ",
                                                       ShapeString(info.shape), " but model expects ",
                                                       ShapeString(param.sizes())));
      }
      AG_ASSIGN_OR_RETURN(torch::Tensor t, store.Get(name));
      param.copy_(t);  // Converts dtype and device.
    }
    if (missing_value_head > 0) {
      GetLogger("policy")->info("checkpoint has no value head; keeping its initialisation");
    }
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("loading weights: ", e.what_without_backtrace()));
  }
}

absl::Status SavePretrained(const std::string& dir, CausalLm& model, const SaveOptions& options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  {
    std::ofstream out(fs::path(dir) / "config.json", std::ios::trunc);
    out << model->config().ToJson();
    if (!out) return absl::DataLossError(absl::StrCat("cannot write ", dir, "/config.json"));
  }
  std::map<std::string, torch::Tensor> weights;
  try {
    for (auto& [name, p] : NamedWeights(model)) {
      weights[name] = options.dtype.has_value() ? p.detach().to(*options.dtype) : p.detach();
    }
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("converting weights: ", e.what_without_backtrace()));
  }
  return WriteShardedSafetensors(dir, weights, options.max_shard_bytes);
}

absl::StatusOr<CausalLm> LoadPretrained(const std::string& dir, torch::Device device, torch::ScalarType dtype,
                                        const std::optional<ModelConfig>& config_override) {
  ModelConfig config;
  if (config_override.has_value()) {
    config = *config_override;
  } else {
    AG_ASSIGN_OR_RETURN(config, LoadModelConfig((fs::path(dir) / "config.json").string()));
  }
  AG_ASSIGN_OR_RETURN(std::unique_ptr<TensorStore> store, TensorStore::Open(dir));
  if (!config_override.has_value() && !config.value_head && store->Contains("value_head.weight")) {
    config.value_head = true;
  }
  AG_ASSIGN_OR_RETURN(CausalLm model, CreateModelForLoading(config, device, dtype));
  AG_RETURN_IF_ERROR(LoadWeights(*store, model));
  return model;
}

}  // namespace agentgym::policy
