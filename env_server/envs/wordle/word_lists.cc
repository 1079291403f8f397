#include "env_server/envs/wordle/word_lists.h"

#include <algorithm>


namespace agentgym::env::wordle {
namespace {

#include "env_server/envs/wordle/wordle_data.inc"

std::vector<std::string> Parse(std::string_view text) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() == 5) words.emplace_back(line);
    pos = end + 1;
  }
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return words;
}

}  // namespace

const std::vector<std::string>& AnswerWords() {
  static const std::vector<std::string>* const kWords =
      new std::vector<std::string>(Parse(kAnswersText));
  return *kWords;
}

const std::vector<std::string>& GuessWords() {
  static const std::vector<std::string>* const kWords =
      new std::vector<std::string>(Parse(kGuessesText));
  return *kWords;
}

bool IsValidGuessWord(std::string_view word) {
  const auto& words = GuessWords();
  return std::binary_search(words.begin(), words.end(), word);
}

}  // namespace agentgym::env::wordle
