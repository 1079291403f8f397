#ifndef AGENTGYM_CORE_BOUNDED_QUEUE_H_
#define AGENTGYM_CORE_BOUNDED_QUEUE_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace agentgym {

// A bounded multi-producer multi-consumer FIFO that can be closed.
//
// Push blocks while the queue is full; Pop blocks while it is empty. Close()
// wakes every waiter: pushes then fail, and pops drain what is left and then
// return nullopt, so shutdown is a Close() cascade with no lost items.
// Thread-safe.
template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Returns false (and drops nothing: `item` is untouched) if the queue is
  // closed, or if `timeout` passes while it stays full.
  bool Push(T& item, absl::Duration timeout = absl::InfiniteDuration()) {
    absl::MutexLock lock(&mu_);
    auto can_push = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || items_.size() < capacity_;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&can_push), timeout) || closed_) {
      return false;
    }
    items_.push_back(std::move(item));
    return true;
  }
  bool Push(T&& item, absl::Duration timeout = absl::InfiniteDuration()) {
    return Push(item, timeout);
  }

  // Returns false at once if the queue is full or closed.
  bool TryPush(T&& item) { return Push(item, absl::ZeroDuration()); }

  // Returns nullopt when closed and drained, or when `timeout` passes.
  std::optional<T> Pop(absl::Duration timeout = absl::InfiniteDuration()) {
    absl::MutexLock lock(&mu_);
    auto can_pop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || !items_.empty();
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&can_pop), timeout) || items_.empty()) {
      return std::nullopt;
    }
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

  bool closed() const {
    absl::MutexLock lock(&mu_);
    return closed_;
  }
  size_t size() const {
    absl::MutexLock lock(&mu_);
    return items_.size();
  }
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace agentgym

#endif  // AGENTGYM_CORE_BOUNDED_QUEUE_H_
