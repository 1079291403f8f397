// `agentgym eval --endpoint`: an OpenAI-compatible chat server as the agent.
// A fake server in this process answers with a scripted action and records
// what it was sent, against the counter env (reach the target with "inc").

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "actor/chat_endpoint_client.h"
#include "actor/eval.h"
#include "actor/testing/test_support.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace agentgym::actor {
namespace {

// A chat-completions server on 127.0.0.1: answers `action` (after failing
// the first `fail_first` requests with `fail_status`) and keeps every request
// body and Authorization header.
class FakeChatServer {
 public:
  explicit FakeChatServer(std::string action, int fail_first = 0, int fail_status = 503)
      : action_(std::move(action)), fail_first_(fail_first), fail_status_(fail_status) {
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      int n;
      {
        absl::MutexLock lock(&mu_);
        n = static_cast<int>(requests_.size());
        requests_.push_back(nlohmann::json::parse(req.body, nullptr, false));
        auth_.push_back(req.get_header_value("Authorization"));
      }
      if (n < fail_first_) {
        res.status = fail_status_;
        res.set_content(R"({"error":{"message":"try again"}})", "application/json");
        return;
      }
      nlohmann::json reply = {
          {"id", "chatcmpl-1"},
          {"object", "chat.completion"},
          {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", action_}}},
                        {"finish_reason", "stop"}}}},
          {"usage", {{"completion_tokens", 1}}}};
      res.set_content(reply.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the loop runs (httplib 0.11 has no
    // wait_until_ready): without this wait a quick destructor hangs in join.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeChatServer() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return absl::StrCat("http://127.0.0.1:", port_, "/v1"); }
  std::vector<nlohmann::json> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<std::string> auth() const {
    absl::MutexLock lock(&mu_);
    return auth_;
  }

 private:
  const std::string action_;
  const int fail_first_;
  const int fail_status_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<nlohmann::json> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> auth_ ABSL_GUARDED_BY(mu_);
};

class EndpointEvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = testing::StartCounterServer();
    ASSERT_TRUE(server.ok()) << server.status();
    env_server_ = std::move(*server);
  }
  EvalOptions Options(const std::string& endpoint) const {
    EvalOptions o;
    o.endpoint = endpoint;
    o.model_name = "fake-model";
    o.envs = {"counter"};
    o.env_server = env_server_->address();
    o.concurrent_episodes = 3;
    o.max_new_tokens = 16;
    return o;
  }
  std::unique_ptr<env::EnvServer> env_server_;
};

// The counter env's 5 test tasks have targets 5, 6, 7, 8, 5 (5 + index % 4):
// always answering "inc" succeeds in exactly that many turns (the horizon is
// raised to 8 from the env's recommended 6).
TEST_F(EndpointEvalTest, ScoresTheEndpointOnTheSplitWithOurPrompts) {
  FakeChatServer fake("inc");
  EvalOptions o = Options(fake.endpoint());
  o.api_key = "sk-test";
  o.max_turns = 8;
  o.trajectory_out = ::testing::TempDir() + "/endpoint_transcripts.jsonl";
  auto report = RunEval(o);
  ASSERT_TRUE(report.ok()) << report.status();
  const EvalRow& all = report->rows.back();
  EXPECT_EQ(all.env, "counter");
  EXPECT_EQ(all.task_type, "all");
  EXPECT_EQ(all.episodes, 5);
  EXPECT_EQ(all.successes, 5);
  EXPECT_DOUBLE_EQ(all.success_rate, 1.0);
  EXPECT_DOUBLE_EQ(all.mean_turns, (5 + 6 + 7 + 8 + 5) / 5.0);
  EXPECT_EQ(report->env_errors, 0);

  const std::vector<nlohmann::json> requests = fake.requests();
  ASSERT_EQ(requests.size(), 31u);  // one per turn
  for (const std::string& a : fake.auth()) EXPECT_EQ(a, "Bearer sk-test");
  int longest = 0;
  for (const nlohmann::json& r : requests) {
    ASSERT_TRUE(r.is_object());
    EXPECT_EQ(r["model"], "fake-model");
    EXPECT_EQ(r["max_tokens"], 16);
    EXPECT_EQ(r["temperature"], 0.0);  // greedy by default
    const nlohmann::json& m = r["messages"];
    // system (the env's action format), the instruction and first
    // observation, then (assistant, observation) per earlier turn.
    ASSERT_GE(m.size(), 2u);
    EXPECT_EQ(m[0]["role"], "system");
    EXPECT_TRUE(absl::StrContains(m[0]["content"].get<std::string>(), "Action format:")) << m[0];
    EXPECT_EQ(m[1]["role"], "user");
    EXPECT_TRUE(absl::StartsWith(m[1]["content"].get<std::string>(), "reach ")) << m[1];
    EXPECT_TRUE(absl::EndsWith(m[1]["content"].get<std::string>(), "\n\nvalue 0")) << m[1];
    ASSERT_EQ(m.size() % 2, 0u);
    for (size_t i = 2; i < m.size(); i += 2) {
      EXPECT_EQ(m[i]["role"], "assistant");
      EXPECT_EQ(m[i]["content"], "inc");
      EXPECT_EQ(m[i + 1]["role"], "user");
      EXPECT_EQ(m[i + 1]["content"], absl::StrCat("value ", i / 2));
    }
    longest = std::max(longest, static_cast<int>(m.size()));
  }
  EXPECT_EQ(longest, 2 + 2 * 7);  // the target-8 task's last request

  std::ifstream in(o.trajectory_out);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["success"], true);
    EXPECT_EQ(j["end_reason"], "END_REASON_DONE");
    EXPECT_EQ(j["messages"].size(), 2u + 2u * j["turns"].get<size_t>() - 1u);
    ++lines;
  }
  EXPECT_EQ(lines, 5);
}

