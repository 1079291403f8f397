#ifndef AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_SEARCHQA_ENV_H_
#define AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_SEARCHQA_ENV_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "env_server/environment.h"
#include "env_server/envs/searchqa/knowledge_base.h"
#include "env_server/envs/searchqa/questions.h"
#include "env_server/envs/searchqa/search_backend.h"

namespace agentgym::env::searchqa {

struct SearchQaOptions {
  int top_k = 3;
  int max_turns = 20;
  uint64_t kb_seed = KnowledgeBaseOptions{}.seed;
  Bm25Options bm25;
  std::string search_backend;  // empty: the local BM25 index
  int search_timeout_ms = 3000;
};

// Parses `searchqa.<key>=<value>` options: top_k, max_turns, kb_seed, k1, b,
// search_backend, search_timeout_ms. INVALID_ARGUMENT names a bad or unknown
// key.
absl::StatusOr<SearchQaOptions> ParseSearchQaOptions(const EnvOptions& options);

// Everything episodes share: built once, then read-only (thread-safe), kept
// alive by the environment and by every episode through shared_ptr.
struct SearchQaWorld {
  SearchQaOptions options;
  std::shared_ptr<const KnowledgeBase> kb;
  std::vector<QuestionSet> sets;
  std::shared_ptr<const SearchBackend> backend;
};

// Deep-search question answering over a synthetic corpus (AgentGym-RL's
// SearchQA). The knowledge base, BM25 index and question sets are built in the
// constructor and shared by all episodes; NewEpisode is const and thread-safe.
class SearchQaEnv : public Environment {
 public:
  static absl::StatusOr<std::unique_ptr<Environment>> Create(const EnvOptions& options);

  const EnvDescription& Describe() const override { return description_; }
  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey& key, uint64_t seed,
                                                      EpisodeStart* start) const override;
  // An external retriever answers over the network.
  bool StepsMayBlock() const override;

  const SearchQaWorld& world() const { return *world_; }

 private:
  explicit SearchQaEnv(std::shared_ptr<const SearchQaWorld> world);
  std::shared_ptr<const SearchQaWorld> world_;
  EnvDescription description_;
};

}  // namespace agentgym::env::searchqa

#endif  // AGENTGYM_ENV_SERVER_ENVS_SEARCHQA_SEARCHQA_ENV_H_
