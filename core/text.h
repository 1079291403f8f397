#ifndef AGENTGYM_CORE_TEXT_H_
#define AGENTGYM_CORE_TEXT_H_

// Small text helpers for the RPC edge: validating untrusted text and quoting
// it in error messages without echoing megabytes or cutting a character.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace agentgym {

// Structural UTF-8 check (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF). Empty text is valid.
bool IsValidUtf8(absl::string_view text);

// `text` if it has at most `max_bytes` bytes, else its longest prefix of at
// most `max_bytes` bytes that ends on a UTF-8 character boundary, followed by
// "..." and the total size. For quoting client input in error messages.
std::string TruncateForMessage(absl::string_view text, size_t max_bytes = 100);

}  // namespace agentgym

#endif  // AGENTGYM_CORE_TEXT_H_
