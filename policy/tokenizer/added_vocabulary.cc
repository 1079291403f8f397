#include "policy/tokenizer/added_vocabulary.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace agentgym::policy {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

bool IsWordByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' ||
         u >= 0x80;
}

}  // namespace

absl::Status AddedVocabulary::Add(AddedToken token) {
  if (token.content.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("added token ", token.id, " has empty content"));
  }
  if (token.id < 0) {
    return absl::InvalidArgumentError(absl::StrCat("added token '", token.content, "' has negative id"));
  }
  const auto index = static_cast<int32_t>(tokens_.size());
  auto& bucket = by_first_byte_[static_cast<unsigned char>(token.content[0])];
  tokens_.push_back(std::move(token));
  bucket.push_back(index);
  std::stable_sort(bucket.begin(), bucket.end(), [this](int32_t a, int32_t b) {
    return tokens_[a].content.size() > tokens_[b].content.size();
  });
  return absl::OkStatus();
}

size_t AddedVocabulary::MatchAt(std::string_view text, size_t pos, bool allow_special,
                                int32_t* index) const {
  for (int32_t i : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
    const AddedToken& token = tokens_[i];
    if (token.special && !allow_special) continue;
    if (text.compare(pos, token.content.size(), token.content) != 0) continue;
    const size_t end = pos + token.content.size();
    if (token.single_word && ((pos > 0 && IsWordByte(text[pos - 1])) ||
                              (end < text.size() && IsWordByte(text[end])))) {
      continue;
    }
    *index = i;
    return end;
  }
  return 0;
}

void AddedVocabulary::Split(std::string_view text, bool allow_special,
                            std::vector<Segment>* segments) const {
  if (tokens_.empty()) {
    if (!text.empty()) segments->push_back({text, -1});
    return;
  }
  size_t plain_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    int32_t index = -1;
    size_t end = MatchAt(text, pos, allow_special, &index);
    if (end == 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t begin = pos;
    if (token.lstrip) {
      while (begin > plain_start && IsSpace(text[begin - 1])) --begin;
    }
    if (token.rstrip) {
      while (end < text.size() && IsSpace(text[end])) ++end;
    }
    if (begin > plain_start) segments->push_back({text.substr(plain_start, begin - plain_start), -1});
    segments->push_back({text.substr(begin, end - begin), token.id});
    plain_start = end;
    pos = end;
  }
  if (plain_start < text.size()) segments->push_back({text.substr(plain_start), -1});
}

}  // namespace agentgym::policy
