// The real `agentgym-env-server` binary, started on 127.0.0.1 port 0: it
// serves textcraft and babyai, a scripted client finishes episodes of every
// task type through it, `agentgym-env-play --scripted` does too, health and
// reflection answer, a user's recipe directory loads, bad command lines fail
// with a message, and SIGTERM / SIGINT shut it down cleanly mid-traffic.

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "core/grpc_status.h"
#include "env_server/env_registry.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1alpha/reflection_probe.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/test_process.h"
#include "tests/env_server/env_test_util.h"

namespace agentgym::testing {
namespace {

namespace v1 = env::v1;
using ::testing::HasSubstr;
using ::testing::Not;

std::unique_ptr<ServerProcess> StartServer(const std::vector<std::string>& args) {
  auto server = ServerProcess::Start(AG_ENV_SERVER_BIN, args);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

class EnvServerProcessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = StartServer({"--envs", "textcraft,babyai"}).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->Running()) << server_->Log();
    client_ = MakeClient(server_->target());
  }
  void TearDown() override {
    if (server_ != nullptr) {
      EXPECT_TRUE(server_->Running()) << "the server died:\n" << server_->Log();
    }
  }

  static ServerProcess* server_;
  std::unique_ptr<env::EnvClient> client_;
};

ServerProcess* EnvServerProcessTest::server_ = nullptr;

TEST_F(EnvServerProcessTest, ServesTextcraftAndBabyaiWithTheirTaskTypes) {
  auto envs = client_->ListEnvs();
  ASSERT_TRUE(envs.ok()) << envs.status();
  std::map<std::string, std::set<std::string>> types;
  for (const auto& e : envs->envs()) {
    EXPECT_FALSE(e.action_format().empty()) << e.name();
    EXPECT_FALSE(e.mirrors().empty()) << e.name();
    EXPECT_GT(e.recommended_max_turns(), 0) << e.name();
    for (const auto& t : e.task_types()) {
      types[e.name()].insert(t.name());
      EXPECT_GT(t.train_count(), 0) << e.name() << "/" << t.name();
      EXPECT_GT(t.test_count(), 0) << e.name() << "/" << t.name();
      EXPECT_GT(t.recommended_max_turns(), 0) << e.name() << "/" << t.name();
    }
  }
  EXPECT_EQ(types["textcraft"],
            (std::set<std::string>{"depth1", "depth2", "depth3", "depth4"}));
  EXPECT_EQ(types["babyai"], (std::set<std::string>{"goto", "pickup", "action_obj_door",
                                                    "find_obj", "one_room", "synth_loc"}));
  EXPECT_EQ(types.size(), 2u) << "--envs textcraft,babyai must serve exactly those";
  EXPECT_THAT(server_->Log(), HasSubstr("(callback gRPC API)"))
      << "built-in envs never block, so --grpc-api auto picks the callback API";
  EXPECT_EQ(envs->max_sessions(), 4096);  // the binary's default
  EXPECT_EQ(envs->max_action_bytes(), 64 * 1024);
  EXPECT_EQ(envs->max_message_bytes(), 64 << 20);
  EXPECT_GT(envs->max_batch_items(), 0);
  EXPECT_GT(envs->session_idle_ttl_ms(), 0);
}

TEST_F(EnvServerProcessTest, ScriptedClientFinishesEpisodesOfEveryTaskType) {
  auto envs = client_->ListEnvs();
  ASSERT_TRUE(envs.ok()) << envs.status();
  int episodes = 0;
  for (const auto& e : envs->envs()) {
    for (const auto& t : e.task_types()) {
      for (env::Split split : {env::Split::kTrain, env::Split::kTest}) {
        for (uint64_t seed : {1, 2, 3}) {
          auto played = PlayScripted(*client_, e.name(), t.name(), split, seed);
          ASSERT_TRUE(played.ok()) << played.status();
          EXPECT_TRUE(played->success)
              << e.name() << " " << played->task_id << " not solved in " << played->turns
              << " turns (recommended " << played->recommended_max_turns << ")";
          EXPECT_LE(played->turns, played->recommended_max_turns);
          ++episodes;
        }
      }
    }
  }
  EXPECT_EQ(episodes, (4 + 6) * 2 * 3);
}

TEST_F(EnvServerProcessTest, PlayBinaryFinishesAScriptedEpisodeOfEachEnv) {
  for (const char* env_name : {"textcraft", "babyai"}) {
    auto run = RunCommand(AG_ENV_PLAY_BIN, {"--target", server_->target(), "--env", env_name,
                                            "--seed", "7", "--scripted"});
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->exit_code, 0) << run->output;
    EXPECT_THAT(run->output, HasSubstr("== SUCCESS")) << run->output;
  }
}

