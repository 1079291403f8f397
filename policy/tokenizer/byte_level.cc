#include "policy/tokenizer/byte_level.h"

#include <cstdint>

namespace agentgym::policy {
namespace {

constexpr int kMaxCodePoint = 256 + 68;  // the alphabet ends below U+0144

struct Tables {
  std::array<std::string, 256> byte_to_utf8;
  std::array<int16_t, kMaxCodePoint> code_point_to_byte;
};

std::string EncodeUtf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return s;
}

const Tables& GetTables() {
  static const Tables* tables = [] {
    auto* t = new Tables;
    t->code_point_to_byte.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const int cp = printable ? b : next++;
      t->byte_to_utf8[b] = EncodeUtf8(static_cast<uint32_t>(cp));
      t->code_point_to_byte[cp] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return *tables;
}

}  // namespace

const std::array<std::string, 256>& ByteLevelAlphabet() { return GetTables().byte_to_utf8; }

void BytesToByteLevel(std::string_view bytes, std::string* out) {
  const auto& alphabet = GetTables().byte_to_utf8;
  for (unsigned char c : bytes) out->append(alphabet[c]);
}

bool ByteLevelToBytes(std::string_view token, std::string* out) {
  const auto& to_byte = GetTables().code_point_to_byte;
  size_t i = 0;
  while (i < token.size()) {
    const auto c = static_cast<unsigned char>(token[i]);
    uint32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < token.size()) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(token[i + 1]) & 0x3Fu);
      i += 2;
    } else {
      return false;  // three- and four-byte characters are never in the alphabet
    }
    if (cp >= static_cast<uint32_t>(kMaxCodePoint) || to_byte[cp] < 0) return false;
    out->push_back(static_cast<char>(to_byte[cp]));
  }
  return true;
}

}  // namespace agentgym::policy
