#ifndef AGENTGYM_POLICY_TOKENIZER_BPE_TOKENIZER_H_
#define AGENTGYM_POLICY_TOKENIZER_BPE_TOKENIZER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "policy/tokenizer/added_vocabulary.h"
#include "policy/tokenizer/bpe_model.h"
#include "policy/tokenizer/regex_splitter.h"
#include "policy/tokenizer/tokenizer.h"

namespace agentgym::policy {

// A byte-level BPE tokenizer loaded from a Hugging Face `tokenizer.json`
// (Qwen2/2.5/3, Llama-3, GPT-2 style). Pipeline, as in `tokenizers`:
//   added/special tokens split first -> NFC normalizer (if configured) ->
//   Split regex pre-tokenizer(s) (PCRE2) -> ByteLevel -> BPE merges by rank.
// Decoding maps ids back to exact bytes. Post-processors (BOS insertion) are
// ignored on purpose: see Tokenizer's contract.
//
// Anything in the file this class does not implement (another model type,
// dropout, byte_fallback, other normalizers or pre-tokenizers) is refused with
// UNIMPLEMENTED rather than approximated; malformed JSON or wrong types give
// INVALID_ARGUMENT naming the field.
//
// Thread-safety: immutable after loading except for BpeModel's locked cache.
class BpeTokenizer : public Tokenizer {
 public:
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> FromJson(std::string_view json);
  // Reads `path` (plain or gzip-compressed) and calls FromJson.
  static absl::StatusOr<std::unique_ptr<BpeTokenizer>> FromFile(const std::string& path);

  absl::StatusOr<std::vector<int32_t>> Encode(std::string_view text,
                                              bool allow_special) const override;
  absl::StatusOr<std::string> Decode(absl::Span<const int32_t> ids) const override;
  absl::StatusOr<std::string> Normalize(std::string_view text) const override;
  std::optional<int32_t> TokenToId(std::string_view token) const override;
  int32_t VocabSize() const override { return vocab_size_; }
  std::vector<int32_t> SpecialIds() const override { return special_ids_; }
  bool IsSpecial(int32_t id) const override;

 private:
  friend class BpeTokenizerLoader;
  BpeTokenizer() = default;

  bool nfc_ = false;
  std::vector<std::unique_ptr<RegexSplitter>> splitters_;
  std::unique_ptr<BpeModel> model_;
  AddedVocabulary added_;
  absl::flat_hash_map<int32_t, std::string> added_by_id_;
  absl::flat_hash_map<std::string, int32_t> added_by_content_;
  std::vector<int32_t> special_ids_;
  int32_t vocab_size_ = 0;
};

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_TOKENIZER_BPE_TOKENIZER_H_