TEST_F(EnvServerProcessTest, AnswersHealthChecksForTheServerAndTheEnvService) {
  auto whole = IsServing(server_->target());
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_TRUE(*whole);
  auto env_service = IsServing(server_->target(), "agentgym.env.v1.Env");
  ASSERT_TRUE(env_service.ok()) << env_service.status();
  EXPECT_TRUE(*env_service);
  EXPECT_EQ(IsServing(server_->target(), "no.such.Service").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(EnvServerProcessTest, ServerReflectionDescribesTheEnvContract) {
  namespace refl = grpc::reflection::v1alpha;
  auto channel = grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials());
  auto stub = refl::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(20));
  auto stream = stub->ServerReflectionInfo(&context);

  refl::ServerReflectionRequest list;
  list.set_list_services("*");
  ASSERT_TRUE(stream->Write(list));
  refl::ServerReflectionResponse listed;
  ASSERT_TRUE(stream->Read(&listed));
  std::set<std::string> services;
  for (const auto& s : listed.list_services_response().service()) services.insert(s.name());
  EXPECT_TRUE(services.count("agentgym.env.v1.Env")) << listed.DebugString();
  EXPECT_TRUE(services.count("grpc.health.v1.Health")) << listed.DebugString();

  refl::ServerReflectionRequest symbol;
  symbol.set_file_containing_symbol("agentgym.env.v1.Env");
  ASSERT_TRUE(stream->Write(symbol));
  refl::ServerReflectionResponse file;
  ASSERT_TRUE(stream->Read(&file));
  ASSERT_GT(file.file_descriptor_response().file_descriptor_proto_size(), 0)
      << file.DebugString();
  bool found = false;
  for (const auto& bytes : file.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto fd;
    ASSERT_TRUE(fd.ParseFromString(bytes));
    if (fd.name() != "agentgym/env/v1/env.proto") continue;
    found = true;
    ASSERT_EQ(fd.service_size(), 1);
    std::set<std::string> methods;
    for (const auto& m : fd.service(0).method()) methods.insert(m.name());
    EXPECT_TRUE(methods.count("BatchStep"));
    EXPECT_TRUE(methods.count("Step"));
  }
  EXPECT_TRUE(found) << "no descriptor for agentgym/env/v1/env.proto";
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(EnvServerBinaryTest, ServesAUserDirectoryOfMinecraftRecipes) {
  const std::string dir = std::string(TEXTCRAFT_TESTDATA_DIR) + "/recipes";
  auto server = StartServer({"--envs", "textcraft", "--env-opt", "textcraft.recipes_dir=" + dir});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->target());
  auto envs = client->ListEnvs();
  ASSERT_TRUE(envs.ok()) << envs.status();
  ASSERT_EQ(envs->envs_size(), 1);
  EXPECT_THAT(envs->envs(0).description(), HasSubstr(dir));
  int played = 0;
  for (const auto& t : envs->envs(0).task_types()) {
    auto episode = PlayScripted(*client, "textcraft", t.name(), env::Split::kTrain, 5,
                                {{"recipes_dir", dir}});
    ASSERT_TRUE(episode.ok()) << episode.status();
    EXPECT_TRUE(episode->success) << episode->task_id;
    ++played;
  }
  EXPECT_EQ(played, 4);
}

