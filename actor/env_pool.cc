#include "actor/env_pool.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace agentgym::actor {

EnvPool::Server& EnvPool::ServerFor(const std::string& address) {
  Server& s = servers_[address];
  s.usage.address = address;
  return s;
}

void EnvPool::SetServers(const std::map<std::string, std::vector<std::string>>& servers) {
  absl::MutexLock lock(&mu_);
  for (auto& [address, s] : servers_) {
    if (servers.count(address) == 0) s.envs.clear();  // gone: never picked unless suggested
  }
  for (const auto& [address, envs] : servers) ServerFor(address).envs = envs;
}

void EnvPool::AddServer(const std::string& address, const std::vector<std::string>& envs) {
  absl::MutexLock lock(&mu_);
  Server& s = ServerFor(address);
  for (const std::string& e : envs) {
    if (std::find(s.envs.begin(), s.envs.end(), e) == s.envs.end()) s.envs.push_back(e);
  }
}

absl::StatusOr<env::EnvClient*> EnvPool::ClientLocked(const std::string& address) {
  if (address.empty()) return absl::InvalidArgumentError("no env server address");
  Server& s = ServerFor(address);
  if (s.client == nullptr) {
    env::EnvClientOptions o;
    o.target = address;
    o.timeout = options_.timeout;
    o.security = options_.security;
    absl::StatusOr<std::unique_ptr<env::EnvClient>> c = env::EnvClient::Create(o);
    if (!c.ok()) return c.status();
    s.client = std::move(*c);
  }
  return s.client.get();
}

absl::StatusOr<env::EnvClient*> EnvPool::Client(const std::string& address) {
  absl::MutexLock lock(&mu_);
  return ClientLocked(address);
}

std::string EnvPool::Pick(const std::string& env, const std::string& suggested) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  auto serves = [&](const Server& s) { return std::find(s.envs.begin(), s.envs.end(), env) != s.envs.end(); };
  if (!suggested.empty()) {
    auto it = servers_.find(suggested);
    if (it == servers_.end() || it->second.down_until <= now) return suggested;
  }
  std::vector<std::string> up, all;
  for (const auto& [address, s] : servers_) {
    if (!serves(s) && address != suggested) continue;
    all.push_back(address);
    if (s.down_until <= now) up.push_back(address);
  }
  if (!up.empty()) return up[round_robin_++ % up.size()];
  if (all.empty()) return suggested;
  // Everyone is down: the one whose window ends first.
  return *std::min_element(all.begin(), all.end(), [&](const std::string& a, const std::string& b) {
    return servers_[a].down_until < servers_[b].down_until;
  });
}

void EnvPool::ReportCall(const std::string& address, const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  Server& s = ServerFor(address);
  if (status.ok()) {
    s.failures = 0;
    s.down_until = absl::InfinitePast();
    return;
  }
  if (status.code() != absl::StatusCode::kUnavailable && status.code() != absl::StatusCode::kDeadlineExceeded) return;
  ++s.failures;
  absl::Duration window = options_.down_initial;
  for (int i = 1; i < s.failures && window < options_.down_max; ++i) window *= 2;
  s.down_until = absl::Now() + std::min(window, options_.down_max);
}

void EnvPool::CountEpisode(const std::string& address, bool env_error) {
  absl::MutexLock lock(&mu_);
  Server& s = ServerFor(address);
  ++s.usage.episodes;
  if (env_error) ++s.usage.env_errors;
}

std::vector<EnvPool::Usage> EnvPool::usage() const {
  absl::MutexLock lock(&mu_);
  std::vector<Usage> out;
  for (const auto& [address, s] : servers_) {
    if (s.usage.episodes > 0) out.push_back(s.usage);
  }
  return out;
}

std::optional<env::v1::EnvInfo> EnvPool::CachedInfo(const std::string& env) const {
  absl::MutexLock lock(&mu_);
  auto it = infos_.find(env);
  if (it == infos_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<env::v1::EnvInfo> EnvPool::Info(const std::string& env, const std::string& address) {
  env::EnvClient* client = nullptr;
  std::string target = address;
  {
    absl::MutexLock lock(&mu_);
    auto it = infos_.find(env);
    if (it != infos_.end()) return it->second;
    if (target.empty()) {
      for (const auto& [a, s] : servers_) {
        if (std::find(s.envs.begin(), s.envs.end(), env) != s.envs.end()) {
          target = a;
          break;
        }
      }
    }
    if (target.empty()) return absl::UnavailableError(absl::StrCat("no env server known for env \"", env, "\""));
    absl::StatusOr<env::EnvClient*> c = ClientLocked(target);
    if (!c.ok()) return c.status();
    client = *c;
  }
  absl::StatusOr<env::v1::ListEnvsResponse> listed = client->ListEnvs();  // outside the lock: it blocks
  ReportCall(target, listed.status());
  if (!listed.ok()) {
    return absl::Status(listed.status().code(),
                        absl::StrCat("ListEnvs of env server ", target, ": ", listed.status().message()));
  }
  absl::MutexLock lock(&mu_);
  Server& s = ServerFor(target);
  s.listed = true;
  std::vector<std::string> names;
  for (const env::v1::EnvInfo& info : listed->envs()) {
    infos_[info.name()] = info;
    names.push_back(info.name());
    if (std::find(s.envs.begin(), s.envs.end(), info.name()) == s.envs.end()) s.envs.push_back(info.name());
  }
  auto it = infos_.find(env);
  if (it == infos_.end()) {
    std::string served;
    for (const std::string& n : names) absl::StrAppend(&served, served.empty() ? "" : ", ", n);
    return absl::NotFoundError(
        absl::StrCat("unknown env \"", env, "\": env server ", target, " serves [", served, "]"));
  }
  return it->second;
}

}  // namespace agentgym::actor
