#include "learner/trajectory_buffer.h"

#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "learner/testing/synthetic.h"

namespace agentgym::learner {
namespace {

using ::testing::HasSubstr;
using learner::v1::ACK_STATUS_ACCEPTED;
using learner::v1::ACK_STATUS_REJECTED;
using learner::v1::ACK_STATUS_STALE;
using testing::MakeGroup;
using testing::MakeTrajectory;
using trajectory::v1::Trajectory;

constexpr int64_t kVocab = 50;

BufferOptions Options(int group_size = 2, int64_t capacity = 8) {
  BufferOptions o;
  o.capacity = capacity;
  o.group_size = group_size;
  o.whole_groups = true;
  o.vocab_size = kVocab;
  o.max_staleness = 1;
  o.group_timeout = absl::Seconds(60);
  return o;
}

Trajectory Good(const std::string& id) { return MakeTrajectory(id, kVocab, 1, {}, 1.0, "g", 2, 0); }

TEST(TrajectoryValidationTest, AcceptsWellFormed) {
  ValidationLimits limits{kVocab, 0, 1, true, 2};
  EXPECT_EQ(ValidateTrajectory(Good("a"), limits).verdict, Verdict::kOk);
}

TEST(TrajectoryValidationTest, RejectsMalformedWithReasons) {
  ValidationLimits limits{kVocab, 3, 1, true, 2};
  struct Case {
    std::string name;
    std::function<void(Trajectory&)> mutate;
    Verdict verdict;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {"length", [](Trajectory& t) { t.add_token_ids(1); }, Verdict::kRejected, "loss_mask has"},
      {"logprob length", [](Trajectory& t) { t.add_behaviour_logprobs(0); }, Verdict::kRejected,
       "behaviour_logprobs has"},
      {"nan reward", [](Trajectory& t) { t.set_final_reward(std::nan("")); }, Verdict::kRejected,
       "final_reward"},
      {"nan turn reward", [](Trajectory& t) { t.mutable_turns(0)->set_reward(INFINITY); },
       Verdict::kRejected, "reward is not finite"},
      {"nan logprob", [](Trajectory& t) { t.set_behaviour_logprobs(5, NAN); }, Verdict::kRejected,
       "behaviour_logprobs[5]"},
      {"mask on prompt", [](Trajectory& t) { (*t.mutable_loss_mask())[1] = 1; }, Verdict::kRejected,
       "on the prompt"},
      {"mask on observation", [](Trajectory& t) { (*t.mutable_loss_mask())[7] = 1; },
       Verdict::kRejected, "outside the agent spans"},
      {"unknown version", [](Trajectory& t) { t.mutable_turns(1)->set_policy_version(4); },
       Verdict::kRejected, "never issued"},
      {"id out of vocab", [](Trajectory& t) { t.set_token_ids(2, kVocab); }, Verdict::kRejected,
       "outside the vocabulary"},
      {"group size", [](Trajectory& t) { t.set_group_size(3); }, Verdict::kRejected, "group_size"},
      {"stale", [](Trajectory& t) { t.mutable_turns(0)->set_policy_version(1); }, Verdict::kStale,
       "2 versions behind"},
      {"env error", [](Trajectory& t) {
         t.set_end_reason(trajectory::v1::END_REASON_ENV_ERROR);
         t.clear_token_ids();
       }, Verdict::kEnvError, "env_error"},
  };
  for (const auto& c : cases) {
    Trajectory t = MakeTrajectory("x", kVocab, 1, {}, 1.0, "g", 2, 0, /*version=*/3);
    c.mutate(t);
    auto r = ValidateTrajectory(t, limits);
    EXPECT_EQ(r.verdict, c.verdict) << c.name << ": " << r.reason;
    EXPECT_THAT(r.reason, HasSubstr(c.reason)) << c.name;
  }
}

TEST(TrajectoryBufferTest, FormsWholeGroupsAndDedupes) {
  TrajectoryBuffer buffer(Options());
  auto group = MakeGroup("g1", kVocab, 1, {1.0, 0.0});
  auto ack = buffer.Offer(group[0]);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->status(), ACK_STATUS_ACCEPTED);
  EXPECT_FALSE(ack->duplicate());
  // Resent after a lost ack: accepted as a duplicate, buffered once.
  ack = buffer.Offer(group[0]);
  ASSERT_TRUE(ack.ok());
  EXPECT_TRUE(ack->duplicate());
  EXPECT_FALSE(buffer.TakeBatch(1, absl::Milliseconds(10)).has_value());  // group incomplete
  ASSERT_TRUE(buffer.Offer(group[1]).ok());
  auto batch = buffer.TakeBatch(1, absl::Milliseconds(10));
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->trajectories.size(), 2u);
  EXPECT_EQ(batch->trajectories[0].group_index(), 0);
  buffer.CommitBatch(*batch);
  // Resent after training: still never trained twice.
  ack = buffer.Offer(group[1]);
  EXPECT_TRUE(ack->duplicate());
  EXPECT_FALSE(buffer.TakeBatch(1, absl::Milliseconds(10)).has_value());
  const Accounting a = buffer.accounting();
  EXPECT_EQ(a.received, 2);
  EXPECT_EQ(a.trained, 2);
  EXPECT_EQ(a.duplicates, 2);
  EXPECT_EQ(a.buffered, 0);
}