// A YAML config sets what the flags set; a flag given on the command line
// wins over the config; a config of the wrong shape is a clean error.
TEST(EnvServerBinaryTest, ReadsAYamlConfigWithFlagsWinning) {
  TempDir dir;
  const std::string config = dir.File("server.yaml");
  std::ofstream(config) << "envs: [babyai]\n"
                           "max_sessions: 7\n"
                           "max_action_bytes: 100\n"
                           "session_ttl_s: 30\n"
                           "grpc_api: sync\n"
                           "log_level: warn\n";
  auto server = StartServer({"--config", config, "--max-action-bytes", "200"});
  ASSERT_NE(server, nullptr);
  auto envs = MakeClient(server->target())->ListEnvs();
  ASSERT_TRUE(envs.ok()) << envs.status();
  ASSERT_EQ(envs->envs_size(), 1);
  EXPECT_EQ(envs->envs(0).name(), "babyai");
  EXPECT_EQ(envs->max_sessions(), 7);
  EXPECT_EQ(envs->max_action_bytes(), 200) << "the flag wins over the config";
  EXPECT_EQ(envs->session_idle_ttl_ms(), 30000);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"max_sessions: lots\n", "an integer"},
      {"max_sessions: 0\n", "max_sessions) must be in 1..1000000; got 0"},
      {"log_level: {level: warn}\n", "a string"},
      {"envs: {a: 1}\n", "envs"},
      {"env_options: {textcraft: {recipes_dir: [a, b]}}\n", "recipes_dir"},
      {"env_options: [textcraft]\n", "env_options"},
      {"grpc_api: fast\n", "grpc_api"},
      {"envs: [textcraft\n", "server.yaml"},
      // A misspelt key is an error naming it, not a setting silently dropped.
      {"max_sesions: 5\n", "unknown config key in the top level: max_sesions"},
      {"envs: [babyai]\nlog_levle: warn\nmax_sesion: 3\n", "log_levle, max_sesion"},
      // NaN passes `ttl <= 0`; infinity and huge values would never expire.
      {"session_ttl_s: .nan\n", "finite"},
      {"session_ttl_s: .inf\n", "finite"},
      {"session_ttl_s: 7201\n", "at most 7200"},
  };
  for (const auto& [yaml, message] : bad) {
    std::ofstream(config) << yaml;  // replaces the file
    auto run = RunCommand(AG_ENV_SERVER_BIN, {"--listen", "127.0.0.1:0", "--config", config});
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->exit_code, 2) << yaml << run->output;
    EXPECT_THAT(run->output, HasSubstr(message)) << yaml;
  }
}

// A run config's env_server section configures the server (its other
// sections are left alone), fault injection included; a fault flag wins over
// the config; bad fault settings are refused before serving. The open4 maze
// type answers in its compact form and reports min_turns.
TEST(EnvServerBinaryTest, ReadsTheEnvServerSectionOfARunConfigWithFaults) {
  TempDir dir;
  const std::string config = dir.File("run.yaml");
  std::ofstream(config) << "run: {name: demo, total_steps: 10}\n"
                           "model: {preset: tiny}\n"
                           "env_server:\n"
                           "  envs: [maze]\n"
                           "  max_sessions: 9\n"
                           "  faults: {step_failure_rate: 1.0, delay_ms: {min: 1, max: 2},\n"
                           "           drop_connection_rate: 0.0, seed: 3}\n";
  auto create_open4 = [](env::EnvClient& client) {
    env::v1::CreateRequest req;
    req.set_env("maze");
    req.set_task_id("open4/test/0");
    return client.Create(req);
  };
  {
    auto server = StartServer({"--config", config});
    ASSERT_NE(server, nullptr);
    auto client = MakeClient(server->target());
    auto envs = client->ListEnvs();
    ASSERT_TRUE(envs.ok()) << envs.status();
    ASSERT_EQ(envs->envs_size(), 1);
    EXPECT_EQ(envs->envs(0).name(), "maze");
    EXPECT_EQ(envs->max_sessions(), 9);
    auto created = create_open4(*client);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(created->instruction(), "reach the goal");
    EXPECT_TRUE(absl::StartsWith(created->observation(), "pos ")) << created->observation();
    EXPECT_EQ(created->recommended_max_turns(), 6);
    ASSERT_EQ(created->info().fields().count("min_turns"), 1u);
    EXPECT_GE(created->info().fields().at("min_turns").number_value(), 1);
    auto step = client->Step(created->session_id(), "up");
    EXPECT_EQ(step.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(step.status().message()), HasSubstr("injected fault"));
  }
  {
    auto server = StartServer({"--config", config, "--fault-step-failure-rate", "0"});
    ASSERT_NE(server, nullptr);
    auto client = MakeClient(server->target());
    auto created = create_open4(*client);
    ASSERT_TRUE(created.ok()) << created.status();
    auto step = client->Step(created->session_id(), "jump");
    ASSERT_TRUE(step.ok()) << step.status() << " (the flag wins over the config)";
    EXPECT_FALSE(step->action_valid());
    EXPECT_EQ(step->observation(), "invalid " + created->observation());
  }
  const std::vector<std::vector<std::string>> bad = {
      {"--fault-step-failure-rate", "2"},
      {"--fault-drop-rate", "-0.5"},
      {"--fault-delay-ms", "50:5"},
      {"--fault-delay-ms", "five"},
      {"--set", "env_server.faults.seed=-1"},
      {"--set", "env_server.faults.delay=3"},
      {"--set", "env_server.lsten=127.0.0.1:0"},
      {"--coordinator", "nohost"},
      {"--advertise", "127.0.0.1:5000"},
  };
  for (const auto& args : bad) {
    std::vector<std::string> argv = {"--listen", "127.0.0.1:0", "--config", config};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions options;
    options.kill_if_serving = true;
    auto run = RunCommand(AG_ENV_SERVER_BIN, argv, options);
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_FALSE(run->started_serving) << args[0] << " " << args[1];
    EXPECT_EQ(run->exit_code, 2) << args[0] << " " << args[1] << ": " << run->output;
    EXPECT_THAT(run->output, HasSubstr("error:")) << args[1];
  }
}

