#include "policy/tokenizer/unicode_text.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "unicode/errorcode.h"
#include "unicode/normalizer2.h"
#include "unicode/bytestream.h"

namespace agentgym::policy {

bool IsValidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

absl::StatusOr<std::string> NfcNormalize(std::string_view text) {
  bool ascii = true;
  for (unsigned char c : text) {
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return std::string(text);
  if (!IsValidUtf8(text)) return absl::InvalidArgumentError("NFC: text is not valid UTF-8");

  icu::ErrorCode status;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  if (status.isFailure()) {
    return absl::InternalError(absl::StrCat("NFC: ICU normalizer unavailable: ", status.errorName()));
  }
  // The UTF-8 entry points (ICU >= 60) skip the UTF-16 round trip, and most
  // text is already NFC, which the quick check settles without copying.
  const icu::StringPiece input(text.data(), static_cast<int32_t>(text.size()));
  if (nfc->isNormalizedUTF8(input, status) && status.isSuccess()) return std::string(text);
  status.reset();
  std::string out;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(text.size()));
  nfc->normalizeUTF8(/*options=*/0, input, sink, /*edits=*/nullptr, status);
  if (status.isFailure()) {
    return absl::InternalError(absl::StrCat("NFC: ICU normalize failed: ", status.errorName()));
  }
  return out;
}

}  // namespace agentgym::policy
