#include "scheduler/coordinator_client.h"

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "scheduler/coordinator_service.h"
#include "scheduler/testing/closed_port.h"

namespace agentgym::scheduler {
namespace {

constexpr absl::Duration kWait = absl::Seconds(20);  // generous: a failure, not a speed goal

std::vector<EnvTask> Tasks(const std::string& prefix, int n) {
  std::vector<EnvTask> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back({prefix + "-" + std::to_string(i), "t"});
  return tasks;
}

// A coordinator service behind a gRPC server on 127.0.0.1. Leases run on a
// FakeClock; heartbeats of the clients run in real time at `beat`.
class Coordinator {
 public:
  explicit Coordinator(absl::Duration beat, int port = 0) {
    CoordinatorOptions o;
    o.registry.lease = absl::Seconds(10);
    o.heartbeat_interval = beat;
    o.envs = {{"textcraft", 1.0, Tasks("tc", 20)}, {"babyai", 1.0, Tasks("ba", 20)}};
    o.curriculum.default_track = {{10, 20, 30}, {0, 100, 200}};
    o.curriculum.per_env["babyai"] = {{6, 13, 20}, {0, 100, 200}};
    auto service = CoordinatorService::Create(std::move(o), &clock_, &metrics_, nullptr);
    EXPECT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
  }
  ~Coordinator() {
    service_->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now());
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  CoordinatorService& service() { return *service_; }
  FakeClock& clock() { return clock_; }
  const pb::ComponentStatus* Find(const pb::RunStatus& status, const std::string& id) {
    for (const auto& c : status.components()) {
      if (c.component_id() == id) return &c;
    }
    return nullptr;
  }

