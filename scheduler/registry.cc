#include "scheduler/registry.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/random_id.h"
#include "scheduler/request_limits.h"

namespace agentgym::scheduler {

namespace {

constexpr char kRegisterAgainPayload[] = "type.agentgym/coordinator.register_again";

bool PrintableAscii(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

absl::Status MarkRegisterAgain(absl::Status status) {
  status.SetPayload(kRegisterAgainPayload, absl::Cord("1"));
  return status;
}

bool IsRegisterAgain(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kRegisterAgainPayload).has_value();
}

const char* RoleName(pb::Role role) {
  switch (role) {
    case pb::ROLE_ENV_SERVER:
      return "env_server";
    case pb::ROLE_ACTOR:
      return "actor";
    case pb::ROLE_LEARNER:
      return "learner";
    default:
      return "unspecified";
  }
}

const char* HealthName(pb::Health health) {
  switch (health) {
    case pb::HEALTH_UP:
      return "up";
    case pb::HEALTH_DOWN:
      return "down";
    default:
      return "unknown";
  }
}

absl::Status ValidateAddress(const std::string& address, bool allow_zero_port) {
  size_t colon = address.rfind(':');
  if (address.empty() || colon == std::string::npos || colon == 0 || !PrintableAscii(address)) {
    return absl::InvalidArgumentError(
        absl::StrCat("address '", Quote(address), "' must look like host:port"));
  }
  int port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port < (allow_zero_port ? 0 : 1) ||
      port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address '", Quote(address), "' has a bad port"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Registry::Register(const pb::RegisterRequest& request) {
  const pb::Role role = request.role();
  if (role != pb::ROLE_ENV_SERVER && role != pb::ROLE_ACTOR && role != pb::ROLE_LEARNER) {
    return absl::InvalidArgumentError(
        "register: role must be ROLE_ENV_SERVER, ROLE_ACTOR or ROLE_LEARNER");
  }
  if (role != pb::ROLE_ACTOR || !request.address().empty()) {
    absl::Status address = ValidateAddress(request.address());
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("register ", RoleName(role), ": ", address.message()));
    }
  }
  if (role == pb::ROLE_ENV_SERVER) {
    if (request.capabilities().envs().empty()) {
      return absl::InvalidArgumentError(
          "register env_server: capabilities.envs must list the envs it serves");
    }
    for (const std::string& env : request.capabilities().envs()) {
      if (env.empty() || !PrintableAscii(env)) {
        return absl::InvalidArgumentError(
            absl::StrCat("register env_server: bad env name '", Quote(env), "'"));
      }
    }
  }
  if (role == pb::ROLE_LEARNER) {
    const auto& caps = request.capabilities();
    if (caps.rank() < 0 || caps.world_size() < 0 ||
        (caps.world_size() > 0 && caps.rank() >= caps.world_size())) {
      return absl::InvalidArgumentError(absl::StrCat("register learner: rank ", caps.rank(),
                                                     " does not fit world_size ",
                                                     caps.world_size()));
    }
  }
  if (request.name().size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("register: name is longer than ", kMaxNameBytes, " bytes"));
  }
  std::string id = request.component_id();
  if (!id.empty() && (id.size() > kMaxIdBytes || !PrintableAscii(id))) {
    return absl::InvalidArgumentError(
        "register: component_id must be 1..128 printable ASCII characters");
  }
  if (id.empty()) {
    const char* prefix = role == pb::ROLE_ENV_SERVER ? "env-"
                         : role == pb::ROLE_ACTOR    ? "actor-"
                                                     : "learner-";
    id = RandomId(prefix).substr(0, std::string(prefix).size() + 12);
  } else if (auto it = components_.find(id); it != components_.end() && it->second.role != role) {
    return absl::InvalidArgumentError(absl::StrCat("register: id '", Quote(id), "' belongs to a ",
                                                   RoleName(it->second.role), ", not a ",
                                                   RoleName(role)));
  }
  if (components_.count(id) == 0 && components_.size() >= options_.max_components) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "register: the coordinator holds ", components_.size(),
        " components, its limit (max_components ", options_.max_components,
        "); deregister components, or wait until down ones are forgotten (forget_after_ms)"));
  }
  absl::Time now = clock_->Now();
  Component& c = components_[id];
  c.id = id;
  c.role = role;
  c.address = request.address();
  c.name = request.name();
  c.capabilities = request.capabilities();
  c.health = pb::HEALTH_UP;
  c.registered = now;
  c.last_heartbeat = now;
  return id;
}

