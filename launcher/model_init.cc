#include "launcher/model_init.h"

#include <torch/torch.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/status_macros.h"
#include "env_server/client/env_client.h"
#include "policy/checkpoint.h"
#include "policy/model_dir.h"
#include "policy/model.h"
#include "policy/model_config.h"
#include "policy/tokenizer/word_tokenizer.h"

namespace agentgym::launcher {
namespace {

namespace envpb = ::agentgym::env::v1;

template <typename T>
absl::Status ReadKey(const Config& c, const std::string& key, T* out) {
  AG_ASSIGN_OR_RETURN(*out, c.GetOr<T>(key, *out));
  return absl::OkStatus();
}

absl::Status NonNegative(const std::string& key, int64_t v) {
  if (v < 0) return absl::InvalidArgumentError(absl::StrCat(key, " must be >= 0, got ", v));
  return absl::OkStatus();
}

// The words of an action grammar ("move up|down (also: north)" -> move, up,
// down, also, north): candidates to step a session with, so the vocabulary
// also has what the env answers to actions.
std::vector<std::string> ActionWords(const std::string& action_format) {
  std::vector<std::string> words;
  std::string current;
  for (char ch : action_format + " ") {
    if (absl::ascii_isalpha(static_cast<unsigned char>(ch))) {
      current += ch;
    } else if (!current.empty()) {
      if (std::find(words.begin(), words.end(), current) == words.end()) words.push_back(current);
      current.clear();
    }
  }
  return words;
}

absl::StatusOr<std::vector<std::string>> TaskIdsFor(env::EnvClient& client, const EnvTasks& env,
                                                    int sample_tasks) {
  std::vector<std::string> ids;
  if (!env.task_ids.empty()) {
    // Spread over the list, so every kind of task in it is seen.
    const size_t n = env.task_ids.size();
    const size_t want = std::min<size_t>(n, static_cast<size_t>(sample_tasks));
    for (size_t i = 0; i < want; ++i) ids.push_back(env.task_ids[i * n / want]);
    return ids;
  }
  envpb::ListTasksRequest req;
  req.set_env(env.env);
  req.set_split(envpb::SPLIT_TRAIN);
  req.set_page_size(sample_tasks);
  AG_ASSIGN_OR_RETURN(envpb::ListTasksResponse resp, client.ListTasks(req));
  for (const auto& t : resp.tasks()) ids.push_back(t.task_id());
  return ids;
}

}  // namespace

absl::StatusOr<ModelInitOptions> ModelInitFromConfig(const Config& c) {
  AG_RETURN_IF_ERROR(c.ExpectOnlyKeys(
      "model.init", {"preset", "hidden_size", "intermediate_size", "num_hidden_layers",
                     "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
                     "tie_word_embeddings", "seed", "chat_format", "system_prompt", "sample_tasks",
                     "suppress_unseen_tokens", "byte_fallback",
                     "state_action_format"}));
  ModelInitOptions o;
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.preset", &o.preset));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.hidden_size", &o.hidden_size));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.intermediate_size", &o.intermediate_size));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.num_hidden_layers", &o.num_hidden_layers));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.num_attention_heads", &o.num_attention_heads));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.num_key_value_heads", &o.num_key_value_heads));
  AG_RETURN_IF_ERROR(
      ReadKey(c, "model.init.max_position_embeddings", &o.max_position_embeddings));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.tie_word_embeddings", &o.tie_word_embeddings));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.seed", &o.seed));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.chat_format", &o.chat_format));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.system_prompt", &o.system_prompt));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.sample_tasks", &o.sample_tasks));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.suppress_unseen_tokens", &o.suppress_unseen_tokens));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.byte_fallback", &o.byte_fallback));
  AG_RETURN_IF_ERROR(ReadKey(c, "model.init.state_action_format", &o.state_action_format));
  for (const auto& [key, v] : std::vector<std::pair<const char*, int64_t>>{
           {"hidden_size", o.hidden_size},
        {"intermediate_size", o.intermediate_size},
        {"num_hidden_layers", o.num_hidden_layers},
        {"num_attention_heads", o.num_attention_heads},
        {"num_key_value_heads", o.num_key_value_heads},
        {"max_position_embeddings", o.max_position_embeddings}}) {
    AG_RETURN_IF_ERROR(NonNegative(absl::StrCat("model.init.", key), v));
  }
  if (o.sample_tasks < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.init.sample_tasks must be >= 1, got ", o.sample_tasks));
  }
  if (o.chat_format != "chatml") {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.init.chat_format must be 'chatml' (the word tokenizer's special tokens), got '",
        o.chat_format, "'"));
  }
  auto preset = policy::PresetConfig(o.preset);
  if (!preset.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model.init.preset: ", preset.status().message()));
  }
  return o;
}

