// The C++ client drives the Python SDK's example env (a separate python3
// process) through full episodes: single and batched steps, success, the
// env's turn limit, the error model and gRPC health.

#include <algorithm>
#include <memory>

#include "env_server/client/env_client.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/common/test_process.h"

namespace agentgym::env {
namespace {

class PythonEpisodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    agentgym::testing::ServerOptions server;
    server.listen_with_port_file = false;
    server.env = {{"PYTHONPATH", AG_PYTHONPATH}, {"PYTHONDONTWRITEBYTECODE", "1"}};
    auto child = agentgym::testing::ServerProcess::Start(
        AG_PYTHON3, {AG_PYTHON_EXAMPLE, "--listen", "127.0.0.1:0", "--log-level", "warning"},
        server);
    ASSERT_TRUE(child.ok()) << child.status();
    server_ = *std::move(child);
    EnvClientOptions options;
    options.target = server_->address();
    auto client = EnvClient::Create(options);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }
  void TearDown() override {
    client_.reset();  // an open channel would hold the server's graceful stop
    if (server_) {
      EXPECT_EQ(server_->Stop(absl::Seconds(15)), 0)
          << "the Python server did not exit cleanly:\n" << server_->Log();
    }
  }

  // Plays one episode by bisection on the "go higher/lower" hints.
  v1::StepResult Solve(const std::string& session, int hi, int* turns) {
    int lo = 1;
    v1::StepResult last;
    for (*turns = 0; *turns < 20; ++*turns) {
      int guess = (lo + hi) / 2;
      auto r = client_->Step(session, "Thought: bisect.\nAction: guess " + std::to_string(guess));
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      last = *r;
      if (r->done() || r->truncated()) {
        ++*turns;
        break;
      }
      if (r->observation().find("higher") != std::string::npos) lo = guess + 1;
      else hi = guess - 1;
    }
    return last;
  }

  std::unique_ptr<agentgym::testing::ServerProcess> server_;
  std::unique_ptr<EnvClient> client_;
};

TEST_F(PythonEpisodeTest, SolvesFullEpisodesOfEveryTaskType) {
  auto envs = client_->ListEnvs();
  ASSERT_TRUE(envs.ok()) << envs.status();
  ASSERT_EQ(envs->envs_size(), 1);
  EXPECT_EQ(envs->envs(0).name(), "number_guess");
  for (const char* task : {"range10/train/0", "range10/test/3", "range100/train/7"}) {
    v1::CreateRequest req;
    req.set_env("number_guess");
    req.set_task_id(task);
    req.set_seed(11);
    auto created = client_->Create(req);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(created->task().task_id(), task);
    int hi = std::string(task).rfind("range100", 0) == 0 ? 100 : 10;
    EXPECT_NE(created->instruction().find(std::to_string(hi)), std::string::npos);
    int turns = 0;
    v1::StepResult last = Solve(created->session_id(), hi, &turns);
    EXPECT_TRUE(last.done()) << task;
    EXPECT_TRUE(last.success()) << task;
    EXPECT_DOUBLE_EQ(last.reward(), 1.0);
    EXPECT_DOUBLE_EQ(last.score(), 1.0);
    EXPECT_EQ(last.turn(), turns);
    auto after = client_->Step(created->session_id(), "guess 1");
    EXPECT_EQ(after.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(client_->Close(created->session_id()).ok());
    EXPECT_EQ(client_->Close(created->session_id()).code(), absl::StatusCode::kNotFound);
  }
}

TEST_F(PythonEpisodeTest, WrongGuessesEndTruncatedAtTheTurnLimit) {
  v1::CreateRequest req;
  req.set_env("number_guess");
  req.set_task_id("range10/train/1");
  auto created = client_->Create(req);
  ASSERT_TRUE(created.ok()) << created.status();
  v1::StepResult last;
  for (int t = 1; t <= 5; ++t) {
    auto r = client_->Step(created->session_id(), "dance");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->action_valid());
    EXPECT_EQ(r->turn(), t);
    last = *r;
  }
  EXPECT_TRUE(last.truncated());
  EXPECT_FALSE(last.success());
  EXPECT_EQ(client_->Step(created->session_id(), "guess 1").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(client_->Step(created->session_id() + "x", "guess 1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->Step(created->session_id(), "guess \xff").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PythonEpisodeTest, BatchedStepsPlayManySessionsAtOnce) {
  v1::BatchCreateRequest create;
  for (int i = 0; i < 6; ++i) {
    auto* item = create.add_items();
    item->set_env("number_guess");
    item->mutable_sample()->set_task_type("range10");
    item->set_seed(100 + i);
  }
  auto created = client_->BatchCreate(create);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->items_size(), 6);
  // Every session guesses 1..10 in turn until its episode ends.
  std::vector<bool> ended(6, false);
  int successes = 0;
  for (int guess = 1; guess <= 10; ++guess) {
    v1::BatchStepRequest step;
    std::vector<int> which;
    for (int i = 0; i < 6; ++i) {
      if (ended[i]) continue;
      auto* item = step.add_items();
      item->set_session_id(created->items(i).created().session_id());
      item->set_action("guess " + std::to_string(guess));
      which.push_back(i);
    }
    if (which.empty()) break;
    auto stepped = client_->BatchStep(step);
    ASSERT_TRUE(stepped.ok()) << stepped.status();
    ASSERT_EQ(stepped->items_size(), static_cast<int>(which.size()));
    for (size_t k = 0; k < which.size(); ++k) {
      const auto& item = stepped->items(k);
      ASSERT_EQ(item.error().code(), 0) << item.error().message();
      EXPECT_EQ(item.result().turn(), guess);
      if (item.result().done() || item.result().truncated()) ended[which[k]] = true;
      if (item.result().success()) ++successes;
    }
  }
  EXPECT_EQ(std::count(ended.begin(), ended.end(), true), 6);
  EXPECT_GT(successes, 0);  // secrets <= 5 are found within the 5 turns
  v1::BatchCloseRequest close;
  for (const auto& item : created->items()) close.add_session_ids(item.created().session_id());
  auto closed = client_->BatchClose(close);
  ASSERT_TRUE(closed.ok());
  for (const auto& e : closed->errors()) EXPECT_EQ(e.code(), 0);
}

TEST_F(PythonEpisodeTest, AnswersTheStandardHealthCheck) {
  auto channel = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  for (const char* service : {"", "agentgym.env.v1.Env"}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckRequest req;
    req.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    ASSERT_TRUE(stub->Check(&context, req, &resp).ok()) << service;
    EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service("no.such.Service");
  grpc::health::v1::HealthCheckResponse resp;
  EXPECT_EQ(stub->Check(&context, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace agentgym::env
