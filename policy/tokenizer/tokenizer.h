#ifndef AGENTGYM_POLICY_TOKENIZER_TOKENIZER_H_
#define AGENTGYM_POLICY_TOKENIZER_TOKENIZER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace agentgym::policy {

// The text <-> token id contract shared by every tokenizer (byte-level BPE for
// real checkpoints, word-level for tiny models), so chat formatting, the actor
// and the learner never depend on which one a run uses.
//
// Contract:
//  - Encode never adds BOS/EOS or other post-processing tokens; chat formats add
//    them explicitly, so the ids a model sees are exactly the ids in the
//    trajectory.
//  - Decode is byte-exact: Decode(Encode(t)) == Normalize(t) for valid UTF-8 t.
//    Each id decodes to a fixed byte string (possibly a partial UTF-8
//    sequence), so per-token byte offsets are the running sum of
//    Decode({id}).size().
//  - `allow_special == false` makes special-token text (e.g. "<|im_start|>" in an
//    observation) encode as plain text, so env output cannot inject control
//    tokens. Non-special added tokens still match, as in Hugging Face's
//    `split_special_tokens=True`.
//
// Thread-safety: implementations are immutable after construction apart from
// internal caches guarded by their own locks; every method may be called
// concurrently.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // INVALID_ARGUMENT if `text` is not valid UTF-8.
  virtual absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text,
                                                      bool allow_special) const = 0;

  // INVALID_ARGUMENT for an id that names no token.
  virtual absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const = 0;

  // Applies the tokenizer's normalizer (e.g. NFC) without tokenizing.
  // INVALID_ARGUMENT if `text` is not valid UTF-8.
  virtual absl::StatusOr<std::string> Normalize(std::string_view text) const = 0;

  // The id of a token given in the tokenizer's own spelling (vocabulary form,
  // or the literal text of an added/special token); nullopt when absent.
  virtual std::optional<int32_t> TokenToId(std::string_view token) const = 0;

  // One past the largest id; ids in [0, VocabSize()) may still have gaps.
  virtual int32_t VocabSize() const = 0;

  // Ids of the special tokens (control tokens such as <|im_end|>), ascending.
  virtual std::vector<int32_t> SpecialIds() const = 0;
  virtual bool IsSpecial(int32_t id) const = 0;
};

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_TOKENIZER_TOKENIZER_H_
