#include "policy/chat/chat_format.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace agentgym::policy {
namespace {

constexpr char kImStart[] = "<|im_start|>";
constexpr char kImEnd[] = "<|im_end|>";
constexpr char kBeginOfText[] = "<|begin_of_text|>";
constexpr char kStartHeader[] = "<|start_header_id|>";
constexpr char kEndHeader[] = "<|end_header_id|>";
constexpr char kEotId[] = "<|eot_id|>";

// Length of the whitespace character at `s[i]` in JavaScript's String.trim set
// (what the reference Jinja `trim` filter uses), or 0.
size_t WhitespaceAt(const std::string& s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (c == 0xC2 && at(1) == 0xA0) return 2;                  // U+00A0
  if (c == 0xE1 && at(1) == 0x9A && at(2) == 0x80) return 3;  // U+1680
  if (c == 0xE2 && at(1) == 0x80) {
    const unsigned char d = at(2);
    if ((d >= 0x80 && d <= 0x8A) || d == 0xA8 || d == 0xA9 || d == 0xAF) return 3;  // U+2000-200A, 2028/9, 202F
  }
  if (c == 0xE2 && at(1) == 0x81 && at(2) == 0x9F) return 3;  // U+205F
  if (c == 0xE3 && at(1) == 0x80 && at(2) == 0x80) return 3;  // U+3000
  if (c == 0xEF && at(1) == 0xBB && at(2) == 0xBF) return 3;  // U+FEFF
  return 0;
}

std::string TrimLikeJavaScript(const std::string& s) {
  size_t begin = 0;
  while (begin < s.size()) {
    const size_t n = WhitespaceAt(s, begin);
    if (n == 0) break;
    begin += n;
  }
  // Trailing: walk back to each character start and test it.
  size_t end = s.size();
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    if (WhitespaceAt(s, start) != end - start) break;
    end = start;
  }
  return s.substr(begin, end - begin);
}

}  // namespace

std::optional<TokenRole> RoleFromName(const std::string& role) {
  if (role == "system") return TokenRole::kSystem;
  if (role == "user") return TokenRole::kUser;
  if (role == "assistant") return TokenRole::kAssistant;
  return std::nullopt;
}

std::vector<uint8_t> TokenizedChat::LossMask() const {
  std::vector<uint8_t> mask(roles.size());
  for (size_t i = 0; i < roles.size(); ++i) mask[i] = roles[i] == TokenRole::kAssistant ? 1 : 0;
  return mask;
}

void TokenizedChat::Append(const TokenizedChat& other) {
  ids.insert(ids.end(), other.ids.begin(), other.ids.end());
  roles.insert(roles.end(), other.roles.begin(), other.roles.end());
}

absl::StatusOr<std::unique_ptr<ChatFormat>> ChatFormat::Create(const Tokenizer* tokenizer,
                                                               const Options& options) {
  if (tokenizer == nullptr) return absl::InvalidArgumentError("ChatFormat: tokenizer is null");
  std::vector<const char*> needed;
  if (options.kind == ChatFormatKind::kChatML) {
    needed = {kImStart, kImEnd};
  } else {
    needed = {kBeginOfText, kStartHeader, kEndHeader, kEotId};
  }
  for (const char* token : needed) {
    if (!tokenizer->TokenToId(token).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("ChatFormat: tokenizer has no ", token, " token"));
    }
  }
  std::unique_ptr<ChatFormat> format(new ChatFormat(tokenizer, options));
  format->end_of_turn_id_ =
      *tokenizer->TokenToId(options.kind == ChatFormatKind::kChatML ? kImEnd : kEotId);
  return format;
}

absl::Status ChatFormat::AddMessage(const ChatMessage& message, bool first,
                                    std::vector<Part>* parts) const {
  const std::optional<TokenRole> role = RoleFromName(message.role);
  if (!role.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ChatFormat: unsupported role '", message.role, "' (system, user or assistant)"));
  }
  const TokenRole end_role = *role == TokenRole::kAssistant ? TokenRole::kAssistant : TokenRole::kTemplate;
  if (options_.kind == ChatFormatKind::kChatML) {
    parts->push_back({kImStart, TokenRole::kTemplate, true});
    parts->push_back({message.role + "\n", TokenRole::kTemplate, false});
    parts->push_back({message.content, *role, false});
    parts->push_back({kImEnd, end_role, true});
    parts->push_back({"\n", TokenRole::kTemplate, false});
  } else {
    if (first) parts->push_back({kBeginOfText, TokenRole::kTemplate, true});
    parts->push_back({kStartHeader, TokenRole::kTemplate, true});
    parts->push_back({message.role, TokenRole::kTemplate, false});
    parts->push_back({kEndHeader, TokenRole::kTemplate, true});
    parts->push_back({"\n\n", TokenRole::kTemplate, false});
    parts->push_back({TrimLikeJavaScript(message.content), *role, false});
    parts->push_back({kEotId, end_role, true});
  }
  return absl::OkStatus();
}

