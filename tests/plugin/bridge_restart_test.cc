// The bridge when its upstream restarts (a restarted AgentGym server hands out
// env ids from 0 again), how it words what the upstream could not do, and the
// train/test split every preset ships.

#include <string>

#include "absl/strings/match.h"
#include "tests/plugin/bridge_fixture.h"

namespace agentgym::env::bridge {
namespace {

using json = nlohmann::json;
using agentgym::testing::FakeAgentGymServer;
using testing_fixture::BridgeTest;
using testing_fixture::kFlavors;
using testing_fixture::MustResolve;

bool SaysLost(const absl::Status& s) {
  return s.code() == absl::StatusCode::kNotFound &&
         absl::StrContains(s.message(), "the upstream env server restarted; this session is lost");
}

// Blocks (bounded) until `done` holds.
template <typename Pred>
bool AwaitTrue(Pred done) {
  absl::Notification never;
  for (int i = 0; i < 3000 && !done(); ++i) {
    never.WaitForNotificationWithTimeout(absl::Milliseconds(10));  // bounded wait for the fake
  }
  return done();
}

TEST_F(BridgeTest, ARestartedUpstreamThatReusesIdsNeverMixesSessions) {
  Serve({MustResolve("textcraft", {{"base_url", fake_->BaseUrl("textcraft")}})});
  auto a = Create("textcraft", /*index=*/2);  // secret 3, upstream env 0
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(client_->Step(a->session_id(), "Action: pick 1").ok());
  fake_->Restart();
  auto b = Create("textcraft", /*index=*/5);  // secret 6, upstream env 0 again
  ASSERT_TRUE(b.ok()) << b.status();
  // A must not play B's game: nothing is sent upstream for it.
  const int served = fake_->steps_served();
  auto a_step = client_->Step(a->session_id(), "Action: pick 6");
  EXPECT_TRUE(SaysLost(a_step.status())) << a_step.status();
  EXPECT_EQ(fake_->steps_served(), served);
  // A's close must not close B's env. C's close comes after A's in the queue.
  EXPECT_TRUE(client_->Close(a->session_id()).ok());
  auto c = Create("textcraft", /*index=*/1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(client_->Close(c->session_id()).ok());
  ASSERT_TRUE(AwaitTrue([&] { return fake_->closed_envs() >= 1; }));
  EXPECT_EQ(fake_->closed_envs(), 1);
  EXPECT_EQ(fake_->open_envs(), 1);  // B's
  auto b_step = client_->Step(b->session_id(), "Action: pick 6");
  ASSERT_TRUE(b_step.ok()) << b_step.status();
  EXPECT_EQ(b_step->observation(), "Correct!");
  EXPECT_TRUE(b_step->success());
  EXPECT_EQ(b_step->turn(), 1);
}

TEST_F(BridgeTest, AnUnknownIdAnswerIsNotFoundAndLosesEverySessionBeforeIt) {
  Serve({MustResolve("textcraft", {{"base_url", fake_->BaseUrl("textcraft")}})});
  auto a = Create("textcraft", /*index=*/2);
  auto a2 = Create("textcraft", /*index=*/3);
  ASSERT_TRUE(a.ok() && a2.ok());
  fake_->Restart();
  // The upstream says "The id 0 is not valid.": NOT_FOUND, not INTERNAL.
  auto step = client_->Step(a->session_id(), "Action: pick 1");
  EXPECT_TRUE(SaysLost(step.status())) << step.status();
  EXPECT_TRUE(absl::StrContains(step.status().message(), "The id 0 is not valid."))
      << step.status();
  const int served = fake_->steps_served();
  auto step2 = client_->Step(a2->session_id(), "Action: pick 1");
  EXPECT_TRUE(SaysLost(step2.status())) << step2.status();
  EXPECT_EQ(fake_->steps_served(), served);  // not sent: it may name a new env there
  auto fresh = Create("textcraft", /*index=*/2);  // sessions created after are fine
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  auto played = client_->Step(fresh->session_id(), "Action: pick 3");
  ASSERT_TRUE(played.ok()) << played.status();
  EXPECT_TRUE(played->success());
}

TEST_F(BridgeTest, AnUpstreamThatCouldNotBeReachedLosesItsSessions) {
  Serve({MustResolve("textcraft", {{"base_url", fake_->BaseUrl("textcraft")}})});
  auto a = Create("textcraft", /*index=*/2);  // upstream env 0
  ASSERT_TRUE(a.ok()) << a.status();
  const int port = fake_->port();
  fake_->Stop();
  auto down = client_->Step(a->session_id(), "Action: pick 1");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable) << down.status();
  fake_.reset();
  auto restarted = FakeAgentGymServer::StartOnPort(port, /*max_envs=*/100);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  fake_ = *std::move(restarted);
  // Another client of the restarted server holds its env 0 now.
  auto other = UpstreamClient::Create(
      MustResolve("textcraft", {{"base_url", fake_->BaseUrl("textcraft")}}));
  ASSERT_TRUE(other.ok());
  auto created = (*other)->Post("/create", json::object(), absl::Seconds(10));
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ((*created)["id"], 0);
  auto again = client_->Step(a->session_id(), "Action: pick 3");
  EXPECT_TRUE(SaysLost(again.status())) << again.status();
  EXPECT_EQ(fake_->steps_served(), 0);
}

TEST_F(BridgeTest, TextcraftActionsGetTheBuiltInEnvsTreatment) {
  Serve({MustResolve("textcraft", {{"base_url", fake_->BaseUrl("textcraft")}})});
  auto a = Create("textcraft", /*index=*/2);  // secret 3
  ASSERT_TRUE(a.ok()) << a.status();
  // No "Action:" line: the whole text is the action, as for the built-in env.
  auto plain = client_->Step(a->session_id(), "pick 1");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->observation(), "Go higher.");
  EXPECT_TRUE(plain->action_valid());
  EXPECT_EQ(plain->info().fields().at("sent_action").string_value(), "pick 1");
  // What the upstream could not execute is not a valid action.
  auto junk = client_->Step(a->session_id(), "Action: dance");
  ASSERT_TRUE(junk.ok()) << junk.status();
  EXPECT_EQ(junk->observation(), "Could not execute dance");
  EXPECT_FALSE(junk->action_valid());
  auto two = client_->Step(a->session_id(), "Action: pick 1\naction: pick 2");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_FALSE(two->action_valid());  // one action per reply, in any case
  auto won = client_->Step(a->session_id(), "Thought: it is 3.\naction: pick 3");
  ASSERT_TRUE(won.ok()) << won.status();
  EXPECT_TRUE(won->success());
  EXPECT_TRUE(won->action_valid());
}

TEST_F(BridgeTest, EveryPresetHasADeterministicDisjointTestSplit) {
  for (const char* f : kFlavors) {
    SCOPED_TRACE(f);
    UpstreamConfig c = MustResolve(f, {{"base_url", "http://127.0.0.1:9"}});
    ASSERT_EQ(c.tasks.size(), 1u);
    const TaskRange& t = c.tasks[0];
    EXPECT_EQ(t.train_start, 0);
    EXPECT_EQ(t.train_count, 80);
    EXPECT_EQ(t.test_start, 80);
    EXPECT_EQ(t.test_count, 20);
  }
  ServeAllFlavors();
  auto envs = client_->ListEnvs();
  ASSERT_TRUE(envs.ok()) << envs.status();
  ASSERT_EQ(envs->envs_size(), 6);
  for (const auto& env : envs->envs()) {
    SCOPED_TRACE(env.name());
    ASSERT_EQ(env.task_types_size(), 1);
    EXPECT_EQ(env.task_types(0).test_count(), 20);
    // default/test/0 is upstream index 80: the fake's secret is 80 % 9 + 1 = 9.
    v1::CreateRequest req;
    req.set_env(env.name());
    req.set_task_id("default/test/0");
    auto created = client_->Create(req);
    ASSERT_TRUE(created.ok()) << created.status();
    const bool raw = env.name() == "webarena" || env.name() == "searchqa";
    auto won = client_->Step(created->session_id(), raw ? "pick 9" : "Action: pick 9");
    ASSERT_TRUE(won.ok()) << won.status();
    EXPECT_TRUE(won->success());
    v1::CreateRequest sampled;
    sampled.set_env(env.name());
    sampled.mutable_sample()->set_split(v1::SPLIT_TEST);
    EXPECT_TRUE(client_->Create(sampled).ok());
  }
}

}  // namespace
}  // namespace agentgym::env::bridge
