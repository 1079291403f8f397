#include "actor/testing/test_support.h"

#include "absl/strings/str_cat.h"
#include "env_server/testing/counter_env.h"
#include "policy/checkpoint.h"

namespace agentgym::actor::testing {

std::vector<std::string> CounterTexts() {
  return {"reach 1", "reach 2", "reach 3", "reach 4", "value 0", "value 1", "value -1", "inc", "dec",
          "unknown action; use inc or dec", "Answer each turn with exactly one action. Action format: inc | dec"};
}

policy::PolicyBundle MakeTestPolicy(const std::vector<std::string>& texts, uint64_t seed, float eot_boost,
                                    const std::string& favoured_word, float word_boost) {
  policy::PolicyBundle b;
  auto tok = policy::WordTokenizer::Build(texts, {});
  if (!tok.ok()) std::abort();
  policy::ModelConfig c;
  c.vocab_size = (*tok)->VocabSize();
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 1024;
  c.tie_word_embeddings = false;
  auto model = policy::CreateModel(c, torch::kCPU, torch::kFloat32, seed);
  if (!model.ok()) std::abort();
  {
    torch::NoGradGuard no_grad;
    auto w = policy::NamedWeights(*model);
    w.at("model.embed_tokens.weight").select(1, 0).fill_(4.0f);
    const int32_t eot = *(*tok)->TokenToId("<|im_end|>");
    w.at("lm_head.weight")[eot][0].fill_(eot_boost);
    if (!favoured_word.empty()) {
      auto ids = (*tok)->Encode(favoured_word, false);
      if (ids.ok() && ids->size() == 1) w.at("lm_head.weight")[(*ids)[0]][0].fill_(word_boost);
    }
  }
  b.config = c;
  b.model = *model;
  b.tokenizer = std::move(*tok);
  policy::ChatFormat::Options o;
  o.default_system_prompt = "";
  auto chat = policy::ChatFormat::Create(b.tokenizer.get(), o);
  if (!chat.ok()) std::abort();
  b.chat = std::move(*chat);
  return b;
}

absl::StatusOr<std::unique_ptr<env::EnvServer>> StartCounterServer(const std::string& listen) {
  std::map<std::string, std::unique_ptr<env::Environment>> envs;
  envs["counter"] = env::testing::MakeCounterEnv();
  env::EnvServerOptions o;
  o.listen = listen;
  o.grpc_api = env::EnvServerOptions::GrpcApi::kCallback;
  return env::EnvServer::StartWithEnvs(o, std::move(envs));
}

absl::StatusOr<std::vector<TaskGroupSpec>> FixedTaskSource::Fetch(int max_groups) {
  size_t next;
  {
    absl::MutexLock lock(&mu_);
    next = next_;
    if (next_ >= groups_.size()) return absl::OutOfRangeError("no more tasks");
  }
  if (next >= gate_after_ && !gate_.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
    return std::vector<TaskGroupSpec>{};
  }
  absl::MutexLock lock(&mu_);
  std::vector<TaskGroupSpec> out;
  while (next_ < groups_.size() && static_cast<int>(out.size()) < max_groups) {
    if (next_ == gate_after_ && !gate_.HasBeenNotified()) break;
    out.push_back(groups_[next_++]);
    if (next_ == gate_after_) break;
  }
  return out;
}

void FixedTaskSource::GroupFinished(const std::string& group_id) {
  absl::MutexLock lock(&mu_);
  finished_.push_back(group_id);
}

std::vector<std::string> FixedTaskSource::finished() const {
  absl::MutexLock lock(&mu_);
  return finished_;
}

std::vector<TaskGroupSpec> CounterGroups(int n, int group_size, const std::string& server, uint64_t seed) {
  std::vector<TaskGroupSpec> out;
  for (int i = 0; i < n; ++i) {
    TaskGroupSpec g;
    g.group_id = absl::StrCat("g", i);
    for (int k = 0; k < group_size; ++k) {
      EpisodeTask t;
      t.env = "counter";
      t.task_id = absl::StrCat("count/train/", i % 10);
      t.task_type = "count";
      t.seed = seed + i;
      t.env_server_address = server;
      g.members.push_back(t);
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace agentgym::actor::testing
