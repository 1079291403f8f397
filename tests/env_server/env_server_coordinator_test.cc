// agentgym-env-server --coordinator against a real agentgym-coordinator
// process: it registers as an env server (address, envs, max_sessions),
// the coordinator hands out its tasks, SIGTERM deregisters it, and a server
// started before its coordinator serves at once and registers once the
// coordinator is up.

#include <csignal>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agentgym/coordinator/v1/coordinator.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "scheduler/coordinator_client.h"
#include "tests/common/test_process.h"
#include "tests/coordinator/coordinator_process.h"
#include "tests/env_server/env_test_util.h"
#include "gtest/gtest.h"

namespace agentgym::testing {
namespace {

namespace pb = ::agentgym::coordinator::v1;
constexpr absl::Duration kWait =
    absl::Seconds(30); // a failure bound, not a speed goal

std::string WriteConfig() {
  std::string path = testutil::TempPath("env_server_coordinator_test.yaml");
  std::ofstream out(path);
  out << "coordinator:\n"
         "  lease_ms: 2000\n"
         "  heartbeat_interval_ms: 100\n"
         "  reap_interval_ms: 100\n"
         "  state_file: \"\"\n"
         "envs:\n"
         "  - {name: maze, weight: 1}\n" // tasks listed by the env server
         "curriculum:\n"
         "  horizons: [6]\n";
  return path;
}

// Reads the coordinator's status until `ready` holds for it (true) or kWait
// passes (false), streaming WatchStatus so nothing sleeps.
bool WatchUntil(const std::string &coordinator,
                const std::function<bool(const pb::RunStatus &)> &ready) {
  auto stub = pb::Coordinator::NewStub(
      grpc::CreateChannel(coordinator, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  pb::WatchStatusRequest request;
  request.set_min_interval_ms(10);
  auto reader = stub->WatchStatus(&context, request);
  pb::RunStatus status;
  while (reader->Read(&status)) {
    if (ready(status)) {
      context.TryCancel();
      reader->Finish();
      return true;
    }
  }
  reader->Finish();
  return false;
}

pb::RunStatus GetStatus(const std::string &coordinator) {
  auto stub = pb::Coordinator::NewStub(
      grpc::CreateChannel(coordinator, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kWait));
  pb::RunStatus status;
  grpc::Status s = stub->GetStatus(&context, pb::GetStatusRequest(), &status);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return status;
}

const pb::ComponentStatus *EnvServerAt(const pb::RunStatus &status,
                                       const std::string &address) {
  for (const auto &c : status.components()) {
    if (c.role() == pb::ROLE_ENV_SERVER && c.address() == address)
      return &c;
  }
  return nullptr;
}

std::unique_ptr<ServerProcess>
StartEnvServer(const std::vector<std::string> &args) {
  auto server = ServerProcess::Start(AG_ENV_SERVER_BIN, args);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

TEST(EnvServerCoordinatorTest, RegistersServesTasksAndDeregistersOnSigterm) {
  testutil::CoordinatorProcess coordinator({"--config", WriteConfig(),
                                            "--listen", "127.0.0.1:0",
                                            "--log-level", "warn"});
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  auto server = StartEnvServer({"--envs", "maze", "--max-sessions", "123",
                                "--coordinator", coordinator.address()});
  ASSERT_NE(server, nullptr);
  const std::string address = server->target();

  pb::ComponentStatus seen;
  ASSERT_TRUE(WatchUntil(coordinator.address(), [&](const pb::RunStatus &s) {
    const pb::ComponentStatus *c = EnvServerAt(s, address);
    if (c == nullptr || c->health() != pb::HEALTH_UP)
      return false;
    seen = *c;
    return true;
  })) << server->Log();
  ASSERT_EQ(seen.capabilities().envs_size(), 1);
  EXPECT_EQ(seen.capabilities().envs(0), "maze");
  EXPECT_EQ(seen.capabilities().max_sessions(), 123);

  // The coordinator lists the server's maze tasks and hands them out.
  scheduler::CoordinatorClientOptions o;
  o.coordinator = coordinator.address();
  o.registration.set_role(pb::ROLE_ACTOR);
  auto actor = scheduler::CoordinatorClient::Connect(o);
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE(WatchUntil(coordinator.address(), [&](const pb::RunStatus &s) {
    for (const auto &e : s.envs()) {
      if (e.env() == "maze" && e.train_tasks() > 0)
        return true;
    }
    return false;
  })) << server->Log();
  auto tasks = (*actor)->GetTasks(1, 1, {"maze"});
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_GT(tasks->groups_size(), 0);
  ASSERT_GT(tasks->groups(0).tasks_size(), 0);
  EXPECT_EQ(tasks->groups(0).tasks(0).env(), "maze");
  (*actor)->Close();

  EXPECT_EQ(server->Stop(), 0) << server->Log();
  // Deregistered before it exited: gone from the registry at once.
  EXPECT_EQ(EnvServerAt(GetStatus(coordinator.address()), address), nullptr);
}

TEST(EnvServerCoordinatorTest,
     ServesWithoutACoordinatorAndRegistersOnceOneStarts) {
  // A port a coordinator had and gave up. (Not a testutil::ClosedPort: the
  // env server child would inherit its socket and keep the port bound.)
  std::string coordinator_address;
  {
    testutil::CoordinatorProcess first({"--config", WriteConfig(), "--listen",
                                        "127.0.0.1:0", "--log-level", "warn"});
    ASSERT_TRUE(first.ok()) << first.status();
    coordinator_address = first.address();
    ASSERT_EQ(first.Stop(), 0);
  }
  auto server =
      StartEnvServer({"--envs", "maze", "--coordinator", coordinator_address,
                      "--advertise", "127.0.0.1:7777"});
  ASSERT_NE(server, nullptr);
  // It serves while no coordinator answers.
  auto client = MakeClient(server->target());
  auto envs = client->ListEnvs();
  ASSERT_TRUE(envs.ok()) << envs.status();
  EXPECT_EQ(envs->envs(0).name(), "maze");

  const std::string port =
      coordinator_address.substr(coordinator_address.rfind(':') + 1);
  testutil::CoordinatorProcess coordinator({"--config", WriteConfig(),
                                            "--listen", "127.0.0.1:" + port,
                                            "--log-level", "warn"});
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  ASSERT_TRUE(WatchUntil(coordinator.address(), [&](const pb::RunStatus &s) {
    return EnvServerAt(s, "127.0.0.1:7777") != nullptr;
  })) << server->Log();
  EXPECT_EQ(server->Stop(), 0) << server->Log();
}

TEST(EnvServerCoordinatorTest, RefusesABadAdvertisedAddress) {
  auto r = RunCommand(AG_ENV_SERVER_BIN,
                      {"--listen", "127.0.0.1:0", "--coordinator",
                       "127.0.0.1:1", "--advertise", "nohost"},
                      RunOptions{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->output.find("--advertise"), std::string::npos) << r->output;
}

} // namespace
} // namespace agentgym::testing
