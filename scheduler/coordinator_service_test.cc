#include "scheduler/coordinator_service.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "core/logging.h"
#include "core/metrics_jsonl.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "scheduler/testing/coordinator_service_fixture.h"
#include "spdlog/sinks/ringbuffer_sink.h"

namespace agentgym::scheduler {
namespace {

using testing::CoordinatorServiceTest;
using testing::DefaultOptions;
using testing::Tasks;
using ::grpc::StatusCode;

TEST_F(CoordinatorServiceTest, StatusReflectsRegisteredComponents) {
  Start();
  std::string env = Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft", "babyai"});
  std::string actor = Register(pb::ROLE_ACTOR, "");
  pb::RegisterRequest learner;
  learner.set_role(pb::ROLE_LEARNER);
  learner.set_address("127.0.0.1:6000");
  learner.mutable_capabilities()->set_world_size(1);
  learner.mutable_capabilities()->set_rendezvous_address("127.0.0.1:29500");
  pb::RegisterResponse resp;
  ASSERT_TRUE(stub_->Register(Ctx().get(), learner, &resp).ok());
  EXPECT_EQ(resp.directives().learner_address(), "127.0.0.1:6000");
  EXPECT_EQ(resp.directives().rendezvous_address(), "127.0.0.1:29500");
  ASSERT_EQ(resp.directives().env_servers_size(), 1);

  pb::RunStatus status = Status();
  ASSERT_EQ(status.components_size(), 3);
  std::map<std::string, pb::ComponentStatus> by_id;
  for (const auto& c : status.components()) by_id[c.component_id()] = c;
  EXPECT_EQ(by_id[env].role(), pb::ROLE_ENV_SERVER);
  EXPECT_EQ(by_id[env].health(), pb::HEALTH_UP);
  EXPECT_EQ(by_id[actor].role(), pb::ROLE_ACTOR);
  EXPECT_EQ(by_id[resp.component_id()].role(), pb::ROLE_LEARNER);
  EXPECT_EQ(status.learner_address(), "127.0.0.1:6000");
  EXPECT_EQ(status.horizon().tracks_size(), 2);
  EXPECT_EQ(status.envs_size(), 3);  // every configured env, before any report
  EXPECT_NE(metrics_.PrometheusText().find("agentgym_components_up{role=\"actor\"} 1"),
            std::string::npos);

  // Heartbeat load shows up in status.
  pb::HeartbeatRequest beat;
  beat.set_component_id(actor);
  beat.mutable_load()->set_idle_ratio(0.25);
  (*beat.mutable_load()->mutable_queue_depths())["pending"] = 3;
  pb::EnvServerUsage* u = beat.mutable_load()->add_env_usage();
  u->set_address("127.0.0.1:5001");
  u->set_episodes(40);
  u->set_env_errors(2);
  pb::HeartbeatResponse hb;
  ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), beat, &hb).ok());
  status = Status();
  EXPECT_DOUBLE_EQ(status.rollout_idle_ratio(), 0.25);
  EXPECT_EQ(status.queue_depths().at(actor + "/pending"), 3);
  ASSERT_EQ(status.env_servers_size(), 1);
  EXPECT_DOUBLE_EQ(status.env_servers(0).error_rate(), 0.05);
  EXPECT_EQ(status.env_servers(0).health(), pb::HEALTH_UP);
}