TEST_F(EndpointEvalTest, WrongActionsFailAndSamplesUseTemperatureAndSeeds) {
  FakeChatServer fake("dec");
  EvalOptions o = Options(fake.endpoint());
  o.limit = 2;
  o.max_turns = 3;
  o.greedy = false;
  o.samples = 2;
  o.temperature = 0.7f;
  auto report = RunEval(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rows.back().episodes, 4);
  EXPECT_EQ(report->rows.back().successes, 0);
  EXPECT_DOUBLE_EQ(report->rows.back().mean_turns, 3.0);  // every episode ran to the horizon
  std::set<uint64_t> seeds;
  for (const nlohmann::json& r : fake.requests()) {
    EXPECT_FLOAT_EQ(r["temperature"].get<float>(), 0.7f);
    seeds.insert(r["seed"].get<uint64_t>());
  }
  EXPECT_EQ(seeds.size(), 12u);  // every member and turn samples with its own seed
}

TEST_F(EndpointEvalTest, RetriesOverloadedServers) {
  FakeChatServer fake("inc", /*fail_first=*/2, /*fail_status=*/503);
  EvalOptions o = Options(fake.endpoint());
  o.limit = 1;
  o.concurrent_episodes = 1;
  auto report = RunEval(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->rows.back().successes, 1);
  EXPECT_EQ(fake.requests().size(), 2u + 5u);  // two refused, then the 5 turns to target 5
}

TEST_F(EndpointEvalTest, ClearErrors) {
  {
    FakeChatServer fake("inc", /*fail_first=*/1000, /*fail_status=*/401);
    auto report = RunEval(Options(fake.endpoint()));
    EXPECT_EQ(report.status().code(), absl::StatusCode::kUnauthenticated) << report.status();
    EXPECT_TRUE(absl::StrContains(report.status().message(), "HTTP 401")) << report.status();
  }
  {
    FakeChatServer fake("inc", /*fail_first=*/1000, /*fail_status=*/500);
    auto report = RunEval(Options(fake.endpoint()));
    EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable) << report.status();
  }
  // Nothing listens on a port we just had and closed.
  std::string dead;
  {
    FakeChatServer fake("inc");
    dead = fake.endpoint();
  }
  auto report = RunEval(Options(dead));
  EXPECT_EQ(report.status().code(), absl::StatusCode::kUnavailable) << report.status();
  EXPECT_TRUE(absl::StrContains(report.status().message(), dead)) << report.status();

  EvalOptions o = Options("https://api.example.com/v1");
  EXPECT_EQ(RunEval(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options("ftp://host/v1");
  EXPECT_EQ(RunEval(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options("http://127.0.0.1:99999/v1");
  EXPECT_EQ(RunEval(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options("http://127.0.0.1:1/v1");
  o.model_name.clear();
  EXPECT_EQ(RunEval(o).status().code(), absl::StatusCode::kInvalidArgument);
  o = Options("http://127.0.0.1:1/v1");
  o.model_dir = "/some/model";
  EXPECT_EQ(RunEval(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChatEndpointClientTest, ContextOverflowIsOutOfRange) {
  httplib::Server server;
  server.Post("/v1/chat/completions", [](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(R"({"error":{"message":"This model's maximum context length is 4096 tokens."}})",
                    "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ChatEndpointOptions co;
  co.endpoint = absl::StrCat("http://127.0.0.1:", port, "/v1/");
  co.model_name = "m";
  auto client = ChatEndpointClient::Create(co);
  ASSERT_TRUE(client.ok()) << client.status();
  auto reply = (*client)->Complete({{"user", "hi"}}, ChatRequestParams{});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kOutOfRange) << reply.status();
  server.stop();
  t.join();
}

}  // namespace
}  // namespace agentgym::actor
