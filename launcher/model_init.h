#ifndef AGENTGYM_LAUNCHER_MODEL_INIT_H_
#define AGENTGYM_LAUNCHER_MODEL_INIT_H_

// `model.init`: a random-init model directory made for the run's envs. The
// word tokenizer's vocabulary comes from what the env servers actually say
// (instructions, observations, the action grammar, answers to a few action
// words), the model is the preset sized to that vocabulary, and the files
// are the model-dir layout of docs/architecture.md.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"

namespace agentgym::launcher {

struct ModelInitOptions {
  std::string preset = "tiny";
  // 0: the preset's value.
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t max_position_embeddings = 0;
  bool tie_word_embeddings = false;
  uint64_t seed = 1;
  std::string chat_format = "chatml";
  std::string system_prompt;  // "": no system turn
  // Stored in agentgym.json: whether rollouts append each env's action
  // format to the system prompt (policy/model_dir.h).
  bool state_action_format = true;
  // Train tasks per env whose texts build the vocabulary.
  int sample_tasks = 64;
  // Byte-fallback tokens in the word tokenizer (policy/tokenizer/
  // word_tokenizer.h). Off by default: a policy trained from scratch needs
  // only the envs' words, and 256 tokens it never needs would take most of
  // its probability mass whenever training flattens the distribution (a
  // negative advantage on the tokens it sampled does). Unseen words then
  // become one unknown token.
  bool byte_fallback = false;
  // Start tokens the envs never show (byte fallbacks, the unknown token,
  // <|endoftext|>) with a low output probability (see model_init.cc), so the
  // first turns of a random-init policy are valid about as often as with a
  // vocabulary of the envs' words alone. Meant for byte_fallback: without
  // byte tokens there is little to suppress.
  bool suppress_unseen_tokens = false;
};

// An env and the train task ids the config names for it (empty: ask its
// env server).
struct EnvTasks {
  std::string env;
  std::vector<std::string> task_ids;
};

// Reads `model.init` (INVALID_ARGUMENT naming an unknown key or bad value).
absl::StatusOr<ModelInitOptions> ModelInitFromConfig(const Config& config);

// Texts the policy will read and write in `envs`, gathered from the env
// server at `env_server`: each env's action grammar, the instruction and
// observations of up to `sample_tasks` train tasks, and the observations
// after a few action words. UNAVAILABLE / the server's error otherwise.
absl::StatusOr<std::vector<std::string>> CollectEnvTexts(const std::string& env_server,
                                                         const std::vector<EnvTasks>& envs,
                                                         int sample_tasks);

// Builds the tokenizer from `texts`, the model, and writes config.json,
// model.safetensors, word_tokenizer.json and agentgym.json into `dir`.
// Returns the vocabulary size.
absl::StatusOr<int64_t> WriteRandomInitModelDir(const ModelInitOptions& options,
                                                const std::vector<std::string>& texts,
                                                const std::string& dir);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_MODEL_INIT_H_