 private:
  FakeClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

CoordinatorClientOptions Options(const std::string& address, pb::Role role,
                                 const std::string& own_address = "") {
  CoordinatorClientOptions o;
  o.coordinator = address;
  o.registration.set_role(role);
  o.registration.set_address(own_address);
  o.rpc_timeout = absl::Seconds(5);
  o.connect_timeout = absl::Seconds(5);
  o.retry_interval = absl::Milliseconds(20);
  return o;
}

std::unique_ptr<CoordinatorClient> Connect(CoordinatorClientOptions options) {
  auto client = CoordinatorClient::Connect(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

TEST(CoordinatorClientTest, ListenersSeeStageChangesAndTasksCarryTheHorizon) {
  Coordinator coordinator(absl::Milliseconds(20));
  auto env = Options(coordinator.address(), pb::ROLE_ENV_SERVER, "127.0.0.1:5001");
  env.registration.mutable_capabilities()->add_envs("babyai");
  auto env_server = Connect(env);
  auto learner_options = Options(coordinator.address(), pb::ROLE_LEARNER, "127.0.0.1:6000");
  learner_options.registration.mutable_capabilities()->set_rendezvous_address("127.0.0.1:29500");
  auto learner = Connect(learner_options);
  auto actor = Connect(Options(coordinator.address(), pb::ROLE_ACTOR));
  ASSERT_TRUE(env_server && learner && actor);
  EXPECT_EQ(actor->directives().learner_address(), "127.0.0.1:6000");
  EXPECT_EQ(actor->directives().rendezvous_address(), "127.0.0.1:29500");
  EXPECT_EQ(actor->MaxTurnsFor("babyai"), 6);
  EXPECT_EQ(actor->MaxTurnsFor("textcraft"), 10);  // the default track

  absl::Notification moved;
  actor->AddListener([&](const pb::Directives& d) {
    if (HorizonFor(d.horizon(), "babyai") == 13 && !moved.HasBeenNotified()) moved.Notify();
  });
  pb::ReportProgressRequest progress;
  progress.set_step(100);
  progress.set_policy_version(7);
  auto reported = learner->ReportProgress(progress);
  ASSERT_TRUE(reported.ok()) << reported.status();
  EXPECT_EQ(reported->stage_changes_size(), 2);
  // Pushed to the actor by its heartbeat thread, without any call of its own.
  ASSERT_TRUE(moved.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ(actor->MaxTurnsFor("babyai"), 13);
  EXPECT_EQ(actor->MaxTurnsFor("textcraft"), 20);
  EXPECT_EQ(actor->directives().policy_version(), 7);

  auto tasks = actor->GetTasks(2, 4, {"babyai"});
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_EQ(tasks->groups_size(), 2);
  EXPECT_EQ(tasks->groups(0).tasks(0).max_turns(), 13);
  EXPECT_EQ(tasks->groups(0).tasks(0).env_server_address(), "127.0.0.1:5001");
}

TEST(CoordinatorClientTest, RegistersAgainUnderItsIdAfterTheLeaseLapsed) {
  Coordinator coordinator(absl::Hours(1));  // no beats: the test drives every call
  auto env = Options(coordinator.address(), pb::ROLE_ENV_SERVER, "127.0.0.1:5001");
  env.registration.mutable_capabilities()->add_envs("textcraft");
  auto env_server = Connect(env);
  auto actor = Connect(Options(coordinator.address(), pb::ROLE_ACTOR));
  ASSERT_TRUE(env_server && actor);
  const std::string id = actor->component_id();
  auto first = actor->GetTasks(2, 2);
  ASSERT_TRUE(first.ok()) << first.status();
  actor->CompleteGroups({first->groups(0).group_id()});

  coordinator.clock().Advance(absl::Seconds(11));
  EXPECT_EQ(coordinator.service().Reap(), 2);  // both lapsed
  const pb::RunStatus down = coordinator.service().Status();
  ASSERT_NE(coordinator.Find(down, id), nullptr);
  EXPECT_EQ(coordinator.Find(down, id)->health(), pb::HEALTH_DOWN);
  EXPECT_EQ(coordinator.service().reassign_queue_size(), 2u);  // the completion never arrived

  // The env server comes back; the actor's next call finds its lease lapsed,
  // registers again under the same id, and its pending completion still
  // counts: group 0 leaves the queue, group 1 comes back (renamed), plus a
  // fresh one.
  auto env_again = Connect(env);
  ASSERT_TRUE(env_again);
  auto second = actor->GetTasks(2, 2);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(actor->component_id(), id);
  EXPECT_EQ(actor->registrations(), 2);
  ASSERT_EQ(second->groups_size(), 2);
  EXPECT_TRUE(second->groups(0).reassigned());
  EXPECT_EQ(second->groups(0).original_group_id(), first->groups(1).group_id());
  EXPECT_FALSE(second->groups(1).reassigned());
  EXPECT_EQ(coordinator.service().reassign_queue_size(), 0u);
  const pb::RunStatus up = coordinator.service().Status();
  EXPECT_EQ(coordinator.Find(up, id)->health(), pb::HEALTH_UP);
  EXPECT_EQ(coordinator.Find(up, id)->outstanding_groups(), 2);
}

TEST(CoordinatorClientTest, CompletedGroupsTravelWithTheNextCall) {
  Coordinator coordinator(absl::Hours(1));
  auto env = Options(coordinator.address(), pb::ROLE_ENV_SERVER, "127.0.0.1:5001");
  env.registration.mutable_capabilities()->add_envs("textcraft");
  auto env_server = Connect(env);
  auto actor = Connect(Options(coordinator.address(), pb::ROLE_ACTOR));
  ASSERT_TRUE(env_server && actor);
  auto first = actor->GetTasks(3, 1);
  ASSERT_TRUE(first.ok());
  actor->CompleteGroups({first->groups(0).group_id(), first->groups(2).group_id()});
  ASSERT_TRUE(actor->GetTasks(1, 1).ok());
  const pb::RunStatus status = coordinator.service().Status();
  EXPECT_EQ(coordinator.Find(status, actor->component_id())->outstanding_groups(), 2);
}

// BeatSoon sends the load at once rather than after the (here hour-long)
// heartbeat interval.
TEST(CoordinatorClientTest, BeatSoonSendsTheLoadNow) {
  Coordinator coordinator(absl::Hours(1));
  auto learner = Connect(Options(coordinator.address(), pb::ROLE_LEARNER, "127.0.0.1:6001"));
  ASSERT_TRUE(learner);
  pb::ComponentLoad load;
  (*load.mutable_queue_depths())[kReadyGroupsDepth] = 7;
  learner->SetLoad(load);
  learner->BeatSoon();
  const absl::Time deadline = absl::Now() + kWait;
  int64_t seen = -1;
  while (absl::Now() < deadline && seen != 7) {
    const pb::RunStatus status = coordinator.service().Status();
    const pb::ComponentStatus* c = coordinator.Find(status, learner->component_id());
    if (c != nullptr && c->load().queue_depths().count(kReadyGroupsDepth) > 0) {
      seen = c->load().queue_depths().at(kReadyGroupsDepth);
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(seen, 7);
}

TEST(CoordinatorClientTest, CloseReportsFinishedGroupsThenDeregisters) {
  Coordinator coordinator(absl::Hours(1));
  auto env = Options(coordinator.address(), pb::ROLE_ENV_SERVER, "127.0.0.1:5001");
  env.registration.mutable_capabilities()->add_envs("textcraft");
  auto env_server = Connect(env);
  auto actor = Connect(Options(coordinator.address(), pb::ROLE_ACTOR));
  ASSERT_TRUE(env_server && actor);
  const std::string id = actor->component_id();
  auto tasks = actor->GetTasks(2, 1);
  ASSERT_TRUE(tasks.ok());
  actor->CompleteGroups({tasks->groups(0).group_id()});
  actor->Close();
  // Only the unfinished group goes back in line; the actor is gone.
  EXPECT_EQ(coordinator.service().reassign_queue_size(), 1u);
  EXPECT_EQ(coordinator.Find(coordinator.service().Status(), id), nullptr);
}

TEST(CoordinatorClientTest, KeepsItsDirectivesWhileTheCoordinatorIsAwayAndComesBack) {
  auto coordinator = std::make_unique<Coordinator>(absl::Milliseconds(20));
  const int port = coordinator->port();
  auto learner = Connect(Options(coordinator->address(), pb::ROLE_LEARNER, "127.0.0.1:6000"));
  ASSERT_TRUE(learner);
  pb::ReportProgressRequest progress;
  progress.set_step(150);
  ASSERT_TRUE(learner->ReportProgress(progress).ok());

  absl::Notification gone, back;
  auto options = Options(coordinator->address(), pb::ROLE_ACTOR);
  options.on_disconnected = [&](const absl::Status&) {
    if (!gone.HasBeenNotified()) gone.Notify();
  };
  options.on_registered = [&](const std::string&, int64_t n) {
    if (n == 2 && !back.HasBeenNotified()) back.Notify();
  };
  auto actor = Connect(options);
  ASSERT_TRUE(actor);
  const std::string id = actor->component_id();
  EXPECT_EQ(actor->MaxTurnsFor("textcraft"), 20);

  coordinator.reset();  // the coordinator goes away
  ASSERT_TRUE(gone.WaitForNotificationWithTimeout(kWait));
  EXPECT_FALSE(actor->connected());
  EXPECT_EQ(actor->MaxTurnsFor("textcraft"), 20);  // last instructions stay in force
  EXPECT_EQ(actor->GetTasks(1, 1).status().code(), absl::StatusCode::kUnavailable);

  // A fresh coordinator on the same port has never heard of the actor: its
  // next beat gets NOT_FOUND and it registers again under its old id.
  coordinator = std::make_unique<Coordinator>(absl::Milliseconds(20), port);
  ASSERT_EQ(coordinator->port(), port);
  ASSERT_TRUE(back.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ(actor->component_id(), id);
  ASSERT_TRUE(actor->WaitFor([](const pb::Directives& d) { return d.training_step() == 0; },
                             kWait));
  EXPECT_EQ(actor->MaxTurnsFor("textcraft"), 10);  // the new coordinator's stage
  const pb::RunStatus status = coordinator->service().Status();
  ASSERT_NE(coordinator->Find(status, id), nullptr);
  EXPECT_EQ(coordinator->Find(status, id)->health(), pb::HEALTH_UP);
}

TEST(CoordinatorClientTest, ConnectSaysWhenNoCoordinatorAnswers) {
  testutil::ClosedPort closed;
  auto options = Options(closed.address(), pb::ROLE_ACTOR);
  options.connect_timeout = absl::Milliseconds(200);
  auto client = CoordinatorClient::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(client.status().message().find("no coordinator answered at " + closed.address()),
            std::string::npos)
      << client.status();
}

TEST(CoordinatorClientTest, RefusedRegistrationIsNotRetried) {
  Coordinator coordinator(absl::Hours(1));
  auto options = Options(coordinator.address(), pb::ROLE_ENV_SERVER, "127.0.0.1:5001");
  options.connect_timeout = absl::Hours(1);  // a retry loop would hang the test
  auto client = CoordinatorClient::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(client.status().message().find("capabilities.envs"), std::string::npos)
      << client.status();
  EXPECT_EQ(CoordinatorClient::Connect(CoordinatorClientOptions{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HorizonForTest, UsesTheEnvsTrackElseTheDefault) {
  pb::Horizon h;
  pb::HorizonStage* d = h.add_tracks();
  d->set_max_turns(10);
  pb::HorizonStage* b = h.add_tracks();
  b->set_env("babyai");
  b->set_max_turns(6);
  EXPECT_EQ(HorizonFor(h, "babyai"), 6);
  EXPECT_EQ(HorizonFor(h, "textcraft"), 10);
  EXPECT_EQ(HorizonFor(pb::Horizon(), "textcraft"), 0);
}

}  // namespace
}  // namespace agentgym::scheduler
