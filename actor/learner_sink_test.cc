#include "actor/learner_sink.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "actor/testing/fake_learner.h"

namespace agentgym::actor {
namespace {

tpb::Trajectory Make(int i) {
  tpb::Trajectory t;
  t.set_trajectory_id(absl::StrCat("a/", i));
  t.add_token_ids(1);
  t.mutable_loss_mask()->push_back('\0');
  t.add_behaviour_logprobs(0);
  return t;
}

// A sink to a fixed address that reconnects quickly.
absl::StatusOr<std::unique_ptr<LearnerSink>> SinkTo(const std::string& address) {
  LearnerSinkOptions o;
  o.learner_address = [address] { return address; };
  o.initial_backoff = absl::Milliseconds(20);
  o.max_backoff = absl::Milliseconds(200);
  return LearnerSink::Create(o);
}

TEST(LearnerSinkTest, DeliversAndReportsPolicyVersion) {
  testing::FakeLearner learner;
  learner.SetPolicyVersion(5);
  auto server = testing::StartFakeLearner(&learner);
  ASSERT_TRUE(server.ok());
  absl::Notification saw_version;
  LearnerSinkOptions o;
  const std::string address = server->address();
  o.learner_address = [address] { return address; };
  o.on_policy_version = [&](int64_t v) {
    if (v == 5 && !saw_version.HasBeenNotified()) saw_version.Notify();
  };
  auto sink = LearnerSink::Create(o);
  ASSERT_TRUE(sink.ok());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*sink)->Send(Make(i)).ok());
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(30)));
  EXPECT_EQ((*sink)->Acked(), 20);
  EXPECT_EQ((*sink)->Unacked(), 0);
  EXPECT_EQ(learner.taken(), 20);
  EXPECT_EQ(learner.duplicates(), 0);
  EXPECT_TRUE(saw_version.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ((*sink)->Send(tpb::Trajectory()).code(), absl::StatusCode::kInvalidArgument);
}

TEST(LearnerSinkTest, ResendsUnackedAfterLearnerRestartNoneLostNoneDuplicated) {
  testing::FakeLearner learner;
  learner.SetAckLimit(4);  // takes 4, then loses what it reads
  auto server = testing::StartFakeLearner(&learner);
  ASSERT_TRUE(server.ok());
  const int port = server->port;
  const std::string address = server->address();
  auto sink = SinkTo(address);
  ASSERT_TRUE(sink.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*sink)->Send(Make(i)).ok());
  ASSERT_TRUE(learner.WaitForReceived(10, absl::Seconds(30)));
  ASSERT_TRUE((*sink)->WaitForAcked(4, absl::Seconds(30)));
  EXPECT_EQ((*sink)->Acked(), 4);
  EXPECT_EQ((*sink)->Unacked(), 6);
  // The learner dies; more trajectories are produced meanwhile.
  server->server->Shutdown(std::chrono::system_clock::now());
  server->server.reset();
  for (int i = 10; i < 15; ++i) ASSERT_TRUE((*sink)->Send(Make(i)).ok());
  EXPECT_FALSE((*sink)->Flush(absl::Milliseconds(100)));
  // It comes back on the same port and takes everything.
  learner.SetAckLimit(-1);
  auto again = testing::StartFakeLearner(&learner, port);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(30)));
  EXPECT_EQ((*sink)->Acked(), 15);
  EXPECT_EQ(learner.taken(), 15);  // none lost
  std::set<std::string> want;
  for (int i = 0; i < 15; ++i) want.insert(absl::StrCat("a/", i));
  EXPECT_EQ(learner.ids(), want);
  EXPECT_EQ(learner.duplicates(), 0);  // only unacked ones were resent
  EXPECT_GE((*sink)->reconnects(), 1);
  EXPECT_GE((*sink)->resent(), 6);
  (*sink)->Close();  // before the server, which waits for open streams
}

// Acked trajectories no learner checkpoint holds yet are kept and resent
// after a reconnect: a learner that restarted from its checkpoint gets back
// what it took after it; once a later checkpoint exists they are let go.
TEST(LearnerSinkTest, KeepsAckedTrajectoriesUntilALearnerCheckpointHoldsThem) {
  testing::FakeLearner learner;
  learner.SetSteps(/*step=*/3, /*checkpoint_step=*/0);
  auto server = testing::StartFakeLearner(&learner);
  ASSERT_TRUE(server.ok());
  const int port = server->port;
  const std::string address = server->address();
  auto sink = SinkTo(address);
  ASSERT_TRUE(sink.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*sink)->Send(Make(i)).ok());
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(30)));
  EXPECT_EQ((*sink)->retained(), 5);
  // The learner is killed and resumes from its checkpoint of step 0.
  server->server->Shutdown(std::chrono::system_clock::now());
  server->server.reset();
  learner.ForgetUncheckpointed();
  EXPECT_EQ(learner.taken(), 0);
  auto again = testing::StartFakeLearner(&learner, port);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(learner.WaitForReceived(10, absl::Seconds(30)));
  EXPECT_EQ(learner.taken(), 5);  // all back, none lost
  EXPECT_EQ(learner.duplicates(), 0);
  // A checkpoint after step 3: the next ack lets them go (and keeps its
  // own trajectory, taken at step 5).
  learner.SetSteps(/*step=*/5, /*checkpoint_step=*/4);
  ASSERT_TRUE((*sink)->Send(Make(5)).ok());
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(30)));
  EXPECT_EQ((*sink)->retained(), 1);
  (*sink)->Close();
}

TEST(LearnerSinkTest, WaitsForAnAddressWithoutLosingAnything) {
  testing::FakeLearner learner;
  absl::Mutex mu;
  std::string address;
  LearnerSinkOptions o;
  o.learner_address = [&] {
    absl::MutexLock lock(&mu);
    return address;
  };
  o.initial_backoff = absl::Milliseconds(10);
  o.max_backoff = absl::Milliseconds(50);
  auto sink = LearnerSink::Create(o);
  ASSERT_TRUE(sink.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*sink)->Send(Make(i)).ok());
  EXPECT_EQ((*sink)->Unacked(), 3);
  auto server = testing::StartFakeLearner(&learner);
  ASSERT_TRUE(server.ok());
  {
    absl::MutexLock lock(&mu);
    address = server->address();
  }
  ASSERT_TRUE((*sink)->Flush(absl::Seconds(30)));
  EXPECT_EQ(learner.taken(), 3);
}

}  // namespace
}  // namespace agentgym::actor
