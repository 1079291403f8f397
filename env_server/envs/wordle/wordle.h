#ifndef AGENTGYM_ENV_SERVER_ENVS_WORDLE_WORDLE_H_
#define AGENTGYM_ENV_SERVER_ENVS_WORDLE_WORDLE_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "env_server/environment.h"

namespace agentgym::env::wordle {

// The "wordle" env: guess a hidden five-letter word in 6 guesses with
// green/yellow/gray feedback. Types: "standard" and "hard" (hard mode). The
// answer of task (type, split, i) is the i-th word of the split's answer list;
// a word is a test answer iff FNV-1a("wordle/<word>") % 5 == 0, so the splits
// share no answer. The seed does not change a task. Immutable after Create;
// NewEpisode is thread-safe.
class WordleEnv : public Environment {
 public:
  static absl::StatusOr<std::unique_ptr<WordleEnv>> Create(const EnvOptions& options);

  const EnvDescription& Describe() const override { return description_; }
  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey& key, uint64_t seed,
                                                      EpisodeStart* start) const override;

  // The hidden answer of a task (for tests).
  absl::StatusOr<std::string> AnswerFor(const TaskKey& key) const;

  static constexpr int kMaxGuesses = 6;
  // Actions (valid or not) after which the env truncates, so junk cannot keep
  // an episode alive forever.
  static constexpr int kMaxActions = 20;

 private:
  WordleEnv();
  EnvDescription description_;
  std::vector<std::string> train_answers_;  // shuffled once, fixed order
  std::vector<std::string> test_answers_;
  std::string opener_;  // the oracle's first guess, computed once
};

// Extracts the guessed word: "crane", "guess crane", "Action: guess[CRANE]".
// Returns the lowercased word text (not yet checked against the word list).
std::string ParseGuess(std::string_view action);

}  // namespace agentgym::env::wordle

#endif  // AGENTGYM_ENV_SERVER_ENVS_WORDLE_WORDLE_H_