TEST(TrajectoryBufferTest, RefusalsAreCountedAndAckedWithVersion) {
  TrajectoryBuffer buffer(Options());
  buffer.SetProgress(/*policy_version=*/5, /*step=*/5);
  Trajectory bad = MakeTrajectory("bad", kVocab, 1, {}, 1.0, "g", 2, 0, 5);
  bad.set_final_reward(NAN);
  auto ack = buffer.Offer(bad);
  EXPECT_EQ(ack->status(), ACK_STATUS_REJECTED);
  EXPECT_EQ(ack->policy_version(), 5);
  EXPECT_EQ(ack->step(), 5);
  ack = buffer.Offer(MakeTrajectory("old", kVocab, 1, {}, 1.0, "h", 2, 0, /*version=*/2));
  EXPECT_EQ(ack->status(), ACK_STATUS_STALE);
  Trajectory err = Good("err");
  err.set_end_reason(trajectory::v1::END_REASON_ENV_ERROR);
  ack = buffer.Offer(err);
  EXPECT_EQ(ack->status(), ACK_STATUS_ACCEPTED);
  const Accounting a = buffer.accounting();
  EXPECT_EQ(a.rejected, 1);
  EXPECT_EQ(a.stale, 1);
  EXPECT_EQ(a.env_error, 1);
  EXPECT_EQ(a.received, 3);
  EXPECT_EQ(a.buffered, 0);
}

TEST(TrajectoryBufferTest, IncompleteGroupTimesOutAsDropped) {
  FakeClock clock;
  BufferOptions o = Options();
  o.group_timeout = absl::Seconds(5);
  TrajectoryBuffer buffer(o, &clock);
  ASSERT_TRUE(buffer.Offer(MakeGroup("g1", kVocab, 1, {1.0, 0.0})[0]).ok());
  EXPECT_EQ(buffer.accounting().buffered, 1);
  clock.Advance(absl::Seconds(6));
  EXPECT_FALSE(buffer.TakeBatch(1, absl::Milliseconds(1)).has_value());
  EXPECT_EQ(buffer.accounting().dropped, 1);
  EXPECT_EQ(buffer.accounting().buffered, 0);
}

TEST(TrajectoryBufferTest, StaleAtBatchFormationIsCounted) {
  TrajectoryBuffer buffer(Options());
  for (auto& t : MakeGroup("g1", kVocab, 1, {1.0, 0.0})) ASSERT_TRUE(buffer.Offer(t).ok());
  buffer.SetProgress(2, 2);  // the group is now 2 versions behind (max 1)
  EXPECT_FALSE(buffer.TakeBatch(1, absl::Milliseconds(5)).has_value());
  EXPECT_EQ(buffer.accounting().stale, 2);
}

