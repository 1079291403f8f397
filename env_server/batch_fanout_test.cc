#include "env_server/batch_fanout.h"

#include <string>
#include <vector>

#include "absl/synchronization/barrier.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentgym::env {
namespace {

using ::testing::ElementsAre;

TEST(RunGroupedConcurrentlyTest, RunsEveryItemOnceAndKeepsOrderWithinAKey) {
  std::vector<std::string> owned = {"a", "b", "a", "c", "b", "a"};
  std::vector<absl::string_view> keys(owned.begin(), owned.end());
  absl::Mutex mu;
  std::vector<size_t> order_a, order_b, order_c;
  std::vector<int> calls(keys.size(), 0);
  RunGroupedConcurrently(keys, /*max_threads=*/8, [&](size_t i) {
    absl::MutexLock lock(&mu);
    ++calls[i];
    (owned[i] == "a" ? order_a : owned[i] == "b" ? order_b : order_c).push_back(i);
  });
  EXPECT_THAT(calls, ElementsAre(1, 1, 1, 1, 1, 1));
  EXPECT_THAT(order_a, ElementsAre(0, 2, 5));
  EXPECT_THAT(order_b, ElementsAre(1, 4));
  EXPECT_THAT(order_c, ElementsAre(3));
}

// Three distinct keys must be in flight at once: each item waits at a barrier
// that opens only when all three have arrived (a sequential run would never
// get past the first).
TEST(RunGroupedConcurrentlyTest, DistinctKeysRunAtTheSameTime) {
  std::vector<absl::string_view> keys = {"s1", "s2", "s3"};
  auto* barrier = new absl::Barrier(3);  // Block() deletes it for the last thread out
  int done = 0;
  absl::Mutex mu;
  RunGroupedConcurrently(keys, /*max_threads=*/3, [&](size_t) {
    if (barrier->Block()) delete barrier;
    absl::MutexLock lock(&mu);
    ++done;
  });
  EXPECT_EQ(done, 3);
}

TEST(RunGroupedConcurrentlyTest, OneThreadRunsGroupAfterGroup) {
  std::vector<absl::string_view> keys = {"x", "y", "x", "z"};
  std::vector<size_t> order;
  RunGroupedConcurrently(keys, /*max_threads=*/1, [&](size_t i) { order.push_back(i); });
  EXPECT_THAT(order, ElementsAre(0, 2, 1, 3));  // groups in first-seen order
}

TEST(RunGroupedConcurrentlyTest, EmptyBatchCallsNothing) {
  int calls = 0;
  RunGroupedConcurrently({}, /*max_threads=*/4, [&](size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace agentgym::env