absl::Status Registry::Heartbeat(const std::string& id, const pb::ComponentLoad* load) {
  auto it = components_.find(id);
  if (it == components_.end()) {
    return MarkRegisterAgain(absl::NotFoundError(
        absl::StrCat(kUnknownComponentHint, " '", Quote(id), "'; register first")));
  }
  Component& c = it->second;
  absl::Time now = clock_->Now();
  // A beat that arrives after the lease ran out but before the reaper ran is
  // still too late: the component's work may be handed out already.
  if (c.health == pb::HEALTH_DOWN || now - c.last_heartbeat > options_.lease) {
    c.health = pb::HEALTH_DOWN;
    return MarkRegisterAgain(absl::FailedPreconditionError(absl::StrCat(
        "lease of component '", Quote(id), "' lapsed; ", kRegisterAgainHint,
        " (its work was reassigned)")));
  }
  c.last_heartbeat = now;
  if (load != nullptr) c.load = *load;
  return absl::OkStatus();
}

absl::StatusOr<Component> Registry::Deregister(const std::string& id) {
  auto it = components_.find(id);
  if (it == components_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown component id '", Quote(id), "'"));
  }
  Component c = std::move(it->second);
  components_.erase(it);
  return c;
}

std::vector<Component> Registry::Reap() {
  absl::Time now = clock_->Now();
  std::vector<Component> lapsed;
  for (auto it = components_.begin(); it != components_.end();) {
    Component& c = it->second;
    if (c.health == pb::HEALTH_UP && now - c.last_heartbeat > options_.lease) {
      c.health = pb::HEALTH_DOWN;
      lapsed.push_back(c);
    }
    if (c.health == pb::HEALTH_DOWN && now - c.last_heartbeat > options_.lease + options_.forget_after) {
      it = components_.erase(it);
    } else {
      ++it;
    }
  }
  return lapsed;
}

absl::StatusOr<const Component*> Registry::Get(const std::string& id) const {
  auto it = components_.find(id);
  if (it == components_.end()) {
    return MarkRegisterAgain(
        absl::NotFoundError(absl::StrCat(kUnknownComponentHint, " '", Quote(id), "'")));
  }
  return &it->second;
}

std::vector<const Component*> Registry::List() const {
  std::vector<const Component*> out;
  for (const auto& [id, c] : components_) out.push_back(&c);
  return out;
}

std::vector<const Component*> Registry::Up(pb::Role role) const {
  std::vector<const Component*> out;
  for (const auto& [id, c] : components_) {
    if (c.role == role && c.health == pb::HEALTH_UP) out.push_back(&c);
  }
  return out;
}

std::string Registry::LearnerAddress() const {
  const Component* best = nullptr;
  for (const Component* c : Up(pb::ROLE_LEARNER)) {
    if (c->capabilities.rank() != 0) continue;
    if (best == nullptr || c->registered > best->registered) best = c;
  }
  return best ? best->address : "";
}

std::string Registry::RendezvousAddress() const {
  for (const Component* c : Up(pb::ROLE_LEARNER)) {
    if (c->capabilities.rank() == 0 && !c->capabilities.rendezvous_address().empty()) {
      return c->capabilities.rendezvous_address();
    }
  }
  return "";
}

}  // namespace agentgym::scheduler
