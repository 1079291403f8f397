// The client's retries against a server that fails on purpose
// (testing/flaky_env_server.h): a retried step is applied once, calls that
// cannot be repeated safely are not retried, retries stop at the call's
// deadline, and the async path does the same.

#include <future>

#include "absl/strings/match.h"
#include "env_server/client/env_client.h"
#include "env_server/testing/flaky_env_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentgym::env {
namespace {

using ::testing::HasSubstr;
using Fail = testing::FlakyEnvServer::Fail;

// Waits (bounded) for the value an async callback delivers.
template <typename T>
T Await(std::promise<T>& promise) {
  auto future = promise.get_future();
  EXPECT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  return future.get();
}

class EnvClientRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::FlakyEnvServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    client_ = MakeClient([](EnvClientOptions&) {});
  }

  std::unique_ptr<EnvClient> MakeClient(const std::function<void(EnvClientOptions&)>& adjust) {
    EnvClientOptions options;
    options.target = server_->address();
    options.timeout = absl::Seconds(20);
    options.max_attempts = 4;
    options.initial_backoff = absl::Milliseconds(1);
    options.max_backoff = absl::Milliseconds(5);
    adjust(options);
    return *EnvClient::Create(options);
  }

  std::string CreateCounter(EnvClient& client, int64_t index = 3) {  // target 4
    v1::CreateRequest req;
    req.set_env("counter");
    req.set_task_id("count/train/" + std::to_string(index));
    auto created = client.Create(req);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->session_id() : "";
  }

  std::unique_ptr<testing::FlakyEnvServer> server_;
  std::unique_ptr<EnvClient> client_;
};

TEST_F(EnvClientRetryTest, AStepWhoseReplyWasLostIsRetriedAndAppliedOnce) {
  const std::string id = CreateCounter(*client_);
  server_->FailNext("Step", 1, Fail::kAfterApplying);
  auto first = client_->Step(id, "inc");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(server_->calls("Step"), 2) << "the lost reply is retried";
  EXPECT_TRUE(first->replayed());
  EXPECT_EQ(first->turn(), 1);
  EXPECT_EQ(first->observation(), "value 1");
  auto second = client_->Step(id, "inc");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->replayed());
  EXPECT_EQ(second->turn(), 2);
  EXPECT_EQ(second->observation(), "value 2") << "the first step was applied twice";

  // A request lost on the way in is simply sent again.
  server_->FailNext("Step", 2, Fail::kBeforeApplying);
  auto third = client_->Step(id, "inc");
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(server_->calls("Step"), 6);
  EXPECT_FALSE(third->replayed());
  EXPECT_EQ(third->observation(), "value 3");
}

TEST_F(EnvClientRetryTest, AsyncStepsAreRetriedAndAppliedOnce) {
  const std::string id = CreateCounter(*client_);
  server_->FailNext("Step", 2, Fail::kAfterApplying);
  std::promise<absl::StatusOr<v1::StepResult>> done;
  client_->StepAsync(id, "inc", [&](absl::StatusOr<v1::StepResult> r) { done.set_value(r); });
  auto first = Await(done);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(server_->calls("Step"), 3);
  EXPECT_TRUE(first->replayed());
  EXPECT_EQ(first->observation(), "value 1");

  // The batched async path: two sessions, the reply lost once.
  const std::string other = CreateCounter(*client_);
  server_->FailNext("BatchStep", 1, Fail::kAfterApplying);
  v1::BatchStepRequest batch;
  for (const std::string& s : {id, other}) {
    auto* item = batch.add_items();
    item->set_session_id(s);
    item->set_action("inc");
  }
  std::promise<absl::StatusOr<v1::BatchStepResponse>> batch_done;
  client_->BatchStepAsync(batch, [&](auto r) { batch_done.set_value(std::move(r)); });
  auto stepped = Await(batch_done);
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  EXPECT_EQ(server_->calls("BatchStep"), 2);
  ASSERT_EQ(stepped->items_size(), 2);
  EXPECT_EQ(stepped->items(0).result().observation(), "value 2");
  EXPECT_EQ(stepped->items(1).result().observation(), "value 1");
  EXPECT_TRUE(stepped->items(0).result().replayed());
  EXPECT_EQ(client_->Step(id, "inc")->observation(), "value 3");
}

