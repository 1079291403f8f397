#ifndef AGENTGYM_ENV_SERVER_ENVS_WORDLE_WORD_LISTS_H_
#define AGENTGYM_ENV_SERVER_ENVS_WORDLE_WORD_LISTS_H_

#include <string>
#include <string_view>
#include <vector>

namespace agentgym::env::wordle {

// The embedded word lists (see data/README.md), parsed once on first use
// (thread-safe static initialisation) and immutable afterwards.
// Sorted, unique, five lowercase ASCII letters each.
const std::vector<std::string>& AnswerWords();
const std::vector<std::string>& GuessWords();
bool IsValidGuessWord(std::string_view word);

}  // namespace agentgym::env::wordle

#endif  // AGENTGYM_ENV_SERVER_ENVS_WORDLE_WORD_LISTS_H_
