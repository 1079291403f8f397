#ifndef AGENTGYM_ACTOR_PROMPTS_H_
#define AGENTGYM_ACTOR_PROMPTS_H_

#include <string>

namespace agentgym::actor {

// The texts an agent is shown, in one place: the episode engine renders them
// through the model's chat format, and `agentgym eval --endpoint` sends them
// as chat messages to an OpenAI-compatible server, so an API model is scored
// on exactly the prompts our own policies see. Pure functions.

// `base` (the model directory's or the config's system prompt), followed,
// when `state_action_format` and the env has one, by the env's action format.
std::string ComposeSystemPrompt(const std::string& base, bool state_action_format, const std::string& action_format);

// The first user turn: the instruction, a blank line, the first observation
// (either may be empty).
std::string FirstUserMessage(const std::string& instruction, const std::string& first_observation);

}  // namespace agentgym::actor

#endif  // AGENTGYM_ACTOR_PROMPTS_H_
