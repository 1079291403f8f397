#ifndef AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_ACTION_TEXT_H_
#define AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_ACTION_TEXT_H_

#include <string>
#include <string_view>

namespace agentgym::env::searchqa {

// A `verb[argument]` action as the text envs (searchqa, webshop) accept it.
struct BracketAction {
  bool ok = false;
  std::string verb;      // lowercased, e.g. "search"
  std::string argument;  // trimmed text between the first '[' and the last ']'
  std::string error;     // why parsing failed, written for the agent
};

// Parses `verb[argument]`. Text before the last "Action:" (any case) is
// ignored, so ReAct-style "Thought: ...\nAction: search[x]" works, and so does
// a bare "Action: search[x]". Never fails on any input; `error` explains.
BracketAction ParseBracketAction(std::string_view text);

// Trims ASCII whitespace from both ends.
std::string_view TrimAscii(std::string_view text);

}  // namespace agentgym::env::searchqa

#endif  // AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_ACTION_TEXT_H_
