#include "actor/prompts.h"

#include "absl/strings/str_cat.h"

namespace agentgym::actor {

std::string ComposeSystemPrompt(const std::string& base, bool state_action_format, const std::string& action_format) {
  std::string out = base;
  if (state_action_format && !action_format.empty()) {
    absl::StrAppend(&out, out.empty() ? "" : "\n\n", "Answer each turn with exactly one action. Action format: ",
                    action_format);
  }
  return out;
}

std::string FirstUserMessage(const std::string& instruction, const std::string& first_observation) {
  std::string out = instruction;
  if (!first_observation.empty()) absl::StrAppend(&out, out.empty() ? "" : "\n\n", first_observation);
  return out;
}

}  // namespace agentgym::actor
