#ifndef AGENTGYM_ENV_SERVER_ENVS_WORDLE_WORDLE_RULES_H_
#define AGENTGYM_ENV_SERVER_ENVS_WORDLE_WORDLE_RULES_H_

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentgym::env::wordle {

enum class Mark : uint8_t { kGray = 0, kYellow = 1, kGreen = 2 };
using Feedback = std::array<Mark, 5>;

// Standard Wordle feedback with repeated letters handled as the game does:
// greens are assigned first; each remaining guess letter, left to right, is
// yellow only while the answer still has an unmatched copy of it, else gray.
// Both words must be five lowercase letters.
Feedback Score(std::string_view guess, std::string_view answer);
// Feedback as a base-3 number in [0, 243), for partitioning candidates.
int FeedbackCode(const Feedback& f);
int Greens(const Feedback& f);
// "c(gray) r(yellow) a(green) n(gray) e(gray)"
std::string FeedbackText(std::string_view guess, const Feedback& f);

struct GuessRecord {
  std::string word;
  Feedback feedback;
};

// Hard mode: every green must stay in place and every revealed letter must be
// reused (at least as many copies as were marked green or yellow in one
// guess). Returns the first violated hint in words, or nullopt if `guess`
// obeys every earlier hint.
std::optional<std::string> HardModeViolation(std::string_view guess,
                                             const std::vector<GuessRecord>& history);

// True if `word` would have produced every feedback in `history`.
bool Consistent(std::string_view word, const std::vector<GuessRecord>& history);

// The consistent candidate whose feedback partition of the candidate set has
// the smallest expected remaining size (sum of squared bucket sizes); ties go
// to the alphabetically first word. `candidates` must be non-empty. Picking
// only among candidates keeps every oracle guess legal in hard mode.
std::string BestCandidateGuess(const std::vector<std::string>& candidates);

}  // namespace agentgym::env::wordle

#endif  // AGENTGYM_ENV_SERVER_ENVS_WORDLE_WORDLE_RULES_H_
