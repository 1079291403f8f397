#ifndef AGENTGYM_POLICY_TOKENIZER_BYTE_LEVEL_H_
#define AGENTGYM_POLICY_TOKENIZER_BYTE_LEVEL_H_

#include <array>
#include <string>
#include <string_view>

namespace agentgym::policy {

// GPT-2's reversible byte <-> unicode mapping used by "ByteLevel" pre-tokenizers
// and decoders: printable Latin-1 bytes map to themselves, the other bytes to
// U+0100 onwards, so every byte string has a printable spelling.

// The UTF-8 spelling of each byte's stand-in character.
const std::array<std::string, 256>& ByteLevelAlphabet();

// Appends the byte-level spelling of `bytes` to `out`.
void BytesToByteLevel(std::string_view bytes, std::string* out);

// Appends the bytes a byte-level spelling stands for to `out`; false when
// `token` holds a character outside the alphabet (or invalid UTF-8).
bool ByteLevelToBytes(std::string_view token, std::string* out);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_TOKENIZER_BYTE_LEVEL_H_
