// The Env service over real gRPC on loopback: discovery, sessions, batches,
// the error contract, health checking, and the client's async path.

#include <future>
#include <random>

#include "absl/synchronization/notification.h"
#include "env_server/client/env_client.h"
#include "env_server/env_server.h"
#include "env_server/testing/counter_env.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace agentgym::env {
namespace {

// Every service test runs on both gRPC APIs the server offers.
class EnvServiceTest : public ::testing::TestWithParam<EnvServerOptions::GrpcApi> {
 protected:
  void SetUp() override {
    EnvServerOptions options;
    options.grpc_api = GetParam();
    options.service.sessions.max_sessions = 64;
    options.service.max_action_bytes = 1024;
    options.service.max_batch_items = 100;
    options.service.metrics = &metrics_;
    std::map<std::string, std::unique_ptr<Environment>> envs;
    envs.emplace("counter", testing::MakeCounterEnv());
    auto server = EnvServer::StartWithEnvs(options, std::move(envs));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    EnvClientOptions client_options;
    client_options.target = server_->address();
    client_options.timeout = absl::Seconds(10);
    client_ = *EnvClient::Create(client_options);
  }

  v1::CreateResponse CreateCounter(int64_t index = 1) {
    v1::CreateRequest req;
    req.set_env("counter");
    req.set_task_id("count/train/" + std::to_string(index));
    auto resp = client_->Create(req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? *resp : v1::CreateResponse();
  }

  metrics::Registry metrics_;
  std::unique_ptr<EnvServer> server_;
  std::unique_ptr<EnvClient> client_;
};

TEST_P(EnvServiceTest, ListsEnvsWithTaskTypesAndLimits) {
  auto envs = client_->ListEnvs();
  ASSERT_TRUE(envs.ok()) << envs.status();
  ASSERT_EQ(envs->envs_size(), 1);
  EXPECT_EQ(envs->envs(0).name(), "counter");
  EXPECT_EQ(envs->envs(0).task_types(0).train_count(), 10);
  EXPECT_EQ(envs->max_action_bytes(), 1024);
  EXPECT_EQ(envs->max_sessions(), 64);
}

TEST_P(EnvServiceTest, ListsTasksInPages) {
  v1::ListTasksRequest req;
  req.set_env("counter");
  req.set_page_size(4);
  std::vector<std::string> ids;
  for (int page = 0; page < 10; ++page) {
    auto resp = client_->ListTasks(req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    EXPECT_EQ(resp->total(), 10);
    for (const auto& t : resp->tasks()) ids.push_back(t.task_id());
    if (resp->next_page_token().empty()) break;
    req.set_page_token(resp->next_page_token());
  }
  ASSERT_EQ(ids.size(), 10u);
  EXPECT_EQ(ids.front(), "count/train/0");
  EXPECT_EQ(ids.back(), "count/train/9");
  req.set_page_token("garbage");
  EXPECT_EQ(client_->ListTasks(req).status().code(), absl::StatusCode::kInvalidArgument);
}

// TaskRef.min_turns comes from Environment::MinTurns; 0 where the env does not know.
TEST_P(EnvServiceTest, ListTasksReportsTheFewestTurnsWhereTheEnvKnowsThem) {
  v1::ListTasksRequest req;
  req.set_env("counter");
  auto resp = client_->ListTasks(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  ASSERT_EQ(resp->tasks_size(), 10);
  EXPECT_EQ(resp->tasks(0).min_turns(), 1);
  EXPECT_EQ(resp->tasks(2).min_turns(), 3);
  EXPECT_EQ(resp->tasks(7).min_turns(), 4);
  EXPECT_EQ(resp->tasks(9).min_turns(), 0);
}

TEST_P(EnvServiceTest, PlaysAnEpisodeToSuccess) {
  v1::CreateResponse session = CreateCounter(/*index=*/2);  // target 3
  EXPECT_EQ(session.instruction(), "reach 3");
  EXPECT_EQ(session.task().task_id(), "count/train/2");
  EXPECT_EQ(session.recommended_max_turns(), 6);
  v1::StepResult last;
  for (int i = 0; i < 3; ++i) {
    auto r = client_->Step(session.session_id(), "inc");
    ASSERT_TRUE(r.ok()) << r.status();
    last = *r;
  }
  EXPECT_TRUE(last.done());
  EXPECT_TRUE(last.success());
  EXPECT_EQ(last.turn(), 3);
  EXPECT_EQ(last.info().fields().at("value").number_value(), 3);
  EXPECT_EQ(client_->Step(session.session_id(), "inc").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(client_->Close(session.session_id()).ok());
}

TEST_P(EnvServiceTest, InGameInvalidActionIsAnObservationNotAnError) {
  v1::CreateResponse session = CreateCounter();
  auto r = client_->Step(session.session_id(), "jump");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->action_valid());
  EXPECT_NE(r->observation().find("unknown action"), std::string::npos);
}

TEST_P(EnvServiceTest, BadRequestsGetClearErrorsAndTheServerKeepsServing) {
  v1::CreateRequest req;
  req.set_env("nope");
  auto unknown_env = client_->Create(req);
  EXPECT_EQ(unknown_env.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown_env.status().message().find("counter"), std::string::npos);

  req.set_env("counter");
  req.set_task_id("count/train/999");
  EXPECT_EQ(client_->Create(req).status().code(), absl::StatusCode::kNotFound);
  req.mutable_sample()->set_task_type("nope");
  EXPECT_EQ(client_->Create(req).status().code(), absl::StatusCode::kNotFound);
  req.mutable_sample()->set_task_type("");
  req.set_idle_ttl_ms(-5);
  EXPECT_EQ(client_->Create(req).status().code(), absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(client_->Step("s-bogus", "inc").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->Close("").code(), absl::StatusCode::kNotFound);

  v1::CreateResponse session = CreateCounter();
  auto big = client_->Step(session.session_id(), std::string(10 << 20, 'a'));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(big.status().message().find("limit"), std::string::npos);
  auto over_limit = client_->Step(session.session_id(), std::string(1025, 'a'));
  EXPECT_EQ(over_limit.status().code(), absl::StatusCode::kInvalidArgument);

  // The session is untouched by the rejected actions.
  auto ok = client_->Step(session.session_id(), "inc");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->turn(), 1);
}

TEST_P(EnvServiceTest, RandomByteActionsNeverBreakTheServer) {
  v1::CreateResponse session = CreateCounter();
  std::mt19937 rng(3);
  int rejected = 0;
  for (int i = 0; i < 200; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    auto r = client_->Step(session.session_id(), junk);
    if (!r.ok()) {
      ++rejected;
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
      EXPECT_NE(r.status().message().find("UTF-8"), std::string::npos) << r.status();
    } else if (r->done() || r->truncated()) {
      ASSERT_TRUE(client_->Reset([&] {
        v1::ResetRequest reset;
        reset.set_session_id(session.session_id());
        return reset;
      }()).ok());
    }
  }
  EXPECT_GT(rejected, 0) << "random bytes should include invalid UTF-8";
  EXPECT_TRUE(client_->ListEnvs().ok());
}

TEST_P(EnvServiceTest, TooManySessionsIsResourceExhausted) {
  int exhausted = 0;
  int created = 0;
  // 10k creates in batches of 100 against a cap of 64.
  for (int batch = 0; batch < 100; ++batch) {
    v1::BatchCreateRequest req;
    for (int i = 0; i < 100; ++i) {
      auto* item = req.add_items();
      item->set_env("counter");
      item->mutable_sample();
      item->set_seed(batch * 100 + i);
    }
    auto resp = client_->BatchCreate(req);
    ASSERT_TRUE(resp.ok()) << resp.status();
    for (const auto& item : resp->items()) {
      if (item.has_error() && item.error().code() != 0) {
        EXPECT_EQ(item.error().code(), static_cast<int>(absl::StatusCode::kResourceExhausted));
        ++exhausted;
      } else {
        ++created;
      }
    }
  }
  EXPECT_EQ(created, 64);
  EXPECT_EQ(exhausted, 10000 - 64);
  EXPECT_EQ(server_->service().sessions().size(), 64);
  EXPECT_TRUE(client_->ListEnvs().ok());
}

TEST_P(EnvServiceTest, BatchStepReportsPerItemErrors) {
  v1::CreateResponse a = CreateCounter(0);  // target 1
  v1::CreateResponse b = CreateCounter(1);
  v1::BatchStepRequest req;
  auto add = [&](const std::string& id, const std::string& action) {
    auto* item = req.add_items();
    item->set_session_id(id);
    item->set_action(action);
  };
  add(a.session_id(), "inc");
  add("s-missing", "inc");
  add(b.session_id(), "inc");
  auto resp = client_->BatchStep(req);
  ASSERT_TRUE(resp.ok()) << resp.status();
  ASSERT_EQ(resp->items_size(), 3);
  EXPECT_TRUE(resp->items(0).result().success());
  EXPECT_EQ(resp->items(1).error().code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(resp->items(2).result().observation(), "value 1");

  v1::BatchStepRequest too_big;
  for (int i = 0; i < 101; ++i) too_big.add_items()->set_session_id(a.session_id());
  EXPECT_EQ(client_->BatchStep(too_big).status().code(), absl::StatusCode::kInvalidArgument);

  v1::BatchCloseRequest close;
  close.add_session_ids(a.session_id());
  close.add_session_ids(a.session_id());
  auto closed = client_->BatchClose(close);
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->errors(0).code(), 0);
  EXPECT_EQ(closed->errors(1).code(), static_cast<int>(absl::StatusCode::kNotFound));
}

TEST_P(EnvServiceTest, AsyncStepsComplete) {
  v1::CreateResponse session = CreateCounter();
  std::promise<absl::StatusOr<v1::StepResult>> done;
  client_->StepAsync(session.session_id(), "inc",
                     [&](absl::StatusOr<v1::StepResult> r) { done.set_value(std::move(r)); });
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto r = future.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->turn(), 1);

  std::promise<absl::StatusOr<v1::BatchStepResponse>> batch_done;
  v1::BatchStepRequest req;
  req.add_items()->set_session_id("s-missing");
  client_->BatchStepAsync(req, [&](absl::StatusOr<v1::BatchStepResponse> r) {
    batch_done.set_value(std::move(r));
  });
  auto batch = batch_done.get_future().get();
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->items(0).error().code(), static_cast<int>(absl::StatusCode::kNotFound));
}

// Waits (bounded) for the value an async callback delivers.
template <typename T>
T Await(std::promise<T>& promise) {
  auto future = promise.get_future();
  EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  return future.get();
}

TEST_P(EnvServiceTest, AsyncSessionLifecycleCompletes) {
  v1::CreateRequest create;
  create.set_env("counter");
  create.set_task_id("count/train/2");
  std::promise<absl::StatusOr<v1::CreateResponse>> created;
  client_->CreateAsync(create, [&](auto r) { created.set_value(std::move(r)); });
  auto session = Await(created);
  ASSERT_TRUE(session.ok()) << session.status();

  ASSERT_TRUE(client_->Step(session->session_id(), "inc").ok());
  v1::ResetRequest reset;
  reset.set_session_id(session->session_id());
  std::promise<absl::StatusOr<v1::ResetResponse>> was_reset;
  client_->ResetAsync(reset, [&](auto r) { was_reset.set_value(std::move(r)); });
  ASSERT_TRUE(Await(was_reset).ok());
  auto after_reset = client_->Step(session->session_id(), "inc");
  ASSERT_TRUE(after_reset.ok());
  EXPECT_EQ(after_reset->turn(), 1) << "Reset starts the turn count again";

  std::promise<absl::Status> closed;
  client_->CloseAsync(session->session_id(), [&](absl::Status s) { closed.set_value(s); });
  EXPECT_TRUE(Await(closed).ok());
  std::promise<absl::Status> closed_again;
  client_->CloseAsync(session->session_id(), [&](absl::Status s) { closed_again.set_value(s); });
  EXPECT_EQ(Await(closed_again).code(), absl::StatusCode::kNotFound);

  v1::BatchCreateRequest batch;
  *batch.add_items() = create;
  batch.add_items()->set_env("nope");
  std::promise<absl::StatusOr<v1::BatchCreateResponse>> batch_created;
  client_->BatchCreateAsync(batch, [&](auto r) { batch_created.set_value(std::move(r)); });
  auto items = Await(batch_created);
  ASSERT_TRUE(items.ok()) << items.status();
  ASSERT_EQ(items->items_size(), 2);
  EXPECT_EQ(items->items(0).error().code(), 0);
  EXPECT_EQ(items->items(1).error().code(), static_cast<int>(absl::StatusCode::kNotFound));

  v1::BatchCloseRequest close;
  close.add_session_ids(items->items(0).created().session_id());
  close.add_session_ids("s-missing");
  std::promise<absl::StatusOr<v1::BatchCloseResponse>> batch_closed;
  client_->BatchCloseAsync(close, [&](auto r) { batch_closed.set_value(std::move(r)); });
  auto errors = Await(batch_closed);
  ASSERT_TRUE(errors.ok()) << errors.status();
  EXPECT_EQ(errors->errors(0).code(), 0);
  EXPECT_EQ(errors->errors(1).code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(server_->service().sessions().size(), 0);
}

// StepRequest.expected_turn on both gRPC APIs, unary and batched, sent by a
// raw stub (the client fills it in by itself).
TEST_P(EnvServiceTest, ExpectedTurnMakesRepeatedStepsApplyOnce) {
  auto stub = v1::Env::NewStub(
      grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  auto step = [&](const std::string& id, int32_t expected_turn, v1::StepResponse* resp) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::StepRequest req;
    req.set_session_id(id);
    req.set_action("inc");
    req.set_expected_turn(expected_turn);
    return stub->Step(&context, req, resp);
  };
  const std::string id = CreateCounter(3).session_id();  // target 4
  v1::StepResponse first, repeat, skipped, negative;
  ASSERT_TRUE(step(id, 1, &first).ok());
  EXPECT_FALSE(first.result().replayed());
  ASSERT_TRUE(step(id, 1, &repeat).ok());
  EXPECT_TRUE(repeat.result().replayed());
  EXPECT_EQ(repeat.result().observation(), "value 1");
  grpc::Status out_of_order = step(id, 3, &skipped);
  EXPECT_EQ(out_of_order.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(out_of_order.error_message().find("is at turn 1"), std::string::npos)
      << out_of_order.error_message();
  EXPECT_EQ(step(id, -1, &negative).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // BatchStep: a repeated item is replayed, a fitting one applied, a stale
  // one refused; each on its own.
  const std::string other = CreateCounter(3).session_id();
  v1::BatchStepRequest batch;
  auto add = [&](const std::string& s, int32_t expected_turn) {
    auto* item = batch.add_items();
    item->set_session_id(s);
    item->set_action("inc");
    item->set_expected_turn(expected_turn);
  };
  add(id, 1);     // repeat of the step above
  add(other, 1);  // new
  add(other, 1);  // repeat of the item before
  add(other, 5);  // out of order
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::BatchStepResponse resp;
  ASSERT_TRUE(stub->BatchStep(&context, batch, &resp).ok());
  ASSERT_EQ(resp.items_size(), 4);
  EXPECT_TRUE(resp.items(0).result().replayed());
  EXPECT_EQ(resp.items(0).result().observation(), "value 1");
  EXPECT_FALSE(resp.items(1).result().replayed());
  EXPECT_TRUE(resp.items(2).result().replayed());
  EXPECT_EQ(resp.items(2).result().observation(), "value 1");
  EXPECT_EQ(resp.items(3).error().code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  // Nothing was applied twice.
  v1::StepResponse next;
  ASSERT_TRUE(step(id, 2, &next).ok());
  EXPECT_FALSE(next.result().replayed());
  EXPECT_EQ(next.result().observation(), "value 2");
}

TEST_P(EnvServiceTest, ServesStandardHealthChecks) {
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(stub->Check(&context, req, &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

INSTANTIATE_TEST_SUITE_P(
    GrpcApis, EnvServiceTest,
    ::testing::Values(EnvServerOptions::GrpcApi::kSync, EnvServerOptions::GrpcApi::kCallback),
    [](const ::testing::TestParamInfo<EnvServerOptions::GrpcApi>& info) {
      return info.param == EnvServerOptions::GrpcApi::kSync ? std::string("Sync")
                                                            : std::string("Callback");
    });

}  // namespace
}  // namespace agentgym::env

namespace agentgym::env {
namespace {

// The counter env, claiming its steps may block (as a remote-backed env does).
class BlockingCounterEnv : public Environment {
 public:
  BlockingCounterEnv() : inner_(testing::MakeCounterEnv()) {}
  const EnvDescription& Describe() const override { return inner_->Describe(); }
  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey& key, uint64_t seed,
                                                      EpisodeStart* start) const override {
    return inner_->NewEpisode(key, seed, start);
  }
  bool StepsMayBlock() const override { return true; }

 private:
  std::unique_ptr<Environment> inner_;
};

TEST(EnvServerTest, AutoApiIsCallbackUnlessAnEnvMayBlock) {
  using Api = EnvServerOptions::GrpcApi;
  EnvServerOptions options;
  options.grpc_api = Api::kAuto;
  std::map<std::string, std::unique_ptr<Environment>> fast;
  fast.emplace("counter", testing::MakeCounterEnv());
  auto fast_server = EnvServer::StartWithEnvs(options, std::move(fast));
  ASSERT_TRUE(fast_server.ok()) << fast_server.status();
  EXPECT_EQ((*fast_server)->grpc_api(), Api::kCallback);

  std::map<std::string, std::unique_ptr<Environment>> mixed;
  mixed.emplace("counter", std::make_unique<BlockingCounterEnv>());
  auto mixed_server = EnvServer::StartWithEnvs(options, std::move(mixed));
  ASSERT_TRUE(mixed_server.ok()) << mixed_server.status();
  EXPECT_EQ((*mixed_server)->grpc_api(), Api::kSync);

  // Either way the contract is served.
  auto client = *EnvClient::Create(EnvClientOptions{(*mixed_server)->address()});
  v1::CreateRequest create;
  create.set_env("counter");
  create.mutable_sample();
  auto session = client->Create(create);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE(client->Step(session->session_id(), "inc").ok());
}

// An action above the message limit is refused by gRPC itself with
// RESOURCE_EXHAUSTED (which the contract documents next to the session cap);
// one under it but over max_action_bytes is the service's INVALID_ARGUMENT;
// a max_action_bytes that cannot fit in a message is refused at start-up.
TEST(EnvServerTest, MessageLimitIsReportedAndMustHoldTheLargestAction) {
  for (auto api : {EnvServerOptions::GrpcApi::kSync, EnvServerOptions::GrpcApi::kCallback}) {
    EnvServerOptions options;
    options.grpc_api = api;
    options.max_message_bytes = 64 << 10;
    options.service.max_action_bytes = (64 << 10) - 1000;
    std::map<std::string, std::unique_ptr<Environment>> envs;
    envs.emplace("counter", testing::MakeCounterEnv());
    auto refused = EnvServer::StartWithEnvs(options, std::move(envs));
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("max_action_bytes is 64536"), std::string::npos)
        << refused.status();

    options.service.max_action_bytes = 1024;
    envs.clear();
    envs.emplace("counter", testing::MakeCounterEnv());
    auto server = EnvServer::StartWithEnvs(options, std::move(envs));
    ASSERT_TRUE(server.ok()) << server.status();
    auto client = *EnvClient::Create(EnvClientOptions{(*server)->address()});
    auto listed = client->ListEnvs();
    ASSERT_TRUE(listed.ok()) << listed.status();
    EXPECT_EQ(listed->max_message_bytes(), 64 << 10);
    v1::CreateRequest create;
    create.set_env("counter");
    create.mutable_sample();
    auto session = client->Create(create);
    ASSERT_TRUE(session.ok()) << session.status();
    auto over_action = client->Step(session->session_id(), std::string(2000, 'a'));
    EXPECT_EQ(over_action.status().code(), absl::StatusCode::kInvalidArgument);
    auto over_message = client->Step(session->session_id(), std::string(100 << 10, 'a'));
    EXPECT_EQ(over_message.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_NE(over_message.status().message().find("larger than max"), std::string::npos)
        << over_message.status();
    EXPECT_TRUE(client->Step(session->session_id(), "inc").ok());
  }
}

TEST(EnvServerTest, ABadOrTakenAddressIsAClearErrorNotACrash) {
  auto start = [](const std::string& listen) {
    EnvServerOptions options;
    options.listen = listen;
    std::map<std::string, std::unique_ptr<Environment>> envs;
    envs.emplace("counter", testing::MakeCounterEnv());
    return EnvServer::StartWithEnvs(options, std::move(envs));
  };
  // Malformed, or a port gRPC would silently wrap (99999 -> 34463).
  for (const char* listen : {"256.1.1.1:99999", "127.0.0.1:99999", "not an address", "127.0.0.1:-1"}) {
    auto server = start(listen);
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_NE(server.status().message().find(listen), std::string::npos);
  }
  // Well formed but taken by another server (gRPC would share the port
  // through SO_REUSEPORT unless told not to).
  auto first = start("127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = start((*first)->address());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find((*first)->address()), std::string::npos);
}

}  // namespace
}  // namespace agentgym::env
