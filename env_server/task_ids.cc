#include "env_server/task_ids.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/det_random.h"
#include "core/text.h"

namespace agentgym::env {
namespace {

const TaskTypeInfo* FindType(const EnvDescription& env, absl::string_view type) {
  for (const auto& t : env.task_types) {
    if (t.name == type) return &t;
  }
  return nullptr;
}

}  // namespace

std::string FormatTaskId(const TaskKey& key) {
  return absl::StrCat(key.type, "/", SplitName(key.split), "/", key.index);
}

int64_t TaskCount(const EnvDescription& env, absl::string_view type, Split split) {
  const TaskTypeInfo* t = FindType(env, type);
  if (t == nullptr) return 0;
  return split == Split::kTrain ? t->train_count : t->test_count;
}

absl::StatusOr<TaskKey> ParseTaskId(absl::string_view id, const EnvDescription& env) {
  auto not_found = [&](absl::string_view why) {
    return absl::NotFoundError(absl::StrCat("env '", env.name, "' has no task '",
                                            TruncateForMessage(id, 200), "': ", why));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(id, '/');
  if (parts.size() != 3) return not_found("task ids look like <type>/<train|test>/<index>");
  TaskKey key;
  key.type = std::string(parts[0]);
  if (FindType(env, key.type) == nullptr) return not_found("unknown task type");
  if (parts[1] == "train") {
    key.split = Split::kTrain;
  } else if (parts[1] == "test") {
    key.split = Split::kTest;
  } else {
    return not_found("the split must be 'train' or 'test'");
  }
  if (!absl::SimpleAtoi(parts[2], &key.index) || key.index < 0 ||
      absl::StrCat(key.index) != parts[2]) {
    return not_found("the index must be a non-negative integer");
  }
  int64_t count = TaskCount(env, key.type, key.split);
  if (key.index >= count) {
    return not_found(absl::StrCat("index out of range (", count, " tasks of that type in ",
                                  SplitName(key.split), ")"));
  }
  return key;
}

absl::StatusOr<TaskKey> SampleTask(const EnvDescription& env, Split split,
                                   absl::string_view type, uint64_t seed) {
  DetRng rng(DetRng::Mix(seed, DetRng::Hash(env.name)));
  if (!type.empty()) {
    if (FindType(env, type) == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("env '", env.name, "' has no task type '", TruncateForMessage(type, 200), "'"));
    }
    int64_t count = TaskCount(env, type, split);
    if (count == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "task type '", type, "' has no ", SplitName(split), " tasks"));
    }
    return TaskKey{std::string(type), split,
                   static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(count)))};
  }
  int64_t total = 0;
  for (const auto& t : env.task_types) total += TaskCount(env, t.name, split);
  if (total == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("env '", env.name, "' has no ", SplitName(split), " tasks"));
  }
  int64_t pick = static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(total)));
  for (const auto& t : env.task_types) {
    int64_t count = TaskCount(env, t.name, split);
    if (pick < count) return TaskKey{t.name, split, pick};
    pick -= count;
  }
  return absl::InternalError("task sampling fell off the end");  // unreachable
}

}  // namespace agentgym::env