// --grpc-api sync (what servers of blocking envs, e.g. the bridge, use)
// serves the same contract; only an undecodable frame is answered by gRPC
// itself (INTERNAL) instead of the service (INVALID_ARGUMENT).
TEST(EnvServerBinaryTest, SyncGrpcApiServesTheSameContract) {
  auto server = StartServer({"--envs", "textcraft,babyai", "--grpc-api", "sync"});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->target());
  for (const auto& [env_name, type] : std::vector<std::pair<std::string, std::string>>{
           {"textcraft", "depth3"}, {"babyai", "synth_loc"}}) {
    auto played = PlayScripted(*client, env_name, type, env::Split::kTest, 11);
    ASSERT_TRUE(played.ok()) << played.status();
    EXPECT_TRUE(played->success) << played->task_id;
  }
  EXPECT_THAT(server->Log(), HasSubstr("(sync gRPC API)"));
  auto big = client->Step("s-nope", std::string(100000, 'a'));
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument) << big.status();
  auto envs = client->ListEnvs();
  ASSERT_TRUE(envs.ok()) << envs.status();
  EXPECT_EQ(envs->envs_size(), 2);
  auto exit_status = server->Signal(SIGTERM, absl::Seconds(30));
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 0) << server->Log();
}

// SIGTERM (and SIGINT) while clients are stepping: the process drains and
// exits 0, logs its shutdown, and a client then sees UNAVAILABLE.
void ExpectCleanShutdownOn(int signal) {
  auto server = StartServer({"--envs", "textcraft,babyai"});
  ASSERT_NE(server, nullptr);
  auto client = MakeClient(server->target(), absl::Seconds(10));
  v1::CreateRequest create;
  create.set_env("babyai");
  create.mutable_sample();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    create.set_seed(i);
    auto session = client->Create(create);
    ASSERT_TRUE(session.ok()) << session.status();
    ids.push_back(session->session_id());
  }
  absl::Notification stepped;
  std::atomic<bool> stop{false};
  std::atomic<int> ok_steps{0};
  std::set<absl::StatusCode> codes_after;
  std::thread stepper([&] {
    for (int i = 0; !stop.load(); ++i) {
      auto r = client->Step(ids[i % ids.size()], "check available actions");
      if (r.ok() || r.status().code() == absl::StatusCode::kFailedPrecondition) {
        ++ok_steps;
        if (!stepped.HasBeenNotified()) stepped.Notify();
      } else {
        codes_after.insert(r.status().code());
        break;
      }
    }
  });
  ASSERT_TRUE(stepped.WaitForNotificationWithTimeout(absl::Seconds(30)));
  auto status = server->Signal(signal, absl::Seconds(30));
  stop = true;
  stepper.join();
  ASSERT_TRUE(status.ok()) << status.status() << "\n" << server->Log();
  EXPECT_TRUE(WIFEXITED(*status)) << "killed by signal " << WTERMSIG(*status) << "\n"
                                  << server->Log();
  EXPECT_EQ(WEXITSTATUS(*status), 0) << server->Log();
  EXPECT_THAT(server->Log(), HasSubstr("shutting down"));
  EXPECT_THAT(server->Log(), HasSubstr("shut down ("));
  EXPECT_GT(ok_steps.load(), 0);
  // A call caught by the shutdown is refused (UNAVAILABLE) or, if it was
  // already on the wire, cancelled when the grace period ends.
  for (absl::StatusCode code : codes_after) {
    EXPECT_TRUE(code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kCancelled)
        << absl::StatusCodeToString(code);
  }
  std::printf("%s: log\n%s", signal == SIGTERM ? "SIGTERM" : "SIGINT", server->Log().c_str());
  auto after = MakeClient(server->target(), absl::Seconds(2))->ListEnvs();
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable) << after.status();
}

