#include "env_server/envs/wordle/wordle_rules.h"

#include "absl/strings/str_cat.h"

namespace agentgym::env::wordle {

Feedback Score(std::string_view guess, std::string_view answer) {
  Feedback f;
  f.fill(Mark::kGray);
  std::array<int, 26> unmatched{};
  for (int i = 0; i < 5; ++i) {
    if (guess[i] == answer[i]) {
      f[i] = Mark::kGreen;
    } else {
      ++unmatched[answer[i] - 'a'];
    }
  }
  for (int i = 0; i < 5; ++i) {
    if (f[i] == Mark::kGreen) continue;
    int& left = unmatched[guess[i] - 'a'];
    if (left > 0) {
      f[i] = Mark::kYellow;
      --left;
    }
  }
  return f;
}

int FeedbackCode(const Feedback& f) {
  int code = 0;
  for (Mark m : f) code = code * 3 + static_cast<int>(m);
  return code;
}

int Greens(const Feedback& f) {
  int n = 0;
  for (Mark m : f) n += m == Mark::kGreen ? 1 : 0;
  return n;
}

std::string FeedbackText(std::string_view guess, const Feedback& f) {
  static const char* kNames[] = {"gray", "yellow", "green"};
  std::string s;
  for (int i = 0; i < 5; ++i) {
    if (i > 0) s += ' ';
    absl::StrAppend(&s, std::string(guess.substr(i, 1)), "(", kNames[static_cast<int>(f[i])], ")");
  }
  return s;
}

std::optional<std::string> HardModeViolation(std::string_view guess,
                                             const std::vector<GuessRecord>& history) {
  static const char* kOrdinal[] = {"1st", "2nd", "3rd", "4th", "5th"};
  for (const GuessRecord& rec : history) {
    for (int i = 0; i < 5; ++i) {
      if (rec.feedback[i] == Mark::kGreen && guess[i] != rec.word[i]) {
        return absl::StrCat("the ", kOrdinal[i], " letter must be '", rec.word.substr(i, 1), "'");
      }
    }
    std::array<int, 26> revealed{}, have{};
    for (int i = 0; i < 5; ++i) {
      if (rec.feedback[i] != Mark::kGray) ++revealed[rec.word[i] - 'a'];
      ++have[guess[i] - 'a'];
    }
    for (int c = 0; c < 26; ++c) {
      if (have[c] < revealed[c]) {
        return absl::StrCat("the guess must contain '", std::string(1, static_cast<char>('a' + c)),
                            "'", revealed[c] > 1 ? absl::StrCat(" ", revealed[c], " times") : "");
      }
    }
  }
  return std::nullopt;
}

bool Consistent(std::string_view word, const std::vector<GuessRecord>& history) {
  for (const GuessRecord& rec : history) {
    if (Score(rec.word, word) != rec.feedback) return false;
  }
  return true;
}

std::string BestCandidateGuess(const std::vector<std::string>& candidates) {
  size_t best = 0;
  long best_cost = -1;
  std::array<int, 243> buckets;
  for (size_t g = 0; g < candidates.size(); ++g) {
    buckets.fill(0);
    for (const std::string& answer : candidates) ++buckets[FeedbackCode(Score(candidates[g], answer))];
    long cost = 0;
    for (int b : buckets) cost += static_cast<long>(b) * b;
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      best = g;
    }
  }
  return candidates[best];
}

}  // namespace agentgym::env::wordle
