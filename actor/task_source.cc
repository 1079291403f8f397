#include "actor/task_source.h"

namespace agentgym::actor {

absl::StatusOr<std::vector<TaskGroupSpec>> ListTaskSource::Fetch(int max_groups) {
  absl::MutexLock lock(&mu_);
  if (next_ >= groups_.size()) return absl::OutOfRangeError("every listed task was handed out");
  std::vector<TaskGroupSpec> out;
  while (next_ < groups_.size() && static_cast<int>(out.size()) < max_groups) out.push_back(groups_[next_++]);
  return out;
}

}  // namespace agentgym::actor
