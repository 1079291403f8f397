#ifndef AGENTGYM_POLICY_TOKENIZER_ADDED_VOCABULARY_H_
#define AGENTGYM_POLICY_TOKENIZER_ADDED_VOCABULARY_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace agentgym::policy {

// One entry of tokenizer.json's "added_tokens".
struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false;       // absorb whitespace before the match
  bool rstrip = false;       // absorb whitespace after the match
  bool single_word = false;  // match only outside words
  bool normalized = false;   // informational: matched on raw text here (see docs)
};

// Splits text into added-token matches and the plain stretches between them,
// before any normalization or pre-tokenization, the way Hugging Face's
// AddedVocabulary does: leftmost match wins, the longest token at that point.
//
// Thread-safety: immutable after construction; Split is const and reentrant.
class AddedVocabulary {
 public:
  struct Segment {
    std::string_view text;  // for a token: the matched text incl. stripped space
    int32_t id = -1;        // -1 for plain text
  };

  AddedVocabulary() = default;
  // INVALID_ARGUMENT for an empty content or a negative id.
  absl::Status Add(AddedToken token);

  // Splits `text`; special tokens only match when `allow_special`.
  void Split(std::string_view text, bool allow_special, std::vector<Segment>* segments) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // Token end (exclusive) of the longest eligible match at `pos`, or 0.
  size_t MatchAt(std::string_view text, size_t pos, bool allow_special, int32_t* index) const;

  std::vector<AddedToken> tokens_;
  // Indices into tokens_ by first byte, longest content first.
  std::array<std::vector<int32_t>, 256> by_first_byte_;
};

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_TOKENIZER_ADDED_VOCABULARY_H_
