#include "core/text.h"

#include "gtest/gtest.h"

namespace agentgym {
namespace {

TEST(TextTest, AcceptsWellFormedUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("craft 1 stick"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
}

TEST(TextTest, RejectsMalformedUtf8) {
  EXPECT_FALSE(IsValidUtf8("\x80"));                  // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xc3"));                  // truncated sequence
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));              // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));          // UTF-16 surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));      // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("ok \xe2\x82 then"));      // continuation missing
}

TEST(TextTest, TruncatesOnACharacterBoundary) {
  EXPECT_EQ(TruncateForMessage("short", 10), "short");
  EXPECT_EQ(TruncateForMessage("abcdefghij", 4), "abcd... (10 bytes)");
  // "\xe2\x82\xac" is one 3-byte character; a 5-byte cut must not split it.
  std::string euros = "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac";
  std::string cut = TruncateForMessage(euros, 5);
  EXPECT_EQ(cut, "\xe2\x82\xac... (9 bytes)");
  EXPECT_TRUE(IsValidUtf8(cut));
}

}  // namespace
}  // namespace agentgym