TEST_F(CoordinatorServiceTest, StageChangesReachActorsMetricsAndJsonl) {
  std::string path = "/tmp/coordinator_service_test." + std::to_string(::getpid()) + ".jsonl";
  std::remove(path.c_str());
  auto jsonl = metrics::JsonlWriter::Open(path, &clock_);
  ASSERT_TRUE(jsonl.ok());
  Start(DefaultOptions(), jsonl->get());
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"babyai"});
  std::string actor = Register(pb::ROLE_ACTOR, "");
  std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6000");
  ASSERT_TRUE(Progress(learner, 99).ok());
  pb::ReportProgressResponse moved;
  ASSERT_TRUE(Progress(learner, 100, &moved).ok());
  ASSERT_EQ(moved.stage_changes_size(), 2);  // default and babyai tracks

  pb::HeartbeatRequest beat;
  beat.set_component_id(actor);
  pb::HeartbeatResponse hb;
  ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), beat, &hb).ok());
  EXPECT_EQ(hb.directives().training_step(), 100);
  EXPECT_EQ(hb.directives().horizon().revision(), 2);
  for (const auto& t : hb.directives().horizon().tracks()) {
    EXPECT_EQ(t.stage(), 1);
    EXPECT_EQ(t.max_turns(), t.env() == "babyai" ? 13 : 20);
  }
  pb::GetTasksResponse tasks;
  ASSERT_TRUE(GetTasks(actor, 1, 1, &tasks).ok());
  EXPECT_EQ(tasks.groups(0).tasks(0).max_turns(), 13);

  std::string prom = metrics_.PrometheusText();
  EXPECT_NE(prom.find("agentgym_horizon_max_turns{env=\"babyai\"} 13"), std::string::npos);
  EXPECT_NE(prom.find("agentgym_curriculum_stage_changes_total{env=\"babyai\",reason=\"schedule\"} 1"),
            std::string::npos);
  pb::RunStatus status = Status();
  EXPECT_EQ(status.recent_stage_changes_size(), 2);
  EXPECT_EQ(status.training_step(), 100);

  std::ifstream in(path);
  std::string line;
  int steps = 0, events = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("event")) {
      ++events;
      EXPECT_EQ(j["step"], 100);
    } else {
      ++steps;
      EXPECT_TRUE(j["metrics"].contains("agentgym_training_step"));
    }
  }
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(events, 2);
  std::remove(path.c_str());
}

TEST_F(CoordinatorServiceTest, ARetriedReportFeedsTheAdaptiveRuleOnce) {
  CoordinatorOptions o = DefaultOptions();
  o.curriculum.mode = CurriculumOptions::Mode::kAdaptive;
  o.curriculum.per_env.clear();
  o.curriculum.adaptive.window = 2;
  o.curriculum.adaptive.success_threshold = 0.9;
  o.curriculum.adaptive.min_steps_per_stage = 0;
  Start(o);
  std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6000");
  auto report = [&](int64_t step) {
    pb::ReportProgressRequest req;
    req.set_component_id(learner);
    req.set_step(step);
    pb::EnvStats* e = req.add_env_stats();
    e->set_env("textcraft");
    e->set_episodes(10);
    e->set_successes(10);
    pb::ReportProgressResponse resp;
    EXPECT_TRUE(stub_->ReportProgress(Ctx().get(), req, &resp).ok());
    return resp.stage_changes_size();
  };
  EXPECT_EQ(report(1), 0);
  EXPECT_EQ(report(1), 0);  // a retry: still one observation in a window of two
  EXPECT_EQ(Status().horizon().tracks(0).max_turns(), 10);
  EXPECT_EQ(report(2), 1);  // the second real step fills the window
  EXPECT_EQ(Status().horizon().tracks(0).max_turns(), 20);
}

