#ifndef AGENTGYM_SCHEDULER_REGISTRY_H_
#define AGENTGYM_SCHEDULER_REGISTRY_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agentgym/coordinator/v1/coordinator.pb.h"
#include "core/clock.h"

namespace agentgym::scheduler {

namespace pb = ::agentgym::coordinator::v1;

// "Register again": a lapsed lease (FAILED_PRECONDITION) and an id the
// coordinator does not know (NOT_FOUND, e.g. after a coordinator restart).
// Such errors carry a Status payload (MarkRegisterAgain); at the RPC edge it
// becomes the trailing metadata entry `agentgym-register-again: 1`, which is
// what CoordinatorClient (and any client in any language) looks for, so other
// uses of the same codes (an unknown horizon track is NOT_FOUND too) are told
// apart without reading messages. The phrases stay in the messages for people.
inline constexpr char kRegisterAgainMetadataKey[] = "agentgym-register-again";
// A learner's heartbeat queue depths for flow control (see
// ReportProgressRequest.max_groups_ahead): complete groups waiting in its
// buffer, and its window, so the window holds from the learner's first beat
// rather than from its first trained step.
inline constexpr char kReadyGroupsDepth[] = "ready_groups";
inline constexpr char kMaxGroupsAheadDepth[] = "max_groups_ahead";
inline constexpr char kRegisterAgainHint[] = "register again";
inline constexpr char kUnknownComponentHint[] = "unknown component id";

// Marks `status` as a "register again" error; IsRegisterAgain tells.
absl::Status MarkRegisterAgain(absl::Status status);
bool IsRegisterAgain(const absl::Status& status);

struct Component {
  std::string id;
  pb::Role role = pb::ROLE_UNSPECIFIED;
  std::string address;
  std::string name;
  pb::Capabilities capabilities;
  pb::Health health = pb::HEALTH_UP;
  absl::Time registered;
  absl::Time last_heartbeat;
  pb::ComponentLoad load;
};

struct RegistryOptions {
  absl::Duration lease = absl::Seconds(10);
  // A component down this long is forgotten (its id then gets NOT_FOUND).
  absl::Duration forget_after = absl::Minutes(10);
  // Components registered at once (up or down) at most; a Register beyond it
  // is RESOURCE_EXHAUSTED. Bounds the registry's memory and the status.
  size_t max_components = 10000;
};

// Who is in the run: env servers, actors and learner ranks, each with a lease
// renewed by heartbeats. A lapsed lease marks the component DOWN (Reap); a
// component that comes back registers again, under its old id if it wants.
// Not thread-safe: the coordinator service serialises calls. The clock is not
// owned and must outlive the registry.
class Registry {
 public:
  Registry(RegistryOptions options, Clock* clock) : options_(options), clock_(clock) {}

  // Validates and records a registration; returns the component id.
  // INVALID_ARGUMENT: no role, env server without envs or address, learner
  // without address, malformed address or id.
  absl::StatusOr<std::string> Register(const pb::RegisterRequest& request);

  // Renews the lease. NOT_FOUND: unknown id; FAILED_PRECONDITION: the lease
  // already lapsed (the component must Register again).
  absl::Status Heartbeat(const std::string& id, const pb::ComponentLoad* load);

  // Removes a component at once. NOT_FOUND for an unknown id.
  absl::StatusOr<Component> Deregister(const std::string& id);

  // Marks every component whose lease lapsed DOWN and returns them; forgets
  // components down longer than forget_after.
  std::vector<Component> Reap();

  // NOT_FOUND for an unknown id.
  absl::StatusOr<const Component*> Get(const std::string& id) const;
  std::vector<const Component*> List() const;
  std::vector<const Component*> Up(pb::Role role) const;

  // The address of the up learner rank 0 that registered last ("" if none),
  // and the rendezvous store it announced.
  std::string LearnerAddress() const;
  std::string RendezvousAddress() const;

  const RegistryOptions& options() const { return options_; }

 private:
  RegistryOptions options_;
  Clock* clock_;
  std::map<std::string, Component> components_;
};

// INVALID_ARGUMENT unless `address` looks like host:port with port 1..65535
// (port 0 allowed when `allow_zero_port`).
absl::Status ValidateAddress(const std::string& address, bool allow_zero_port = false);

const char* RoleName(pb::Role role);
const char* HealthName(pb::Health health);

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_REGISTRY_H_
