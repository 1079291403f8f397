#include "core/bounded_queue.h"

#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace agentgym {
namespace {

TEST(BoundedQueueTest, PopsInFifoOrder) {
  BoundedQueue<int> q(4);
  ASSERT_TRUE(q.Push(1));
  ASSERT_TRUE(q.Push(2));
  EXPECT_EQ(q.Pop(), 1);
  EXPECT_EQ(q.Pop(), 2);
}

TEST(BoundedQueueTest, TryPushFailsWhenFullAndKeepsItem) {
  BoundedQueue<std::vector<int>> q(1);
  ASSERT_TRUE(q.TryPush({1}));
  std::vector<int> item{2, 3};
  EXPECT_FALSE(q.Push(item, absl::Milliseconds(5)));
  EXPECT_EQ(item.size(), 2u) << "a failed push must not consume the item";
}

TEST(BoundedQueueTest, PopTimesOutWhenEmpty) {
  BoundedQueue<int> q(1);
  EXPECT_EQ(q.Pop(absl::Milliseconds(5)), std::nullopt);
}

TEST(BoundedQueueTest, CloseDrainsThenEnds) {
  BoundedQueue<int> q(4);
  ASSERT_TRUE(q.Push(7));
  q.Close();
  EXPECT_FALSE(q.Push(8));
  EXPECT_EQ(q.Pop(), 7);
  EXPECT_EQ(q.Pop(), std::nullopt);
}

TEST(BoundedQueueTest, CloseWakesBlockedConsumer) {
  BoundedQueue<int> q(1);
  absl::Notification done;
  std::thread consumer([&] {
    EXPECT_EQ(q.Pop(), std::nullopt);
    done.Notify();
  });
  q.Close();
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  consumer.join();
}

TEST(BoundedQueueTest, ManyProducersNoLoss) {
  BoundedQueue<int> q(8);
  constexpr int kPerProducer = 1000;
  std::vector<std::thread> producers;
  for (int p = 0; p < 4; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < kPerProducer; ++i) ASSERT_TRUE(q.Push(1));
    });
  }
  int total = 0;
  for (int i = 0; i < 4 * kPerProducer; ++i) total += *q.Pop();
  for (auto& t : producers) t.join();
  EXPECT_EQ(total, 4 * kPerProducer);
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace agentgym
