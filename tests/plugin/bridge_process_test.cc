// The agentgym-env-bridge binary as a process, against an in-process
// AgentGym-compatible fake: SIGTERM while a step hangs upstream. The calls in
// flight get the 5 s grace period; one still stuck in its upstream call is
// then aborted, so the process exits 0 instead of waiting out the upstream
// timeout (10 minutes here, so a bridge that waits is killed by Stop()).

#include <memory>

#include "absl/synchronization/notification.h"
#include "env_server/client/env_client.h"
#include "gtest/gtest.h"
#include "tests/common/test_process.h"
#include "tests/plugin/fake_agentgym_server.h"

namespace agentgym::env {
namespace {

using agentgym::testing::RunCommand;
using agentgym::testing::RunOptions;
using agentgym::testing::ServerProcess;
using agentgym::testing::FakeAgentGymServer;

TEST(BridgeProcessTest, SigtermWhileAStepHangsUpstreamExitsAfterTheGracePeriod) {
  auto fake = FakeAgentGymServer::Start();
  ASSERT_TRUE(fake.ok()) << fake.status();
  // Start() adds --listen and --port-file and checks that the file (written
  // before the "listening on" line) names the printed port.
  auto bridge = ServerProcess::Start(
      AG_BRIDGE_BINARY,
      {"--log-level", "warn", "--upstream", "textcraft=" + (*fake)->BaseUrl("textcraft"),
       "--set", "envs.textcraft.timeouts_ms.request=600000"});
  ASSERT_TRUE(bridge.ok()) << bridge.status();
  EnvClientOptions options;
  options.target = (*bridge)->address();
  options.timeout = absl::Seconds(120);
  options.max_attempts = 1;
  auto client = EnvClient::Create(options);
  ASSERT_TRUE(client.ok());
  v1::CreateRequest create;
  create.set_env("textcraft");
  create.set_task_id("default/train/1");
  auto session = (*client)->Create(create);
  ASSERT_TRUE(session.ok()) << session.status();

  absl::Notification step_done;
  absl::StatusOr<v1::StepResult> step;
  (*client)->StepAsync(session->session_id(), "Action: slow",
                       [&](absl::StatusOr<v1::StepResult> r) {
                         step = std::move(r);
                         step_done.Notify();
                       });
  absl::Notification never;
  for (int i = 0; i < 3000 && (*fake)->slow_waiting() == 0; ++i) {
    never.WaitForNotificationWithTimeout(absl::Milliseconds(10));  // bounded wait for the fake
  }
  ASSERT_EQ((*fake)->slow_waiting(), 1);

  // Stop() sends SIGTERM and kills the process (returning -1) if it has not
  // exited within a minute; the upstream call would hold it for ten.
  EXPECT_EQ((*bridge)->Stop(absl::Seconds(60)), 0)
      << "the bridge did not exit on SIGTERM while a step hung upstream:\n" << (*bridge)->Log();
  ASSERT_TRUE(step_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_FALSE(step.ok());  // the client saw the server go away, not a result
  EXPECT_EQ((*fake)->slow_waiting(), 1) << "the fake was released before the bridge exited";
  client->reset();
  (*fake)->Stop();
}

// agentgym-env-play --scripted against a bridged env of a built-in env's
// name: there is no oracle for the upstream's tasks. It says so, and the
// session it opened is closed (so is the upstream env behind it).
TEST(BridgeProcessTest, EnvPlayScriptedSaysThereIsNoOracleAndClosesItsSession) {
  auto fake = FakeAgentGymServer::Start();
  ASSERT_TRUE(fake.ok()) << fake.status();
  auto bridge = ServerProcess::Start(
      AG_BRIDGE_BINARY,
      {"--log-level", "warn", "--upstream", "textcraft=" + (*fake)->BaseUrl("textcraft")});
  ASSERT_TRUE(bridge.ok()) << bridge.status();
  auto run = RunCommand(AG_ENV_PLAY_BINARY,
                        {"--target", (*bridge)->address(), "--env", "textcraft", "--scripted"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 1) << run->output;
  EXPECT_NE(run->output.find("no scripted oracle"), std::string::npos) << run->output;
  absl::Notification never;
  for (int i = 0; i < 3000 && (*fake)->open_envs() > 0; ++i) {
    never.WaitForNotificationWithTimeout(absl::Milliseconds(10));  // the close is sent async
  }
  EXPECT_EQ((*fake)->open_envs(), 0) << "env-play left its session open";
  // A task id it can tell is not the built-in's is refused before opening one.
  const int closed = (*fake)->closed_envs();
  auto named = RunCommand(AG_ENV_PLAY_BINARY, {"--target", (*bridge)->address(), "--env",
                                               "textcraft", "--scripted", "--task-id",
                                               "default/train/1"});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->exit_code, 1) << named->output;
  EXPECT_NE(named->output.find("no scripted oracle"), std::string::npos) << named->output;
  EXPECT_EQ((*fake)->closed_envs(), closed);  // nothing was created
  EXPECT_EQ((*bridge)->Stop(absl::Seconds(60)), 0) << (*bridge)->Log();
  (*fake)->Stop();
}

TEST(BridgeProcessTest, BadConfigIsAClearErrorNamingTheKey) {
  const std::string upstream = "textcraft=http://127.0.0.1:9";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--upstream", upstream, "--set", "envs.textcraft.step.score_fiel=score"},
       "step.score_fiel"},
      {{"--upstream", upstream, "--set", "envs.textcraft.sucess.field=score"}, "sucess"},
      {{"--upstream", upstream, "--set", "envs.textcraft.tasks=[{type: a, trian: [0, 5]}]"},
       "tasks[0].trian"},
      {{"--upstream", "textcraf=http://127.0.0.1:9"}, "not a known env"},
      {{"--upstream", upstream, "--set", "listn=127.0.0.1:0"}, "listn"},
      {{"--upstream", upstream, "--set", "listen.port=1"}, "listen"},
      {{"--upstream", upstream, "--session-ttl-s", "nan"}, "--session-ttl-s"},
      {{"--upstream", upstream, "--max-sessions", "0"}, "--max-sessions must be in 1..1000000; got 0"},
      // CLI11 2.1 saturates it to 2^63 - 1: refused by the range check.
      {{"--upstream", upstream, "--max-sessions", "99999999999999999999"}, "--max-sessions"},
      {{"--upstream", upstream, "--max-action-bytes", "-1"}, "--max-action-bytes must be at least"},
      {{"--upstream", upstream, "--listen", "127.0.0.1:99999"}, "bad port"},
  };
  for (const auto& [args, says] : cases) {
    std::vector<std::string> argv = args;
    if (says != "bad port") argv.insert(argv.end(), {"--listen", "127.0.0.1:0"});
    SCOPED_TRACE(says);
    // A bridge that starts serving after all is killed at once (and fails
    // the "listening on" check below) rather than left to run out the clock.
    RunOptions refused;
    refused.kill_if_serving = true;
    auto run = RunCommand(AG_BRIDGE_BINARY, argv, refused);
    ASSERT_TRUE(run.ok()) << "it hung: " << run.status();
    EXPECT_NE(run->exit_code, 0) << run->output;
    EXPECT_NE(run->output.find("error: "), std::string::npos) << run->output;
    EXPECT_NE(run->output.find(says), std::string::npos) << run->output;
    EXPECT_EQ(run->output.find("listening on"), std::string::npos) << run->output;
  }
}

}  // namespace
}  // namespace agentgym::env
