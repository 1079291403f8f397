#ifndef AGENTGYM_POLICY_CHAT_CHAT_FORMAT_H_
#define AGENTGYM_POLICY_CHAT_CHAT_FORMAT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "policy/tokenizer/tokenizer.h"

namespace agentgym::policy {

// Who a token belongs to, so the actor can build loss masks: only kAssistant
// tokens (assistant content and the assistant's end-of-turn token) are trained.
enum class TokenRole : uint8_t { kTemplate = 0, kSystem = 1, kUser = 2, kAssistant = 3 };

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

// Token ids with one role per id.
struct TokenizedChat {
  std::vector<int32_t> ids;
  std::vector<TokenRole> roles;

  // 1 where roles[i] == kAssistant, else 0.
  std::vector<uint8_t> LossMask() const;
  void Append(const TokenizedChat& other);
};

enum class ChatFormatKind {
  kChatML,  // Qwen2 / Qwen2.5 ("<|im_start|>role\n...<|im_end|>\n")
  kLlama3,  // Llama-3 Instruct ("<|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>")
};

// Renders conversations the way the models' own Jinja chat templates do (text
// identical to Hugging Face's apply_chat_template for the supported subset:
// system/user/assistant messages with string content, no tools) and tokenizes
// them so that the ids equal Encode(rendered text) token for token.
//
// Template tokens (<|im_start|>, role headers, separators) are looked up by id,
// never parsed out of content: with `allow_special_in_content == false`
// (default) a message that contains "<|im_end|>" is tokenized as plain text.
//
// Span rule: text between two special tokens is encoded as one piece, exactly
// as the reference does; a token that straddles a template/content boundary
// takes the role of its first byte (this only happens when content starts or
// ends with whitespace that merges with a template newline).
//
// Thread-safety: immutable; all methods are const. Does not own `tokenizer`,
// which must outlive this object.
class ChatFormat {
 public:
  // Qwen2.5's default system prompt, rendered when the first message is not a
  // system message.
  static constexpr char kQwenDefaultSystemPrompt[] =
      "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

  struct Options {
    ChatFormatKind kind = ChatFormatKind::kChatML;
    // ChatML only: system prompt used when the conversation has none. nullopt =
    // Qwen2.5's default; "" = no system turn (Qwen2-Math/Qwen3 behaviour).
    std::optional<std::string> default_system_prompt;
    bool allow_special_in_content = false;
  };

  // INVALID_ARGUMENT if the tokenizer lacks a token the format needs.
  static absl::StatusOr<std::unique_ptr<ChatFormat>> Create(const Tokenizer* tokenizer,
                                                            const Options& options);

  // The rendered prompt text. INVALID_ARGUMENT for an empty conversation or an
  // unknown role.
  absl::StatusOr<std::string> RenderText(absl::Span<const ChatMessage> messages,
                                         bool add_generation_prompt) const;
  // The same conversation as ids with per-token roles.
  absl::StatusOr<TokenizedChat> Render(absl::Span<const ChatMessage> messages,
                                       bool add_generation_prompt) const;

  // For multi-turn rollouts: the ids to append after an assistant turn that
  // ended with end_of_turn_id(), for one more (non-first) message and
  // optionally the next generation header, without re-tokenizing history.
  // prefix + AppendTurn(m, g) == Render(history + [m], g) whenever prefix
  // equals Render(history) up to and including the assistant's end of turn.
  absl::StatusOr<TokenizedChat> AppendTurn(const ChatMessage& message,
                                           bool add_generation_prompt) const;

  // The token that ends a turn (<|im_end|> / <|eot_id|>): the generation stop.
  int32_t end_of_turn_id() const { return end_of_turn_id_; }
  ChatFormatKind kind() const { return options_.kind; }

 private:
  struct Part {
    std::string text;
    TokenRole role;
    bool special;  // `text` is one special token
  };

  ChatFormat(const Tokenizer* tokenizer, Options options) : tokenizer_(tokenizer), options_(std::move(options)) {}

  absl::Status BuildParts(absl::Span<const ChatMessage> messages, bool add_generation_prompt,
                          std::vector<Part>* parts) const;
  absl::Status AddMessage(const ChatMessage& message, bool first, std::vector<Part>* parts) const;
  void AddGenerationPrompt(std::vector<Part>* parts) const;
  absl::StatusOr<TokenizedChat> Tokenize(const std::vector<Part>& parts) const;
  absl::Status EncodeSpan(const std::vector<const Part*>& span, TokenizedChat* out) const;

  const Tokenizer* tokenizer_;
  Options options_;
  int32_t end_of_turn_id_ = -1;
};

// "system" -> kSystem, ...; nullopt for other roles.
std::optional<TokenRole> RoleFromName(const std::string& role);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_CHAT_CHAT_FORMAT_H_
