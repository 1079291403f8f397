#ifndef AGENTGYM_POLICY_TOKENIZER_UNICODE_TEXT_H_
#define AGENTGYM_POLICY_TOKENIZER_UNICODE_TEXT_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace agentgym::policy {

// Debian's Abseil has its own string_view type; hash-map lookups by view need it.
inline absl::string_view AsAbsl(std::string_view text) { return {text.data(), text.size()}; }

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points above U+10FFFF), the precondition of every regex and normalizer below.
bool IsValidUtf8(std::string_view text);

// Unicode NFC (canonical composition) through ICU, as Hugging Face's "NFC"
// normalizer does. ASCII-only text is returned unchanged without touching ICU.
// INVALID_ARGUMENT for invalid UTF-8; INTERNAL if ICU fails to load its data.
absl::StatusOr<std::string> NfcNormalize(std::string_view text);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_TOKENIZER_UNICODE_TEXT_H_
