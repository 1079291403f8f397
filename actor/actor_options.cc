#include "actor/actor_options.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace agentgym::actor {
namespace {

absl::Status AtLeast(const std::string& key, int64_t value, int64_t min) {
  if (value < min) return absl::InvalidArgumentError(absl::StrCat(key, " must be >= ", min, ", got ", value));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ActorConfig> ActorConfigFromConfig(const Config& config) {
  AG_RETURN_IF_ERROR(config.ExpectOnlyKeys(
      "actor", {"concurrent_episodes", "groups_per_request", "max_new_tokens", "temperature", "top_k", "top_p",
                "max_context", "group_retries", "max_unacked", "env_timeout_ms", "system_prompt",
                "step_truncated_turns", "state_action_format"}));
  ActorConfig c;
  EngineOptions& e = c.engine;
  AG_ASSIGN_OR_RETURN(c.model_dir, config.GetOr<std::string>("model.dir", ""));
  AG_ASSIGN_OR_RETURN(c.device, config.GetOr<std::string>("model.device", "cpu"));
  AG_ASSIGN_OR_RETURN(c.dtype, config.GetOr<std::string>("model.dtype", "float32"));
  AG_ASSIGN_OR_RETURN(c.intra_op_threads, config.GetOr<int>("model.intra_op_threads", 1));
  AG_RETURN_IF_ERROR(AtLeast("model.intra_op_threads", c.intra_op_threads, 1));
  AG_ASSIGN_OR_RETURN(c.group_size, config.GetOr<int>("algorithm.group_size", 1));
  AG_RETURN_IF_ERROR(AtLeast("algorithm.group_size", c.group_size, 1));
  AG_ASSIGN_OR_RETURN(e.concurrent_episodes, config.GetOr<int>("actor.concurrent_episodes", 64));
  AG_RETURN_IF_ERROR(AtLeast("actor.concurrent_episodes", e.concurrent_episodes, 1));
  AG_ASSIGN_OR_RETURN(e.groups_per_request, config.GetOr<int>("actor.groups_per_request", 0));
  AG_RETURN_IF_ERROR(AtLeast("actor.groups_per_request", e.groups_per_request, 0));
  AG_ASSIGN_OR_RETURN(e.max_new_tokens, config.GetOr<int>("actor.max_new_tokens", 32));
  AG_RETURN_IF_ERROR(AtLeast("actor.max_new_tokens", e.max_new_tokens, 1));
  AG_ASSIGN_OR_RETURN(e.step_truncated_turns, config.GetOr<bool>("actor.step_truncated_turns", true));
  if (config.Has("actor.state_action_format")) {
    AG_ASSIGN_OR_RETURN(bool state, config.Get<bool>("actor.state_action_format"));
    e.state_action_format = state;
  }
  AG_ASSIGN_OR_RETURN(e.temperature, config.GetOr<float>("actor.temperature", 1.0f));
  AG_ASSIGN_OR_RETURN(e.top_k, config.GetOr<int64_t>("actor.top_k", 0));
  AG_RETURN_IF_ERROR(AtLeast("actor.top_k", e.top_k, 0));
  AG_ASSIGN_OR_RETURN(e.top_p, config.GetOr<float>("actor.top_p", 1.0f));
  if (!(e.top_p > 0.0f && e.top_p <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("actor.top_p must be in (0, 1], got ", e.top_p));
  }
  AG_ASSIGN_OR_RETURN(e.max_context, config.GetOr<int64_t>("actor.max_context", 0));
  AG_RETURN_IF_ERROR(AtLeast("actor.max_context", e.max_context, 0));
  AG_ASSIGN_OR_RETURN(e.group_retries, config.GetOr<int>("actor.group_retries", 2));
  AG_RETURN_IF_ERROR(AtLeast("actor.group_retries", e.group_retries, 0));
  AG_ASSIGN_OR_RETURN(e.max_unacked, config.GetOr<int64_t>("actor.max_unacked", 1024));
  AG_RETURN_IF_ERROR(AtLeast("actor.max_unacked", e.max_unacked, 1));
  AG_ASSIGN_OR_RETURN(c.env_timeout_ms, config.GetOr<int64_t>("actor.env_timeout_ms", 30000));
  AG_RETURN_IF_ERROR(AtLeast("actor.env_timeout_ms", c.env_timeout_ms, 1));
  if (config.Has("actor.system_prompt")) {
    AG_ASSIGN_OR_RETURN(std::string prompt, config.Get<std::string>("actor.system_prompt"));
    e.system_prompt = prompt;
  }
  e.group_size_hint = c.group_size;
  if (c.group_size > e.concurrent_episodes) {
    return absl::InvalidArgumentError(absl::StrCat("algorithm.group_size ", c.group_size,
                                                   " exceeds actor.concurrent_episodes ", e.concurrent_episodes));
  }
  return c;
}

}  // namespace agentgym::actor
