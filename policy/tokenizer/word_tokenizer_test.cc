#include "policy/tokenizer/word_tokenizer.h"

#include <cstdio>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentgym::policy {
namespace {

using ::testing::ElementsAre;

std::unique_ptr<WordTokenizer> Build(std::vector<std::string> texts) {
  auto tok = WordTokenizer::Build(texts, WordTokenizer::BuildOptions());
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

TEST(WordTokenizerTest, SplitsIntoSpacePrefixedWordsAndPunctuation) {
  std::vector<std::string_view> pieces;
  WordTokenizer::SplitPieces("go north.  Take key!\n", &pieces);
  EXPECT_THAT(pieces, ElementsAre("go", " north", ".", " ", " Take", " key", "!", "\n"));
}

TEST(WordTokenizerTest, LayoutIsSpecialsThenBytesThenWords) {
  auto tok = Build({"go north", "go south"});
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->TokenToId("<|endoftext|>"), 0);
  EXPECT_EQ(tok->TokenToId("<|im_start|>"), 1);
  EXPECT_EQ(tok->TokenToId("<|im_end|>"), 2);
  EXPECT_EQ(tok->TokenToId("<0x00>"), 3);
  EXPECT_EQ(tok->TokenToId("<0xFF>"), 258);
  EXPECT_EQ(tok->TokenToId("go"), 259);  // most frequent word first
  EXPECT_EQ(tok->VocabSize(), 262);
  EXPECT_THAT(tok->SpecialIds(), ElementsAre(0, 1, 2));
  EXPECT_TRUE(tok->IsSpecial(2));
  EXPECT_FALSE(tok->IsSpecial(3));
}

TEST(WordTokenizerTest, UnknownTextFallsBackToBytesAndRoundTrips) {
  auto tok = Build({"go north"});
  ASSERT_NE(tok, nullptr);
  auto ids = tok->Encode("go west", true);
  ASSERT_TRUE(ids.ok());
  // "go" is a word; " west" is unknown: 5 byte tokens.
  EXPECT_THAT(*ids, ElementsAre(*tok->TokenToId("go"), 3 + ' ', 3 + 'w', 3 + 'e', 3 + 's', 3 + 't'));
  std::mt19937 rng(3);
  for (const std::string text : {"", "caf\xC3\xA9 \xF0\x9F\x98\x80 \t\r\n  x", "go  north..", "\x01\x7F"}) {
    auto encoded = tok->Encode(text, true);
    ASSERT_TRUE(encoded.ok());
    EXPECT_EQ(*tok->Decode(*encoded), text);
  }
}

TEST(WordTokenizerTest, WithoutByteFallbackUnknownPiecesBecomeTheUnknownToken) {
  WordTokenizer::BuildOptions o;
  o.byte_fallback = false;
  auto built = WordTokenizer::Build({"go north", "go south"}, o);
  ASSERT_TRUE(built.ok()) << built.status();
  const WordTokenizer& tok = **built;
  EXPECT_FALSE(tok.byte_fallback());
  // Specials (the unknown token last), then the words: no byte tokens.
  EXPECT_EQ(tok.TokenToId("<|unk|>"), 3);
  EXPECT_EQ(tok.unknown_id(), 3);
  EXPECT_EQ(tok.TokenToId("<0x00>"), std::nullopt);
  EXPECT_EQ(tok.TokenToId("go"), 4);
  EXPECT_EQ(tok.VocabSize(), 7);
  EXPECT_THAT(tok.SpecialIds(), ElementsAre(0, 1, 2, 3));
  auto ids = tok.Encode("go west!", /*allow_special=*/false);
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre(4, 3, 3));
  EXPECT_EQ(*tok.Decode(*ids), "go<|unk|><|unk|>");
  // Saved and loaded as it was; a tokenizer with byte fallback still has it.
  auto loaded = WordTokenizer::FromJson(tok.ToJson());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_FALSE((*loaded)->byte_fallback());
  EXPECT_EQ((*loaded)->VocabSize(), 7);
  EXPECT_THAT(*(*loaded)->Encode("go west!", false), ElementsAre(4, 3, 3));
  auto with_bytes = Build({"go north"});
  ASSERT_NE(with_bytes, nullptr);
  EXPECT_TRUE(with_bytes->byte_fallback());
  EXPECT_EQ(with_bytes->unknown_id(), std::nullopt);
  EXPECT_EQ(with_bytes->ToJson().find("byte_fallback"), std::string::npos);
  // The unknown token must not already be a special token.
  o.unknown_token = "<|im_end|>";
  EXPECT_EQ(WordTokenizer::Build({"go"}, o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(WordTokenizerTest, SpecialTokensOnlyWhenAllowed) {
  auto tok = Build({"hi"});
  ASSERT_NE(tok, nullptr);
  EXPECT_THAT(*tok->Encode("<|im_start|>hi<|im_end|>", true), ElementsAre(1, 259, 2));
  auto plain = tok->Encode("<|im_start|>hi", false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(std::count(plain->begin(), plain->end(), 1), 0);
  EXPECT_EQ(*tok->Decode(*plain), "<|im_start|>hi");
}

TEST(WordTokenizerTest, SavesAndLoadsIdentically) {
  auto tok = Build({"You are in a room. Exits: north, south.", "> go north"});
  ASSERT_NE(tok, nullptr);
  const std::string path = ::testing::TempDir() + "/word_tokenizer.json";
  ASSERT_TRUE(tok->Save(path).ok());
  auto loaded = WordTokenizer::FromFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->VocabSize(), tok->VocabSize());
  const std::string text = "You go north, then south. Exits?";
  EXPECT_EQ(*(*loaded)->Encode(text, true), *tok->Encode(text, true));
  std::remove(path.c_str());
}

TEST(WordTokenizerTest, RespectsMaxWordsAndRejectsBadInput) {
  WordTokenizer::BuildOptions options;
  options.max_words = 1;
  std::vector<std::string> texts = {"a a a b"};
  auto tok = WordTokenizer::Build(texts, options);
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ((*tok)->VocabSize(), 3 + 256 + 1);
  EXPECT_FALSE(WordTokenizer::Build(std::vector<std::string>{"\xFF"}, options).ok());
  EXPECT_FALSE((*tok)->Encode("\xC3", true).ok());
  EXPECT_FALSE((*tok)->Decode(std::vector<int32_t>{100000}).ok());
  for (const char* bad : {"", "[]", "{\"format\":\"agentgym.word_tokenizer\",\"version\":1}",
                          "{\"format\":\"x\",\"version\":1,\"special_tokens\":[],\"words\":[]}",
                          "{\"format\":\"agentgym.word_tokenizer\",\"version\":1,\"special_tokens\":[1],\"words\":[]}",
                          "{\"format\":\"agentgym.word_tokenizer\",\"version\":1,\"special_tokens\":[],\"words\":[\"a b\"]}",
                          "{\"format\":\"agentgym.word_tokenizer\",\"version\":1,\"special_tokens\":[\"x\",\"x\"],\"words\":[]}"}) {
    EXPECT_FALSE(WordTokenizer::FromJson(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace agentgym::policy
