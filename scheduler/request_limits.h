#ifndef AGENTGYM_SCHEDULER_REQUEST_LIMITS_H_
#define AGENTGYM_SCHEDULER_REQUEST_LIMITS_H_

// Bounds on what a client may send the coordinator, checked at the RPC edge
// before anything is stored: no request can grow the coordinator's memory or
// its status without bound, and every message quotes client strings
// truncated (so an error never outgrows gRPC's metadata limit and loses its
// trailers). Each check answers INVALID_ARGUMENT naming the field and its
// limit.

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "agentgym/coordinator/v1/coordinator.pb.h"

namespace agentgym::scheduler {

namespace pb = ::agentgym::coordinator::v1;

// Strings from clients.
inline constexpr size_t kMaxIdBytes = 128;          // component ids
inline constexpr size_t kMaxNameBytes = 256;        // component names
inline constexpr size_t kMaxAddressBytes = 256;     // host:port
inline constexpr size_t kMaxEnvNameBytes = 128;     // env names
inline constexpr size_t kMaxGroupIdBytes = 256;     // completed_group_ids entries
inline constexpr size_t kMaxLabelBytes = 128;       // queue names, device, map keys
inline constexpr size_t kMaxExtraValueBytes = 1024; // capabilities.extra values
inline constexpr size_t kMaxReasonBytes = 1024;     // Pause.reason
// Repeated and map fields.
inline constexpr int kMaxEnvsPerComponent = 256;    // capabilities.envs, GetTasks.envs
inline constexpr int kMaxExtraEntries = 64;         // capabilities.extra
inline constexpr int kMaxQueueDepths = 64;          // queue_depths
inline constexpr int kMaxEnvUsage = 256;            // load.env_usage
inline constexpr int kMaxCompletedIds = 65536;      // completed_group_ids per call
inline constexpr int kMaxEnvStats = 1024;           // ReportProgress.env_stats
inline constexpr int kMaxStalenessEntries = 1024;   // ReportProgress.staleness_counts
// How much of a client string a message quotes.
inline constexpr size_t kMaxQuotedBytes = 200;

// `s` for an error message or log line: at most kMaxQuotedBytes of it, then
// "... (N bytes)".
std::string Quote(absl::string_view s);

absl::Status CheckRegisterRequest(const pb::RegisterRequest& req);
absl::Status CheckHeartbeatRequest(const pb::HeartbeatRequest& req);
absl::Status CheckGetTasksRequest(const pb::GetTasksRequest& req);
absl::Status CheckReportProgressRequest(const pb::ReportProgressRequest& req);
absl::Status CheckSetHorizonRequest(const pb::SetHorizonRequest& req);
absl::Status CheckPauseRequest(const pb::PauseRequest& req);
// `rpc`: the call's name for the message; for component_id and env fields.
absl::Status CheckComponentId(absl::string_view rpc, const std::string& id);
absl::Status CheckEnvName(absl::string_view rpc, absl::string_view field, const std::string& env);

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_REQUEST_LIMITS_H_
