#ifndef AGENTGYM_ENV_SERVER_SESSION_STORE_H_
#define AGENTGYM_ENV_SERVER_SESSION_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/clock.h"
#include "env_server/environment.h"

namespace agentgym::env {

struct SessionStoreOptions {
  int64_t max_sessions = 4096;
  // The TTL of a session created without one; capped at max_idle_ttl like a
  // TTL a client asks for.
  absl::Duration default_idle_ttl = absl::Minutes(10);
  absl::Duration max_idle_ttl = absl::Hours(2);
  Clock* clock = Clock::Real();  // not owned
};

// The live sessions of one server: id → episode, with a cap on their number
// and an idle TTL after which EvictIdle() reclaims them.
//
// Thread-safe. Sessions are sharded by id; each session has its own lock, so
// steps of different sessions run in parallel and steps of one session are
// serialized. A session evicted or closed while one of its steps runs is freed
// when that step returns.
class SessionStore {
 public:
  struct Created {
    std::string session_id;
    EpisodeStart start;
  };
  struct Stepped {
    StepOutcome outcome;
    int32_t turn = 0;
    // True when this is the remembered answer to a repeat of the last step
    // (see Step's expected_turn), which was not applied again.
    bool replayed = false;
  };

  explicit SessionStore(SessionStoreOptions options);
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;

  // RESOURCE_EXHAUSTED when max_sessions are open; the env's error otherwise.
  // `env` must outlive the store. `idle_ttl` of zero means the default.
  absl::StatusOr<Created> Create(const Environment* env, const TaskKey& key, uint64_t seed,
                                 absl::Duration idle_ttl);

  // NOT_FOUND for an unknown (or reclaimed) session; FAILED_PRECONDITION once
  // the episode has ended (done or truncated); the episode's error otherwise.
  //
  // `expected_turn` > 0 makes the step safe to repeat (a client retrying a
  // step whose reply was lost): it is the turn this step will be. The step
  // is applied only when the session is at turn expected_turn - 1. When the
  // session is already at expected_turn and its last step was this action,
  // also sent with expected_turn, that step's outcome is returned again
  // (replayed) and nothing is applied. Any other turn is FAILED_PRECONDITION
  // and nothing is applied. 0 applies the step whatever the turn.
  absl::StatusOr<Stepped> Step(absl::string_view session_id, std::string_view action,
                               int32_t expected_turn = 0);

  // Starts the session's task again, with `seed` or the session's own seed.
  absl::StatusOr<EpisodeStart> Reset(absl::string_view session_id,
                                     std::optional<uint64_t> seed);

  // NOT_FOUND for an unknown session.
  absl::Status Close(absl::string_view session_id);

  // Removes sessions idle for longer than their TTL; returns how many.
  int64_t EvictIdle();

  int64_t size() const { return open_.load(std::memory_order_relaxed); }
  int64_t max_sessions() const { return options_.max_sessions; }
  // The TTL a session created without one gets (the configured default,
  // capped at max_idle_ttl).
  absl::Duration default_idle_ttl() const { return options_.default_idle_ttl; }

 private:
  struct Session {
    const Environment* env;
    TaskKey key;
    absl::Duration idle_ttl;
    std::atomic<int64_t> last_used_ns{0};
    absl::Mutex mu;
    uint64_t seed ABSL_GUARDED_BY(mu);
    std::unique_ptr<Episode> episode ABSL_GUARDED_BY(mu);
    int32_t turn ABSL_GUARDED_BY(mu) = 0;
    bool ended ABSL_GUARDED_BY(mu) = false;
    // The last step, when it was sent with an expected turn, for answering
    // a repeat of it: its outcome and a hash of its action (64 bits are
    // plenty to tell a repeat from a different action of the same client).
    std::optional<StepOutcome> last_outcome ABSL_GUARDED_BY(mu);
    size_t last_action_hash ABSL_GUARDED_BY(mu) = 0;
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, std::shared_ptr<Session>> sessions ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 16;

  Shard& ShardFor(absl::string_view id);
  absl::StatusOr<std::shared_ptr<Session>> Find(absl::string_view id);
  void Touch(Session& session);

  const SessionStoreOptions options_;
  std::array<Shard, kShards> shards_;
  std::atomic<int64_t> open_{0};
};

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_SESSION_STORE_H_