absl::StatusOr<std::vector<std::string>> CollectEnvTexts(const std::string& env_server,
                                                         const std::vector<EnvTasks>& envs,
                                                         int sample_tasks) {
  env::EnvClientOptions co;
  co.target = env_server;
  co.timeout = absl::Seconds(20);
  AG_ASSIGN_OR_RETURN(std::unique_ptr<env::EnvClient> client, env::EnvClient::Create(co));
  AG_ASSIGN_OR_RETURN(envpb::ListEnvsResponse listed, client->ListEnvs());
  std::vector<std::string> texts;
  for (const EnvTasks& env : envs) {
    const envpb::EnvInfo* info = nullptr;
    for (const auto& e : listed.envs()) {
      if (e.name() == env.env) info = &e;
    }
    if (info == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("env server ", env_server, " does not serve env '", env.env, "'"));
    }
    texts.push_back(info->action_format());
    // How the actor puts the grammar into its system prompt (actor/engine_episodes.cc).
    texts.push_back(absl::StrCat("Answer each turn with exactly one action. Action format: ",
                                 info->action_format()));
    const std::vector<std::string> actions = ActionWords(info->action_format());
    AG_ASSIGN_OR_RETURN(std::vector<std::string> ids, TaskIdsFor(*client, env, sample_tasks));
    for (size_t i = 0; i < ids.size(); ++i) {
      envpb::CreateRequest req;
      req.set_env(env.env);
      req.set_task_id(ids[i]);
      req.set_seed(i + 1);
      AG_ASSIGN_OR_RETURN(envpb::CreateResponse created, client->Create(req));
      texts.push_back(created.instruction());
      texts.push_back(created.observation());
      texts.push_back(absl::StrCat(created.instruction(), "\n", created.observation()));
      texts.push_back(absl::StrCat(created.instruction(), "\n\n", created.observation()));
      texts.push_back(absl::StrCat(created.instruction(), " ", created.observation()));
      // A few turns with different action words: valid moves and invalid ones.
      for (size_t k = 0; k < actions.size() && k < 8; ++k) {
        auto step = client->Step(created.session_id(), actions[(i + k) % actions.size()]);
        if (!step.ok()) break;
        texts.push_back(step->observation());
        texts.push_back(absl::StrCat(" ", step->observation()));
        if (step->done() || step->truncated()) break;
      }
      client->Close(created.session_id()).IgnoreError();
    }
    for (const std::string& a : actions) {
      texts.push_back(a);
      texts.push_back(absl::StrCat(" ", a));
    }
  }
  // The chat template's own words (roles) and separators.
  for (const char* t : {"system\n", "user\n", "assistant\n", "\n", "\n\n"}) texts.push_back(t);
  // The actor appends each env's action grammar to the system prompt.
  const size_t n = texts.size();
  for (size_t i = 0; i < n; ++i) texts.push_back(absl::StrCat("\n", texts[i]));
  return texts;
}

