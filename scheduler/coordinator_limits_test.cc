// What a hostile or buggy client can do to the coordinator, and cannot:
// bounded memory for unfinished work, capped strings, repeated and map fields,
// a status that always fits the default 4 MB client limit, undecodable
// request bytes, and requests that do not make sense.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "scheduler/coordinator_service.h"
#include "scheduler/testing/coordinator_service_fixture.h"

namespace agentgym::scheduler {
namespace {

using testing::CoordinatorServiceTest;
using testing::DefaultOptions;
using ::grpc::StatusCode;

// Resident set size of this process, in MB.
double RssMb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

grpc::Status Beat(pb::Coordinator::Stub& stub, const std::string& id,
                  const std::vector<std::string>& completed = {}) {
  pb::HeartbeatRequest req;
  req.set_component_id(id);
  for (const auto& g : completed) req.add_completed_group_ids(g);
  pb::HeartbeatResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return stub.Heartbeat(&ctx, req, &resp);
}

TEST_F(CoordinatorServiceTest, UnfinishedTasksAreBoundedPerActorAndOverall) {
  CoordinatorOptions options = DefaultOptions();
  options.max_outstanding_tasks_per_actor = 4 * 16384;
  options.max_outstanding_tasks = 6 * 16384;
  Start(options);
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  const std::string a = Register(pb::ROLE_ACTOR, "");
  const std::string b = Register(pb::ROLE_ACTOR, "");
  // One call may not ask for more than max_tasks_per_request.
  pb::GetTasksResponse resp;
  grpc::Status huge = GetTasks(a, 1024, 256, &resp);
  EXPECT_EQ(huge.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(huge.error_message(), "max_tasks_per_request"))
      << huge.error_message();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(GetTasks(a, 64, 256, &resp).ok()) << i;
  grpc::Status mine = GetTasks(a, 64, 256, &resp);
  EXPECT_EQ(mine.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(mine.error_message(), "max_outstanding_tasks_per_actor (65536)"))
      << mine.error_message();
  pb::GetTasksResponse first_of_b, second_of_b, refused;
  ASSERT_TRUE(GetTasks(b, 64, 256, &first_of_b).ok());
  ASSERT_TRUE(GetTasks(b, 64, 256, &second_of_b).ok());
  grpc::Status all = GetTasks(b, 1, 1, &refused);
  EXPECT_EQ(all.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(absl::StrContains(all.error_message(), "max_outstanding_tasks (98304)"))
      << all.error_message();
  // Completing groups makes room again.
  std::vector<std::string> done;
  for (const auto& g : second_of_b.groups()) done.push_back(g.group_id());
  ASSERT_TRUE(Beat(*stub_, b, done).ok());
  EXPECT_TRUE(GetTasks(b, 1, 1, &resp).ok());
}

TEST_F(CoordinatorServiceTest, MemoryComesBackAfterEveryCycleOfHandingOutAndCompleting) {
  Start();
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  const std::string actor = Register(pb::ROLE_ACTOR, "");
  const double start = RssMb();
  double after = start, peak = start;
  for (int cycle = 0; cycle < 6; ++cycle) {
    SCOPED_TRACE(cycle);
    std::vector<std::string> held;
    grpc::Status s;
    for (int call = 0; call < 8; ++call) {  // more than the per-actor bound allows
      pb::GetTasksResponse resp;
      s = GetTasks(actor, 64, 256, &resp);
      if (!s.ok()) break;
      for (const auto& g : resp.groups()) held.push_back(g.group_id());
    }
    EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    EXPECT_EQ(held.size(), 4u * 64u);  // 65536 tasks: the per-actor bound
    peak = std::max(peak, RssMb());
    ASSERT_TRUE(Beat(*stub_, actor, held).ok());
    EXPECT_EQ(service_->outstanding_entries(), 0u);
    after = RssMb();
  }
  std::printf("RSS %.1f MB at start, %.1f MB at the fullest, %.1f MB after 6 cycles\n", start,
              peak, after);
  // What completed groups held is given back, not kept for the next cycle.
  EXPECT_LT(after - start, 16.0) << "RSS went from " << start << " MB to " << after << " MB";
}

TEST_F(CoordinatorServiceTest, ClientStringsAreCappedAndQuotedShortInEveryMessage) {
  Start();
  const std::string huge(9000, 'x');
  auto expect_short_invalid = [](const grpc::Status& s, const std::string& field) {
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << s.error_message().substr(0, 300);
    EXPECT_LT(s.error_message().size(), 600u);
    EXPECT_TRUE(absl::StrContains(s.error_message(), field)) << s.error_message();
  };
  expect_short_invalid(Beat(*stub_, huge), "component_id");
  pb::GetTasksResponse tasks;
  expect_short_invalid(GetTasks(huge, 1, 1, &tasks), "component_id");
  pb::RegisterRequest reg;
  reg.set_role(pb::ROLE_ENV_SERVER);
  reg.set_address(huge + ":1");
  reg.mutable_capabilities()->add_envs("textcraft");
  pb::RegisterResponse rr;
  expect_short_invalid(stub_->Register(Ctx().get(), reg, &rr), "address");
  reg.set_address("127.0.0.1:1");
  reg.set_name(huge);
  expect_short_invalid(stub_->Register(Ctx().get(), reg, &rr), "name");
  reg.clear_name();
  reg.mutable_capabilities()->add_envs(huge);
  expect_short_invalid(stub_->Register(Ctx().get(), reg, &rr), "capabilities.envs");
  // Within the caps, a long unknown id is quoted truncated and the "register
  // again" trailer arrives.
  const std::string long_id(128, 'y');
  grpc::ClientContext ctx;
  pb::HeartbeatRequest beat;
  beat.set_component_id(long_id);
  pb::HeartbeatResponse hb;
  grpc::Status unknown = stub_->Heartbeat(&ctx, beat, &hb);
  EXPECT_EQ(unknown.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(ctx.GetServerTrailingMetadata().count(kRegisterAgainMetadataKey), 1u);
  const std::string actor = Register(pb::ROLE_ACTOR, "");
  pb::GetTasksRequest req;
  req.set_component_id(actor);
  req.set_num_groups(1);
  req.set_group_size(1);
  req.add_envs(std::string(100, 'z'));
  grpc::Status env = stub_->GetTasks(Ctx().get(), req, &tasks);
  EXPECT_EQ(env.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(env.error_message().size(), 600u) << env.error_message();
  // Control calls: SetHorizon's env and Pause's reason are capped too, and a
  // refused Pause pauses nothing.
  pb::SetHorizonRequest horizon;
  horizon.set_env(huge);
  horizon.set_max_turns(4);
  pb::SetHorizonResponse hr;
  grpc::Status set = stub_->SetHorizon(Ctx().get(), horizon, &hr);
  expect_short_invalid(set, "env");
  EXPECT_TRUE(absl::StrContains(set.error_message(), "at most 128")) << set.error_message();
  horizon.set_env(std::string(128, 'h'));  // within the cap, but no such track
  set = stub_->SetHorizon(Ctx().get(), horizon, &hr);
  EXPECT_EQ(set.error_code(), StatusCode::NOT_FOUND) << set.error_message().substr(0, 300);
  EXPECT_LT(set.error_message().size(), 600u);
  pb::PauseRequest pause;
  pause.set_reason(huge);
  pb::PauseResponse pr;
  grpc::Status paused = stub_->Pause(Ctx().get(), pause, &pr);
  expect_short_invalid(paused, "reason");
  EXPECT_TRUE(absl::StrContains(paused.error_message(), "at most 1024")) << paused.error_message();
  EXPECT_FALSE(Status().paused());
  pause.set_reason(std::string(1024, 'r'));  // the cap itself is accepted
  EXPECT_TRUE(stub_->Pause(Ctx().get(), pause, &pr).ok());
  EXPECT_TRUE(Status().paused());
  // A restored curriculum state naming an unknown track quotes it short.
  pb::RestoreCurriculumStateRequest restore;
  restore.mutable_state()->add_tracks()->set_env(huge);
  pb::RestoreCurriculumStateResponse rcr;
  grpc::Status restored = stub_->RestoreCurriculumState(Ctx().get(), restore, &rcr);
  EXPECT_EQ(restored.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_LT(restored.error_message().size(), 600u) << restored.error_message().substr(0, 300);
}

TEST_F(CoordinatorServiceTest, MapFieldsAreCappedAndStatusFitsTheDefaultClientLimit) {
  CoordinatorOptions options = DefaultOptions();
  Start(options);
  pb::RegisterRequest big;
  big.set_role(pb::ROLE_ACTOR);
  for (int i = 0; i < 20000; ++i) {
    (*big.mutable_capabilities()->mutable_extra())["k" + std::to_string(i)] = "v";
  }
  pb::RegisterResponse rr;
  grpc::Status refused = stub_->Register(Ctx().get(), big, &rr);
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "capabilities.extra"))
      << refused.error_message();
  EXPECT_TRUE(absl::StrContains(refused.error_message(), "64")) << refused.error_message();
  // As large as the caps allow: 64 entries of 1 KB, on 120 actors (7.7 MB).
  pb::RegisterRequest full;
  full.set_role(pb::ROLE_ACTOR);
  for (int i = 0; i < 64; ++i) {
    (*full.mutable_capabilities()->mutable_extra())["key" + std::to_string(i)] =
        std::string(1024, 'v');
  }
  for (int i = 0; i < 120; ++i) {
    ASSERT_TRUE(stub_->Register(Ctx().get(), full, &rr).ok()) << i;
  }
  pb::RunStatus status;
  grpc::Status got = stub_->GetStatus(Ctx().get(), pb::GetStatusRequest(), &status);
  ASSERT_TRUE(got.ok()) << got.error_message();
  EXPECT_LT(status.ByteSizeLong(), 4u << 20);
  EXPECT_GT(status.components_omitted(), 0);
  EXPECT_EQ(status.components_size() + status.components_omitted(), 120);
}

// Sends `payload` as the raw request message of `method`.
grpc::Status RawCall(const std::string& target, const std::string& method,
                     const std::string& payload) {
  grpc::GenericStub stub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();  // bounded by the call's deadline
  return status;
}

TEST_F(CoordinatorServiceTest, UndecodableRequestBytesAreInvalidArgumentNamingTheMessage) {
  Start();
  const std::string garbage("\xff\xff\xff\xff\x0f", 5);
  for (const auto& [method, message] : std::vector<std::pair<std::string, std::string>>{
           {"Register", "RegisterRequest"},
           {"Heartbeat", "HeartbeatRequest"},
           {"GetTasks", "GetTasksRequest"},
           {"ReportProgress", "ReportProgressRequest"},
           {"SetHorizon", "SetHorizonRequest"}}) {
    grpc::Status s = RawCall(target_, "/agentgym.coordinator.v1.Coordinator/" + method, garbage);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << method << ": " << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "agentgym.coordinator.v1." + message))
        << s.error_message();
  }
  // A valid message still works through the same path.
  pb::RunStatus status;
  EXPECT_TRUE(stub_->GetStatus(Ctx().get(), pb::GetStatusRequest(), &status).ok());
}

TEST_F(CoordinatorServiceTest, RefusesStatsOfEnvsNotInTheRunAndInvertedWatchIntervals) {
  Start();
  const std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6000");
  pb::ReportProgressRequest req;
  req.set_component_id(learner);
  req.set_step(1);
  pb::EnvStats* e = req.add_env_stats();
  e->set_env("textcraftt");
  e->set_episodes(1);
  pb::ReportProgressResponse resp;
  grpc::Status s = stub_->ReportProgress(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "'textcraftt'")) << s.error_message();
  const pb::RunStatus after = Status();
  for (const auto& env : after.envs()) EXPECT_NE(env.env(), "textcraftt");
  pb::WatchStatusRequest watch;
  watch.set_min_interval_ms(5000);
  watch.set_max_interval_ms(100);
  auto ctx = Ctx();
  auto reader = stub_->WatchStatus(ctx.get(), watch);
  pb::RunStatus status;
  EXPECT_FALSE(reader->Read(&status));
  grpc::Status finished = reader->Finish();
  EXPECT_EQ(finished.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(finished.error_message(), "max_interval_ms"))
      << finished.error_message();
}

}  // namespace
}  // namespace agentgym::scheduler
