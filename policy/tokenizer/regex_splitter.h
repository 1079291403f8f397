#ifndef AGENTGYM_POLICY_TOKENIZER_REGEX_SPLITTER_H_
#define AGENTGYM_POLICY_TOKENIZER_REGEX_SPLITTER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgym::policy {

// The "Split" pre-tokenizer with behaviour "Isolated": every regex match and
// every stretch of text between matches becomes its own piece, so the pieces
// concatenate back to the input.
//
// The pattern is compiled once with PCRE2 in UTF + UCP mode (so \s, \w and
// \p{L} follow Unicode, like the Oniguruma engine Hugging Face uses) and
// JIT-compiled when the platform supports it.
//
// Thread-safety: Split may be called concurrently; each call allocates its own
// match data. Owns the compiled pattern (RAII).
class RegexSplitter {
 public:
  // INVALID_ARGUMENT (with PCRE2's message and offset) for a bad pattern.
  static absl::StatusOr<std::unique_ptr<RegexSplitter>> Create(std::string_view pattern);
  ~RegexSplitter();
  RegexSplitter(const RegexSplitter&) = delete;
  RegexSplitter& operator=(const RegexSplitter&) = delete;

  // Appends the pieces of `text` (valid UTF-8, checked by the caller) to
  // `pieces`; the views point into `text`. INTERNAL if PCRE2 reports an error
  // (e.g. its match limit on pathological input).
  absl::Status Split(std::string_view text, std::vector<std::string_view>* pieces) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  RegexSplitter(std::string pattern, std::unique_ptr<Impl> impl);

  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_TOKENIZER_REGEX_SPLITTER_H_
