#include "scheduler/registry.h"

#include "gtest/gtest.h"

namespace agentgym::scheduler {
namespace {

pb::RegisterRequest EnvServer(const std::string& address) {
  pb::RegisterRequest r;
  r.set_role(pb::ROLE_ENV_SERVER);
  r.set_address(address);
  r.mutable_capabilities()->add_envs("textcraft");
  return r;
}

TEST(RegistryTest, LeaseLapsesWithoutHeartbeatsAndRecoversOnRegister) {
  FakeClock clock;
  Registry registry({absl::Seconds(10), absl::Minutes(10)}, &clock);
  auto id = registry.Register(EnvServer("127.0.0.1:5000"));
  ASSERT_TRUE(id.ok()) << id.status();
  clock.Advance(absl::Seconds(8));
  ASSERT_TRUE(registry.Heartbeat(*id, nullptr).ok());
  clock.Advance(absl::Seconds(8));
  EXPECT_TRUE(registry.Reap().empty());  // 8 s since the last beat
  clock.Advance(absl::Seconds(3));
  auto lapsed = registry.Reap();
  ASSERT_EQ(lapsed.size(), 1u);
  EXPECT_EQ(lapsed[0].id, *id);
  EXPECT_EQ((*registry.Get(*id))->health, pb::HEALTH_DOWN);
  EXPECT_TRUE(registry.Up(pb::ROLE_ENV_SERVER).empty());
  // A late beat does not revive it: its work may be elsewhere already.
  EXPECT_EQ(registry.Heartbeat(*id, nullptr).code(), absl::StatusCode::kFailedPrecondition);

  pb::RegisterRequest again = EnvServer("127.0.0.1:5000");
  again.set_component_id(*id);
  auto back = registry.Register(again);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *id);
  EXPECT_EQ(registry.Up(pb::ROLE_ENV_SERVER).size(), 1u);
  EXPECT_TRUE(registry.Heartbeat(*id, nullptr).ok());
}

TEST(RegistryTest, LateBeatBeforeReapStillCountsAsLapsed) {
  FakeClock clock;
  Registry registry({absl::Seconds(10), absl::Minutes(10)}, &clock);
  auto id = registry.Register(EnvServer("127.0.0.1:5000"));
  ASSERT_TRUE(id.ok());
  clock.Advance(absl::Seconds(11));
  EXPECT_EQ(registry.Heartbeat(*id, nullptr).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RegistryTest, ForgetsLongDeadComponents) {
  FakeClock clock;
  Registry registry({absl::Seconds(10), absl::Minutes(1)}, &clock);
  auto id = registry.Register(EnvServer("127.0.0.1:5000"));
  ASSERT_TRUE(id.ok());
  clock.Advance(absl::Seconds(11));
  registry.Reap();
  EXPECT_TRUE(registry.Get(*id).ok());
  clock.Advance(absl::Minutes(2));
  registry.Reap();
  EXPECT_EQ(registry.Get(*id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.Heartbeat(*id, nullptr).code(), absl::StatusCode::kNotFound);
}

TEST(RegistryTest, RejectsBadRegistrations) {
  FakeClock clock;
  Registry registry({}, &clock);
  pb::RegisterRequest none;
  EXPECT_EQ(registry.Register(none).status().code(), absl::StatusCode::kInvalidArgument);
  pb::RegisterRequest no_envs = EnvServer("127.0.0.1:5000");
  no_envs.mutable_capabilities()->clear_envs();
  EXPECT_EQ(registry.Register(no_envs).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Register(EnvServer("no-port")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Register(EnvServer("host:70000")).status().code(),
            absl::StatusCode::kInvalidArgument);
  pb::RegisterRequest learner;
  learner.set_role(pb::ROLE_LEARNER);
  learner.set_address("127.0.0.1:6000");
  learner.mutable_capabilities()->set_rank(2);
  learner.mutable_capabilities()->set_world_size(2);
  auto bad_rank = registry.Register(learner);
  EXPECT_EQ(bad_rank.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_rank.status().message().find("rank 2"), std::string::npos);
  EXPECT_TRUE(registry.List().empty());
  EXPECT_EQ(registry.Heartbeat("nobody", nullptr).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.Deregister("nobody").status().code(), absl::StatusCode::kNotFound);
}

TEST(RegistryTest, LearnerRankZeroIsTheLearnerAddress) {
  FakeClock clock;
  Registry registry({}, &clock);
  EXPECT_EQ(registry.LearnerAddress(), "");
  pb::RegisterRequest rank1;
  rank1.set_role(pb::ROLE_LEARNER);
  rank1.set_address("10.0.0.2:6000");
  rank1.mutable_capabilities()->set_rank(1);
  rank1.mutable_capabilities()->set_world_size(2);
  ASSERT_TRUE(registry.Register(rank1).ok());
  EXPECT_EQ(registry.LearnerAddress(), "");
  pb::RegisterRequest rank0 = rank1;
  rank0.set_address("10.0.0.1:6000");
  rank0.mutable_capabilities()->set_rank(0);
  rank0.mutable_capabilities()->set_rendezvous_address("10.0.0.1:29500");
  ASSERT_TRUE(registry.Register(rank0).ok());
  EXPECT_EQ(registry.LearnerAddress(), "10.0.0.1:6000");
  EXPECT_EQ(registry.RendezvousAddress(), "10.0.0.1:29500");
}

}  // namespace
}  // namespace agentgym::scheduler
