// The actor against a real coordinator (in-process), the counter env server
// registered with it, and a fake learner; and the agentgym-actor binary's
// exit codes. Label: integration.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "actor/testing/fake_learner.h"
#include "actor/testing/test_support.h"
#include "core/config.h"
#include "env_server/coordinator_link.h"
#include "scheduler/coordinator_options.h"
#include "scheduler/coordinator_server.h"

namespace agentgym::actor {
namespace {

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/actor_it_" + name + "_" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

std::string WriteTinyModel() {
  const std::string dir = TempPath("model");
  policy::PolicyBundle b = testing::MakeTestPolicy(testing::CounterTexts());
  auto* word = dynamic_cast<policy::WordTokenizer*>(b.tokenizer.get());
  EXPECT_TRUE(policy::WriteModelDir(dir, b.model, *word, policy::ChatFormatKind::kChatML, "").ok());
  return dir;
}

TEST(ActorIntegrationTest, RunsGroupsFromTheCoordinatorIntoLearnerAndFile) {
  auto env_server = testing::StartCounterServer();
  ASSERT_TRUE(env_server.ok()) << env_server.status();
  testing::FakeLearner learner;
  auto learner_server = testing::StartFakeLearner(&learner);
  ASSERT_TRUE(learner_server.ok());

  auto coordinator_config = Config::FromString(absl::StrCat(
      "envs: [counter]\ncoordinator: {listen: '127.0.0.1:0', heartbeat_interval_ms: 200, learner_address: '",
      learner_server->address(), "'}\n"));
  ASSERT_TRUE(coordinator_config.ok()) << coordinator_config.status();
  auto coordinator_options = scheduler::CoordinatorOptionsFromConfig(*coordinator_config);
  ASSERT_TRUE(coordinator_options.ok()) << coordinator_options.status();
  auto coordinator = scheduler::CoordinatorServer::Start(*coordinator_options);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();

  env::CoordinatorLinkOptions link_options;
  link_options.coordinator = (*coordinator)->address();
  link_options.advertise = (*env_server)->address();
  link_options.envs = {"counter"};
  link_options.heartbeat_interval = absl::Milliseconds(200);
  auto link = env::CoordinatorLink::Start(link_options);
  ASSERT_TRUE(link.ok());
  ASSERT_TRUE((*link)->WaitForRegistered(absl::Seconds(30)));

  auto config = Config::FromString(absl::StrCat("model: {dir: '", WriteTinyModel(),
                                                "'}\nactor: {concurrent_episodes: 4, max_new_tokens: 6}\n"
                                                "algorithm: {group_size: 2}\n"));
  ASSERT_TRUE(config.ok());
  auto actor_config = ActorConfigFromConfig(*config);
  ASSERT_TRUE(actor_config.ok()) << actor_config.status();
  ActorRunOptions o;
  o.config = *actor_config;
  o.coordinator = (*coordinator)->address();
  o.actor_id = "it-actor";
  o.learner = learner_server->address();
  o.trajectory_out = TempPath("trajectories.jsonl");
  o.max_episodes = 8;
  auto actor = Actor::Create(o);
  ASSERT_TRUE(actor.ok()) << actor.status();
  ASSERT_TRUE((*actor)->Run().ok());
  EngineStats st = (*actor)->stats();
  EXPECT_GE(st.sent, 8);
  EXPECT_EQ(st.env_error, 0);
  EXPECT_EQ(learner.taken(), st.sent);
  EXPECT_EQ(learner.duplicates(), 0);

  std::ifstream in(o.trajectory_out);
  std::string line;
  std::map<std::string, int> group_members;
  int lines = 0;
  while (std::getline(in, line)) {
    auto t = TrajectoryFromJson(line);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->actor_id(), "it-actor");
    EXPECT_EQ(t->env(), "counter");
    EXPECT_EQ(t->group_size(), 2);
    EXPECT_FALSE(t->group_id().empty());
    ++group_members[t->group_id()];
    ++lines;
  }
  EXPECT_EQ(lines, st.sent);
  for (const auto& [group, n] : group_members) EXPECT_EQ(n, 2) << group;
  actor->reset();
  (*link)->Close();
}

// The binary: clear errors and exit codes.
int RunActor(const std::string& args, std::string* output) {
  const std::string cmd = absl::StrCat(AG_ACTOR_BINARY, " ", args, " 2>&1");
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) output->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ActorBinaryTest, ClearErrorsForBadModelConfigAndCoordinator) {
  const std::string config = TempPath("run.yaml");
  {
    std::ofstream out(config);
    out << "model: {dir: /nonexistent/agentgym-model}\nactor: {concurrent_episodes: 2}\n";
  }
  std::string output;
  // A model directory that is not there is the config's fault: 2 (core/cli.h).
  EXPECT_EQ(RunActor(absl::StrCat("--config ", config, " --coordinator 127.0.0.1:1"), &output), 2)
      << output;
  EXPECT_NE(output.find("/nonexistent/agentgym-model"), std::string::npos) << output;

  output.clear();
  EXPECT_EQ(RunActor(absl::StrCat("--config ", config, " --coordinator 127.0.0.1:1 --set actor.bogus=1"), &output),
            2);
  EXPECT_NE(output.find("bogus"), std::string::npos) << output;

  const std::string model = WriteTinyModel();
  output.clear();
  // A coordinator that is not there is a run-time failure: 1.
  EXPECT_EQ(RunActor(absl::StrCat("--config ", config, " --set model.dir=", model,
                                  " --coordinator 127.0.0.1:1 --coordinator-timeout-s 1"),
                     &output),
            1)
      << output;
  EXPECT_NE(output.find("coordinator"), std::string::npos) << output;
}

}  // namespace
}  // namespace agentgym::actor
