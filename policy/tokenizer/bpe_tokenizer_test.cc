#include "policy/tokenizer/bpe_tokenizer.h"

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "policy/tokenizer/test_util.h"

namespace agentgym::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<BpeTokenizer> Tiny(bool array_merges = false) {
  auto tok = BpeTokenizer::FromJson(testing::TinyTokenizerJson(array_merges).dump());
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

TEST(BpeTokenizerTest, AppliesMergesByRank) {
  auto tok = Tiny();
  ASSERT_NE(tok, nullptr);
  // "hello": h+e, l+l, he+ll, hell+o -> 259. " world": Ġ+w, o+r, Ġw+or -> 262, l, d.
  auto ids = tok->Encode("hello world", /*allow_special=*/true);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_THAT(*ids, ElementsAre(259, 262, 'l', 'd'));
}

TEST(BpeTokenizerTest, ArrayAndStringMergeFormatsAgree) {
  auto a = Tiny(false);
  auto b = Tiny(true);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (const char* text : {"hello world", "hellhole worries", "shell  ww\n"}) {
    EXPECT_EQ(*a->Encode(text, true), *b->Encode(text, true)) << text;
  }
}

TEST(BpeTokenizerTest, SpecialTokensMatchOnlyWhenAllowed) {
  auto tok = Tiny();
  ASSERT_NE(tok, nullptr);
  EXPECT_THAT(*tok->Encode("<|im_start|>he", true), ElementsAre(300, 256));
  auto plain = tok->Encode("<|im_start|>he", false);
  ASSERT_TRUE(plain.ok());
  EXPECT_GT(plain->size(), 2u);
  EXPECT_EQ(*tok->Decode(*plain), "<|im_start|>he");
  // A non-special added token still matches with allow_special=false.
  EXPECT_THAT(*tok->Encode("<tool>", false), ElementsAre(301));
  EXPECT_TRUE(tok->IsSpecial(300));
  EXPECT_FALSE(tok->IsSpecial(301));
  EXPECT_THAT(tok->SpecialIds(), ElementsAre(300));
  EXPECT_EQ(tok->TokenToId("<|im_start|>"), 300);
  EXPECT_EQ(tok->TokenToId("he"), 256);
  EXPECT_EQ(tok->TokenToId("nope"), std::nullopt);
  EXPECT_EQ(tok->VocabSize(), 302);
}

TEST(BpeTokenizerTest, AppliesNfcBeforeBpe) {
  auto tok = Tiny();
  ASSERT_NE(tok, nullptr);
  // e + combining acute composes to U+00E9 (2 UTF-8 bytes -> 2 byte tokens).
  auto ids = tok->Encode("e\xCC\x81", true);
  ASSERT_TRUE(ids.ok());
  EXPECT_THAT(*ids, ElementsAre(0xC3, 0xA9));
  EXPECT_EQ(*tok->Normalize("e\xCC\x81"), "\xC3\xA9");
}

TEST(BpeTokenizerTest, RejectsInvalidUtf8AndUnknownIds) {
  auto tok = Tiny();
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("ab\xFF", true).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{5000}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{-1}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BpeTokenizerTest, LstripAndRstripAbsorbWhitespace) {
  auto json = testing::TinyTokenizerJson();
  json["added_tokens"][0]["lstrip"] = true;
  json["added_tokens"][0]["rstrip"] = true;
  auto tok = BpeTokenizer::FromJson(json.dump());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_THAT(*(*tok)->Encode("he  <|im_start|> \nhe", true), ElementsAre(256, 300, 256));
}

TEST(BpeTokenizerTest, IgnoreMergesUsesWholePieceWhenInVocab) {
  auto json = testing::TinyTokenizerJson();
  // "ho" is in the vocab but no merge produces it.
  json["model"]["vocab"]["ho"] = 290;
  {
    auto tok = BpeTokenizer::FromJson(json.dump());
    ASSERT_TRUE(tok.ok());
    EXPECT_THAT(*(*tok)->Encode("ho", true), ElementsAre('h', 'o'));
  }
  json["model"]["ignore_merges"] = true;
  auto tok = BpeTokenizer::FromJson(json.dump());
  ASSERT_TRUE(tok.ok());
  EXPECT_THAT(*(*tok)->Encode("ho", true), ElementsAre(290));
}

TEST(BpeTokenizerTest, HandlesLongWhitespaceRunsAndRepeatsFromCache) {
  auto tok = Tiny();
  ASSERT_NE(tok, nullptr);
  const std::string text = std::string(100000, ' ') + "hello" + std::string(5000, 'l');
  auto first = tok->Encode(text, true);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*tok->Decode(*first), text);
  EXPECT_EQ(*tok->Encode(text, true), *first);
}

