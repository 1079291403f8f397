#include "policy/chat/chat_format.h"

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "policy/tokenizer/bpe_tokenizer.h"
#include "policy/tokenizer/word_tokenizer.h"

namespace agentgym::policy {
namespace {

using ::testing::ElementsAre;

// The real tokenizers are large; load each once for the whole suite.
const Tokenizer& Qwen() {
  static const auto* tok =
      BpeTokenizer::FromFile(std::string(AG_TOKENIZER_TESTDATA) + "/qwen3_tokenizer.json.gz")->release();
  return *tok;
}
const Tokenizer& Llama() {
  static const auto* tok =
      BpeTokenizer::FromFile(std::string(AG_TOKENIZER_TESTDATA) + "/llama3_tokenizer.json.gz")->release();
  return *tok;
}

std::unique_ptr<ChatFormat> Format(const Tokenizer& tok, ChatFormatKind kind) {
  ChatFormat::Options options;
  options.kind = kind;
  auto format = ChatFormat::Create(&tok, options);
  EXPECT_TRUE(format.ok()) << format.status();
  return std::move(format).value();
}

struct ChatRow {
  std::vector<ChatMessage> messages;
  bool add_generation_prompt;
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<ChatRow> ReadRows(const std::string& name) {
  std::ifstream in(std::string(AG_CHAT_TESTDATA) + "/" + name + "_chat.jsonl");
  std::vector<ChatRow> rows;
  std::string line;
  while (std::getline(in, line)) {
    auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_discarded()) {
      ADD_FAILURE() << "bad fixture line";
      continue;
    }
    ChatRow row;
    for (const auto& m : json["messages"]) {
      row.messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
    }
    row.add_generation_prompt = json["add_generation_prompt"].get<bool>();
    row.text = json["text"].get<std::string>();
    row.ids = json["ids"].get<std::vector<int32_t>>();
    rows.push_back(std::move(row));
  }
  return rows;
}

// Text and ids rendered by @huggingface/jinja + @huggingface/tokenizers with
// the models' real chat templates (tools/tokenizer_fixtures).
void ExpectMatchesReference(const Tokenizer& tok, ChatFormatKind kind, const std::string& name) {
  auto format = Format(tok, kind);
  const auto rows = ReadRows(name);
  ASSERT_GE(rows.size(), 100u);
  for (const auto& row : rows) {
    const std::string context = nlohmann::json(row.text).dump();
    auto text = format->RenderText(row.messages, row.add_generation_prompt);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, row.text);
    auto chat = format->Render(row.messages, row.add_generation_prompt);
    ASSERT_TRUE(chat.ok()) << chat.status();
    EXPECT_EQ(chat->ids, row.ids) << context;
    ASSERT_EQ(chat->roles.size(), chat->ids.size());
  }
}

TEST(ChatFormatTest, ChatMLMatchesQwen25TemplateAndTokenizer) {
  ExpectMatchesReference(Qwen(), ChatFormatKind::kChatML, "qwen2_5");
}

TEST(ChatFormatTest, Llama3MatchesLlama3TemplateAndTokenizer) {
  ExpectMatchesReference(Llama(), ChatFormatKind::kLlama3, "llama3");
}

std::string DecodeRole(const Tokenizer& tok, const TokenizedChat& chat, TokenRole role) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < chat.ids.size(); ++i) {
    if (chat.roles[i] == role) ids.push_back(chat.ids[i]);
  }
  return *tok.Decode(ids);
}

TEST(ChatFormatTest, RolesMarkContentAndAssistantEndOfTurn) {
  auto format = Format(Qwen(), ChatFormatKind::kChatML);
  const std::vector<ChatMessage> messages = {
      {"user", "Go north."}, {"assistant", "I go north."}, {"user", "You see a key."}, {"assistant", "Take key"}};
  auto chat = format->Render(messages, /*add_generation_prompt=*/false);
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(DecodeRole(Qwen(), *chat, TokenRole::kAssistant), "I go north.<|im_end|>Take key<|im_end|>");
  EXPECT_EQ(DecodeRole(Qwen(), *chat, TokenRole::kUser), "Go north.You see a key.");
  EXPECT_EQ(DecodeRole(Qwen(), *chat, TokenRole::kSystem), ChatFormat::kQwenDefaultSystemPrompt);
  const auto mask = chat->LossMask();
  EXPECT_EQ(std::count(mask.begin(), mask.end(), 1),
            std::count(chat->roles.begin(), chat->roles.end(), TokenRole::kAssistant));
  EXPECT_EQ(chat->ids.back(), *Qwen().TokenToId("\xC4\x8A"));  // the trailing "\n" is template
  EXPECT_EQ(chat->roles.back(), TokenRole::kTemplate);
}

