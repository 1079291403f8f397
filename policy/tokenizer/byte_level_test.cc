#include "policy/tokenizer/byte_level.h"

#include <set>

#include "gtest/gtest.h"
#include "policy/tokenizer/file_util.h"
#include "policy/tokenizer/regex_splitter.h"

namespace agentgym::policy {
namespace {

TEST(ByteLevelTest, AlphabetIsGpt2sAndRoundTrips) {
  const auto& alphabet = ByteLevelAlphabet();
  EXPECT_EQ(alphabet[' '], "\xC4\xA0");   // Ġ
  EXPECT_EQ(alphabet['\n'], "\xC4\x8A");  // Ċ
  EXPECT_EQ(alphabet['a'], "a");
  EXPECT_EQ(std::set<std::string>(alphabet.begin(), alphabet.end()).size(), 256u);
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  std::string spelled, back;
  BytesToByteLevel(all, &spelled);
  ASSERT_TRUE(ByteLevelToBytes(spelled, &back));
  EXPECT_EQ(back, all);
  std::string ignored;
  EXPECT_FALSE(ByteLevelToBytes("\xE4\xBD\xA0", &ignored));  // 你 is not in the alphabet
  EXPECT_FALSE(ByteLevelToBytes(" ", &ignored));             // a raw space is not either
}

TEST(RegexSplitterTest, IsolatedSplitKeepsGapsAndConcatenatesBack) {
  auto splitter = RegexSplitter::Create(R"(\p{N}{1,3})");
  ASSERT_TRUE(splitter.ok()) << splitter.status();
  std::vector<std::string_view> pieces;
  ASSERT_TRUE((*splitter)->Split("ab12345c", &pieces).ok());
  EXPECT_EQ(pieces, (std::vector<std::string_view>{"ab", "123", "45", "c"}));
}

TEST(RegexSplitterTest, UsesUnicodePropertiesAndRejectsBadPatterns) {
  auto splitter = RegexSplitter::Create(R"(\s+)");
  ASSERT_TRUE(splitter.ok());
  std::vector<std::string_view> pieces;
  // U+3000 (ideographic space) is \s only in UCP mode.
  ASSERT_TRUE((*splitter)->Split("a\xE3\x80\x80" "b", &pieces).ok());
  EXPECT_EQ(pieces.size(), 3u);
  EXPECT_EQ(RegexSplitter::Create("(").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FileUtilTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadFileMaybeGzip("/nonexistent/x.json").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace agentgym::policy
