#ifndef AGENTGYM_ENV_SERVER_BRIDGE_ACTION_PARSER_H_
#define AGENTGYM_ENV_SERVER_BRIDGE_ACTION_PARSER_H_

// Turns the agent's raw text into the action an AgentGym env server expects,
// the way AgentGym's own Python clients do (e.g. the text after "Action:"),
// configured per env rather than coded per env.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgym::env::bridge {

struct ActionParserConfig {
  std::vector<std::string> strip_suffixes;  // removed from the end first, e.g. "</s>"
  // PCRE2 pattern (UTF, dot matches newline); capture group 1, or the whole
  // match when the pattern has no group, is the action. Empty: the whole text.
  std::string pattern;
  enum class Pick { kFirst, kLast, kRejectMultiple };
  Pick pick = Pick::kFirst;
  enum class NoMatch { kRaw, kEmpty, kReject };
  NoMatch on_no_match = NoMatch::kRaw;
  std::string delete_pattern;       // PCRE2; every match is deleted (after extraction)
  bool collapse_whitespace = false;  // runs of whitespace become one space
  bool trim = true;
  std::map<std::string, std::string> aliases;  // whole action, case-insensitive
  std::string reject_message = "Invalid action format.";
  std::string multiple_message = "Error: Only one 'Action' is allowed per response.";
};

struct ParsedAction {
  bool rejected = false;  // true: answer `message` in-game, send nothing upstream
  std::string action;
  std::string message;
};

// Immutable after Create; Parse is thread-safe.
class ActionParser {
 public:
  // INVALID_ARGUMENT naming the pattern and the PCRE2 error when one does not compile.
  static absl::StatusOr<std::unique_ptr<ActionParser>> Create(ActionParserConfig config);
  ~ActionParser();
  ParsedAction Parse(std::string_view text) const;

 private:
  struct Compiled;
  explicit ActionParser(ActionParserConfig config);
  const ActionParserConfig config_;
  std::unique_ptr<Compiled> compiled_;
};

// A compiled PCRE2 pattern (UTF, dot matches newline, bounded backtracking),
// e.g. for the error rules. Immutable; Matches is thread-safe.
class Pattern {
 public:
  // INVALID_ARGUMENT naming the pattern and the PCRE2 error.
  static absl::StatusOr<std::unique_ptr<Pattern>> Compile(const std::string& pattern);
  ~Pattern();
  bool Matches(std::string_view text) const;

 private:
  struct Code;
  Pattern();
  std::unique_ptr<Code> code_;
};

}  // namespace agentgym::env::bridge

#endif  // AGENTGYM_ENV_SERVER_BRIDGE_ACTION_PARSER_H_
