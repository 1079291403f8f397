#ifndef AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_ACTION_PARSER_H_
#define AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_ACTION_PARSER_H_

// Turns an agent's raw reply into a TextCraft command, with plain string
// operations (no regex) so a step stays in the microseconds.
//
// Like AgentGym's TextCraft client, the command is the text after "Action:"
// (case-insensitive) up to the end of that line when the reply has one, the
// whole reply otherwise; more than one "Action:" is refused. The command is
// lowercased, characters other than letters, digits, ',', ':' and '_' become
// spaces (AgentGym's client strips them), and whitespace is collapsed.
// Grammar (AgentGym's): "get <n> <item>", "craft [<n>] <item> using <n>
// <item>, <n> <item>, ...", "inventory" (and "look", which AgentGym's client
// maps to it). Names are resolved later, against the recipe world.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentgym::env::textcraft {

struct ParsedAction {
  enum class Kind { kInvalid, kMultipleActions, kGet, kCraft, kInventory };
  Kind kind = Kind::kInvalid;
  std::string text;       // the normalised command, for messages
  int64_t count = -1;     // get: how many (-1: not a number that fits); craft: output count or -1
  std::string item;       // get: the item; craft: the output
  std::vector<std::pair<int64_t, std::string>> inputs;  // craft
  std::string bad_input;  // craft: the first "using" entry that is not "<n> <item>"
  bool has_bad_input = false;
};

ParsedAction ParseAction(std::string_view raw);

}  // namespace agentgym::env::textcraft

#endif  // AGENTGYM_ENV_SERVER_ENVS_TEXTCRAFT_ACTION_PARSER_H_