TEST(EnvServerBinaryTest, SigtermShutsDownCleanlyMidTraffic) { ExpectCleanShutdownOn(SIGTERM); }
TEST(EnvServerBinaryTest, SigintShutsDownCleanlyMidTraffic) { ExpectCleanShutdownOn(SIGINT); }

TEST(EnvServerBinaryTest, BadCommandLinesExitNonZeroWithAMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--envs", "textcraft,nope"}, "nope"},
      {{"--max-sessions", "0"}, "max-sessions"},
      {{"--max-action-bytes", "-3"}, "max-action-bytes"},
      {{"--session-ttl-s", "abc"}, "session-ttl-s"},
      {{"--env-opt", "textcraft.recipes_dir=/nonexistent/recipes"}, "/nonexistent/recipes"},
      {{"--env-opt", "no-dot-or-equals"}, "no-dot-or-equals"},
      {{"--env-opt", "babyai.colour=blue"}, "colour"},
      {{"--envs", "babyai", "--env-opt", "textcraft.recipes_dir=/tmp"}, "does not serve"},
      {{"--log-level", "loud"}, "loud"},
      {{"--config", "/nonexistent/server.yaml"}, "/nonexistent/server.yaml"},
      {{"--no-such-flag"}, "no-such-flag"},
      {{"--grpc-api", "async"}, "grpc-api"},
      {{"--set", "max_sesions=5"}, "unknown config key in the top level: max_sesions"},
      {{"--set", "session_ttl_s=.nan"}, "finite"},
      // Range errors name the setting and the limit in plain numbers, not
      // CLI11's "not in range 0.000000 to 1797693134862315708145...".
      {{"--max-sessions", "-1"}, "--max-sessions (config max_sessions) must be in 1..1000000; got -1"},
      {{"--max-batch-items", "0"}, "--max-batch-items (config max_batch_items) must be in 1..1000000; got 0"},
      // CLI11 2.1 reads an int64 past 2^63 - 1 as 2^63 - 1 without a word (our
      // range check answers); a CLI11 that refuses it names the flag too.
      {{"--max-sessions", "99999999999999999999"}, "--max-sessions"},
      {{"--set", "max_batch_items=2000000"}, "max_batch_items) must be in 1..1000000; got 2000000"},
      {{"--max-action-bytes", "0"}, "--max-action-bytes (config max_action_bytes) must be at least 1; got 0"},
      {{"--session-ttl-s", "0"}, "must be a positive number of seconds, at most 7200"},
      {{"--session-ttl-s", "inf"}, "at most 7200 (the server's maximum idle TTL); got inf"},
      {{"--session-ttl-s", "nan"}, "got nan"},
      {{"--session-ttl-s", "1e300"}, "at most 7200"},
      // An action that cannot fit in a gRPC message would get gRPC's
      // RESOURCE_EXHAUSTED, not the contract's INVALID_ARGUMENT.
      {{"--max-action-bytes", "70000000"}, "max_action_bytes is 70000000, more than fits in one gRPC message"},
      {{"--max-message-bytes", "65536", "--max-action-bytes", "65000"}, "at most 64512"},
      {{"--max-message-bytes", "100"}, "--max-message-bytes (config max_message_bytes) must be in 4096..2147483647; got 100"},
      {{"--set", "max_message_bytes=3000000000"}, "got 3000000000"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--listen", "127.0.0.1:0"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto run = RunCommand(AG_ENV_SERVER_BIN, args, absl::Seconds(30));
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_NE(run->exit_code, 0) << c.args[0] << " " << run->output;
    EXPECT_EQ(run->term_signal, 0) << "crashed on " << c.args[0];
    EXPECT_THAT(run->output, HasSubstr(c.message)) << c.args[0];
    EXPECT_THAT(run->output, Not(HasSubstr(".000000"))) << c.args[0];
  }
  for (const char* listen : {"256.1.1.1:99999", "127.0.0.1:99999"}) {
    auto bad_listen = RunCommand(AG_ENV_SERVER_BIN, {"--listen", listen});
    ASSERT_TRUE(bad_listen.ok());
    EXPECT_NE(bad_listen->exit_code, 0) << bad_listen->output;
    EXPECT_THAT(bad_listen->output, HasSubstr("bad port")) << listen;
  }

  auto list = RunCommand(AG_ENV_SERVER_BIN, {"--list", "--envs", "textcraft,babyai"});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->exit_code, 0) << list->output;
  EXPECT_THAT(list->output, HasSubstr("depth4"));
  EXPECT_THAT(list->output, HasSubstr("synth_loc"));
}

}  // namespace
}  // namespace agentgym::testing
