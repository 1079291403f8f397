#ifndef AGENTGYM_TESTS_PLUGIN_BRIDGE_FIXTURE_H_
#define AGENTGYM_TESTS_PLUGIN_BRIDGE_FIXTURE_H_

// The bridge's test fixture: an in-process AgentGym-compatible fake, bridge
// envs served through the real EnvServer machinery, and a client of them.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "env_server/bridge/bridge_env.h"
#include "env_server/client/env_client.h"
#include "env_server/env_server.h"
#include "gtest/gtest.h"
#include "tests/plugin/fake_agentgym_server.h"

namespace agentgym::env::bridge {
namespace testing_fixture {

using json = nlohmann::json;
using agentgym::testing::FakeAgentGymServer;

inline const char* const kFlavors[] = {"textcraft", "babyai", "sciworld", "webarena", "searchqa", "webshop"};

inline UpstreamConfig MustResolve(const std::string& name, json overrides) {
  auto c = ResolveUpstream(name, overrides);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : UpstreamConfig{};
}

class BridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fake = FakeAgentGymServer::Start(/*max_envs=*/100);
    ASSERT_TRUE(fake.ok()) << fake.status();
    fake_ = *std::move(fake);
  }
  void TearDown() override {
    client_.reset();
    if (fake_) fake_->ReleaseSlow();  // a failed test may leave steps hanging upstream
    server_.reset();  // destroys the envs, which send their pending closes
    if (fake_) fake_->Stop();
  }

  // Serves `configs` through the real EnvServer machinery.
  void Serve(std::vector<UpstreamConfig> configs) {
    std::map<std::string, std::unique_ptr<Environment>> envs;
    for (auto& c : configs) {
      std::string name = c.name;
      auto env = BridgeEnvironment::Create(std::move(c));
      ASSERT_TRUE(env.ok()) << env.status();
      bridges_[name] = env->get();
      envs.emplace(name, *std::move(env));
    }
    EnvServerOptions options;
    auto server = EnvServer::StartWithEnvs(options, std::move(envs));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    EnvClientOptions client_options;
    client_options.target = server_->address();
    client_options.max_attempts = 1;
    auto client = EnvClient::Create(client_options);
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }

  void ServeAllFlavors() {
    std::vector<UpstreamConfig> configs;
    for (const char* f : kFlavors) configs.push_back(MustResolve(f, {{"base_url", fake_->BaseUrl(f)}}));
    Serve(std::move(configs));
  }

  absl::StatusOr<v1::CreateResponse> Create(const std::string& env, int index = 2) {
    v1::CreateRequest req;
    req.set_env(env);
    req.set_task_id("default/train/" + std::to_string(index));
    return client_->Create(req);
  }

  // Blocks (bounded) until `n` "slow" steps hang in the fake.
  void AwaitSlowSteps(int n) {
    absl::Notification never;
    for (int i = 0; i < 3000 && fake_->slow_waiting() < n; ++i) {
      never.WaitForNotificationWithTimeout(absl::Milliseconds(10));  // bounded wait for the fake
    }
    ASSERT_EQ(fake_->slow_waiting(), n);
  }

  std::unique_ptr<FakeAgentGymServer> fake_;
  std::map<std::string, BridgeEnvironment*> bridges_;  // owned by server_
  std::unique_ptr<EnvServer> server_;
  std::unique_ptr<EnvClient> client_;
};

}  // namespace testing_fixture
}  // namespace agentgym::env::bridge

#endif  // AGENTGYM_TESTS_PLUGIN_BRIDGE_FIXTURE_H_