TEST_F(EnvClientRetryTest, ABatchStepIsRetriedOnlyWhenEachSessionIsInItOnce) {
  const std::string a = CreateCounter(*client_);
  const std::string b = CreateCounter(*client_);
  auto batch_of = [](const std::vector<std::string>& ids) {
    v1::BatchStepRequest req;
    for (const auto& id : ids) {
      auto* item = req.add_items();
      item->set_session_id(id);
      item->set_action("inc");
    }
    return req;
  };
  server_->FailNext("BatchStep", 1, Fail::kAfterApplying);
  auto once = client_->BatchStep(batch_of({a, b}));
  ASSERT_TRUE(once.ok()) << once.status();
  EXPECT_EQ(server_->calls("BatchStep"), 2);
  for (const auto& item : once->items()) {
    EXPECT_EQ(item.error().code(), 0) << item.error().message();
    EXPECT_EQ(item.result().observation(), "value 1");
    EXPECT_EQ(item.result().turn(), 1);
  }
  // Two steps of `a` in one batch: only the first is checked (the second's
  // turn depends on whether the first applies), and the server remembers
  // only the last step, so such a batch is not retried.
  auto twice = client_->BatchStep(batch_of({a, a}));
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(twice->items(0).result().turn(), 2);
  EXPECT_EQ(twice->items(1).result().turn(), 3);
  server_->FailNext("BatchStep", 1, Fail::kAfterApplying);
  auto lost = client_->BatchStep(batch_of({a, a}));
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(server_->calls("BatchStep"), 4);
  // Its first step was applied (turn 4: the target; the second then found
  // the episode ended), so repeating that step is answered from memory.
  auto after = client_->Step(a, "inc");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->replayed());
  EXPECT_EQ(after->turn(), 4);
  EXPECT_TRUE(after->success());
}

