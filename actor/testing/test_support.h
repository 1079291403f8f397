#ifndef AGENTGYM_ACTOR_TESTING_TEST_SUPPORT_H_
#define AGENTGYM_ACTOR_TESTING_TEST_SUPPORT_H_

// Test helpers for the actor: a tiny policy, a fixed task source, an
// in-process counter env server.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "actor/task_source.h"
#include "env_server/env_server.h"
#include "policy/model_dir.h"

namespace agentgym::actor::testing {

// A small random model (2 layers, hidden 32) with a WordTokenizer built from
// `texts` and ChatML. The residual stream carries a constant component that
// the LM head maps to the end-of-turn token (logit boost `eot_boost`) and to
// `favoured_word` (`word_boost`), so turns are short and multi-turn episodes
// happen; every other weight is random, so the KV cache path still matters.
policy::PolicyBundle MakeTestPolicy(const std::vector<std::string>& texts, uint64_t seed = 1,
                                    float eot_boost = 1.2f, const std::string& favoured_word = "",
                                    float word_boost = 0.0f);

// Texts of the counter env (instructions, observations, actions, format).
std::vector<std::string> CounterTexts();

// An env server with the counter env (env_server/testing) on 127.0.0.1:0.
absl::StatusOr<std::unique_ptr<env::EnvServer>> StartCounterServer(const std::string& listen = "127.0.0.1:0");

// Groups given up front; after the first `gate_after` groups it waits for
// `gate` before handing out the rest. Thread-safe.
class FixedTaskSource : public TaskSource {
 public:
  explicit FixedTaskSource(std::vector<TaskGroupSpec> groups, size_t gate_after = SIZE_MAX)
      : groups_(std::move(groups)), gate_after_(gate_after) {}
  absl::StatusOr<std::vector<TaskGroupSpec>> Fetch(int max_groups) override;
  void GroupFinished(const std::string& group_id) override;
  std::vector<std::string> finished() const;
  absl::Notification& gate() { return gate_; }

 private:
  mutable absl::Mutex mu_;
  std::vector<TaskGroupSpec> groups_ ABSL_GUARDED_BY(mu_);
  size_t next_ ABSL_GUARDED_BY(mu_) = 0;
  const size_t gate_after_;
  absl::Notification gate_;
  std::vector<std::string> finished_ ABSL_GUARDED_BY(mu_);
};

// `n` groups of `group_size` counter tasks ("count/train/<i>") at `server`.
std::vector<TaskGroupSpec> CounterGroups(int n, int group_size, const std::string& server, uint64_t seed = 7);

}  // namespace agentgym::actor::testing

#endif  // AGENTGYM_ACTOR_TESTING_TEST_SUPPORT_H_
