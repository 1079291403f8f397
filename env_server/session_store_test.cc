#include "env_server/session_store.h"

#include <thread>
#include <vector>

#include "env_server/testing/counter_env.h"
#include "gtest/gtest.h"

namespace agentgym::env {
namespace {

class SessionStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SessionStore> MakeStore(int64_t max_sessions) {
    SessionStoreOptions options;
    options.max_sessions = max_sessions;
    options.default_idle_ttl = absl::Seconds(10);
    options.max_idle_ttl = absl::Seconds(60);
    options.clock = &clock_;
    return std::make_unique<SessionStore>(options);
  }
  FakeClock clock_;
  std::unique_ptr<Environment> env_ = testing::MakeCounterEnv();
  TaskKey key_{"count", Split::kTrain, 1};  // target 2
};

TEST_F(SessionStoreTest, StepsAnEpisodeToSuccessThenRefusesMoreSteps) {
  auto owned = MakeStore(4);
  SessionStore& store = *owned;
  auto created = store.Create(env_.get(), key_, 1, absl::ZeroDuration());
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->start.instruction, "reach 2");
  auto first = store.Step(created->session_id, "inc");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->turn, 1);
  EXPECT_FALSE(first->outcome.done);
  auto second = store.Step(created->session_id, "inc");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->outcome.success);
  EXPECT_EQ(store.Step(created->session_id, "inc").status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto reset = store.Reset(created->session_id, std::nullopt);
  ASSERT_TRUE(reset.ok());
  EXPECT_EQ(store.Step(created->session_id, "inc")->turn, 1);
}

// expected_turn: a repeat of the last step is answered from memory and not
// applied again; an out-of-order step is refused and not applied.
TEST_F(SessionStoreTest, ExpectedTurnMakesARepeatedStepApplyOnce) {
  auto owned = MakeStore(4);
  SessionStore& store = *owned;
  const std::string id = store.Create(env_.get(), key_, 1, absl::ZeroDuration())->session_id;
  auto first = store.Step(id, "inc", /*expected_turn=*/1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->replayed);
  EXPECT_EQ(first->outcome.observation, "value 1");
  auto repeat = store.Step(id, "inc", /*expected_turn=*/1);
  ASSERT_TRUE(repeat.ok()) << repeat.status();
  EXPECT_TRUE(repeat->replayed);
  EXPECT_EQ(repeat->turn, 1);
  EXPECT_EQ(repeat->outcome.observation, "value 1") << "applied twice";

  // Same turn, another action: not a repeat.
  auto other = store.Step(id, "dec", /*expected_turn=*/1);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("is at turn 1"), std::string::npos) << other.status();
  // Skipping a turn, or going back two.
  EXPECT_EQ(store.Step(id, "inc", 3).status().code(), absl::StatusCode::kFailedPrecondition);
  auto unchecked = store.Step(id, "inc");  // expected_turn 0: applied at any turn
  ASSERT_TRUE(unchecked.ok());
  EXPECT_EQ(unchecked->turn, 2);
  // Turn 2 was applied unchecked, so nothing is remembered for it.
  EXPECT_EQ(store.Step(id, "inc", 2).status().code(), absl::StatusCode::kFailedPrecondition);

  // The repeat of an episode's last step is answered after the episode ended.
  const std::string done_id =
      store.Create(env_.get(), key_, 2, absl::ZeroDuration())->session_id;  // target 2
  ASSERT_TRUE(store.Step(done_id, "inc", 1).ok());
  auto last = store.Step(done_id, "inc", 2);
  ASSERT_TRUE(last.ok() && last->outcome.done);
  auto last_again = store.Step(done_id, "inc", 2);
  ASSERT_TRUE(last_again.ok()) << last_again.status();
  EXPECT_TRUE(last_again->replayed && last_again->outcome.success);
  EXPECT_EQ(store.Step(done_id, "inc", 3).status().code(), absl::StatusCode::kFailedPrecondition);
  // Reset forgets the last step: turn 1 is new again.
  ASSERT_TRUE(store.Reset(done_id, std::nullopt).ok());
  auto after_reset = store.Step(done_id, "inc", 1);
  ASSERT_TRUE(after_reset.ok());
  EXPECT_FALSE(after_reset->replayed);
  EXPECT_EQ(after_reset->outcome.observation, "value 1");
}

TEST_F(SessionStoreTest, CapsOpenSessions) {
  auto owned = MakeStore(3);
  SessionStore& store = *owned;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(store.Create(env_.get(), key_, i, absl::ZeroDuration())->session_id);
  }
  auto over = store.Create(env_.get(), key_, 9, absl::ZeroDuration());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(store.Close(ids[0]).ok());
  EXPECT_TRUE(store.Create(env_.get(), key_, 9, absl::ZeroDuration()).ok());
  EXPECT_EQ(store.size(), 3);
}

TEST_F(SessionStoreTest, EvictsOnlyIdleSessions) {
  auto owned = MakeStore(10);
  SessionStore& store = *owned;
  std::string idle = store.Create(env_.get(), key_, 1, absl::ZeroDuration())->session_id;
  std::string busy = store.Create(env_.get(), key_, 2, absl::ZeroDuration())->session_id;
  std::string long_ttl = store.Create(env_.get(), key_, 3, absl::Seconds(30))->session_id;
  clock_.Advance(absl::Seconds(8));
  ASSERT_TRUE(store.Step(busy, "inc").ok());
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(store.EvictIdle(), 1);
  EXPECT_EQ(store.Step(idle, "inc").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store.Step(busy, "inc").ok());
  EXPECT_TRUE(store.Step(long_ttl, "inc").ok());
  EXPECT_EQ(store.size(), 2);
}

TEST_F(SessionStoreTest, TtlIsCappedByServerMaximum) {
  auto owned = MakeStore(10);
  SessionStore& store = *owned;
  std::string id = store.Create(env_.get(), key_, 1, absl::Hours(100))->session_id;
  clock_.Advance(absl::Seconds(61));
  EXPECT_EQ(store.EvictIdle(), 1);
}

TEST_F(SessionStoreTest, DefaultTtlIsCappedByServerMaximumToo) {
  SessionStoreOptions options;
  options.default_idle_ttl = absl::Hours(100);
  options.max_idle_ttl = absl::Seconds(60);
  options.clock = &clock_;
  SessionStore store(options);
  EXPECT_EQ(store.default_idle_ttl(), absl::Seconds(60));
  std::string id = store.Create(env_.get(), key_, 1, absl::ZeroDuration())->session_id;
  clock_.Advance(absl::Seconds(59));
  EXPECT_EQ(store.EvictIdle(), 0);
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(store.EvictIdle(), 1);
}

TEST_F(SessionStoreTest, UnknownSessionsAreNotFound) {
  auto owned = MakeStore(1);
  SessionStore& store = *owned;
  EXPECT_EQ(store.Step("s-nope", "inc").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Close("s-nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.Reset("", 1).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SessionStoreTest, ConcurrentCreatesNeverExceedTheCap) {
  auto owned = MakeStore(50);
  SessionStore& store = *owned;
  std::vector<std::thread> threads;
  std::atomic<int> created{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (store.Create(env_.get(), key_, i, absl::ZeroDuration()).ok()) ++created;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 50);
  EXPECT_EQ(store.size(), 50);
}

}  // namespace
}  // namespace agentgym::env
