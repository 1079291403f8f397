#include "policy/model_dir.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "policy/checkpoint.h"
#include "policy/test_util.h"

namespace agentgym::policy {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<WordTokenizer> SmallTokenizer(std::vector<std::string> specials = {"<|endoftext|>", "<|im_start|>",
                                                                                  "<|im_end|>"}) {
  WordTokenizer::BuildOptions options;
  options.special_tokens = std::move(specials);
  std::vector<std::string> texts = {"go north", "you see a door", "pick up the key"};
  absl::StatusOr<std::unique_ptr<WordTokenizer>> tok = WordTokenizer::Build(texts, options);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return std::move(*tok);
}

CausalLm TinyModel(int64_t vocab) {
  ModelConfig c = testing::SmallConfig(/*tied=*/true, /*value_head=*/false);
  c.vocab_size = vocab;
  return testing::RandomModel(c);
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

TEST(ModelDirTest, RoundTripsModelTokenizerAndChatFormat) {
  const std::string dir = testing::TempDir("model_dir_roundtrip");
  auto tok = SmallTokenizer();
  CausalLm model = TinyModel(tok->VocabSize() + 3);
  ASSERT_TRUE(WriteModelDir(dir, model, *tok, ChatFormatKind::kChatML, "Be brief.").ok());

  absl::StatusOr<PolicyBundle> b = LoadPolicyBundle(dir, torch::kCPU);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->chat_kind, ChatFormatKind::kChatML);
  EXPECT_EQ(b->system_prompt, "Be brief.");
  EXPECT_TRUE(b->state_action_format);
  EXPECT_EQ(b->config.vocab_size, tok->VocabSize() + 3);
  EXPECT_EQ(b->tokenizer->VocabSize(), tok->VocabSize());
  EXPECT_EQ(b->chat->end_of_turn_id(), *tok->TokenToId("<|im_end|>"));
  // The rendered prompt carries the directory's system prompt.
  absl::StatusOr<std::string> text = b->chat->RenderText({{"user", "go north"}}, true);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("Be brief."), std::string::npos) << *text;
  // Same weights.
  auto want = NamedWeights(model);
  auto got = NamedWeights(b->model);
  ASSERT_EQ(want.size(), got.size());
  for (auto& [name, t] : want) EXPECT_TRUE(torch::equal(t, got.at(name))) << name;
}

TEST(ModelDirTest, KeepsWhetherPromptsStateTheActionFormat) {
  const std::string dir = testing::TempDir("model_dir_action_format");
  auto tok = SmallTokenizer();
  CausalLm model = TinyModel(tok->VocabSize());
  ASSERT_TRUE(WriteModelDir(dir, model, *tok, ChatFormatKind::kChatML, "", /*state_action_format=*/false).ok());
  absl::StatusOr<PolicyBundle> b = LoadPolicyBundle(dir, torch::kCPU);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(b->state_action_format);
  WriteText(fs::path(dir) / kAgentgymJson, R"({"state_action_format": "no"})");
  absl::StatusOr<PolicyBundle> bad = LoadPolicyBundle(dir, torch::kCPU);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("state_action_format"), std::string::npos);
}

TEST(ModelDirTest, DefaultsToChatMlWithoutSystemPromptWhenNoAgentgymJson) {
  const std::string dir = testing::TempDir("model_dir_defaults");
  auto tok = SmallTokenizer();
  CausalLm model = TinyModel(tok->VocabSize());
  ASSERT_TRUE(WriteModelDir(dir, model, *tok, ChatFormatKind::kChatML, "x").ok());
  fs::remove(fs::path(dir) / kAgentgymJson);
  absl::StatusOr<PolicyBundle> b = LoadPolicyBundle(dir, torch::kCPU);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->chat_kind, ChatFormatKind::kChatML);
  EXPECT_EQ(b->system_prompt, "");
  absl::StatusOr<std::string> text = b->chat->RenderText({{"user", "go"}}, false);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find("system"), std::string::npos) << *text;
}

TEST(ModelDirTest, Llama3FormatNeedsItsSpecialTokens) {
  const std::string dir = testing::TempDir("model_dir_llama3");
  auto plain = SmallTokenizer();
  CausalLm model = TinyModel(plain->VocabSize() + 8);
  absl::Status s = WriteModelDir(dir, model, *plain, ChatFormatKind::kLlama3, "");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;

  auto tok = SmallTokenizer({"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"});
  ASSERT_LE(tok->VocabSize(), model->config().vocab_size);
  ASSERT_TRUE(WriteModelDir(dir, model, *tok, ChatFormatKind::kLlama3, "").ok());
  absl::StatusOr<PolicyBundle> b = LoadPolicyBundle(dir, torch::kCPU);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->chat_kind, ChatFormatKind::kLlama3);
  EXPECT_EQ(b->chat->end_of_turn_id(), *tok->TokenToId("<|eot_id|>"));
}

TEST(ModelDirTest, RefusesTokenizerLargerThanModelVocab) {
  const std::string dir = testing::TempDir("model_dir_vocab");
  auto tok = SmallTokenizer();
  CausalLm small = TinyModel(tok->VocabSize() - 1);
  EXPECT_EQ(WriteModelDir(dir, small, *tok, ChatFormatKind::kChatML, "").code(), absl::StatusCode::kInvalidArgument);
  // Written by hand: a model directory whose tokenizer outgrew the model.
  fs::create_directories(dir);
  ASSERT_TRUE(SavePretrained(dir, small).ok());
  ASSERT_TRUE(tok->Save(dir + "/word_tokenizer.json").ok());
  absl::StatusOr<PolicyBundle> b = LoadPolicyBundle(dir, torch::kCPU);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(b.status().message().find("vocab_size"), std::string::npos) << b.status();
}

TEST(ModelDirTest, ClearErrorsForMissingOrMalformedDirectories) {
  absl::StatusOr<PolicyBundle> b = LoadPolicyBundle("/nonexistent/agentgym/model", torch::kCPU);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(b.status().message().find("/nonexistent/agentgym/model"), std::string::npos);

  const std::string dir = testing::TempDir("model_dir_malformed");
  auto tok = SmallTokenizer();
  CausalLm model = TinyModel(tok->VocabSize());
  ASSERT_TRUE(WriteModelDir(dir, model, *tok, ChatFormatKind::kChatML, "").ok());

  WriteText(fs::path(dir) / kAgentgymJson, "{\"chat_format\": \"alpaca\"}");
  b = LoadPolicyBundle(dir, torch::kCPU);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument) << b.status();
  EXPECT_NE(b.status().message().find("alpaca"), std::string::npos);

  WriteText(fs::path(dir) / kAgentgymJson, "not json");
  b = LoadPolicyBundle(dir, torch::kCPU);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument) << b.status();

  fs::remove(fs::path(dir) / kAgentgymJson);
  WriteText(fs::path(dir) / "word_tokenizer.json", "{broken");
  b = LoadPolicyBundle(dir, torch::kCPU);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument) << b.status();
  EXPECT_NE(b.status().message().find("word_tokenizer.json"), std::string::npos);

  fs::remove(fs::path(dir) / "word_tokenizer.json");
  b = LoadPolicyBundle(dir, torch::kCPU);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kNotFound) << b.status();

  WriteText(fs::path(dir) / "config.json", "{\"vocab_size\": 3}");
  ASSERT_TRUE(tok->Save(dir + "/word_tokenizer.json").ok());
  b = LoadPolicyBundle(dir, torch::kCPU);
  EXPECT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find(dir), std::string::npos) << b.status();
}

}  // namespace
}  // namespace agentgym::policy
