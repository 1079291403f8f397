// Faults under `agentgym train`: with two env servers, kill -9 one of them,
// then an actor, then the learner, then the coordinator, each mid-run. After
// each, training must go on (the learner's step keeps rising), the killed
// child is restarted by the launcher (the learner resumes from its last
// checkpoint, the coordinator comes back on its port and the others
// re-register), and the run still finishes with exit 0 and a consistent
// accounting identity. Waits are on the launcher's progress lines.
#include <signal.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <set>

#include <grpcpp/grpcpp.h>

#include "agentgym/coordinator/v1/coordinator.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/launcher_process.h"

namespace agentgym::testing {
namespace {

constexpr int64_t kSteps = 80;
namespace cpb = ::agentgym::coordinator::v1;

// The coordinator's status now, at the address the launcher logs
// ("coordinator on HOST:PORT"); nullopt if it cannot be had.
std::optional<cpb::RunStatus> CoordinatorStatus(const std::string& launcher_output) {
  const std::string key = "coordinator on ";
  const size_t at = launcher_output.find(key);
  if (at == std::string::npos) return std::nullopt;
  const size_t begin = at + key.size();
  const size_t end = launcher_output.find_first_of(" \r\n", begin);
  const std::string address = launcher_output.substr(begin, end - begin);
  auto stub = cpb::Coordinator::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  cpb::RunStatus status;
  if (!stub->GetStatus(&context, cpb::GetStatusRequest(), &status).ok()) return std::nullopt;
  return status;
}

// Env servers on which the live actors have run episodes.
std::set<std::string> EnvServersInUse(const cpb::RunStatus& status) {
  std::set<std::string> used;
  for (const cpb::ComponentStatus& c : status.components()) {
    if (c.role() != cpb::ROLE_ACTOR || c.health() != cpb::HEALTH_UP) continue;
    for (const cpb::EnvServerUsage& u : c.load().env_usage()) {
      if (u.episodes() > 0) used.insert(u.address());
    }
  }
  return used;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// kill -9 of the only child of `kind` (its launcher name `name`): the
// launcher reports the exit, restarts it, and training gains `steps` more.
void Kill9AndExpectProgress(LauncherProcess& p, const std::string& kind, const std::string& name,
                            int64_t steps, absl::Duration phase) {
  auto children = p.Children();
  ASSERT_EQ(children[kind].size(), 1u) << p.output();
  ASSERT_EQ(kill(children[kind][0], SIGKILL), 0);
  const std::string exited = name + " exited (killed by signal 9";
  ASSERT_TRUE(p.WaitForLine([&](const std::string& l) { return Contains(l, exited); }, phase))
      << p.output();
  const int64_t at = p.last_step();
  ASSERT_TRUE(p.WaitForStep(at + steps, phase)) << "no progress after the " << name
                                                << " restart\n" << p.output();
}

TEST(FaultsE2eTest, TrainingSurvivesKill9OfEachKindOfChild) {
  TempDir dir;
  auto started = LauncherProcess::Start(
      AG_AGENTGYM_BIN,
      {"train", "--run-root", dir.path(), "--set", absl::StrCat("run.total_steps=", kSteps),
       "--set", "run.env_servers=2", "--set", "run.progress_interval_s=1",
       "--set", "run.restart.initial_backoff_ms=200", "--set", "run.eval.enabled=false",
       "--set", "learner.groups_per_step=4", "--set", "learner.checkpoint_every=5",
       "--set", "actor.concurrent_episodes=32", "--set", "coordinator.lease_ms=3000",
       "--set", "coordinator.heartbeat_interval_ms=500"});
  ASSERT_TRUE(started.ok()) << started.status();
  LauncherProcess& p = **started;
  const absl::Duration kPhase = absl::Minutes(3);

  // 1. One of two env servers.
  ASSERT_TRUE(p.WaitForStep(8, kPhase)) << p.output();
  auto children = p.Children();
  ASSERT_EQ(children["env-server"].size(), 2u) << p.output();
  ASSERT_EQ(kill(children["env-server"][1], SIGKILL), 0);
  int64_t at = p.last_step();
  ASSERT_TRUE(p.WaitForStep(at + 8, kPhase)) << "training stopped after an env server died\n"
                                             << p.output();
  EXPECT_TRUE(Contains(p.output(), "exited (killed by signal 9")) << p.output();

  // 2. The actor: restarted, and rollouts go on.
  ASSERT_NO_FATAL_FAILURE(Kill9AndExpectProgress(p, "actor", "actor-0", 8, kPhase));
  // The env server killed first came back and is used again: the actor
  // restarted after it runs episodes on both servers.
  std::optional<cpb::RunStatus> live = CoordinatorStatus(p.output());
  ASSERT_TRUE(live.has_value()) << "no coordinator status\n" << p.output();
  EXPECT_EQ(EnvServersInUse(*live).size(), 2u) << live->DebugString();

  // 3. The learner: restarted with --resume from its last checkpoint.
  ASSERT_FALSE(Checkpoints(p.run_dir()).empty()) << "no checkpoint yet in " << p.run_dir();
  ASSERT_NO_FATAL_FAILURE(Kill9AndExpectProgress(p, "learner", "learner-0", 5, kPhase));

  // 4. The coordinator: back on its port; the others re-register.
  ASSERT_NO_FATAL_FAILURE(Kill9AndExpectProgress(p, "coordinator", "coordinator", 5, kPhase));

  // The run finishes on its own.
  const int code = p.Wait(absl::Minutes(5));
  EXPECT_EQ(code, 0) << p.output();
  const nlohmann::json a = ExpectAccountingHolds(ReadJson(p.run_dir() + "/final-status.json"));
  // A killed actor's half-sent trajectories never reach the learner as
  // partial or corrupt data: the learner rejected nothing.
  EXPECT_EQ(Count(a, "rejected"), 0) << a.dump();
  std::cout << "accounting after the faults: " << a.dump() << "\n";
}

}  // namespace
}  // namespace agentgym::testing
