#ifndef AGENTGYM_POLICY_MODEL_DIR_H_
#define AGENTGYM_POLICY_MODEL_DIR_H_

#include <memory>
#include <string>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "policy/chat/chat_format.h"
#include "policy/model.h"
#include "policy/model_config.h"
#include "policy/tokenizer/tokenizer.h"
#include "policy/tokenizer/word_tokenizer.h"

namespace agentgym::policy {

// The file in a model directory that names its chat format and system prompt:
//   {"chat_format": "chatml" | "llama3", "system_prompt": "...",
//    "state_action_format": true}
// state_action_format (default true): whether rollouts append each env's
// action format to the system prompt; a policy is evaluated with the prompts
// it was trained with.
inline constexpr char kAgentgymJson[] = "agentgym.json";

// Everything a rollout needs from one model directory (see
// docs/architecture.md, "Model directory"). `chat` points into `tokenizer`,
// so move the bundle as a whole (both live on the heap; moving keeps the
// pointer valid) and never reset `tokenizer` while `chat` is in use.
struct PolicyBundle {
  ModelConfig config;
  CausalLm model{nullptr};
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<ChatFormat> chat;
  ChatFormatKind chat_kind = ChatFormatKind::kChatML;
  // The default system prompt of the chat format ("" = none): what
  // agentgym.json says, else "".
  std::string system_prompt;
  // agentgym.json's state_action_format (see above).
  bool state_action_format = true;
};

// Loads `dir`: config.json + safetensors (LoadPretrained), the tokenizer from
// tokenizer.json (byte-level BPE) or word_tokenizer.json (WordTokenizer), and
// the optional agentgym.json (default: chatml, system prompt ""). NOT_FOUND
// naming the path for a missing directory, config or tokenizer;
// INVALID_ARGUMENT naming the path for malformed files, an unknown chat
// format, or a tokenizer whose VocabSize() exceeds the model's vocab_size.
// Never throws.
absl::StatusOr<PolicyBundle> LoadPolicyBundle(const std::string& dir, torch::Device device,
                                              torch::ScalarType dtype = torch::kFloat32);

// Writes a complete model directory (config.json, model.safetensors,
// word_tokenizer.json, agentgym.json) for a tiny from-scratch model, creating
// `dir`. INVALID_ARGUMENT when the tokenizer does not fit the model or lacks
// the chat format's special tokens; INTERNAL on I/O errors.
absl::Status WriteModelDir(const std::string& dir, CausalLm& model, const WordTokenizer& tok,
                           ChatFormatKind kind, const std::string& system_prompt,
                           bool state_action_format = true);

// "chatml" / "llama3" and back. INVALID_ARGUMENT for other names.
absl::StatusOr<ChatFormatKind> ParseChatFormatKind(const std::string& name);
const char* ChatFormatKindName(ChatFormatKind kind);

}  // namespace agentgym::policy

#endif  // AGENTGYM_POLICY_MODEL_DIR_H_
