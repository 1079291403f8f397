// The real binaries end to end: agentgym-coordinator as a child process on
// 127.0.0.1 port 0, components connected through CoordinatorClient, and
// agentgym-ctl run as a command against it.
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "agentgym/coordinator/v1/coordinator.grpc.pb.h"
#include "agentgym/env/v1/env.grpc.pb.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "scheduler/coordinator_client.h"
#include "scheduler/testing/closed_port.h"
#include "tests/coordinator/coordinator_process.h"

namespace agentgym::testutil {
namespace {

namespace pb = ::agentgym::coordinator::v1;
using scheduler::CoordinatorClient;
using scheduler::CoordinatorClientOptions;
using scheduler::HorizonFor;

constexpr absl::Duration kWait = absl::Seconds(30);  // a failure, not a speed goal

std::string WriteConfig(const std::string& state_file) {
  std::string path = TempPath("coordinator_process_test.yaml");
  std::ofstream out(path);
  out << "coordinator:\n"
         "  lease_ms: 1000\n"
         "  heartbeat_interval_ms: 100\n"
         "  reap_interval_ms: 100\n"
      << "  state_file: " << (state_file.empty() ? "\"\"" : state_file) << "\n"
      // The env servers of these tests are registrations with no server
      // behind them; ConfigTasksAreCheckedAgainstARealEnvServer has one.
      << "  verify_config_tasks: false\n"
      << "envs:\n"
         "  - {name: textcraft, weight: 1, tasks: [tc-0, tc-1, tc-2, tc-3]}\n"
         "  - {name: webarena, weight: 1, tasks: [wa-0, wa-1]}\n"
         "curriculum:\n"
         "  horizons: [10, 20, 30]\n"
         "  stage_steps: 100\n"
         "  per_env:\n"
         "    webarena: {horizons: [8, 12, 15], stage_steps: 80}\n";
  return path;
}

std::unique_ptr<CoordinatorClient> Join(const std::string& coordinator, pb::Role role,
                                        const std::string& address = "",
                                        const std::string& id = "", bool deregister = true) {
  CoordinatorClientOptions o;
  o.coordinator = coordinator;
  o.registration.set_role(role);
  o.registration.set_address(address);
  o.registration.set_component_id(id);
  if (role == pb::ROLE_ENV_SERVER) {
    o.registration.mutable_capabilities()->add_envs("textcraft");
    o.registration.mutable_capabilities()->add_envs("webarena");
  }
  if (role == pb::ROLE_LEARNER) {
    o.registration.mutable_capabilities()->set_world_size(1);
    o.registration.mutable_capabilities()->set_rendezvous_address("127.0.0.1:29500");
  }
  o.connect_timeout = absl::Seconds(10);
  o.deregister_on_close = deregister;
  auto client = CoordinatorClient::Connect(o);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

nlohmann::json StatusJson(const std::string& address) {
  CommandResult r = Ctl(absl::StrCat("--coordinator ", address, " --json status"));
  EXPECT_EQ(r.code, 0) << r.output;
  return nlohmann::json::parse(r.output, nullptr, /*allow_exceptions=*/false);
}

const nlohmann::json* Track(const nlohmann::json& status, const std::string& env) {
  for (const auto& t : status["horizon"]["tracks"]) {
    if (t["env"] == env) return &t;
  }
  return nullptr;
}

TEST(CoordinatorProcessTest, CtlDrivesALiveCoordinator) {
  const std::string jsonl = TempPath("coordinator_process_test.jsonl");
  const std::string config = WriteConfig("");
  CoordinatorProcess coordinator({"--config", config, "--listen", "127.0.0.1:0",
                                  "--metrics-listen", "127.0.0.1:0", "--metrics-jsonl", jsonl,
                                  "--log-level", "warn"});
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  ASSERT_GT(coordinator.metrics_port(), 0);
  const std::string& address = coordinator.address();
  const std::string with = absl::StrCat("--coordinator ", address, " ");

  auto env_server = Join(address, pb::ROLE_ENV_SERVER, "127.0.0.1:5001");
  auto learner = Join(address, pb::ROLE_LEARNER, "127.0.0.1:6000");
  auto actor = Join(address, pb::ROLE_ACTOR);
  ASSERT_TRUE(env_server && learner && actor);

  // Status reflects the registered components.
  CommandResult r = Ctl(with + "components");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("ID", 0), 0u) << r.output;
  for (const auto* c : {env_server.get(), learner.get(), actor.get()}) {
    EXPECT_NE(r.output.find(c->component_id()), std::string::npos) << r.output;
  }
  nlohmann::json status = StatusJson(address);
  ASSERT_EQ(status["components"].size(), 3u) << status.dump();
  for (const auto& c : status["components"]) EXPECT_EQ(c["health"], "HEALTH_UP");
  EXPECT_EQ(status["learner_address"], "127.0.0.1:6000");
  EXPECT_EQ(status["rendezvous_address"], "127.0.0.1:29500");
  EXPECT_EQ(actor->directives().learner_address(), "127.0.0.1:6000");

  // A learner report crosses WebArena's first boundary (Δ = 80); the actor
  // hears of it through its heartbeats.
  absl::Notification moved;
  actor->AddListener([&](const pb::Directives& d) {
    if (HorizonFor(d.horizon(), "webarena") == 12 && !moved.HasBeenNotified()) moved.Notify();
  });
  pb::ReportProgressRequest progress;
  progress.set_step(80);
  progress.set_policy_version(80);
  progress.mutable_accounting()->set_produced(700);
  progress.mutable_accounting()->set_trained(640);
  progress.mutable_accounting()->set_stale(30);
  progress.mutable_accounting()->set_rejected(10);
  progress.mutable_accounting()->set_env_error(20);
  pb::EnvStats* stats = progress.add_env_stats();
  stats->set_env("webarena");
  stats->set_episodes(10);
  stats->set_successes(4);
  stats->set_reward_sum(4);
  ASSERT_TRUE(learner->ReportProgress(progress).ok());
  ASSERT_TRUE(moved.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ(actor->MaxTurnsFor("textcraft"), 10);

  r = Ctl(with + "status");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("step 80   policy v80"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("webarena   fixed  2/3    12"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("trajectories produced 700  trained 640  stale 30  rejected 10  "
                          "env_error 20"),
            std::string::npos)
      << r.output;

  // Manual override, and bad requests get the coordinator's reason.
  r = Ctl(with + "set-horizon --env webarena 14");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "track webarena: max turns 12 -> 14 (stage 2, manual)\n");
  r = Ctl(with + "set-horizon -3");
  EXPECT_EQ(r.code, 2) << r.output;  // a bad value
  EXPECT_NE(r.output.find("got -3"), std::string::npos) << r.output;
  r = Ctl(with + "set-horizon --env nosuch 5");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("no horizon track for env 'nosuch'"), std::string::npos) << r.output;

  // Pause stops tasks; resume hands them out again, with the new horizon.
  EXPECT_EQ(Ctl(with + "pause --reason test").output, "run paused\n");
  auto paused = actor->GetTasks(1, 2, {"webarena"});
  ASSERT_TRUE(paused.ok()) << paused.status();
  EXPECT_TRUE(paused->paused());
  EXPECT_EQ(paused->groups_size(), 0);
  EXPECT_EQ(Ctl(with + "resume").output, "run resumed\n");
  auto tasks = actor->GetTasks(1, 2, {"webarena"});
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_EQ(tasks->groups_size(), 1);
  EXPECT_EQ(tasks->groups(0).tasks_size(), 2);
  EXPECT_EQ(tasks->groups(0).tasks(0).max_turns(), 14);

  r = Ctl(with + "--json watch -n 2 --interval-ms 50");
  ASSERT_EQ(r.code, 0) << r.output;
  std::vector<std::string> lines = absl::StrSplit(r.output, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << r.output;
  for (const auto& line : lines) EXPECT_TRUE(nlohmann::json::accept(line)) << line;

  // Prometheus text over HTTP.
  httplib::Client http("127.0.0.1", coordinator.metrics_port());
  http.set_connection_timeout(5);
  http.set_read_timeout(5);
  auto scraped = http.Get("/metrics");
  ASSERT_TRUE(scraped);
  EXPECT_EQ(scraped->status, 200);
  for (const char* series : {"agentgym_horizon_max_turns{env=\"webarena\"} 14",
                             "agentgym_components_up{role=\"actor\"} 1",
                             "agentgym_training_step 80",
                             "agentgym_trajectories{outcome=\"env_error\"} 20"}) {
    EXPECT_NE(scraped->body.find(series), std::string::npos) << series << "\n" << scraped->body;
  }

  ClosedPort closed;
  r = Ctl(absl::StrCat("--coordinator ", closed.address(), " --timeout-ms 1000 status"));
  EXPECT_EQ(r.code, 1) << r.output;  // a run-time failure
  EXPECT_NE(r.output.find("cannot reach the coordinator at " + closed.address()),
            std::string::npos)
      << r.output;

  actor.reset();
  learner.reset();
  env_server.reset();
  EXPECT_EQ(coordinator.Stop(), 0);
  // One line per step, plus one event line per stage change.
  std::ifstream in(jsonl);
  std::string line;
  int steps = 0, events = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("event")) {
      ++events;
      EXPECT_EQ(j["event"], "stage_change");
    } else {
      ++steps;
      EXPECT_EQ(j["step"], 80);
      EXPECT_EQ(j["horizon"]["webarena"]["max_turns"], 12);
    }
  }
  EXPECT_EQ(steps, 1);
  EXPECT_EQ(events, 2);  // the schedule (webarena 8 -> 12), then the manual pin
  std::remove(jsonl.c_str());
  std::remove(config.c_str());
}

// Reads WatchStatus until `ready` holds for a status.
bool WatchUntil(const std::string& address,
                const std::function<bool(const pb::RunStatus&)>& ready) {
  auto stub = pb::Coordinator::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
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

pb::Health HealthOf(const pb::RunStatus& status, const std::string& id) {
  for (const auto& c : status.components()) {
    if (c.component_id() == id) return c.health();
  }
  return pb::HEALTH_UNSPECIFIED;
}

TEST(CoordinatorProcessTest, LapsedActorIsMarkedDownItsWorkReassignedAndItComesBack) {
  const std::string config = WriteConfig("");
  CoordinatorProcess coordinator(
      {"--config", config, "--listen", "127.0.0.1:0", "--log-level", "warn"});
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  const std::string& address = coordinator.address();
  auto env_server = Join(address, pb::ROLE_ENV_SERVER, "127.0.0.1:5001");
  auto lost = Join(address, pb::ROLE_ACTOR, "", "", /*deregister=*/false);
  ASSERT_TRUE(env_server && lost);
  const std::string lost_id = lost->component_id();
  auto handed = lost->GetTasks(2, 3);
  ASSERT_TRUE(handed.ok()) << handed.status();
  lost.reset();  // stops beating without saying goodbye, like a crashed actor

  ASSERT_TRUE(WatchUntil(address, [&](const pb::RunStatus& s) {
    return HealthOf(s, lost_id) == pb::HEALTH_DOWN;
  }));
  CommandResult r = Ctl(absl::StrCat("--coordinator ", address, " components"));
  EXPECT_NE(r.output.find("down"), std::string::npos) << r.output;
  r = Ctl(absl::StrCat("--coordinator ", address, " status"));
  EXPECT_NE(r.output.find("actor 0 up / 1 down"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("DOWN actor " + lost_id + ", last beat"), std::string::npos)
      << r.output;

  auto other = Join(address, pb::ROLE_ACTOR);
  ASSERT_TRUE(other);
  // Groups of 3 go only to an actor that asks for groups of 3.
  auto singles = other->GetTasks(2, 1);
  ASSERT_TRUE(singles.ok()) << singles.status();
  for (const auto& g : singles->groups()) {
    EXPECT_FALSE(g.reassigned());
    EXPECT_EQ(g.tasks_size(), 1);
  }
  auto again = other->GetTasks(2, 3);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->groups_size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(again->groups(i).reassigned());
    EXPECT_EQ(again->groups(i).original_group_id(), handed->groups(i).group_id());
    EXPECT_EQ(again->groups(i).tasks_size(), 3);  // whole, as first handed out
  }

  auto back = Join(address, pb::ROLE_ACTOR, "", lost_id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->component_id(), lost_id);
  ASSERT_TRUE(WatchUntil(address, [&](const pb::RunStatus& s) {
    return HealthOf(s, lost_id) == pb::HEALTH_UP;
  }));
  EXPECT_TRUE(back->GetTasks(1, 1).ok());
  std::remove(config.c_str());
}

TEST(CoordinatorProcessTest, RestartedCoordinatorContinuesInTheRightStage) {
  const std::string state = TempPath("coordinator_process_test.state.json");
  const std::string config = WriteConfig("");
  const std::vector<std::string> args = {"--config",     config, "--listen",    "127.0.0.1:0",
                                         "--state-file", state,  "--log-level", "warn"};
  {
    CoordinatorProcess coordinator(args);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    auto learner = Join(coordinator.address(), pb::ROLE_LEARNER, "127.0.0.1:6000");
    ASSERT_TRUE(learner);
    pb::ReportProgressRequest progress;
    progress.set_step(100);
    ASSERT_TRUE(learner->ReportProgress(progress).ok());
    const std::string with = absl::StrCat("--coordinator ", coordinator.address(), " ");
    ASSERT_EQ(Ctl(with + "set-horizon --env webarena 13").code, 0);
    ASSERT_EQ(Ctl(with + "pause").code, 0);
    learner.reset();
    EXPECT_EQ(coordinator.Stop(), 0);
  }
  CoordinatorProcess restarted(args);
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  nlohmann::json status = StatusJson(restarted.address());
  EXPECT_EQ(status["paused"], true);
  const nlohmann::json* def = Track(status, "");
  const nlohmann::json* web = Track(status, "webarena");
  ASSERT_TRUE(def && web) << status.dump();
  EXPECT_EQ((*def)["stage"], 1);
  EXPECT_EQ((*def)["max_turns"], 20);
  EXPECT_EQ((*web)["max_turns"], 13);
  EXPECT_EQ((*web)["pinned"], true);
  EXPECT_EQ(restarted.Stop(), 0);

  // A state file that is not one makes the coordinator refuse to start.
  { std::ofstream(state) << "not json"; }
  CommandResult refused = RunCoordinatorExpectingRefusal(args);
  EXPECT_EQ(refused.code, 2) << refused.output;
  std::remove(state.c_str());
  std::remove(config.c_str());
}

std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = TempPath(name);
  std::ofstream(path) << text;
  return path;
}

// ListTasks of one env ("textcraft") with train tasks depth1/train/0..3.
class TrainListEnv final : public agentgym::env::v1::Env::Service {
 public:
  grpc::Status ListTasks(grpc::ServerContext*, const agentgym::env::v1::ListTasksRequest* req,
                         agentgym::env::v1::ListTasksResponse* resp) override {
    if (req->split() != agentgym::env::v1::SPLIT_TRAIN) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "train only here");
    }
    for (int i = 0; i < 4; ++i) {
      auto* t = resp->add_tasks();
      t->set_task_id("depth1/train/" + std::to_string(i));
      t->set_task_type("depth1");
      t->set_split(agentgym::env::v1::SPLIT_TRAIN);
    }
    return grpc::Status::OK;
  }
};