TEST(ChatFormatTest, DefaultSystemPromptCanBeReplacedOrDropped) {
  ChatFormat::Options options;
  options.default_system_prompt = "";
  auto none = ChatFormat::Create(&Qwen(), options);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*(*none)->RenderText({{"user", "hi"}}, true), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  options.default_system_prompt = "Be terse.";
  auto custom = ChatFormat::Create(&Qwen(), options);
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(*(*custom)->RenderText({{"user", "hi"}}, false),
            "<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n");
  auto llama = Format(Llama(), ChatFormatKind::kLlama3);
  EXPECT_EQ(*llama->RenderText({{"user", "  hi \n"}}, false),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>");
}

// The actor's multi-turn path: prompt, generated assistant ids + end of turn,
// then AppendTurn for the observation, must equal rendering the whole history.
void ExpectIncrementalEqualsFull(const Tokenizer& tok, ChatFormatKind kind) {
  auto format = Format(tok, kind);
  const std::vector<ChatMessage> history = {
      {"system", "You are an agent in a text world."}, {"user", "Room 1. Exits: north."},
      {"assistant", "Action: go north"},            {"user", "Room 2. A key is here <|im_end|> <|eot_id|>."},
      {"assistant", "Action: take key\n\nDone"},    {"user", "You have the key. 你好 😀"}};
  auto chat = format->Render(absl::MakeConstSpan(history).subspan(0, 2), /*add_generation_prompt=*/true);
  ASSERT_TRUE(chat.ok());
  for (size_t i = 2; i + 1 < history.size(); i += 2) {
    auto generated = tok.Encode(history[i].content, /*allow_special=*/false);
    ASSERT_TRUE(generated.ok());
    chat->ids.insert(chat->ids.end(), generated->begin(), generated->end());
    chat->ids.push_back(format->end_of_turn_id());
    chat->roles.resize(chat->ids.size(), TokenRole::kAssistant);
    auto next = format->AppendTurn(history[i + 1], /*add_generation_prompt=*/true);
    ASSERT_TRUE(next.ok());
    chat->Append(*next);
    auto full = format->Render(absl::MakeConstSpan(history).subspan(0, i + 2), true);
    ASSERT_TRUE(full.ok());
    EXPECT_EQ(chat->ids, full->ids) << i;
    EXPECT_EQ(chat->roles, full->roles) << i;
  }
}

TEST(ChatFormatTest, AppendTurnExtendsWithoutRetokenizingChatML) {
  ExpectIncrementalEqualsFull(Qwen(), ChatFormatKind::kChatML);
}
TEST(ChatFormatTest, AppendTurnExtendsWithoutRetokenizingLlama3) {
  ExpectIncrementalEqualsFull(Llama(), ChatFormatKind::kLlama3);
}

TEST(ChatFormatTest, SpecialTextInContentStaysPlainUnlessAllowed) {
  auto format = Format(Qwen(), ChatFormatKind::kChatML);
  const std::vector<ChatMessage> messages = {{"user", "x<|im_end|>y"}};
  auto chat = format->Render(messages, false);
  ASSERT_TRUE(chat.ok());
  const int32_t im_end = *Qwen().TokenToId("<|im_end|>");
  EXPECT_EQ(std::count(chat->ids.begin(), chat->ids.end(), im_end), 2);  // system + user turn ends
  ChatFormat::Options options;
  options.allow_special_in_content = true;
  auto permissive = ChatFormat::Create(&Qwen(), options);
  ASSERT_TRUE(permissive.ok());
  auto injected = (*permissive)->Render(messages, false);
  ASSERT_TRUE(injected.ok());
  EXPECT_EQ(std::count(injected->ids.begin(), injected->ids.end(), im_end), 3);
}

TEST(ChatFormatTest, RejectsBadInput) {
  auto format = Format(Qwen(), ChatFormatKind::kChatML);
  EXPECT_EQ(format->Render({}, true).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(format->Render({{"tool", "x"}}, true).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(format->Render({{"user", "\xFF"}}, true).status().code(), absl::StatusCode::kInvalidArgument);
  // The Qwen tokenizer has no Llama-3 header tokens.
  ChatFormat::Options options;
  options.kind = ChatFormatKind::kLlama3;
  EXPECT_EQ(ChatFormat::Create(&Qwen(), options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChatFormatTest, WorksWithWordTokenizer) {
  auto word = WordTokenizer::Build(std::vector<std::string>{"go north", "user\nassistant\nsystem\n"},
                                   WordTokenizer::BuildOptions());
  ASSERT_TRUE(word.ok());
  ChatFormat::Options options;
  options.default_system_prompt = "";
  auto format = ChatFormat::Create(word->get(), options);
  ASSERT_TRUE(format.ok()) << format.status();
  auto chat = (*format)->Render({{"user", "go"}, {"assistant", "go north"}}, false);
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(*(*word)->Decode(chat->ids), *(*format)->RenderText({{"user", "go"}, {"assistant", "go north"}}, false));
  EXPECT_EQ(DecodeRole(**word, *chat, TokenRole::kAssistant), "go north<|im_end|>");
}

}  // namespace
}  // namespace agentgym::policy
