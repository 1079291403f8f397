#ifndef AGENTGYM_ENV_SERVER_CLIENT_TURN_TRACKER_H_
#define AGENTGYM_ENV_SERVER_CLIENT_TURN_TRACKER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace agentgym::env {

// The turn each session is known to be at, as the client saw it (0 after
// Create or Reset, StepResult.turn after a step), so that every step can carry
// StepRequest.expected_turn. Knowing nothing about a session is always safe:
// its steps then go unchecked (and are not retried).
//
// Bounded: at most `capacity` sessions are remembered. Entries live in two
// generations; when the current one holds capacity/2 it becomes the old one
// and the previous old one is dropped, so sessions in use (looked up or
// updated since) survive and sessions abandoned without Close are forgotten.
// Thread-safe.
class TurnTracker {
 public:
  explicit TurnTracker(size_t capacity);
  TurnTracker(const TurnTracker&) = delete;
  TurnTracker& operator=(const TurnTracker&) = delete;

  std::optional<int32_t> Get(absl::string_view session_id);
  void Set(absl::string_view session_id, int32_t turn);
  void Forget(absl::string_view session_id);
  size_t size() const;

 private:
  using Map = absl::flat_hash_map<std::string, int32_t>;
  void InsertLocked(std::string session_id, int32_t turn) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t generation_size_;
  mutable absl::Mutex mu_;
  Map current_ ABSL_GUARDED_BY(mu_);
  Map previous_ ABSL_GUARDED_BY(mu_);
};

}  // namespace agentgym::env

#endif  // AGENTGYM_ENV_SERVER_CLIENT_TURN_TRACKER_H_
