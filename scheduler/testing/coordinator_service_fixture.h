#ifndef AGENTGYM_SCHEDULER_TESTING_COORDINATOR_SERVICE_FIXTURE_H_
#define AGENTGYM_SCHEDULER_TESTING_COORDINATOR_SERVICE_FIXTURE_H_

// The CoordinatorService behind a real gRPC server on 127.0.0.1:0 with a
// FakeClock and a FakeFetcher, for coordinator_service_test.cc and
// coordinator_tasks_test.cc.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "scheduler/coordinator_service.h"

namespace agentgym::scheduler::testing {

using ::grpc::StatusCode;

// Hands out a fixed task list per env (or the list in `lists_`) and counts
// calls. "broken" is down; "legacy" does not implement ListTasks.
class FakeFetcher : public TaskFetcher {
 public:
  absl::StatusOr<std::vector<EnvTask>> ListTrainTasks(const std::string& address,
                                                      const std::string& env) override {
    calls_.fetch_add(1);
    if (env == "broken") return absl::UnavailableError("env server is down");
    if (env == "legacy") return absl::UnimplementedError("ListTasks");
    if (auto it = lists_.find(env); it != lists_.end()) return it->second;
    std::vector<EnvTask> tasks;
    for (int i = 0; i < 6; ++i) tasks.push_back({env + "-fetched-" + std::to_string(i), "t"});
    return tasks;
  }
  std::atomic<int> calls_{0};
  std::map<std::string, std::vector<EnvTask>> lists_;  // set before Start()'s service runs
};

inline std::vector<EnvTask> Tasks(const std::string& prefix, int n) {
  std::vector<EnvTask> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back({prefix + "-" + std::to_string(i), "t"});
  return tasks;
}

inline CoordinatorOptions DefaultOptions() {
  CoordinatorOptions o;
  o.registry.lease = absl::Seconds(10);
  o.envs = {{"textcraft", 1.0, Tasks("tc", 20)}, {"babyai", 1.0, Tasks("ba", 20)},
            {"webshop", 1.0, {}}};
  o.curriculum.default_track = {{10, 20, 30}, {0, 100, 200}};
  o.curriculum.per_env["babyai"] = {{6, 13, 20}, {0, 100, 200}};
  // These env servers are registrations only; the check of config task lists
  // against a server's train list has its own tests.
  o.verify_config_tasks = false;
  return o;
}

// The service behind a real gRPC server on 127.0.0.1:0, with a fake clock.
class CoordinatorServiceTest : public ::testing::Test {
 protected:
  void Start(CoordinatorOptions options = DefaultOptions(),
             metrics::JsonlWriter* jsonl = nullptr,
             std::map<std::string, std::vector<EnvTask>> server_lists = {}) {
    auto fetcher = std::make_unique<FakeFetcher>();
    fetcher->lists_ = std::move(server_lists);
    fetcher_ = fetcher.get();
    auto service = CoordinatorService::Create(std::move(options), &clock_, &metrics_,
                                              std::move(fetcher), jsonl);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    target_ = "127.0.0.1:" + std::to_string(port);
    stub_ = pb::Coordinator::NewStub(
        grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (service_) service_->Shutdown();
    if (server_) server_->Shutdown();
    server_.reset();
    service_.reset();
  }

  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }
  std::string Register(pb::Role role, const std::string& address,
                       std::vector<std::string> envs = {}, const std::string& id = "") {
    pb::RegisterRequest req;
    req.set_role(role);
    req.set_address(address);
    req.set_component_id(id);
    for (auto& e : envs) req.mutable_capabilities()->add_envs(e);
    pb::RegisterResponse resp;
    grpc::Status s = stub_->Register(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    last_directives_ = resp.directives();
    return resp.component_id();
  }
  grpc::Status GetTasks(const std::string& actor, int groups, int size,
                        pb::GetTasksResponse* resp) {
    pb::GetTasksRequest req;
    req.set_component_id(actor);
    req.set_num_groups(groups);
    req.set_group_size(size);
    return stub_->GetTasks(Ctx().get(), req, resp);
  }
  grpc::Status Progress(const std::string& learner, int64_t step,
                        pb::ReportProgressResponse* resp = nullptr) {
    pb::ReportProgressRequest req;
    req.set_component_id(learner);
    req.set_step(step);
    req.set_policy_version(step);
    req.mutable_accounting()->set_trained(step * 16);
    req.mutable_accounting()->set_produced(step * 16 + 4);
    req.mutable_accounting()->set_in_flight(4);
    pb::EnvStats* e = req.add_env_stats();
    e->set_env("babyai");
    e->set_episodes(16);
    e->set_successes(8);
    e->set_reward_sum(8);
    pb::ReportProgressResponse ignored;
    return stub_->ReportProgress(Ctx().get(), req, resp ? resp : &ignored);
  }
  pb::RunStatus Status() {
    pb::RunStatus status;
    EXPECT_TRUE(stub_->GetStatus(Ctx().get(), pb::GetStatusRequest(), &status).ok());
    return status;
  }

  FakeClock clock_;
  metrics::Registry metrics_;
  FakeFetcher* fetcher_ = nullptr;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<pb::Coordinator::Stub> stub_;
  std::string target_;  // host:port of server_
  pb::Directives last_directives_;
};

}  // namespace agentgym::scheduler::testing

#endif  // AGENTGYM_SCHEDULER_TESTING_COORDINATOR_SERVICE_FIXTURE_H_