// The coordinator checks a config task list against a real ListTasks over
// gRPC, and hands out only the ids that are train tasks there.
TEST(CoordinatorProcessTest, ConfigTasksAreCheckedAgainstARealEnvServer) {
  TrainListEnv env_service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&env_service);
  auto env = builder.BuildAndStart();
  ASSERT_NE(env, nullptr);
  const std::string config = WriteFile(
      "coordinator_process_test.verify.yaml",
      "coordinator: {lease_ms: 5000, heartbeat_interval_ms: 100}\n"
      "envs: [{name: textcraft, tasks: [depth1/train/1, depth1/train/9, my-own-task]}]\n");
  CoordinatorProcess coordinator(
      {"--config", config, "--listen", "127.0.0.1:0", "--log-level", "warn"});
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  CoordinatorClientOptions o;
  o.coordinator = coordinator.address();
  o.registration.set_role(pb::ROLE_ENV_SERVER);
  o.registration.set_address("127.0.0.1:" + std::to_string(port));
  o.registration.mutable_capabilities()->add_envs("textcraft");
  auto server = CoordinatorClient::Connect(o);
  ASSERT_TRUE(server.ok()) << server.status();
  auto actor = Join(coordinator.address(), pb::ROLE_ACTOR);
  ASSERT_TRUE(actor);
  // Status says when the check has run (right after the registration).
  ASSERT_TRUE(WatchUntil(coordinator.address(), [](const pb::RunStatus& s) {
    return s.envs_size() == 1 && s.envs(0).tasks_state() == "ready";
  }));
  nlohmann::json status = StatusJson(coordinator.address());
  EXPECT_EQ(status["envs"][0]["train_tasks"], "1") << status.dump();
  std::set<std::string> seen;
  for (int i = 0; i < 6; ++i) {
    auto tasks = actor->GetTasks(2, 1);
    ASSERT_TRUE(tasks.ok()) << tasks.status();
    for (const auto& g : tasks->groups()) seen.insert(g.tasks(0).task_id());
  }
  EXPECT_EQ(seen, (std::set<std::string>{"depth1/train/1"}));
  actor.reset();
  server->reset();
  EXPECT_EQ(coordinator.Stop(), 0);
  env->Shutdown();
  std::remove(config.c_str());
}