// The version moved on between two members' arrivals: the late member is
// not refused alone (that would leave its group incomplete until it timed
// out); the group is judged whole when a batch forms.
TEST(TrajectoryBufferTest, AMemberStaleOnArrivalJoinsItsPartlyBufferedGroup) {
  TrajectoryBuffer buffer(Options());
  auto group = MakeGroup("g1", kVocab, 1, {1.0, 0.0});
  ASSERT_EQ(buffer.Offer(group[0])->status(), ACK_STATUS_ACCEPTED);
  buffer.SetProgress(2, 2);
  ASSERT_EQ(buffer.Offer(group[1])->status(), ACK_STATUS_ACCEPTED);
  EXPECT_EQ(buffer.ready(), 2);
  EXPECT_FALSE(buffer.TakeBatch(1, absl::Milliseconds(5)).has_value());
  const Accounting a = buffer.accounting();
  EXPECT_EQ(a.stale, 2);
  EXPECT_EQ(a.buffered, 0);
  // A group whose first member is already stale is refused member by member.
  auto late = MakeGroup("g2", kVocab, 2, {1.0, 0.0});
  EXPECT_EQ(buffer.Offer(late[0])->status(), ACK_STATUS_STALE);
  EXPECT_EQ(buffer.Offer(late[1])->status(), ACK_STATUS_STALE);
  EXPECT_EQ(buffer.accounting().stale, 4);
}

// A rejected member drops its group: members already in and those still to
// come are counted dropped, and nothing of it waits for the group timeout.
TEST(TrajectoryBufferTest, ARejectedMemberDropsItsWholeGroup) {
  TrajectoryBuffer buffer(Options(/*group_size=*/3));
  auto group = MakeGroup("g1", kVocab, 1, {1.0, 0.0, 1.0});
  for (auto& t : group) t.set_group_size(3);
  group[1].set_final_reward(NAN);
  ASSERT_EQ(buffer.Offer(group[0])->status(), ACK_STATUS_ACCEPTED);
  EXPECT_EQ(buffer.Offer(group[1])->status(), ACK_STATUS_REJECTED);
  auto last = buffer.Offer(group[2]);
  EXPECT_EQ(last->status(), ACK_STATUS_ACCEPTED);
  EXPECT_THAT(last->reason(), HasSubstr("group was rejected"));
  const Accounting a = buffer.accounting();
  EXPECT_EQ(a.received, 3);
  EXPECT_EQ(a.rejected, 1);
  EXPECT_EQ(a.dropped, 2);
  EXPECT_EQ(a.buffered, 0);
  // Another group is unaffected.
  auto next = MakeGroup("g2", kVocab, 2, {1.0, 0.0, 0.0});
  for (auto& t : next) {
    t.set_group_size(3);
    ASSERT_EQ(buffer.Offer(t)->status(), ACK_STATUS_ACCEPTED);
  }
  EXPECT_TRUE(buffer.TakeBatch(1, absl::Milliseconds(10)).has_value());
}

TEST(TrajectoryBufferTest, ReportsReadyAndInTrainingCountsAsTheyChange) {
  BufferOptions o = Options();
  std::vector<std::pair<int64_t, int64_t>> seen;
  o.on_ready_changed = [&seen](int64_t ready, int64_t in_training) { seen.emplace_back(ready, in_training); };
  TrajectoryBuffer buffer(o);
  auto group = MakeGroup("g1", kVocab, 1, {1.0, 0.0});
  ASSERT_TRUE(buffer.Offer(group[0]).ok());
  EXPECT_TRUE(seen.empty());  // a partial group is not ready
  ASSERT_TRUE(buffer.Offer(group[1]).ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.back(), std::make_pair(int64_t{2}, int64_t{0}));
  auto batch = buffer.TakeBatch(1, absl::Milliseconds(10));
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(seen.back(), std::make_pair(int64_t{0}, int64_t{2}));
  buffer.CommitBatch(*batch);
  EXPECT_EQ(seen.back(), std::make_pair(int64_t{0}, int64_t{0}));
}