TEST_F(EnvClientRetryTest, CreateAndUncheckedStepsAreNeverRepeated) {
  server_->FailNext("Create", 1, Fail::kAfterApplying);
  v1::CreateRequest create;
  create.set_env("counter");
  create.mutable_sample();
  EXPECT_EQ(client_->Create(create).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(server_->calls("Create"), 1);
  EXPECT_EQ(server_->inner().sessions().size(), 1) << "one attempt, one session";
  server_->FailNext("BatchCreate", 1, Fail::kAfterApplying);
  v1::BatchCreateRequest batch;
  *batch.add_items() = create;
  EXPECT_EQ(client_->BatchCreate(batch).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(server_->calls("BatchCreate"), 1);
  EXPECT_EQ(server_->inner().sessions().size(), 2);

  // With turn checks off, a step carries no expected_turn, so it is sent once.
  auto unchecked = MakeClient([](EnvClientOptions& o) { o.check_turns = false; });
  const std::string id = CreateCounter(*unchecked);
  server_->FailNext("Step", 1, Fail::kAfterApplying);
  EXPECT_EQ(unchecked->Step(id, "inc").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(server_->calls("Step"), 1);
  EXPECT_EQ(unchecked->Step(id, "inc")->observation(), "value 2");
  EXPECT_EQ(unchecked->tracked_sessions(), 0u);
}

// Every attempt shares the call's one deadline, and retries stop there
// rather than after max_attempts.
TEST_F(EnvClientRetryTest, RetriesStopAtTheCallsDeadline) {
  auto patient = MakeClient([](EnvClientOptions& o) {
    o.timeout = absl::Seconds(1);
    o.max_attempts = 1000;
    o.initial_backoff = absl::Milliseconds(40);
    o.max_backoff = absl::Milliseconds(40);
  });
  server_->FailNext("ListEnvs", 1000, Fail::kBeforeApplying);
  auto listed = patient->ListEnvs();
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kUnavailable);
  const int attempts = server_->calls("ListEnvs");
  EXPECT_GT(attempts, 1);
  EXPECT_LT(attempts, 1000) << "stopped by max_attempts, not by the deadline";
  EXPECT_THAT(listed.status().message(), HasSubstr(absl::StrCat(attempts, " attempts")));
  const std::vector<absl::Time> deadlines = server_->deadlines("ListEnvs");
  ASSERT_EQ(deadlines.size(), static_cast<size_t>(attempts));
  // The attempts span most of the second; a deadline renewed per attempt
  // would move by as much.
  for (absl::Time d : deadlines) {
    EXPECT_LT(absl::AbsDuration(d - deadlines.front()), absl::Milliseconds(250));
  }

  // The async path: Reset is safe to repeat.
  const std::string id = CreateCounter(*patient);
  server_->FailNext("Reset", 1000, Fail::kAfterApplying);
  v1::ResetRequest reset;
  reset.set_session_id(id);
  std::promise<absl::StatusOr<v1::ResetResponse>> done;
  patient->ResetAsync(reset, [&](auto r) { done.set_value(std::move(r)); });
  EXPECT_EQ(Await(done).status().code(), absl::StatusCode::kUnavailable);
  const std::vector<absl::Time> reset_deadlines = server_->deadlines("Reset");
  EXPECT_GT(reset_deadlines.size(), 1u);
  EXPECT_LT(reset_deadlines.size(), 1000u);
  for (absl::Time d : reset_deadlines) {
    EXPECT_LT(absl::AbsDuration(d - reset_deadlines.front()), absl::Milliseconds(250));
  }
}

TEST_F(EnvClientRetryTest, OnlyUnavailableIsRetried) {
  v1::ResetRequest reset;
  reset.set_session_id("s-missing");
  EXPECT_EQ(client_->Reset(reset).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(server_->calls("Reset"), 1);
}

// Against a server that ignores expected_turn, a retry applies the step
// again; the client sees the turn it did not send the step as and says so
// instead of passing on a result as if nothing happened.
TEST_F(EnvClientRetryTest, AServerIgnoringExpectedTurnIsCaughtNotTrusted) {
  const std::string id = CreateCounter(*client_);
  server_->IgnoreExpectedTurns(true);
  ASSERT_TRUE(client_->Step(id, "inc").ok());
  server_->FailNext("Step", 1, Fail::kAfterApplying);
  auto doubled = client_->Step(id, "inc");
  EXPECT_EQ(doubled.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(doubled.status().message(), HasSubstr("sent as turn 2 with turn 3"));
  EXPECT_THAT(doubled.status().message(), HasSubstr("does not honour StepRequest.expected_turn"));
}

// The server refuses a step whose turn does not fit, and the client, having
// learned nothing reliable, sends the next step unchecked.
TEST_F(EnvClientRetryTest, AStepOutOfTurnIsRefusedAndForgotten) {
  const std::string id = CreateCounter(*client_);
  auto other = MakeClient([](EnvClientOptions&) {});  // does not know the session
  ASSERT_TRUE(other->Step(id, "inc").ok());           // turn 1, unchecked
  auto stale = client_->Step(id, "inc");              // sent as turn 1 again
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(stale.status().message(), HasSubstr("is at turn 1"));
  auto next = client_->Step(id, "inc");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->turn(), 2);
  EXPECT_EQ(next->observation(), "value 2");
  // ... and from that result on the session is checked again.
  EXPECT_EQ(client_->tracked_sessions(), 1u);
  EXPECT_TRUE(client_->Close(id).ok());
  EXPECT_EQ(client_->tracked_sessions(), 0u);
}

TEST(EnvClientTest, AnUnreachableServerIsUnavailable) {
  EnvClientOptions options;
  options.target = "127.0.0.1:1";  // nothing listens on port 1
  options.timeout = absl::Seconds(2);
  options.max_attempts = 2;
  auto client = *EnvClient::Create(options);
  auto r = client->ListEnvs();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("127.0.0.1:1"));
  EXPECT_THAT(r.status().message(), HasSubstr("2 attempts"));
  // A Create is not retried; it waits for a connection (here for the whole
  // 2 s deadline, the connect budget being as long) and then says why.
  v1::CreateRequest create;
  create.set_env("counter");
  auto created = client->Create(create);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(created.status().message(),
              HasSubstr("cannot connect to 127.0.0.1:1 (is a server running there?)"));
  // Without retries nothing waits: the first failure is the answer.
  options.max_attempts = 1;
  options.timeout = absl::Seconds(60);
  EXPECT_EQ((*EnvClient::Create(options))->Create(create).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(EnvClient::Create(EnvClientOptions{}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Every call has a deadline, and every wait for a connection too.
  for (absl::Duration bad : {absl::ZeroDuration(), absl::Seconds(-1), absl::InfiniteDuration()}) {
    options.timeout = bad;
    EXPECT_EQ(EnvClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    options.timeout = absl::Seconds(1);
    options.connect_timeout = bad;
    EXPECT_EQ(EnvClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    options.connect_timeout = absl::Seconds(2);
  }
}

// A call that is sent once waits for a connection only up to connect_timeout
// (2 s), not its whole deadline, when nothing listens at the target, and
// says so; nothing is sent, so the caller may try again.
TEST(EnvClientTest, ACallSentOnceFailsFastWhenNoServerListens) {
  EnvClientOptions options;
  options.target = "127.0.0.1:1";  // nothing listens on port 1
  options.timeout = absl::Seconds(20);
  options.max_attempts = 4;  // so Create and unchecked steps go wait_for_ready
  auto client = *EnvClient::Create(options);
  const std::string kCannotConnect = "cannot connect to 127.0.0.1:1 (is a server running there?)";
  v1::CreateRequest create;
  create.set_env("counter");
  absl::Time start = absl::Now();
  auto created = client->Create(create);
  // Generous: the point is not waiting out the 20 s deadline.
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable) << created.status();
  EXPECT_THAT(created.status().message(), HasSubstr(kCannotConnect));

  // An unchecked step (the client knows no turn for this session).
  start = absl::Now();
  auto stepped = client->Step("s-unknown", "inc");
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(stepped.status().code(), absl::StatusCode::kUnavailable) << stepped.status();
  EXPECT_THAT(stepped.status().message(), HasSubstr(kCannotConnect));

  // The async path, which must not block a thread while it waits.
  std::promise<absl::StatusOr<v1::CreateResponse>> done;
  start = absl::Now();
  client->CreateAsync(create, [&](auto r) { done.set_value(std::move(r)); });
  EXPECT_LT(absl::Now() - start, absl::Seconds(1)) << "CreateAsync blocked";
  auto async_created = Await(done);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(async_created.status().code(), absl::StatusCode::kUnavailable)
      << async_created.status();
  EXPECT_THAT(async_created.status().message(), HasSubstr(kCannotConnect));
}

}  // namespace
}  // namespace agentgym::env
