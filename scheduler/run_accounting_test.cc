#include "scheduler/run_accounting.h"

#include "gtest/gtest.h"

namespace agentgym::scheduler {
namespace {

pb::ComponentLoad Load(int64_t produced, int64_t unacked, int64_t env_error, int64_t dropped) {
  pb::ComponentLoad load;
  auto& q = *load.mutable_queue_depths();
  q[kActorProduced] = produced;
  q[kActorUnacked] = unacked;
  q[kActorEnvError] = env_error;
  q[kActorDropped] = dropped;
  return load;
}

pb::Accounting Learner(int64_t received, int64_t trained, int64_t stale, int64_t buffered,
                       int64_t env_error = 0) {
  pb::Accounting a;
  a.set_produced(received);
  a.set_trained(trained);
  a.set_stale(stale);
  a.set_in_flight(buffered);
  a.set_env_error(env_error);
  return a;
}

int64_t Rhs(const pb::Accounting& a) {
  return a.trained() + a.stale() + a.rejected() + a.env_error() + a.dropped() + a.in_flight();
}

TEST(RunAccountingTest, WithoutActorReportsTheLearnerCountsStand) {
  RunAccounting acc;
  acc.OnActorRegistered("a1", "x");
  pb::Accounting out = acc.Combine(Learner(10, 7, 1, 2));
  EXPECT_EQ(out.produced(), 10);
  EXPECT_EQ(out.in_flight(), 2);
}

TEST(RunAccountingTest, ActorsAndLearnerAddUpToProduced) {
  RunAccounting acc;
  acc.OnActorRegistered("a1", "x");
  acc.OnActorRegistered("a2", "y");
  // a1: 20 produced = 16 acked + 3 unacked + 1 dropped; 4 of the acked
  // ended in env errors (the actor sends those too).
  acc.OnActorLoad("a1", Load(20, 3, 4, 1));
  // a2: 10 produced = 8 acked + 2 unacked.
  acc.OnActorLoad("a2", Load(10, 2, 0, 0));
  // The learner got the 24 acked: 15 trained, 2 stale, 3 buffered, 4 env
  // errors. Each env error is counted once, by the learner.
  pb::Accounting out = acc.Combine(Learner(24, 15, 2, 3, /*env_error=*/4));
  EXPECT_EQ(out.produced(), 30);
  EXPECT_EQ(out.in_flight(), 3 + 5);
  EXPECT_EQ(out.env_error(), 4);
  EXPECT_EQ(out.dropped(), 1);
  EXPECT_EQ(Rhs(out), out.produced());
}

TEST(RunAccountingTest, RestartedActorRetiresItsCountersAndLosesItsUnacked) {
  RunAccounting acc;
  acc.OnActorRegistered("a1", "first");
  acc.OnActorLoad("a1", Load(10, 4, 0, 0));  // 6 acked, 4 held when killed
  acc.OnActorRegistered("a1", "second");     // restarted under the same id
  acc.OnActorLoad("a1", Load(5, 1, 0, 0));   // 4 acked since
  pb::Accounting out = acc.Combine(Learner(10, 10, 0, 0));
  EXPECT_EQ(out.produced(), 15);
  EXPECT_EQ(out.dropped(), 4);
  EXPECT_EQ(out.in_flight(), 1);
  EXPECT_EQ(Rhs(out), out.produced());
  EXPECT_EQ(acc.retired().produced(), 10);
}

TEST(RunAccountingTest, ReRegistrationOfTheSameProcessKeepsItsCounters) {
  RunAccounting acc;
  acc.OnActorRegistered("a1", "p");
  acc.OnActorLoad("a1", Load(10, 2, 0, 0));
  acc.OnActorRegistered("a1", "p");  // e.g. after a lapsed lease
  pb::Accounting out = acc.Combine(Learner(8, 8, 0, 0));
  EXPECT_EQ(out.produced(), 10);
  EXPECT_EQ(out.dropped(), 0);
  EXPECT_EQ(Rhs(out), 10);
}

TEST(RunAccountingTest, RetiredCountsSurviveARestore) {
  RunAccounting before;
  before.OnActorRegistered("a1", "p");
  before.OnActorLoad("a1", Load(7, 0, 1, 1));  // 6 acked (1 an env error) + 1 dropped
  before.OnActorGone("a1");
  RunAccounting after;  // a restarted coordinator
  after.RestoreRetired(before.retired());
  pb::Accounting out = after.Combine(Learner(6, 5, 0, 0, /*env_error=*/1));
  EXPECT_EQ(out.produced(), 7);
  EXPECT_EQ(out.env_error(), 1);
  EXPECT_EQ(Rhs(out), 7);
}

}  // namespace
}  // namespace agentgym::scheduler
