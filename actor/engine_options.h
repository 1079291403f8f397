#ifndef AGENTGYM_ACTOR_ENGINE_OPTIONS_H_
#define AGENTGYM_ACTOR_ENGINE_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace agentgym::actor {

// What the episode engine needs to know (see EpisodeEngine). Built from the
// run config by ActorOptionsFromConfig, or directly by eval and tests.
struct EngineOptions {
  std::string actor_id = "actor-0";
  // Episodes alive at once (each holds a generator sequence or waits on its
  // env); also the generator's batch size.
  int concurrent_episodes = 64;
  // Groups asked from the task source per request; 0: enough to fill
  // concurrent_episodes.
  int groups_per_request = 0;
  // The group size the task source hands out, for the default above.
  int group_size_hint = 1;
  // Sampling of agent turns (temperature <= 0: greedy).
  int max_new_tokens = 32;
  // A turn that reaches max_new_tokens without an end of turn: true sends
  // its text as the action anyway (the env judges it; usually an invalid
  // action that spends the turn), as AgentGym-RL does with truncated
  // responses; false ends the episode (end reason token_budget). Sending it
  // keeps a random-init policy's episodes going long enough to find a
  // reward at all.
  bool step_truncated_turns = true;
  float temperature = 1.0f;
  int64_t top_k = 0;
  float top_p = 1.0f;
  // Context limit per episode; 0: the model's max_position_embeddings.
  int64_t max_context = 0;
  // A group with an env_error member is rerun whole this many times at most.
  int group_retries = 2;
  // No new episode starts while the sink holds this many unacked.
  int64_t max_unacked = 1024;
  // Stop after this many episode attempts have started (0: no limit); the
  // engine then finishes what runs and Run() returns.
  int64_t max_episodes = 0;
  // Overrides the model directory's system prompt (the env's action format
  // is appended to it).
  std::optional<std::string> system_prompt;
  // Whether the system prompt states the env's action format; unset: what
  // the model directory says (PolicyBundle::state_action_format). A policy
  // trained from scratch cannot read it, and its ~40 tokens would be most
  // of every prompt it computes; a pretrained model needs it.
  std::optional<bool> state_action_format;
  // The horizon of a new episode of `env` (e.g. CoordinatorClient::
  // MaxTurnsFor); <= 0 falls back to the task's max_turns, then to the env's
  // recommended_max_turns. Called on the scheduler thread.
  std::function<int32_t(const std::string& env)> horizon;
  // The newest policy version known to be published (e.g. the
  // coordinator's directives); null: not known. While it is newer than the
  // weights the engine generates with, no new group starts (running
  // episodes go on) until the new weights are swapped in or weight_wait
  // passes: a group started on the old weights would reach the learner a
  // version staler than needed, and be dropped under a tight staleness
  // bound. Called on the scheduler thread.
  std::function<int64_t()> latest_version;
  absl::Duration weight_wait = absl::Seconds(5);
  // Prefill a group's shared prompt once and fork it (Generator::Prefill /
  // Fork); false computes each member's prompt on its own (same tokens).
  bool share_prefix = true;
  // Round-synchronous rollout, as AgentGym-RL's is; for comparison only
  // (bench/actor). A batch of up to concurrent_episodes episodes starts
  // together and runs turn by turn in lockstep: no episode generates its
  // next turn until every live episode's env reply of the current turn is
  // in (every turn waits for the slowest env), and the next batch starts
  // only once the whole batch has ended.
  bool round_synchronous = false;
  // How long Run() waits for env replies of cancelled episodes at shutdown.
  absl::Duration shutdown_grace = absl::Seconds(5);
  // How often load is reported (EngineHooks::on_load).
  absl::Duration load_interval = absl::Milliseconds(500);
};

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_ENGINE_OPTIONS_H_
