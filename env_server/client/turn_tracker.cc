#include "env_server/client/turn_tracker.h"

#include <algorithm>
#include <utility>

namespace agentgym::env {

TurnTracker::TurnTracker(size_t capacity) : generation_size_(std::max<size_t>(1, capacity / 2)) {}

void TurnTracker::InsertLocked(std::string session_id, int32_t turn) {
  if (current_.size() >= generation_size_) {
    previous_ = std::move(current_);
    current_ = Map();
  }
  current_.insert_or_assign(std::move(session_id), turn);
}

std::optional<int32_t> TurnTracker::Get(absl::string_view session_id) {
  absl::MutexLock lock(&mu_);
  if (auto it = current_.find(session_id); it != current_.end()) return it->second;
  auto it = previous_.find(session_id);
  if (it == previous_.end()) return std::nullopt;
  const int32_t turn = it->second;
  previous_.erase(it);
  InsertLocked(std::string(session_id), turn);  // in use: move it to the current generation
  return turn;
}

void TurnTracker::Set(absl::string_view session_id, int32_t turn) {
  absl::MutexLock lock(&mu_);
  if (auto it = current_.find(session_id); it != current_.end()) {
    it->second = turn;
    return;
  }
  previous_.erase(session_id);
  InsertLocked(std::string(session_id), turn);
}

void TurnTracker::Forget(absl::string_view session_id) {
  absl::MutexLock lock(&mu_);
  current_.erase(session_id);
  previous_.erase(session_id);
}

size_t TurnTracker::size() const {
  absl::MutexLock lock(&mu_);
  return current_.size() + previous_.size();
}

}  // namespace agentgym::env
