#include "env_server/envs/wordle/wordle.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "core/det_random.h"
#include "env_server/env_registry.h"
#include "env_server/envs/wordle/word_lists.h"
#include "env_server/envs/wordle/wordle_rules.h"

namespace agentgym::env::wordle {
namespace {

bool IsTestAnswer(const std::string& word) {
  return DetRng::Hash(absl::StrCat("wordle/", word)) % 5 == 0;
}

void Trim(std::string& s, std::string_view chars) {
  size_t b = s.find_first_not_of(chars);
  size_t e = s.find_last_not_of(chars);
  s = (b == std::string::npos) ? "" : s.substr(b, e - b + 1);
}

class WordleEpisode : public Episode {
 public:
  WordleEpisode(std::string answer, bool hard, const std::string& opener)
      : answer_(std::move(answer)), hard_(hard), opener_(opener) {}

  absl::StatusOr<StepOutcome> Step(std::string_view action) override {
    StepOutcome out;
    if (finished_) {
      out.observation = "The game is over.";
      out.action_valid = false;
      out.done = true;
      out.success = solved_;
      out.score = score_;
      return out;
    }
    ++actions_;
    std::string word = ParseGuess(action);
    std::optional<std::string> problem;
    if (word.size() != 5 ||
        !std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
      problem = "Invalid guess: a guess is one five-letter English word, e.g. 'guess crane'.";
    } else if (!IsValidGuessWord(word)) {
      problem = absl::StrCat("Invalid guess: '", word, "' is not in the word list.");
    } else if (hard_) {
      if (auto v = HardModeViolation(word, history_)) {
        problem = absl::StrCat("Invalid guess in hard mode: ", *v, ".");
      }
    }
    if (problem) {
      out.action_valid = false;
      out.observation = absl::StrCat(*problem, " This does not use a guess; you have ",
                                     WordleEnv::kMaxGuesses - history_.size(), " guesses left.");
    } else {
      Feedback f = Score(word, answer_);
      history_.push_back({word, f});
      double before = score_;
      score_ = std::max(score_, Greens(f) / 5.0);
      solved_ = word == answer_;
      out.observation = absl::StrCat("guess: ", word, "\nfeedback: ", FeedbackText(word, f));
      if (solved_) {
        absl::StrAppend(&out.observation, "\nYou found the word in ", history_.size(),
                        history_.size() == 1 ? " guess!" : " guesses!");
        out.reward = 1.0;
        out.done = out.success = true;
        finished_ = true;
      } else if (static_cast<int>(history_.size()) >= WordleEnv::kMaxGuesses) {
        absl::StrAppend(&out.observation, "\nNo guesses left. The word was '", answer_, "'.");
        out.done = true;
        finished_ = true;
      } else {
        absl::StrAppend(&out.observation, "\nGuesses left: ",
                        WordleEnv::kMaxGuesses - history_.size(), ".");
      }
      out.info["greens"] = Greens(f);
      out.info["score_gain"] = score_ - before;
    }
    out.score = score_;
    if (!finished_ && actions_ >= WordleEnv::kMaxActions) {
      out.truncated = true;
      finished_ = true;
      absl::StrAppend(&out.observation, "\nToo many actions (", WordleEnv::kMaxActions,
                      "); the episode is truncated.");
    }
    return out;
  }

  // Consistent-candidate solver over the answer list: the first guess is a
  // precomputed opener, later guesses minimise the expected number of
  // remaining candidates. Pure candidate strategies can still need more than
  // 6 guesses on words with many near-twins (e.g. _ight, _ound families), so
  // on the last guess the oracle plays the hidden answer if more than one
  // candidate is left (it is an oracle; the test counts how often).
  std::optional<std::string> OracleAction() const override {
    if (finished_) return std::nullopt;
    if (history_.empty()) return absl::StrCat("guess ", opener_);
    std::vector<std::string> candidates;
    for (const std::string& w : AnswerWords()) {
      if (Consistent(w, history_)) candidates.push_back(w);
    }
    if (candidates.empty() ||
        (candidates.size() > 1 &&
         static_cast<int>(history_.size()) == WordleEnv::kMaxGuesses - 1)) {
      return absl::StrCat("guess ", answer_);
    }
    return absl::StrCat("guess ", BestCandidateGuess(candidates));
  }

