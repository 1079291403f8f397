#ifndef AGENTGYM_ACTOR_ENDPOINT_EPISODES_H_
#define AGENTGYM_ACTOR_ENDPOINT_EPISODES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "actor/chat_endpoint_client.h"
#include "actor/env_pool.h"
#include "actor/task_source.h"
#include "actor/trajectory_sink.h"

namespace agentgym::actor {

// Multi-turn episodes whose agent is an OpenAI-compatible chat endpoint
// instead of our policy (`agentgym eval --endpoint`). Each episode is the
// engine's conversation in chat messages: the same system prompt and first
// user turn (actor/prompts.h), the reply's text sent as the action, the
// observation as the next user turn, until done, the env's truncation, or
// the horizon. There are no tokens: the trajectories carry turns, rewards,
// success, score and end reason only.
//
// `concurrency` episodes run at once, each on its own worker thread (an
// endpoint call blocks for seconds; the server batches what arrives). An
// env failure reruns the episode on a fresh session (same task and seed) up
// to `episode_retries` times, then drops it (counted). A prompt longer than
// the endpoint's context ends that episode as context_full. Any other
// endpoint failure (after the client's retries) stops the run and is
// returned: a score computed without the model's answers would be a lie.
struct EndpointEpisodeOptions {
  ChatRequestParams params;  // max_tokens, temperature (0: greedy); seed is per episode and turn
  int concurrency = 16;
  int max_turns = 0;  // 0: the task's, then the env's recommended
  int episode_retries = 2;
  std::string system_prompt;  // the base; the env's action format is appended
  bool state_action_format = true;
  // One JSON line per finished episode (task, seed, success, score, reward,
  // end reason and the whole conversation); empty: none.
  std::string transcript_out;
};

struct EndpointRunResult {
  std::vector<tpb::Trajectory> trajectories;  // every finished episode, in no set order
  int64_t env_errors = 0;      // episode attempts that failed on the env side
  int64_t dropped_tasks = 0;   // tasks with an episode dropped after its retries
};

// Runs every member of every group. Thread-safety: call from one thread;
// `pool` and `client` are used from the workers (both are thread-safe).
absl::StatusOr<EndpointRunResult> RunEndpointEpisodes(const ChatEndpointClient& client, EnvPool* pool,
                                                      const std::vector<TaskGroupSpec>& groups,
                                                      const EndpointEpisodeOptions& options);

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_ENDPOINT_EPISODES_H_