// After resuming from the checkpoint of version 10 with up to 5 versions
// published after it (lost), the learner is at version 16 (the checkpoint's
// weights): version 10 is 0 steps behind, 9 one, the lost 11..15 stale.
TEST(TrajectoryBufferTest, VersionsLostInALearnerRestartAreStaleOthersKeepTheirLag) {
  BufferOptions o = Options();
  o.version_gap.base = 10;
  o.version_gap.size = 5;
  TrajectoryBuffer buffer(o);
  buffer.SetProgress(16, 10);
  auto at = [](const std::string& g, int64_t version) { return MakeGroup(g, kVocab, 1, {1.0, 0.0}, {}, version); };
  for (auto& t : at("g10", 10)) ASSERT_EQ(buffer.Offer(t)->status(), ACK_STATUS_ACCEPTED);
  for (auto& t : at("g9", 9)) ASSERT_EQ(buffer.Offer(t)->status(), ACK_STATUS_ACCEPTED);
  for (auto& t : at("g8", 8)) EXPECT_EQ(buffer.Offer(t)->status(), ACK_STATUS_STALE);
  auto lost = buffer.Offer(at("g13", 13)[0]);
  EXPECT_EQ(lost->status(), ACK_STATUS_STALE);
  EXPECT_THAT(lost->reason(), HasSubstr("weights are lost"));
  for (auto& t : at("g16", 16)) ASSERT_EQ(buffer.Offer(t)->status(), ACK_STATUS_ACCEPTED);
  EXPECT_EQ(buffer.Offer(at("g17", 17)[0])->status(), ACK_STATUS_REJECTED);  // never issued
  auto batch = buffer.TakeBatch(3, absl::Milliseconds(10));
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->staleness_counts, (std::map<int64_t, int64_t>{{0, 4}, {1, 2}}));
}

TEST(TrajectoryBufferTest, FullBufferBlocksTheSenderUntilRoom) {
  BufferOptions o = Options(/*group_size=*/2, /*capacity=*/2);
  TrajectoryBuffer buffer(o);
  for (auto& t : MakeGroup("g1", kVocab, 1, {1.0, 0.0})) ASSERT_TRUE(buffer.Offer(t).ok());
  absl::Notification acked;
  std::thread sender([&] {
    auto ack = buffer.Offer(MakeGroup("g2", kVocab, 2, {1.0, 0.0})[0]);
    EXPECT_TRUE(ack.ok());
    acked.Notify();
  });
  EXPECT_FALSE(acked.WaitForNotificationWithTimeout(absl::Milliseconds(200)));
  auto batch = buffer.TakeBatch(1, absl::Seconds(1));
  ASSERT_TRUE(batch.has_value());
  EXPECT_TRUE(acked.WaitForNotificationWithTimeout(absl::Seconds(5)));
  sender.join();
  EXPECT_EQ(buffer.accounting().buffered, 3);  // 2 in training + 1 waiting
}

TEST(TrajectoryBufferTest, CloseReleasesBlockedSenders) {
  TrajectoryBuffer buffer(Options(2, 2));
  for (auto& t : MakeGroup("g1", kVocab, 1, {1.0, 0.0})) ASSERT_TRUE(buffer.Offer(t).ok());
  std::thread sender([&] {
    auto ack = buffer.Offer(MakeGroup("g2", kVocab, 2, {1.0, 0.0})[0]);
    EXPECT_EQ(ack.status().code(), absl::StatusCode::kUnavailable);
  });
  buffer.Close();
  sender.join();
}

TEST(TrajectoryBufferTest, ExportRestoreKeepsIdsAndWaitingTrajectories) {
  TrajectoryBuffer buffer(Options());
  auto g = MakeGroup("g1", kVocab, 1, {1.0, 0.0});
  ASSERT_TRUE(buffer.Offer(g[0]).ok());
  TrajectoryBuffer restored(Options());
  restored.Restore(buffer.Export());
  EXPECT_TRUE(restored.Offer(g[0])->duplicate());
  ASSERT_TRUE(restored.Offer(g[1]).ok());
  auto batch = restored.TakeBatch(1, absl::Milliseconds(10));
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->trajectories.size(), 2u);
  EXPECT_EQ(restored.accounting().received, 2);
}

}  // namespace
}  // namespace agentgym::learner