  size_t ApproxBytes() const override {
    return answer_.capacity() + opener_.capacity() + history_.capacity() * sizeof(GuessRecord);
  }

 private:
  std::string answer_;
  bool hard_;
  std::string opener_;
  std::vector<GuessRecord> history_;
  int actions_ = 0;
  double score_ = 0.0;
  bool solved_ = false;
  bool finished_ = false;
};

}  // namespace

std::string ParseGuess(std::string_view action) {
  std::string s;
  for (char c : action) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  constexpr std::string_view kSpace = " \t\r\n";
  Trim(s, kSpace);
  if (s.rfind("action:", 0) == 0) s = s.substr(7);
  Trim(s, kSpace);
  if (s.rfind("guess", 0) == 0) s = s.substr(5);
  Trim(s, " \t\r\n:[]()'\"`.!");
  return s;
}

WordleEnv::WordleEnv() {
  description_.name = "wordle";
  description_.description =
      "Guess a hidden five-letter English word in 6 tries from green/yellow/gray letter feedback.";
  description_.action_format =
      "guess <word> (or just <word>), one five-letter word from the list; an optional "
      "'Action:' prefix is accepted. Invalid guesses do not use a try.";
  description_.mirrors = "AgentGym-RL wordle (TextArena Wordle-v0)";
  description_.recommended_max_turns = 10;
  for (const std::string& w : AnswerWords()) {
    (IsTestAnswer(w) ? test_answers_ : train_answers_).push_back(w);
  }
  // A fixed shuffle so consecutive indices are not alphabetical neighbours.
  DetRng rng(DetRng::Hash("wordle/order"));
  rng.Shuffle(train_answers_);
  rng.Shuffle(test_answers_);
  auto n_train = static_cast<int64_t>(train_answers_.size());
  auto n_test = static_cast<int64_t>(test_answers_.size());
  description_.task_types = {
      {"standard", "common answer word, normal rules", n_train, n_test, 10},
      {"hard", "common answer word, hard mode (revealed hints must be used)", n_train, n_test, 10},
  };
  opener_ = BestCandidateGuess(AnswerWords());
}

absl::StatusOr<std::unique_ptr<WordleEnv>> WordleEnv::Create(const EnvOptions& options) {
  if (!options.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("wordle takes no options; got '", options.begin()->first, "'"));
  }
  return std::unique_ptr<WordleEnv>(new WordleEnv());
}

absl::StatusOr<std::string> WordleEnv::AnswerFor(const TaskKey& key) const {
  if (key.type != "standard" && key.type != "hard") {
    return absl::InvalidArgumentError(absl::StrCat("unknown wordle type ", key.type));
  }
  const auto& list = key.split == Split::kTest ? test_answers_ : train_answers_;
  if (key.index < 0 || key.index >= static_cast<int64_t>(list.size())) {
    return absl::OutOfRangeError(absl::StrCat("wordle index ", key.index, " out of range"));
  }
  return list[static_cast<size_t>(key.index)];
}

absl::StatusOr<std::unique_ptr<Episode>> WordleEnv::NewEpisode(const TaskKey& key, uint64_t seed,
                                                              EpisodeStart* start) const {
  absl::StatusOr<std::string> answer = AnswerFor(key);
  if (!answer.ok()) return answer.status();
  bool hard = key.type == "hard";
  start->instruction = absl::StrCat(
      "Play Wordle. Guess the hidden five-letter English word in ", kMaxGuesses,
      " tries. Reply with 'guess <word>'. After each guess every letter is marked green "
      "(right letter, right spot), yellow (in the word, wrong spot) or gray (not in the word, "
      "or no more copies of it). Guesses must be real words from the list; invalid guesses do "
      "not use a try.",
      hard ? " Hard mode: every revealed hint must be used in later guesses (greens stay in "
             "place, yellows must be included)."
           : "");
  start->observation = absl::StrCat("The game has started. You have ", kMaxGuesses, " guesses.");
  start->info["hard_mode"] = hard;
  return std::unique_ptr<Episode>(std::make_unique<WordleEpisode>(*answer, hard, opener_));
}

AG_REGISTER_ENV("wordle", [](const EnvOptions& o) -> absl::StatusOr<std::unique_ptr<Environment>> {
  auto env = WordleEnv::Create(o);
  if (!env.ok()) return env.status();
  return std::unique_ptr<Environment>(*std::move(env));
});

}  // namespace agentgym::env::wordle
