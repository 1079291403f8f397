#include "policy/tokenizer/unicode_text.h"

#include "gtest/gtest.h"

namespace agentgym::policy {
namespace {

TEST(UnicodeTextTest, ValidatesUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

TEST(UnicodeTextTest, NfcComposesAndKeepsNormalizedText) {
  EXPECT_EQ(*NfcNormalize("e\xCC\x81"), "\xC3\xA9");
  EXPECT_EQ(*NfcNormalize("\xE2\x84\xAB"), "\xC3\x85");  // Angstrom sign -> Å
  EXPECT_EQ(*NfcNormalize("plain ascii"), "plain ascii");
  EXPECT_EQ(*NfcNormalize("\xE4\xBD\xA0\xE5\xA5\xBD"), "\xE4\xBD\xA0\xE5\xA5\xBD");
  EXPECT_EQ(NfcNormalize("\xFF").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agentgym::policy
