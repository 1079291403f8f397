#ifndef AGENTGYM_ACTOR_ACTOR_OPTIONS_H_
#define AGENTGYM_ACTOR_ACTOR_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "actor/engine_options.h"
#include "core/config.h"

namespace agentgym::actor {

// Everything agentgym-actor reads from the run config:
//   model.dir, model.device (cpu), model.dtype (float32), model.intra_op_threads (1)
//   actor.{concurrent_episodes, groups_per_request, max_new_tokens, temperature,
//          top_k, top_p, max_context, group_retries, max_unacked, env_timeout_ms,
//          system_prompt, step_truncated_turns, state_action_format}
//   algorithm.group_size (1)
struct ActorConfig {
  std::string model_dir;
  std::string device = "cpu";
  std::string dtype = "float32";
  int intra_op_threads = 1;
  int group_size = 1;
  int64_t env_timeout_ms = 30000;
  EngineOptions engine;
};

// INVALID_ARGUMENT naming the key for a wrong type, a value out of range or an
// unknown key under `actor`.
absl::StatusOr<ActorConfig> ActorConfigFromConfig(const Config& config);

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_ACTOR_OPTIONS_H_
