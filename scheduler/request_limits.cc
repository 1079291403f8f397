#include "scheduler/request_limits.h"

#include "absl/strings/str_cat.h"
#include "core/text.h"

namespace agentgym::scheduler {
namespace {

absl::Status TooLong(absl::string_view rpc, absl::string_view field, size_t size, size_t limit) {
  return absl::InvalidArgumentError(absl::StrCat(rpc, ": ", field, " is ", size,
                                                 " bytes; at most ", limit, " are accepted"));
}

absl::Status TooMany(absl::string_view rpc, absl::string_view field, int size, int limit) {
  return absl::InvalidArgumentError(absl::StrCat(rpc, ": ", field, " has ", size,
                                                 " entries; at most ", limit, " are accepted"));
}

absl::Status CheckBytes(absl::string_view rpc, absl::string_view field, const std::string& s,
                        size_t limit) {
  return s.size() > limit ? TooLong(rpc, field, s.size(), limit) : absl::OkStatus();
}

template <typename Map>
absl::Status CheckQueueDepths(absl::string_view rpc, absl::string_view field, const Map& depths) {
  if (depths.size() > static_cast<size_t>(kMaxQueueDepths)) {
    return TooMany(rpc, field, static_cast<int>(depths.size()), kMaxQueueDepths);
  }
  for (const auto& [name, depth] : depths) {
    if (name.size() > kMaxLabelBytes) {
      return TooLong(rpc, absl::StrCat(field, " key '", Quote(name), "'"), name.size(),
                     kMaxLabelBytes);
    }
  }
  return absl::OkStatus();
}

absl::Status CheckLoad(absl::string_view rpc, const pb::ComponentLoad& load) {
  if (auto s = CheckQueueDepths(rpc, "load.queue_depths", load.queue_depths()); !s.ok()) return s;
  if (load.env_usage_size() > kMaxEnvUsage) {
    return TooMany(rpc, "load.env_usage", load.env_usage_size(), kMaxEnvUsage);
  }
  for (const auto& u : load.env_usage()) {
    absl::Status s = CheckBytes(rpc, "load.env_usage.address", u.address(), kMaxAddressBytes);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

std::string Quote(absl::string_view s) { return TruncateForMessage(s, kMaxQuotedBytes); }

absl::Status CheckComponentId(absl::string_view rpc, const std::string& id) {
  return CheckBytes(rpc, "component_id", id, kMaxIdBytes);
}

absl::Status CheckEnvName(absl::string_view rpc, absl::string_view field, const std::string& env) {
  return CheckBytes(rpc, field, env, kMaxEnvNameBytes);
}

absl::Status CheckRegisterRequest(const pb::RegisterRequest& req) {
  constexpr absl::string_view rpc = "register";
  if (auto s = CheckComponentId(rpc, req.component_id()); !s.ok()) return s;
  if (auto s = CheckBytes(rpc, "name", req.name(), kMaxNameBytes); !s.ok()) return s;
  if (auto s = CheckBytes(rpc, "address", req.address(), kMaxAddressBytes); !s.ok()) return s;
  const pb::Capabilities& caps = req.capabilities();
  if (caps.envs_size() > kMaxEnvsPerComponent) {
    return TooMany(rpc, "capabilities.envs", caps.envs_size(), kMaxEnvsPerComponent);
  }
  for (const std::string& env : caps.envs()) {
    if (auto s = CheckEnvName(rpc, "capabilities.envs entry", env); !s.ok()) return s;
  }
  if (auto s = CheckBytes(rpc, "capabilities.device", caps.device(), kMaxLabelBytes); !s.ok()) {
    return s;
  }
  if (auto s = CheckBytes(rpc, "capabilities.rendezvous_address", caps.rendezvous_address(),
                          kMaxAddressBytes);
      !s.ok()) {
    return s;
  }
  if (caps.extra_size() > kMaxExtraEntries) {
    return TooMany(rpc, "capabilities.extra", caps.extra_size(), kMaxExtraEntries);
  }
  for (const auto& [key, value] : caps.extra()) {
    if (key.size() > kMaxLabelBytes) {
      return TooLong(rpc, absl::StrCat("capabilities.extra key '", Quote(key), "'"), key.size(),
                     kMaxLabelBytes);
    }
    if (value.size() > kMaxExtraValueBytes) {
      return TooLong(rpc, absl::StrCat("capabilities.extra['", Quote(key), "']"), value.size(),
                     kMaxExtraValueBytes);
    }
  }
  return absl::OkStatus();
}

absl::Status CheckHeartbeatRequest(const pb::HeartbeatRequest& req) {
  constexpr absl::string_view rpc = "heartbeat";
  if (auto s = CheckComponentId(rpc, req.component_id()); !s.ok()) return s;
  if (auto s = CheckLoad(rpc, req.load()); !s.ok()) return s;
  if (req.completed_group_ids_size() > kMaxCompletedIds) {
    return TooMany(rpc, "completed_group_ids", req.completed_group_ids_size(), kMaxCompletedIds);
  }
  for (const std::string& id : req.completed_group_ids()) {
    if (auto s = CheckBytes(rpc, "completed_group_ids entry", id, kMaxGroupIdBytes); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckGetTasksRequest(const pb::GetTasksRequest& req) {
  constexpr absl::string_view rpc = "get_tasks";
  if (auto s = CheckComponentId(rpc, req.component_id()); !s.ok()) return s;
  if (req.envs_size() > kMaxEnvsPerComponent) {
    return TooMany(rpc, "envs", req.envs_size(), kMaxEnvsPerComponent);
  }
  for (const std::string& env : req.envs()) {
    if (auto s = CheckEnvName(rpc, "envs entry", env); !s.ok()) return s;
  }
  if (req.completed_group_ids_size() > kMaxCompletedIds) {
    return TooMany(rpc, "completed_group_ids", req.completed_group_ids_size(), kMaxCompletedIds);
  }
  for (const std::string& id : req.completed_group_ids()) {
    if (auto s = CheckBytes(rpc, "completed_group_ids entry", id, kMaxGroupIdBytes); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status CheckReportProgressRequest(const pb::ReportProgressRequest& req) {
  constexpr absl::string_view rpc = "report_progress";
  if (auto s = CheckComponentId(rpc, req.component_id()); !s.ok()) return s;
  if (req.env_stats_size() > kMaxEnvStats) {
    return TooMany(rpc, "env_stats", req.env_stats_size(), kMaxEnvStats);
  }
  for (const auto& e : req.env_stats()) {
    if (auto s = CheckEnvName(rpc, "env_stats.env", e.env()); !s.ok()) return s;
  }
  if (req.staleness_counts_size() > kMaxStalenessEntries) {
    return TooMany(rpc, "staleness_counts", req.staleness_counts_size(), kMaxStalenessEntries);
  }
  return CheckQueueDepths(rpc, "queue_depths", req.queue_depths());
}

absl::Status CheckSetHorizonRequest(const pb::SetHorizonRequest& req) {
  return CheckEnvName("set_horizon", "env", req.env());
}

absl::Status CheckPauseRequest(const pb::PauseRequest& req) {
  return CheckBytes("pause", "reason", req.reason(), kMaxReasonBytes);
}

}  // namespace agentgym::scheduler
