#include "env_server/envs/searchqa/answer_match.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace agentgym::env::searchqa {
namespace {

bool IsAsciiPunct(unsigned char c) {
  return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') ||
         (c >= '{' && c <= '~');
}

bool IsSpace(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::vector<std::string> Tokens(std::string_view text) {
  std::string cleaned;
  cleaned.reserve(text.size());
  for (unsigned char c : text) {
    if (IsAsciiPunct(c)) continue;
    if (IsSpace(c)) c = ' ';
    cleaned.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  std::vector<std::string> tokens;
  for (absl::string_view t : absl::StrSplit(cleaned, ' ', absl::SkipEmpty())) {
    if (t == "a" || t == "an" || t == "the") continue;
    tokens.emplace_back(t);
  }
  return tokens;
}

}  // namespace

std::string NormalizeAnswer(std::string_view text) { return absl::StrJoin(Tokens(text), " "); }

bool ExactMatch(std::string_view prediction, std::string_view gold) {
  return NormalizeAnswer(prediction) == NormalizeAnswer(gold);
}

double TokenF1(std::string_view prediction, std::string_view gold) {
  std::vector<std::string> p = Tokens(prediction);
  std::vector<std::string> g = Tokens(gold);
  if (p.empty() || g.empty()) return 0.0;
  std::map<std::string, int> counts;
  for (const std::string& t : g) ++counts[t];
  int common = 0;
  for (const std::string& t : p) {
    auto it = counts.find(t);
    if (it != counts.end() && it->second > 0) {
      --it->second;
      ++common;
    }
  }
  if (common == 0) return 0.0;
  const double precision = static_cast<double>(common) / p.size();
  const double recall = static_cast<double>(common) / g.size();
  return 2 * precision * recall / (precision + recall);
}

}  // namespace agentgym::env::searchqa
