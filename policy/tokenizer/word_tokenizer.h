#ifndef AGENTGYM_POLICY_TOKENIZER_WORD_TOKENIZER_H_
#define AGENTGYM_POLICY_TOKENIZER_WORD_TOKENIZER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "policy/tokenizer/added_vocabulary.h"
#include "policy/tokenizer/tokenizer.h"

namespace agentgym::policy {

// A word-level tokenizer for tiny test/toy models: ids are
//   [0, S)          special tokens (<|endoftext|>, <|im_start|>, ...)
//   [S, S + 256)    byte tokens <0x00>..<0xFF> (fallback for anything unseen)
//   [S + 256, ...)  words, each with at most one leading space (" the"),
//                   single punctuation marks (" ," or "."), and whitespace
// Text is cut into pieces (optional space + run of letters/digits/non-ASCII,
// optional space + one ASCII punctuation mark, or one whitespace character);
// a piece missing from the vocabulary is spelled with byte tokens, so every
// valid UTF-8 text round-trips exactly. Saved as a small JSON file.
//
// Without byte fallback (BuildOptions::byte_fallback = false) there are no
// byte tokens: the last special token is the unknown token, which every
// piece missing from the vocabulary becomes (and which decodes to its own
// spelling), so text round-trips only when all its pieces are words. That is
// for policies trained from scratch on a closed set of env texts: 256 byte
// tokens they never need would otherwise hold most of a random init's
// probability mass, and RL from sparse reward would rarely sample a word.
//
// Thread-safety: immutable after construction.
class WordTokenizer : public Tokenizer {
 public:
  struct BuildOptions {
    std::vector<std::string> special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    // Most frequent pieces kept (ties broken by spelling, so builds are
    // deterministic), and only pieces seen at least `min_count` times.
    size_t max_words = 8192;
    size_t min_count = 1;
    // See the class comment. Without it, `unknown_token` is added as the
    // last special token (it must not be one of `special_tokens`).
    bool byte_fallback = true;
    std::string unknown_token = "<|unk|>";
  };

  // Builds the vocabulary from `texts` (e.g. env observations, task prompts).
  // INVALID_ARGUMENT for invalid UTF-8 or a duplicate/empty special token.
  static absl::StatusOr<std::unique_ptr<WordTokenizer>> Build(absl::Span<const std::string> texts,
                                                              const BuildOptions& options);
  // INVALID_ARGUMENT naming the problem for malformed JSON.
  static absl::StatusOr<std::unique_ptr<WordTokenizer>> FromJson(std::string_view json);
  static absl::StatusOr<std::unique_ptr<WordTokenizer>> FromFile(const std::string& path);
  std::string ToJson() const;
  absl::Status Save(const std::string& path) const;

  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text,
                                              bool allow_special) const override;
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const override;
  absl::StatusOr<std::string> Normalize(std::string_view text) const override;
  std::optional<int32_t> TokenToId(std::string_view token) const override;
  bool byte_fallback() const { return byte_fallback_; }
  // Without byte fallback, the id of the unknown token; else nullopt.
  std::optional<int32_t> unknown_id() const;
  int32_t VocabSize() const override { return static_cast<int32_t>(tokens_.size()); }
  std::vector<int32_t> SpecialIds() const override;
  bool IsSpecial(int32_t id) const override { return id >= 0 && id < num_special_; }

  // Appends the pieces of `text` (views into it) to `pieces`.
  static void SplitPieces(std::string_view text, std::vector<std::string_view>* pieces);
  // The spelling of byte `b`'s token, e.g. "<0x0A>".
  static std::string ByteTokenName(unsigned char b);

 private:
  WordTokenizer() = default;
  // Without byte fallback the last of `specials` is the unknown token.
  static absl::StatusOr<std::unique_ptr<WordTokenizer>> Create(std::vector<std::string> specials,
                                                               std::vector<std::string> words,
                                                               bool byte_fallback);

  int32_t num_special_ = 0;
  bool byte_fallback_ = true;
  std::vector<std::string> tokens_;  // spelling by id
  std::vector<std::string> bytes_;   // decoded bytes by id
  absl::flat_hash_map<std::string, int32_t> word_ids_;   // words only
  absl::flat_hash_map<std::string, int32_t> token_ids_;  // every spelling
  AddedVocabulary specials_;
};

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_TOKENIZER_WORD_TOKENIZER_H_