absl::StatusOr<int64_t> WriteRandomInitModelDir(const ModelInitOptions& options,
                                                const std::vector<std::string>& texts,
                                                const std::string& dir) {
  policy::WordTokenizer::BuildOptions bo;
  bo.byte_fallback = options.byte_fallback;
  AG_ASSIGN_OR_RETURN(std::unique_ptr<policy::WordTokenizer> tokenizer,
                      policy::WordTokenizer::Build(texts, bo));
  const int64_t vocab = tokenizer->VocabSize();
  AG_ASSIGN_OR_RETURN(policy::ModelConfig config, policy::PresetConfig(options.preset));
  config.vocab_size = vocab;
  if (options.hidden_size > 0) config.hidden_size = options.hidden_size;
  if (options.intermediate_size > 0) config.intermediate_size = options.intermediate_size;
  if (options.num_hidden_layers > 0) config.num_hidden_layers = options.num_hidden_layers;
  if (options.num_attention_heads > 0) config.num_attention_heads = options.num_attention_heads;
  if (options.num_key_value_heads > 0) config.num_key_value_heads = options.num_key_value_heads;
  if (options.max_position_embeddings > 0) {
    config.max_position_embeddings = options.max_position_embeddings;
  }
  config.tie_word_embeddings = options.tie_word_embeddings;
  if (auto eot = tokenizer->TokenToId("<|im_end|>")) config.eos_token_id = *eot;
  if (auto s = config.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("model.init: ", s.message()));
  }
  AG_ASSIGN_OR_RETURN(policy::CausalLm model,
                      policy::CreateModel(config, torch::kCPU, torch::kFloat32, options.seed));
  if (options.suppress_unseen_tokens) {
    // A random-init model's next-token distribution is nearly uniform; with
    // byte fallback the word tokenizer's vocabulary is mostly the 256 byte
    // tokens, so a valid action word followed by end-of-turn would be ~100x
    // rarer than with the words alone and RL from sparse reward would not
    // bootstrap (LEARNING-FACTS: 0.5% valid turns at init is enough). The
    // model has no output bias, so one hidden channel acts as one: every
    // embedding gets a constant in channel 0 (half the row's energy), which
    // survives the final RMSNorm as ~sqrt(d/2), and the output rows of the
    // tokens no env text uses read it with weight -1, putting their logits
    // ~sqrt(d/2) below the others'. Training can move all of it.
    torch::NoGradGuard no_grad;
    auto weights = policy::NamedWeights(model);
    torch::Tensor embed = weights.at("model.embed_tokens.weight");
    const double c = 0.02 * std::sqrt(static_cast<double>(config.hidden_size));
    embed.index_put_({torch::indexing::Slice(), 0}, c);
    std::vector<int64_t> unseen;
    const int32_t num_special = static_cast<int32_t>(tokenizer->SpecialIds().size());
    for (int64_t id = num_special; tokenizer->byte_fallback() && id < num_special + 256 && id < vocab; ++id) {
      unseen.push_back(id);
    }
    if (auto unk = tokenizer->unknown_id()) unseen.push_back(*unk);
    if (auto eos = tokenizer->TokenToId("<|endoftext|>")) unseen.push_back(*eos);
    torch::Tensor rows = torch::tensor(unseen, torch::kLong);
    torch::Tensor head = config.tie_word_embeddings ? embed : weights.at("lm_head.weight");
    if (!config.tie_word_embeddings) head.index_put_({torch::indexing::Slice(), 0}, 0.0);
    head.index_put_({rows, 0}, -1.0);
  }
  AG_ASSIGN_OR_RETURN(policy::ChatFormatKind kind, policy::ParseChatFormatKind(options.chat_format));
  AG_RETURN_IF_ERROR(policy::WriteModelDir(dir, model, *tokenizer, kind, options.system_prompt,
                                           options.state_action_format));
  GetLogger("launcher")->info("random-init model in {}: vocab {}, {} parameters", dir, vocab,
                              config.NumParameters());
  return vocab;
}

}  // namespace agentgym::launcher