void ChatFormat::AddGenerationPrompt(std::vector<Part>* parts) const {
  if (options_.kind == ChatFormatKind::kChatML) {
    parts->push_back({kImStart, TokenRole::kTemplate, true});
    parts->push_back({"assistant\n", TokenRole::kTemplate, false});
  } else {
    parts->push_back({kStartHeader, TokenRole::kTemplate, true});
    parts->push_back({"assistant", TokenRole::kTemplate, false});
    parts->push_back({kEndHeader, TokenRole::kTemplate, true});
    parts->push_back({"\n\n", TokenRole::kTemplate, false});
  }
}

absl::Status ChatFormat::BuildParts(absl::Span<const ChatMessage> messages, bool add_generation_prompt,
                                    std::vector<Part>* parts) const {
  if (messages.empty()) return absl::InvalidArgumentError("ChatFormat: empty conversation");
  if (options_.kind == ChatFormatKind::kChatML && messages[0].role != "system") {
    // Qwen2.5's template opens with its default system turn.
    const std::string prompt = options_.default_system_prompt.value_or(kQwenDefaultSystemPrompt);
    if (!prompt.empty()) AG_RETURN_IF_ERROR(AddMessage({"system", prompt}, /*first=*/true, parts));
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    AG_RETURN_IF_ERROR(AddMessage(messages[i], /*first=*/i == 0, parts));
  }
  if (add_generation_prompt) AddGenerationPrompt(parts);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ChatFormat::RenderText(absl::Span<const ChatMessage> messages,
                                                   bool add_generation_prompt) const {
  std::vector<Part> parts;
  AG_RETURN_IF_ERROR(BuildParts(messages, add_generation_prompt, &parts));
  std::string text;
  for (const Part& part : parts) text += part.text;
  return text;
}

absl::StatusOr<TokenizedChat> ChatFormat::Render(absl::Span<const ChatMessage> messages,
                                                 bool add_generation_prompt) const {
  std::vector<Part> parts;
  AG_RETURN_IF_ERROR(BuildParts(messages, add_generation_prompt, &parts));
  return Tokenize(parts);
}

absl::StatusOr<TokenizedChat> ChatFormat::AppendTurn(const ChatMessage& message,
                                                     bool add_generation_prompt) const {
  std::vector<Part> parts;
  // ChatML's "\n" after the assistant's <|im_end|> closes that turn.
  if (options_.kind == ChatFormatKind::kChatML) parts.push_back({"\n", TokenRole::kTemplate, false});
  AG_RETURN_IF_ERROR(AddMessage(message, /*first=*/false, &parts));
  if (add_generation_prompt) AddGenerationPrompt(&parts);
  return Tokenize(parts);
}

absl::StatusOr<TokenizedChat> ChatFormat::Tokenize(const std::vector<Part>& parts) const {
  TokenizedChat out;
  std::vector<const Part*> span;
  for (const Part& part : parts) {
    if (!part.special) {
      if (!part.text.empty()) span.push_back(&part);
      continue;
    }
    AG_RETURN_IF_ERROR(EncodeSpan(span, &out));
    span.clear();
    // Create() checked every special token this class emits.
    out.ids.push_back(*tokenizer_->TokenToId(part.text));
    out.roles.push_back(part.role);
  }
  AG_RETURN_IF_ERROR(EncodeSpan(span, &out));
  return out;
}

absl::Status ChatFormat::EncodeSpan(const std::vector<const Part*>& span, TokenizedChat* out) const {
  if (span.empty()) return absl::OkStatus();
  // Normalize part by part so byte offsets map back to parts; a normalizer
  // such as NFC is idempotent, so Encode sees the same text.
  std::string text;
  std::vector<std::pair<size_t, TokenRole>> part_starts;
  for (const Part* part : span) {
    AG_ASSIGN_OR_RETURN(std::string normalized, tokenizer_->Normalize(part->text));
    part_starts.emplace_back(text.size(), part->role);
    text += normalized;
  }
  AG_ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer_->Encode(text, options_.allow_special_in_content));
  size_t offset = 0;
  size_t part = 0;
  for (int32_t id : ids) {
    while (part + 1 < part_starts.size() && part_starts[part + 1].first <= offset) ++part;
    out->ids.push_back(id);
    out->roles.push_back(part_starts[part].second);
    AG_ASSIGN_OR_RETURN(std::string bytes, tokenizer_->Decode(absl::MakeConstSpan(&id, 1)));
    offset += bytes.size();
  }
  if (offset != text.size()) {
    return absl::InternalError(absl::StrCat("ChatFormat: tokens cover ", offset, " bytes of a ",
                                            text.size(), "-byte span; the tokenizer is not byte-exact"));
  }
  return absl::OkStatus();
}

}  // namespace agentgym::policy