TEST_F(CoordinatorServiceTest, StallGuardAdvancesFromLearnerHealthAndReportsItsFailure) {
  CoordinatorOptions o = DefaultOptions();
  o.curriculum.per_env.clear();
  o.curriculum.default_track = {{10, 20}, {0, 1000}};
  o.curriculum.guard.enabled = true;
  o.curriculum.guard.patience_steps = 2;
  Start(o);
  std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6000");
  auto report = [&](int64_t step, std::optional<double> mixed) {
    pb::ReportProgressRequest req;
    req.set_component_id(learner);
    req.set_step(step);
    if (mixed) req.set_mixed_group_fraction(*mixed);
    req.set_policy_entropy(0.5);
    pb::ReportProgressResponse resp;
    EXPECT_TRUE(stub_->ReportProgress(Ctx().get(), req, &resp).ok());
    return resp;
  };
  report(1, 0.0);
  report(1, 0.0);  // a retried report is one step, not two
  EXPECT_EQ(Status().curriculum_guard().stalled_steps(), 1);
  pb::ReportProgressResponse moved = report(2, 0.0);
  ASSERT_EQ(moved.stage_changes_size(), 1);
  EXPECT_EQ(moved.stage_changes(0).reason(), "guard");
  pb::RunStatus status = Status();
  EXPECT_EQ(status.horizon().tracks(0).max_turns(), 20);
  EXPECT_TRUE(status.curriculum_guard().enabled());
  EXPECT_EQ(status.curriculum_guard().interventions(), 1);
  EXPECT_DOUBLE_EQ(status.curriculum_guard().policy_entropy(), 0.5);
  EXPECT_TRUE(status.curriculum_guard().failure().empty());
  report(3, std::nullopt);  // PPO sends no fraction: not a stalled step
  report(4, 0.0);
  report(5, 0.0);
  status = Status();
  EXPECT_NE(status.curriculum_guard().failure().find("training stalled"), std::string::npos)
      << status.curriculum_guard().DebugString();
}

