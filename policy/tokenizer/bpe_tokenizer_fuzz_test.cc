// Malformed tokenizer.json files must give a Status, never a crash or hang.
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "policy/tokenizer/bpe_tokenizer.h"
#include "policy/tokenizer/test_util.h"

namespace agentgym::policy {
namespace {

using Json = nlohmann::json;

TEST(BpeTokenizerFuzzTest, RandomBytesAreRejected) {
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string data(rng() % 512, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    EXPECT_FALSE(BpeTokenizer::FromJson(data).ok());
  }
}

TEST(BpeTokenizerFuzzTest, EveryTruncationIsRejected) {
  const std::string json = testing::TinyTokenizerJson().dump();
  ASSERT_TRUE(BpeTokenizer::FromJson(json).ok());
  for (size_t len = 0; len < json.size(); len += 7) {
    EXPECT_FALSE(BpeTokenizer::FromJson(json.substr(0, len)).ok()) << len;
  }
}

TEST(BpeTokenizerFuzzTest, ByteFlipsNeverCrash) {
  const std::string json = testing::TinyTokenizerJson().dump();
  std::mt19937 rng(11);
  int accepted = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string mutated = json;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) {
      mutated[rng() % mutated.size()] = static_cast<char>(rng());
    }
    auto tok = BpeTokenizer::FromJson(mutated);
    if (!tok.ok()) continue;
    ++accepted;  // a flip inside a token string can still be a valid file
    auto ids = (*tok)->Encode("hello world <|im_start|> 123", true);
    if (ids.ok()) {
      EXPECT_TRUE((*tok)->Decode(*ids).ok());
    }
  }
  EXPECT_LT(accepted, 2000);
}

// Replaces the value at `path` with each wrongly-typed value in turn.
TEST(BpeTokenizerFuzzTest, WrongTypesGiveInvalidArgumentNamingTheField) {
  const std::vector<Json> wrong = {Json(nullptr), Json(3), Json("x"), Json::array(), Json::object(),
                                   Json(true), Json(-1), Json::array({1, 2})};
  const std::vector<Json::json_pointer> paths = {
      Json::json_pointer("/model"), Json::json_pointer("/model/vocab"),
      Json::json_pointer("/model/merges"), Json::json_pointer("/model/merges/0"),
      Json::json_pointer("/model/vocab/a"), Json::json_pointer("/added_tokens"),
      Json::json_pointer("/added_tokens/0"), Json::json_pointer("/added_tokens/0/id"),
      Json::json_pointer("/added_tokens/0/content"), Json::json_pointer("/added_tokens/0/special"),
      Json::json_pointer("/normalizer"), Json::json_pointer("/normalizer/type"),
      Json::json_pointer("/pre_tokenizer"), Json::json_pointer("/pre_tokenizer/pretokenizers"),
      Json::json_pointer("/pre_tokenizer/pretokenizers/0/pattern"),
      Json::json_pointer("/pre_tokenizer/pretokenizers/0/pattern/Regex"),
      Json::json_pointer("/pre_tokenizer/pretokenizers/1/use_regex"),
      Json::json_pointer("/decoder"), Json::json_pointer("/model/ignore_merges"),
      Json::json_pointer("/model/dropout"), Json::json_pointer("/model/byte_fallback")};
  int rejected = 0;
  for (const auto& path : paths) {
    for (const Json& value : wrong) {
      Json json = testing::TinyTokenizerJson();
      json[path] = value;
      auto tok = BpeTokenizer::FromJson(json.dump());
      if (!tok.ok()) {
        ++rejected;
        EXPECT_FALSE(tok.status().message().empty());
      }
    }
  }
  // Nulls are legal for the optional fields; nearly everything else must fail.
  EXPECT_GT(rejected, static_cast<int>(paths.size() * wrong.size() / 2));
}

TEST(BpeTokenizerFuzzTest, SpecificErrorsAreClear) {
  Json json = testing::TinyTokenizerJson();
  json["model"]["merges"][0] = "h";
  auto tok = BpeTokenizer::FromJson(json.dump());
  EXPECT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tok.status().message().find("merges[0]"), std::string::npos) << tok.status();

  json = testing::TinyTokenizerJson();
  json["model"]["merges"].push_back("q z");
  tok = BpeTokenizer::FromJson(json.dump());
  EXPECT_NE(tok.status().message().find("missing from the vocab"), std::string::npos) << tok.status();

  json = testing::TinyTokenizerJson();
  json["model"]["type"] = "WordPiece";
  EXPECT_EQ(BpeTokenizer::FromJson(json.dump()).status().code(), absl::StatusCode::kUnimplemented);

  json = testing::TinyTokenizerJson();
  json["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  tok = BpeTokenizer::FromJson(json.dump());
  EXPECT_EQ(tok.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tok.status().message().find("regex"), std::string::npos) << tok.status();

  EXPECT_EQ(BpeTokenizer::FromJson(std::string(100000, '[')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agentgym::policy
