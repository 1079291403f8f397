#ifndef AGENTGYM_ACTOR_ENGINE_INTERNAL_H_
#define AGENTGYM_ACTOR_ENGINE_INTERNAL_H_

// The engine's private records, shared by its .cc files only.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "actor/episode_engine.h"
#include "agentgym/env/v1/env.pb.h"

namespace agentgym::actor {

// An env reply, pushed by a gRPC callback, handled on the scheduler thread.
struct EpisodeEngine::EnvEvent {
  enum class Kind { kCreated, kStepped };
  Kind kind = Kind::kCreated;
  uint64_t episode = 0;
  absl::StatusOr<env::v1::CreateResponse> created = absl::UnknownError("unset");
  absl::StatusOr<env::v1::StepResult> stepped = absl::UnknownError("unset");
  absl::Duration latency;
};

struct EpisodeEngine::Episode {
  enum class State { kCreating, kCreated, kGenerating, kStepping, kFinished };
  uint64_t uid = 0;
  uint64_t group = 0;  // GroupRun key
  int index = 0;       // group index
  EpisodeTask task;
  uint64_t sample_seed = 0;
  int32_t max_turns = 0;
  std::string server;
  env::EnvClient* client = nullptr;
  std::string session_id;
  State state = State::kCreating;
  bool call_pending = false;  // a Create or Step whose reply is not handled yet
  bool discard = false;       // aborted with its group: never sent
  int64_t seq_id = -1;
  std::string instruction, first_observation;
  int32_t recommended_max_turns = 0;
  // The last agent turn stopped at max_new_tokens without an end of turn:
  // the chat format's end-of-turn token is added (not sampled, masked)
  // before the next observation.
  bool close_turn = false;
  tpb::Trajectory traj;
  int64_t turn_version = 0;
  absl::Time turn_start;
  absl::Time env_start;
  absl::Duration generate_time;
  absl::Duration env_time;
};

struct EpisodeEngine::GroupRun {
  uint64_t key = 0;
  TaskGroupSpec spec;
  int attempt = 0;
  std::vector<uint64_t> members;  // episode uids, by group index
  int finished = 0;
  bool aborted = false;  // a member ended env_error: the others were aborted
  bool generation_started = false;
  bool completed = false;  // CompleteGroup ran
  std::vector<tpb::Trajectory> results;  // by group index once finished
  std::vector<bool> has_result;
};

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_ENGINE_INTERNAL_H_