// A config the coordinator cannot use stops it at start with a message that
// names the key. (`coordinator: 5`, which once made it drop --listen and bind
// the default 0.0.0.0:7070, is covered by coordinator_options_test.cc: a
// process test of it would bind 0.0.0.0 against a coordinator with that bug.)
TEST(CoordinatorProcessTest, BadConfigsAreRefusedNamingTheKey) {
  const std::string envs = "envs: [{name: textcraft, tasks: [tc-0]}]\n";
  struct Case {
    std::string yaml, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"coordinator: {leas_ms: 100}\n" + envs, "leas_ms"},
           {envs + "curriculm: {horizons: [5, 10]}\n", "curriculm"},
           {"envs: [{name: textcraft, tasks: 5}]\n", "envs[0].tasks must be a list"},
           {envs + "curriculum: {horizons: [10], per_env: {webarena: {horizons: [8]}}}\n",
            "curriculum.per_env.webarena"},
       }) {
    const std::string config = WriteFile("coordinator_process_test.bad.yaml", c.yaml);
    CommandResult r =
        RunCoordinatorExpectingRefusal({"--config", config, "--listen", "127.0.0.1:0"});
    EXPECT_EQ(r.code, 2) << c.yaml << r.output;
    EXPECT_NE(r.output.find(c.expect), std::string::npos) << c.yaml << r.output;
    std::remove(config.c_str());
  }
  // A state file it could never write: refused at start, not warned about later.
  const std::string config = WriteFile("coordinator_process_test.bad.yaml", envs);
  CommandResult r = RunCoordinatorExpectingRefusal(
      {"--config", config, "--listen", "127.0.0.1:0", "--state-file",
       "/nonexistent-agentgym-dir/state.json"});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("cannot write coordinator state file "
                          "'/nonexistent-agentgym-dir/state.json.tmp'"),
            std::string::npos)
      << r.output;
  // A --curriculum preset gives only `curriculum:`; more would be dropped.
  const std::string preset = WriteFile("coordinator_process_test.preset.yaml",
                                       "curriculum: {horizons: [5]}\nenvs: [babyai]\n");
  r = RunCoordinatorExpectingRefusal(
      {"--config", config, "--listen", "127.0.0.1:0", "--curriculum", preset});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("unknown config key in the top level: envs"), std::string::npos)
      << r.output;
  std::remove(preset.c_str());
  std::remove(config.c_str());
}

// --listen wins over coordinator.listen, and the line printed is the address
// bound. The config's address is one no machine has (TEST-NET-1), so the test
// binds nothing but 127.0.0.1 even if the flag were dropped.
TEST(CoordinatorProcessTest, ListenFlagWinsAndThePrintedAddressIsTheBoundOne) {
  const std::string config = WriteFile(
      "coordinator_process_test.listen.yaml",
      "coordinator: {listen: \"192.0.2.1:7070\"}\nenvs: [{name: textcraft, tasks: [tc-0]}]\n");
  CoordinatorProcess coordinator({"--config", config, "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  const std::string& address = coordinator.address();
  EXPECT_EQ(address.rfind("127.0.0.1:", 0), 0u) << address;
  EXPECT_NE(address, "127.0.0.1:0");
  CommandResult r = Ctl(absl::StrCat("--coordinator ", address, " --timeout-ms 5000 status"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(coordinator.Stop(), 0);
  std::remove(config.c_str());
}

}  // namespace
}  // namespace agentgym::testutil
