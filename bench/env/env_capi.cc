// A C ABI over the built-in envs, so the HTTP/JSON reference server
// (agentgym_http_server.py, an AgentGym-style FastAPI app) runs exactly the
// same env logic as agentgym-env-server through a thin ctypes binding. The
// benchmark then compares the serving stacks, not two ports of an env.
//
// Every function returns a malloc'd JSON string the caller frees with
// agentgym_capi_free; errors are {"error": "..."} bodies, as AgentGym does.

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "env_server/env_registry.h"
#include "env_server/task_ids.h"
#include "nlohmann/json.hpp"

namespace {

using agentgym::env::Environment;
using agentgym::env::Episode;

struct State {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<Environment>> envs;
};

State& GlobalState() {
  static State* state = new State();
  return *state;
}

char* Dup(const nlohmann::json& j) {
  std::string s = j.dump();
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

}  // namespace

extern "C" {

// Creates an episode; returns {"handle": <int>, "observation": ..., "instruction": ...}.
char* agentgym_capi_create(const char* env_name, const char* task_id, unsigned long long seed,
                           void** handle_out) {
  State& state = GlobalState();
  Environment* env;
  {
    std::lock_guard<std::mutex> lock(state.mu);
    auto it = state.envs.find(env_name);
    if (it == state.envs.end()) {
      auto created = agentgym::env::EnvRegistry::Global().Create(env_name, {});
      if (!created.ok()) return Dup({{"error", std::string(created.status().message())}});
      it = state.envs.emplace(env_name, *std::move(created)).first;
    }
    env = it->second.get();
  }
  absl::StatusOr<agentgym::env::TaskKey> key =
      (task_id == nullptr || *task_id == '\0')
          ? agentgym::env::SampleTask(env->Describe(), agentgym::env::Split::kTrain, "", seed)
          : agentgym::env::ParseTaskId(task_id, env->Describe());
  if (!key.ok()) return Dup({{"error", std::string(key.status().message())}});
  agentgym::env::EpisodeStart start;
  auto episode = env->NewEpisode(*key, seed, &start);
  if (!episode.ok()) return Dup({{"error", std::string(episode.status().message())}});
  *handle_out = episode->release();
  return Dup({{"observation", start.observation}, {"instruction", start.instruction}});
}

char* agentgym_capi_step(void* handle, const char* action) {
  auto* episode = static_cast<Episode*>(handle);
  auto out = episode->Step(action);
  if (!out.ok()) return Dup({{"error", std::string(out.status().message())}});
  return Dup({{"observation", out->observation},
              {"reward", out->reward},
              {"done", out->done || out->truncated},
              {"score", out->score},
              {"success", out->success}});
}

void agentgym_capi_close(void* handle) { delete static_cast<Episode*>(handle); }

void agentgym_capi_free(char* s) { std::free(s); }

}  // extern "C"
