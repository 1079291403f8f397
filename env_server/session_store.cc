#include "env_server/session_store.h"

#include <algorithm>
#include <functional>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "core/random_id.h"
#include "core/text.h"

namespace agentgym::env {

namespace {

SessionStoreOptions CapDefaultTtl(SessionStoreOptions options) {
  options.default_idle_ttl = std::min(options.default_idle_ttl, options.max_idle_ttl);
  return options;
}

}  // namespace

SessionStore::SessionStore(SessionStoreOptions options)
    : options_(CapDefaultTtl(std::move(options))) {}

SessionStore::Shard& SessionStore::ShardFor(absl::string_view id) {
  return shards_[absl::Hash<absl::string_view>{}(id) % kShards];
}

void SessionStore::Touch(Session& session) {
  session.last_used_ns.store(absl::ToUnixNanos(options_.clock->Now()),
                             std::memory_order_relaxed);
}

absl::StatusOr<std::shared_ptr<SessionStore::Session>> SessionStore::Find(
    absl::string_view id) {
  Shard& shard = ShardFor(id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.sessions.find(id);
  if (it == shard.sessions.end()) {
    return absl::NotFoundError(absl::StrCat(
        "no session '", TruncateForMessage(id), "' (never created, closed, or reclaimed after idling)"));
  }
  return it->second;
}

absl::StatusOr<SessionStore::Created> SessionStore::Create(const Environment* env,
                                                           const TaskKey& key,
                                                           uint64_t seed,
                                                           absl::Duration idle_ttl) {
  // Reserve a slot first so concurrent creates cannot overshoot the cap.
  if (open_.fetch_add(1, std::memory_order_relaxed) >= options_.max_sessions) {
    open_.fetch_sub(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(
        absl::StrCat("the server holds its maximum of ", options_.max_sessions,
                     " sessions; close some or wait for idle ones to be reclaimed"));
  }
  auto session = std::make_shared<Session>();
  session->env = env;
  session->key = key;
  session->idle_ttl = idle_ttl <= absl::ZeroDuration()
                          ? options_.default_idle_ttl
                          : std::min(idle_ttl, options_.max_idle_ttl);
  Created created;
  auto episode = env->NewEpisode(key, seed, &created.start);
  if (!episode.ok()) {
    open_.fetch_sub(1, std::memory_order_relaxed);
    return episode.status();
  }
  {
    absl::MutexLock lock(&session->mu);
    session->seed = seed;
    session->episode = *std::move(episode);
  }
  Touch(*session);
  created.session_id = RandomId("s-");
  Shard& shard = ShardFor(created.session_id);
  absl::MutexLock lock(&shard.mu);
  shard.sessions.emplace(created.session_id, std::move(session));
  return created;
}

absl::StatusOr<SessionStore::Stepped> SessionStore::Step(absl::string_view session_id,
                                                         std::string_view action,
                                                         int32_t expected_turn) {
  auto session = Find(session_id);
  if (!session.ok()) return session.status();
  Session& s = **session;
  Touch(s);
  const size_t action_hash = expected_turn > 0 ? absl::Hash<std::string_view>{}(action) : 0;
  absl::MutexLock lock(&s.mu);
  if (expected_turn > 0) {
    // Checked before `ended`: the repeat of an episode's last step is
    // answered like any other.
    if (s.turn == expected_turn && s.last_outcome.has_value() &&
        s.last_action_hash == action_hash) {
      return Stepped{*s.last_outcome, s.turn, /*replayed=*/true};
    }
    if (s.turn != expected_turn - 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "session '", TruncateForMessage(session_id), "' is at turn ", s.turn,
          ", so a step sent as turn ", expected_turn, " (expected_turn) is out of order",
          s.turn == expected_turn ? " (that turn was reached by another step)" : "",
          "; it was not applied"));
    }
  }
  if (s.ended) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session '", session_id, "' has ended after ", s.turn,
        " turns; Reset or Close it"));
  }
  auto outcome = s.episode->Step(action);
  if (!outcome.ok()) return outcome.status();
  ++s.turn;
  s.ended = outcome->done || outcome->truncated;
  if (expected_turn > 0) {
    s.last_outcome = *outcome;
    s.last_action_hash = action_hash;
  } else {
    s.last_outcome.reset();
  }
  return Stepped{*std::move(outcome), s.turn};
}

absl::StatusOr<EpisodeStart> SessionStore::Reset(absl::string_view session_id,
                                                 std::optional<uint64_t> seed) {
  auto session = Find(session_id);
  if (!session.ok()) return session.status();
  Session& s = **session;
  Touch(s);
  absl::MutexLock lock(&s.mu);
  if (seed.has_value()) s.seed = *seed;
  EpisodeStart start;
  auto episode = s.env->NewEpisode(s.key, s.seed, &start);
  if (!episode.ok()) return episode.status();
  s.episode = *std::move(episode);
  s.turn = 0;
  s.ended = false;
  s.last_outcome.reset();
  return start;
}

absl::Status SessionStore::Close(absl::string_view session_id) {
  std::shared_ptr<Session> removed;  // destroyed outside the shard lock
  Shard& shard = ShardFor(session_id);
  {
    absl::MutexLock lock(&shard.mu);
    auto it = shard.sessions.find(session_id);
    if (it == shard.sessions.end()) {
      return absl::NotFoundError(absl::StrCat("no session '", TruncateForMessage(session_id), "'"));
    }
    removed = std::move(it->second);
    shard.sessions.erase(it);
  }
  open_.fetch_sub(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

int64_t SessionStore::EvictIdle() {
  const int64_t now_ns = absl::ToUnixNanos(options_.clock->Now());
  int64_t evicted = 0;
  for (Shard& shard : shards_) {
    std::vector<std::shared_ptr<Session>> removed;  // freed outside the lock
    {
      absl::MutexLock lock(&shard.mu);
      for (auto it = shard.sessions.begin(); it != shard.sessions.end();) {
        const Session& s = *it->second;
        int64_t idle_ns = now_ns - s.last_used_ns.load(std::memory_order_relaxed);
        if (idle_ns > absl::ToInt64Nanoseconds(s.idle_ttl)) {
          removed.push_back(std::move(it->second));
          shard.sessions.erase(it++);
        } else {
          ++it;
        }
      }
    }
    evicted += static_cast<int64_t>(removed.size());
  }
  open_.fetch_sub(evicted, std::memory_order_relaxed);
  return evicted;
}

}  // namespace agentgym::env
