#ifndef AGENTGYM_TESTS_ENV_SMOKE_JUNK_ACTIONS_H_
#define AGENTGYM_TESTS_ENV_SMOKE_JUNK_ACTIONS_H_

// Random and malformed actions for the random-agent smoke test: random valid
// UTF-8 (control characters, multi-byte and 4-byte characters, NUL), huge
// strings, invalid UTF-8, and near misses of real commands built from each
// env's own vocabulary and from the words on the agent's current screen.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/det_random.h"

namespace agentgym::testing {

enum class JunkKind {
  kRandomUtf8,   // valid UTF-8, 0-300 bytes
  kHuge,         // valid UTF-8 just under the server's action limit
  kOversize,     // valid UTF-8 over the server's action limit
  kInvalidUtf8,  // random bytes that are not UTF-8
  kNearMiss,     // a real command, mutated
  kFromScreen,   // a verb applied to words from the last observation
  kCanonical,    // a real command as written in the env's docs
};

struct JunkAction {
  JunkKind kind;
  std::string text;
  // What the server must answer: OK, or INVALID_ARGUMENT for actions the
  // contract rejects before they reach the env (oversize, not UTF-8).
  bool server_rejects = false;
};

class JunkActions {
 public:
  // `max_action_bytes`: the server's limit; `vocabulary`: commands of the env
  // under test (any env's commands are fine too: near misses of another
  // env's grammar are junk as well).
  JunkActions(uint64_t seed, int64_t max_action_bytes, std::vector<std::string> vocabulary);

  JunkAction Next(std::string_view last_observation);

  static std::string RandomUtf8(DetRng& rng, size_t max_bytes);
  static bool IsValidUtf8(std::string_view text);

 private:
  std::string Mutate(std::string text);
  std::string FromScreen(std::string_view observation);

  DetRng rng_;
  int64_t max_action_bytes_;
  std::vector<std::string> vocabulary_;
};

}  // namespace agentgym::testing

#endif  // AGENTGYM_TESTS_ENV_SMOKE_JUNK_ACTIONS_H_