TEST(BpeTokenizerTest, ConcurrentEncodesAgreeWithSerialOnes) {
  auto json = testing::TinyTokenizerJson();
  auto tok = BpeTokenizer::FromJson(json.dump());
  ASSERT_TRUE(tok.ok());
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back("hello world " + std::to_string(i * 7919) + " shell\n");
  std::vector<std::vector<int32_t>> serial;
  for (const auto& text : texts) serial.push_back(*(*tok)->Encode(text, true));
  // A fresh tokenizer, so the threads race on an empty cache.
  auto shared = BpeTokenizer::FromJson(json.dump());
  ASSERT_TRUE(shared.ok());
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < texts.size(); ++i) {
        auto ids = (*shared)->Encode(texts[(i + t * 50) % texts.size()], true);
        if (!ids.ok() || *ids != serial[(i + t * 50) % texts.size()]) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
}

// Reference ids produced by Hugging Face's JS tokenizers (see
// tools/tokenizer_fixtures/README.md); 100% agreement is required.
struct FixtureRow {
  std::string text;
  bool allow_special;
  std::vector<int32_t> ids;
};

std::vector<FixtureRow> ReadFixture(const std::string& path) {
  std::vector<FixtureRow> rows;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded()) {
      ADD_FAILURE() << "bad fixture line in " << path;
      continue;
    }
    rows.push_back({json["t"].get<std::string>(), json["s"].get<bool>(), json["ids"].get<std::vector<int32_t>>()});
  }
  return rows;
}

void ExpectMatchesReference(const std::string& name) {
  const std::string dir = AG_TOKENIZER_TESTDATA;
  auto tok = BpeTokenizer::FromFile(dir + "/" + name + "_tokenizer.json.gz");
  ASSERT_TRUE(tok.ok()) << tok.status();
  const auto rows = ReadFixture(dir + "/" + name + "_encode.jsonl");
  ASSERT_GE(rows.size(), 2000u);
  int mismatches = 0;
  for (const auto& row : rows) {
    auto ids = (*tok)->Encode(row.text, row.allow_special);
    ASSERT_TRUE(ids.ok()) << ids.status();
    if (*ids != row.ids && ++mismatches <= 10) {
      ADD_FAILURE() << name << " mismatch for " << nlohmann::json(row.text).dump()
                    << " allow_special=" << row.allow_special << "\n got " << nlohmann::json(*ids).dump()
                    << "\nwant " << nlohmann::json(row.ids).dump();
    }
    auto decoded = (*tok)->Decode(*ids);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, *(*tok)->Normalize(row.text));
  }
  EXPECT_EQ(mismatches, 0) << "of " << rows.size() << " rows";
}

TEST(BpeTokenizerTest, MatchesHuggingFaceQwen3TokenForToken) { ExpectMatchesReference("qwen3"); }
TEST(BpeTokenizerTest, MatchesHuggingFaceLlama3TokenForToken) { ExpectMatchesReference("llama3"); }

TEST(BpeTokenizerTest, FromFileReportsMissingFile) {
  auto tok = BpeTokenizer::FromFile("/nonexistent/tokenizer.json");
  EXPECT_EQ(tok.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(tok.status().message()), HasSubstr("/nonexistent/tokenizer.json"));
}

}  // namespace
}  // namespace agentgym::policy