TEST_F(CoordinatorServiceTest, BadRequestsGetClearErrors) {
  Start();
  std::string env = Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  pb::HeartbeatRequest beat;
  beat.set_component_id("no-such-id");
  pb::HeartbeatResponse hb;
  grpc::Status s = stub_->Heartbeat(Ctx().get(), beat, &hb);
  EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND);
  EXPECT_NE(s.error_message().find("no-such-id"), std::string::npos);

  pb::SetHorizonRequest horizon;
  horizon.set_max_turns(-5);
  pb::SetHorizonResponse hr;
  s = stub_->SetHorizon(Ctx().get(), horizon, &hr);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("-5"), std::string::npos);

  pb::GetTasksResponse tasks;
  s = GetTasks(env, 1, 1, &tasks);
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("this call is for actor components"), std::string::npos);
  EXPECT_EQ(GetTasks("nobody", 1, 1, &tasks).error_code(), StatusCode::NOT_FOUND);
  std::string actor = Register(pb::ROLE_ACTOR, "");
  EXPECT_EQ(GetTasks(actor, 1, 0, &tasks).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(GetTasks(actor, 5000, 1, &tasks).error_code(), StatusCode::INVALID_ARGUMENT);
  pb::GetTasksRequest unknown_env;
  unknown_env.set_component_id(actor);
  unknown_env.set_num_groups(1);
  unknown_env.set_group_size(1);
  unknown_env.add_envs("nethack");
  s = stub_->GetTasks(Ctx().get(), unknown_env, &tasks);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("nethack"), std::string::npos);

  EXPECT_EQ(Progress(actor, 1).error_code(), StatusCode::FAILED_PRECONDITION);
  std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6000");
  EXPECT_EQ(Progress(learner, -1).error_code(), StatusCode::INVALID_ARGUMENT);

  pb::RegisterRequest bad;
  bad.set_role(pb::ROLE_ENV_SERVER);
  bad.set_address("127.0.0.1:1");
  pb::RegisterResponse rr;
  s = stub_->Register(Ctx().get(), bad, &rr);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("envs"), std::string::npos);
  pb::DeregisterRequest dereg;
  dereg.set_component_id("ghost");
  pb::DeregisterResponse dr;
  EXPECT_EQ(stub_->Deregister(Ctx().get(), dereg, &dr).error_code(), StatusCode::NOT_FOUND);
  pb::RestoreCurriculumStateRequest restore;
  pb::RestoreCurriculumStateResponse rs;
  EXPECT_EQ(stub_->RestoreCurriculumState(Ctx().get(), restore, &rs).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

// "Register again" is told by trailing metadata on exactly those errors,
// not by the message: an unknown horizon track is NOT_FOUND too, a wrong
// role FAILED_PRECONDITION too, and neither carries it.
TEST_F(CoordinatorServiceTest, RegisterAgainIsStructuredAsTrailingMetadata) {
  Start();
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  std::string actor = Register(pb::ROLE_ACTOR, "");
  auto says_register_again = [](const grpc::ClientContext& ctx) {
    const auto& trailers = ctx.GetServerTrailingMetadata();
    auto it = trailers.find(kRegisterAgainMetadataKey);
    return it != trailers.end() && it->second == "1";
  };
  {  // unknown id
    auto ctx = Ctx();
    pb::HeartbeatRequest beat;
    beat.set_component_id("no-such-id");
    pb::HeartbeatResponse hb;
    EXPECT_EQ(stub_->Heartbeat(ctx.get(), beat, &hb).error_code(), StatusCode::NOT_FOUND);
    EXPECT_TRUE(says_register_again(*ctx));
  }
  {  // unknown horizon track: NOT_FOUND, but not about registration
    auto ctx = Ctx();
    pb::SetHorizonRequest req;
    req.set_env("nethack");
    req.set_max_turns(5);
    pb::SetHorizonResponse resp;
    EXPECT_EQ(stub_->SetHorizon(ctx.get(), req, &resp).error_code(), StatusCode::NOT_FOUND);
    EXPECT_FALSE(says_register_again(*ctx));
  }
  {  // wrong role: FAILED_PRECONDITION, but registering again would not help
    auto ctx = Ctx();
    pb::ReportProgressRequest req;
    req.set_component_id(actor);
    req.set_step(1);
    pb::ReportProgressResponse resp;
    EXPECT_EQ(stub_->ReportProgress(ctx.get(), req, &resp).error_code(),
              StatusCode::FAILED_PRECONDITION);
    EXPECT_FALSE(says_register_again(*ctx));
  }
  clock_.Advance(absl::Seconds(11));
  EXPECT_EQ(service_->Reap(), 2);
  {  // lapsed lease, on GetTasks and on Heartbeat
    auto ctx = Ctx();
    pb::GetTasksRequest req;
    req.set_component_id(actor);
    req.set_num_groups(1);
    req.set_group_size(1);
    pb::GetTasksResponse resp;
    EXPECT_EQ(stub_->GetTasks(ctx.get(), req, &resp).error_code(),
              StatusCode::FAILED_PRECONDITION);
    EXPECT_TRUE(says_register_again(*ctx));
    auto beat_ctx = Ctx();
    pb::HeartbeatRequest beat;
    beat.set_component_id(actor);
    pb::HeartbeatResponse hb;
    EXPECT_EQ(stub_->Heartbeat(beat_ctx.get(), beat, &hb).error_code(),
              StatusCode::FAILED_PRECONDITION);
    EXPECT_TRUE(says_register_again(*beat_ctx));
  }
}

TEST_F(CoordinatorServiceTest, PauseStopsTasksUntilResume) {
  Start();
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  std::string actor = Register(pb::ROLE_ACTOR, "");
  pb::PauseResponse pr;
  pb::PauseRequest pause;
  pause.set_reason("test");
  ASSERT_TRUE(stub_->Pause(Ctx().get(), pause, &pr).ok());
  EXPECT_FALSE(pr.was_paused());
  pb::GetTasksResponse tasks;
  ASSERT_TRUE(GetTasks(actor, 2, 2, &tasks).ok());
  EXPECT_TRUE(tasks.paused());
  EXPECT_EQ(tasks.groups_size(), 0);
  EXPECT_TRUE(Status().paused());
  pb::ResumeResponse rr;
  ASSERT_TRUE(stub_->Resume(Ctx().get(), pb::ResumeRequest(), &rr).ok());
  EXPECT_TRUE(rr.was_paused());
  ASSERT_TRUE(GetTasks(actor, 2, 2, &tasks).ok());
  EXPECT_EQ(tasks.groups_size(), 2);
}

TEST_F(CoordinatorServiceTest, CurriculumStateSurvivesACoordinatorRestart) {
  Start();
  std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6000");
  ASSERT_TRUE(Progress(learner, 150).ok());
  pb::SetHorizonRequest pin;
  pin.set_env("babyai");
  pin.set_max_turns(17);
  pb::SetHorizonResponse hr;
  ASSERT_TRUE(stub_->SetHorizon(Ctx().get(), pin, &hr).ok());
  pb::CurriculumState saved;
  ASSERT_TRUE(
      stub_->GetCurriculumState(Ctx().get(), pb::GetCurriculumStateRequest(), &saved).ok());

  TearDown();
  Start();  // a fresh coordinator: stage 0 everywhere
  EXPECT_EQ(Status().horizon().tracks(0).stage(), 0);
  pb::RestoreCurriculumStateRequest restore;
  *restore.mutable_state() = saved;
  pb::RestoreCurriculumStateResponse rs;
  ASSERT_TRUE(stub_->RestoreCurriculumState(Ctx().get(), restore, &rs).ok());
  for (const auto& t : rs.horizon().tracks()) {
    EXPECT_EQ(t.stage(), 1);
    EXPECT_EQ(t.max_turns(), t.env() == "babyai" ? 17 : 20);
    EXPECT_EQ(t.pinned(), t.env() == "babyai");
  }
}

TEST(CoordinatorStateFileTest, AStateFileThatCannotBeWrittenStopsTheStart) {
  CoordinatorOptions o = DefaultOptions();
  o.state_file = "/nonexistent-agentgym-dir/state.json";
  FakeClock clock;
  metrics::Registry metrics;
  auto service = CoordinatorService::Create(o, &clock, &metrics, nullptr);
  ASSERT_FALSE(service.ok());
  EXPECT_EQ(service.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(service.status().message().find("/nonexistent-agentgym-dir/state.json"),
            std::string::npos)
      << service.status();
  EXPECT_NE(service.status().message().find("No such file or directory"), std::string::npos)
      << service.status();
}

// Writable at start, failing later (say the disk filled): one warning per run
// of failures, every failure counted, and a new warning after a recovery.
TEST_F(CoordinatorServiceTest, LaterStateFileFailuresWarnOnceAndAreCounted) {
  const std::string dir = "/tmp/coordinator_service_test.state." + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(std::filesystem::create_directory(dir));
  CoordinatorOptions o = DefaultOptions();
  o.state_file = dir + "/state.json";
  Start(o);
  EXPECT_TRUE(std::filesystem::exists(o.state_file));  // written at start
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(128);
  auto logger = GetLogger("coordinator");
  logger->sinks().push_back(sink);
  auto warnings = [&] {
    int n = 0;
    for (const std::string& line : sink->last_formatted()) {
      if (line.find("cannot write coordinator state file") != std::string::npos &&
          line.find("warning once") != std::string::npos) {
        ++n;
      }
    }
    return n;
  };
  std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6000");
  std::filesystem::remove_all(dir);
  for (int step = 1; step <= 3; ++step) ASSERT_TRUE(Progress(learner, step).ok());
  EXPECT_EQ(warnings(), 1);
  EXPECT_NE(metrics_.PrometheusText().find("agentgym_state_file_write_errors_total 3"),
            std::string::npos);
  ASSERT_TRUE(std::filesystem::create_directory(dir));
  ASSERT_TRUE(Progress(learner, 4).ok());
  EXPECT_TRUE(std::filesystem::exists(o.state_file));
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(Progress(learner, 5).ok());
  EXPECT_EQ(warnings(), 2);
  logger->sinks().pop_back();
}

TEST_F(CoordinatorServiceTest, WatchStatusStreamsChanges) {
  Start();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  pb::WatchStatusRequest req;
  req.set_min_interval_ms(1);
  req.set_max_interval_ms(60000);
  auto reader = stub_->WatchStatus(&ctx, req);
  pb::RunStatus status;
  ASSERT_TRUE(reader->Read(&status));
  EXPECT_FALSE(status.paused());
  pb::PauseResponse pr;
  ASSERT_TRUE(stub_->Pause(Ctx().get(), pb::PauseRequest(), &pr).ok());
  ASSERT_TRUE(reader->Read(&status));  // pushed by the change, not the 60 s tick
  EXPECT_TRUE(status.paused());
  ctx.TryCancel();
  reader->Finish();
}


// Actors' heartbeat counters and the learner's report add up to the run's
// accounting identity, also across an actor restart and a coordinator restart.
TEST_F(CoordinatorServiceTest, RunAccountingCombinesActorsAndTheLearner) {
  const std::string state = ::testing::TempDir() + "/accounting-state.json";
  std::remove(state.c_str());
  CoordinatorOptions options = DefaultOptions();
  options.state_file = state;
  Start(options);
  auto register_actor = [&](const std::string& incarnation) {
    pb::RegisterRequest req;
    req.set_role(pb::ROLE_ACTOR);
    req.set_component_id("actor-0");
    (*req.mutable_capabilities()->mutable_extra())[kIncarnationKey] = incarnation;
    pb::RegisterResponse resp;
    EXPECT_TRUE(stub_->Register(Ctx().get(), req, &resp).ok());
    return resp.component_id();
  };
  auto beat = [&](const std::string& id, int64_t produced, int64_t unacked) {
    pb::HeartbeatRequest req;
    req.set_component_id(id);
    auto& q = *req.mutable_load()->mutable_queue_depths();
    q[kActorProduced] = produced;
    q[kActorUnacked] = unacked;
    q[kActorEnvError] = 1;
    q[kActorDropped] = 2;
    pb::HeartbeatResponse resp;
    ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), req, &resp).ok());
  };
  auto identity_holds = [](const pb::Accounting& a) {
    return a.produced() ==
           a.trained() + a.stale() + a.rejected() + a.env_error() + a.dropped() + a.in_flight();
  };
  std::string actor = register_actor("first");
  // 22 = 20 acked + 2 dropped; the 1 env error is among them (diagnostic:
  // the learner counts the env errors it receives).
  beat(actor, 22, 0);
  std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6000");
  ASSERT_TRUE(Progress(learner, 1).ok());  // received 20: 16 trained, 4 buffered
  pb::Accounting a = Status().accounting();
  EXPECT_EQ(a.produced(), 22);
  EXPECT_EQ(a.dropped(), 2);
  EXPECT_EQ(a.env_error(), 0);
  EXPECT_TRUE(identity_holds(a)) << a.ShortDebugString();

  // The actor is killed holding 5 unacknowledged and comes back.
  beat(actor, 27, 5);
  register_actor("second");
  beat(actor, 2, 0);  // 2 = 0 acked + 2 dropped
  a = Status().accounting();
  EXPECT_EQ(a.produced(), 29);
  EXPECT_EQ(a.dropped(), 2 + 5 + 2);
  EXPECT_TRUE(identity_holds(a)) << a.ShortDebugString();

  // A restarted coordinator keeps what the retired process counted.
  TearDown();
  Start(options);
  actor = register_actor("second");
  beat(actor, 2, 0);
  learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6000");
  ASSERT_TRUE(Progress(learner, 1).ok());
  a = Status().accounting();
  EXPECT_EQ(a.produced(), 29);
  EXPECT_TRUE(identity_holds(a)) << a.ShortDebugString();
}

}  // namespace
}  // namespace agentgym::scheduler
