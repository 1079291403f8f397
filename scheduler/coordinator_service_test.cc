#include "scheduler/coordinator_service.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "core/logging.h"
#include "core/metrics_jsonl.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/ringbuffer_sink.h"

namespace agentgym::scheduler {
namespace {

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

std::vector<EnvTask> Tasks(const std::string& prefix, int n) {
  std::vector<EnvTask> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back({prefix + "-" + std::to_string(i), "t"});
  return tasks;
}

CoordinatorOptions DefaultOptions() {
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
    stub_ = pb::Coordinator::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
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
  pb::Directives last_directives_;
};

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

TEST_F(CoordinatorServiceTest, GroupsStayWholeAndCarryHorizonAndServer) {
  Start();
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5002", {"textcraft"});
  std::string actor = Register(pb::ROLE_ACTOR, "");
  pb::GetTasksResponse resp;
  ASSERT_TRUE(GetTasks(actor, 4, 8, &resp).ok());
  ASSERT_EQ(resp.groups_size(), 4);
  std::set<std::string> servers, task_ids;
  for (const auto& g : resp.groups()) {
    ASSERT_EQ(g.tasks_size(), 8);
    for (const auto& t : g.tasks()) {
      EXPECT_EQ(t.env(), "textcraft");  // the only env with a live server
      EXPECT_EQ(t.group_id(), g.group_id());
      EXPECT_EQ(t.task_id(), g.tasks(0).task_id());
      EXPECT_EQ(t.seed(), g.tasks(0).seed());
      EXPECT_EQ(t.max_turns(), 10);
      servers.insert(t.env_server_address());
    }
    EXPECT_TRUE(task_ids.insert(g.tasks(0).task_id()).second);
  }
  EXPECT_EQ(servers.size(), 2u);  // round robin over both servers
}

TEST_F(CoordinatorServiceTest, LapsedActorsGroupsAreReassignedWholeAtTheirOwnSize) {
  Start();
  std::string env = Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  std::string a = Register(pb::ROLE_ACTOR, "");
  std::string b = Register(pb::ROLE_ACTOR, "");
  std::string c = Register(pb::ROLE_ACTOR, "");
  pb::GetTasksResponse first;
  ASSERT_TRUE(GetTasks(a, 3, 4, &first).ok());
  // Actor a finishes one group, then goes silent.
  pb::HeartbeatRequest beat;
  beat.set_component_id(a);
  beat.add_completed_group_ids(first.groups(0).group_id());
  pb::HeartbeatResponse hb;
  ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), beat, &hb).ok());
  // Everyone else keeps beating.
  auto keep_alive = [&](std::vector<std::string> ids) {
    for (const std::string& id : ids) {
      pb::HeartbeatRequest keep;
      keep.set_component_id(id);
      ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), keep, &hb).ok());
    }
  };
  clock_.Advance(absl::Seconds(6));
  keep_alive({b, c, env});
  clock_.Advance(absl::Seconds(6));
  EXPECT_EQ(service_->Reap(), 1);
  keep_alive({b, c, env});
  EXPECT_EQ(service_->reassign_queue_size(), 2u);
  EXPECT_EQ(Status().queue_depths().at("coordinator/reassign"), 2);

  // An actor asking for groups of 2 never gets a group of 4, nor a part of one.
  pb::GetTasksResponse pairs;
  ASSERT_TRUE(GetTasks(b, 3, 2, &pairs).ok());
  ASSERT_EQ(pairs.groups_size(), 3);
  for (const auto& g : pairs.groups()) {
    EXPECT_FALSE(g.reassigned());
    ASSERT_EQ(g.tasks_size(), 2);
    for (const auto& t : g.tasks()) EXPECT_EQ(t.group_size(), 2);
  }
  EXPECT_EQ(service_->reassign_queue_size(), 2u);

  // One asking for groups of 4 gets them, whole, under fresh ids.
  pb::GetTasksResponse fours;
  ASSERT_TRUE(GetTasks(c, 3, 4, &fours).ok());
  ASSERT_EQ(fours.groups_size(), 3);
  for (int i = 0; i < 2; ++i) {
    const pb::TaskGroup& g = fours.groups(i);
    EXPECT_TRUE(g.reassigned());
    EXPECT_EQ(g.original_group_id(), first.groups(i + 1).group_id());
    EXPECT_NE(g.group_id(), g.original_group_id());
    ASSERT_EQ(g.tasks_size(), 4);  // whole, as first handed out
    for (const auto& t : g.tasks()) {
      EXPECT_EQ(t.group_id(), g.group_id());
      EXPECT_EQ(t.group_size(), 4);
      EXPECT_EQ(t.task_id(), first.groups(i + 1).tasks(0).task_id());
      EXPECT_EQ(t.seed(), first.groups(i + 1).tasks(0).seed());
    }
  }
  EXPECT_FALSE(fours.groups(2).reassigned());
  EXPECT_EQ(fours.groups(2).tasks_size(), 4);
  EXPECT_EQ(service_->reassign_queue_size(), 0u);
  EXPECT_EQ(Status().queue_depths().count("coordinator/reassign"), 0u);

  // Reassigned again (c lapses too): still whole, still traced to the first id.
  clock_.Advance(absl::Seconds(6));
  keep_alive({b, env});
  clock_.Advance(absl::Seconds(6));
  EXPECT_EQ(service_->Reap(), 1);
  pb::GetTasksResponse again;
  ASSERT_TRUE(GetTasks(b, 1, 4, &again).ok());
  ASSERT_EQ(again.groups_size(), 1);
  EXPECT_EQ(again.groups(0).original_group_id(), first.groups(1).group_id());
  EXPECT_NE(again.groups(0).group_id(), fours.groups(0).group_id());
  EXPECT_EQ(again.groups(0).tasks_size(), 4);

  // a's late beat is refused; it re-registers under its id and works again.
  pb::HeartbeatRequest late;
  late.set_component_id(a);
  grpc::Status refused = stub_->Heartbeat(Ctx().get(), late, &hb);
  EXPECT_EQ(refused.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(refused.error_message().find("register again"), std::string::npos);
  EXPECT_EQ(Register(pb::ROLE_ACTOR, "", {}, a), a);
  pb::GetTasksResponse third;
  EXPECT_TRUE(GetTasks(a, 1, 1, &third).ok());
}

// A lapsed actor that reports a group done after all (its refused beat, or
// its first call after registering again) saves that group a rerun.
TEST_F(CoordinatorServiceTest, ALateCompletionTakesTheGroupOffTheReassignmentQueue) {
  Start();
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  std::string a = Register(pb::ROLE_ACTOR, "");
  pb::GetTasksResponse handed;
  ASSERT_TRUE(GetTasks(a, 3, 2, &handed).ok());
  clock_.Advance(absl::Seconds(11));
  pb::HeartbeatRequest late;
  late.set_component_id(a);
  late.add_completed_group_ids(handed.groups(0).group_id());
  pb::HeartbeatResponse hb;
  EXPECT_EQ(stub_->Heartbeat(Ctx().get(), late, &hb).error_code(),
            StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(service_->reassign_queue_size(), 2u);  // groups 1 and 2
  EXPECT_EQ(Register(pb::ROLE_ACTOR, "", {}, a), a);
  pb::GetTasksRequest req;
  req.set_component_id(a);
  req.set_num_groups(1);
  req.set_group_size(3);  // a size nobody waits at: nothing reassigned
  req.add_completed_group_ids(handed.groups(1).group_id());
  pb::GetTasksResponse resp;
  ASSERT_TRUE(stub_->GetTasks(Ctx().get(), req, &resp).ok());
  EXPECT_FALSE(resp.groups(0).reassigned());
  EXPECT_EQ(service_->reassign_queue_size(), 1u);  // group 2
  EXPECT_NE(metrics_.PrometheusText().find("agentgym_task_groups_completed_late_total 2"),
            std::string::npos);
  ASSERT_TRUE(GetTasks(a, 2, 2, &resp).ok());
  EXPECT_EQ(resp.groups(0).original_group_id(), handed.groups(2).group_id());
  EXPECT_FALSE(resp.groups(1).reassigned());
}

TEST_F(CoordinatorServiceTest, GroupsWaitingForReassignmentAreBounded) {
  CoordinatorOptions o = DefaultOptions();
  o.max_reassign_queue = 2;
  Start(o);
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  std::string a = Register(pb::ROLE_ACTOR, "");
  pb::GetTasksResponse handed;
  ASSERT_TRUE(GetTasks(a, 5, 3, &handed).ok());
  pb::DeregisterRequest bye;
  bye.set_component_id(a);
  pb::DeregisterResponse dr;
  ASSERT_TRUE(stub_->Deregister(Ctx().get(), bye, &dr).ok());
  EXPECT_EQ(service_->reassign_queue_size(), 2u);
  EXPECT_NE(metrics_.PrometheusText().find("agentgym_task_groups_reassign_dropped_total 3"),
            std::string::npos);
  std::string b = Register(pb::ROLE_ACTOR, "");
  pb::GetTasksResponse resp;
  ASSERT_TRUE(GetTasks(b, 5, 3, &resp).ok());
  ASSERT_EQ(resp.groups_size(), 5);
  // The newest two were kept.
  EXPECT_EQ(resp.groups(0).original_group_id(), handed.groups(3).group_id());
  EXPECT_EQ(resp.groups(1).original_group_id(), handed.groups(4).group_id());
  EXPECT_FALSE(resp.groups(2).reassigned());
}

// An actor that never finishes its oldest group must not make the service
// keep every later group id: what it holds stays bounded by what is
// unfinished, however many groups come and go.
TEST_F(CoordinatorServiceTest, BookkeepingStaysBoundedWhenTheOldestGroupNeverCompletes) {
  Start();
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  std::string actor = Register(pb::ROLE_ACTOR, "");
  pb::GetTasksResponse stuck;
  ASSERT_TRUE(GetTasks(actor, 1, 1, &stuck).ok());  // never completed
  std::string previous;
  for (int i = 0; i < 10000; ++i) {
    // In-process calls: the handler does not use its context.
    grpc::ServerContext context;
    pb::GetTasksRequest req;
    req.set_component_id(actor);
    req.set_num_groups(1);
    req.set_group_size(1);
    if (!previous.empty()) req.add_completed_group_ids(previous);
    pb::GetTasksResponse resp;
    ASSERT_TRUE(service_->GetTasks(&context, &req, &resp).ok());
    ASSERT_EQ(resp.groups_size(), 1);
    previous = resp.groups(0).group_id();
  }
  // The stuck group and the last one, each in both indexes.
  EXPECT_EQ(service_->outstanding_entries(), 4u);
  pb::RunStatus status = Status();
  for (const auto& c : status.components()) {
    if (c.component_id() == actor) EXPECT_EQ(c.outstanding_groups(), 2);
  }
}

TEST_F(CoordinatorServiceTest, LapsedEnvServerLeavesThePoolUntilItReturns) {
  Start();
  std::string env = Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  std::string actor = Register(pb::ROLE_ACTOR, "");
  clock_.Advance(absl::Seconds(8));
  pb::HeartbeatRequest keep;
  keep.set_component_id(actor);
  pb::HeartbeatResponse hb;
  ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), keep, &hb).ok());
  clock_.Advance(absl::Seconds(4));
  EXPECT_EQ(service_->Reap(), 1);
  pb::GetTasksResponse resp;
  grpc::Status none = GetTasks(actor, 1, 1, &resp);
  EXPECT_EQ(none.error_code(), StatusCode::UNAVAILABLE);
  pb::RunStatus status = Status();
  for (const auto& c : status.components()) {
    if (c.component_id() == env) {
      EXPECT_EQ(c.health(), pb::HEALTH_DOWN);
    }
  }
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"}, env);
  EXPECT_EQ(last_directives_.env_servers_size(), 1);
  EXPECT_TRUE(GetTasks(actor, 1, 1, &resp).ok());
}

TEST_F(CoordinatorServiceTest, TasksAreFetchedFromEnvServersWhenConfigHasNone) {
  Start();
  std::string actor = Register(pb::ROLE_ACTOR, "");
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5003", {"webshop", "unknown-env"});
  // The fetch runs on the service's worker, not inside Register.
  ASSERT_TRUE(service_->WaitForTaskFetches(absl::Seconds(20)));
  EXPECT_EQ(fetcher_->calls_.load(), 1);  // only the configured env without tasks
  pb::GetTasksResponse resp;
  ASSERT_TRUE(GetTasks(actor, 2, 1, &resp).ok());
  for (const auto& g : resp.groups()) {
    EXPECT_EQ(g.tasks(0).env(), "webshop");
    EXPECT_EQ(g.tasks(0).task_id().rfind("webshop-fetched-", 0), 0u);
  }
}

// A task list from config is handed out only once checked against the env
// server's train list, and only the ids on it.
TEST_F(CoordinatorServiceTest, ConfigTasksAreCheckedAgainstTheServersTrainList) {
  CoordinatorOptions o = DefaultOptions();
  o.verify_config_tasks = true;
  o.envs = {{"textcraft", 1.0, {{"depth1/train/0", ""}, {"depth1/train/1", ""}, {"custom-7", ""}}},
            {"babyai", 1.0, {{"GoTo/train/5", ""}}},
            {"legacy", 1.0, {{"anything", ""}}}};
  o.curriculum.per_env.clear();
  Start(o, nullptr,
        {{"textcraft", {{"depth1/train/0", "depth1"}, {"depth1/train/1", "depth1"},
                        {"depth1/train/2", "depth1"}}},
         {"babyai", {{"GoTo/train/0", "GoTo"}}}});
  std::string actor = Register(pb::ROLE_ACTOR, "");
  pb::GetTasksResponse resp;
  // Nothing is served yet, and the config lists wait for their check.
  EXPECT_EQ(GetTasks(actor, 1, 1, &resp).error_code(), StatusCode::UNAVAILABLE);
  EXPECT_EQ(Status().envs(0).tasks_state(), "waiting");
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft", "babyai", "legacy"});
  ASSERT_TRUE(service_->WaitForTaskFetches(absl::Seconds(20)));
  EXPECT_EQ(fetcher_->calls_.load(), 3);

  std::map<std::string, std::set<std::string>> seen;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(GetTasks(actor, 4, 1, &resp).ok());
    for (const auto& g : resp.groups()) seen[g.tasks(0).env()].insert(g.tasks(0).task_id());
  }
  // custom-7 is not a train task of the server: never handed out.
  EXPECT_EQ(seen["textcraft"], (std::set<std::string>{"depth1/train/0", "depth1/train/1"}));
  // None of babyai's configured tasks is on the server's list: the env is out.
  EXPECT_EQ(seen.count("babyai"), 0u);
  // A server without ListTasks cannot be checked: the config list is used.
  EXPECT_EQ(seen["legacy"], (std::set<std::string>{"anything"}));
  std::map<std::string, pb::EnvWindowStats> stats;
  const pb::RunStatus status = Status();
  for (const auto& e : status.envs()) stats[e.env()] = e;
  EXPECT_EQ(stats["textcraft"].tasks_state(), "ready");
  EXPECT_EQ(stats["textcraft"].train_tasks(), 2);
  EXPECT_EQ(stats["babyai"].tasks_state(), "refused");
  EXPECT_EQ(stats["babyai"].train_tasks(), 0);
  std::string prom = metrics_.PrometheusText();
  EXPECT_NE(prom.find("agentgym_config_tasks_refused_total{env=\"textcraft\"} 1"),
            std::string::npos) << prom;
  EXPECT_NE(prom.find("agentgym_config_tasks_refused_total{env=\"babyai\"} 1"),
            std::string::npos);
  // Checked once: a later server of the same envs fetches nothing more.
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5002", {"textcraft", "babyai"});
  ASSERT_TRUE(service_->WaitForTaskFetches(absl::Seconds(20)));
  EXPECT_EQ(fetcher_->calls_.load(), 3);
}

TEST_F(CoordinatorServiceTest, AFailedCheckHoldsTheConfigTasksAndIsRetried) {
  CoordinatorOptions o = DefaultOptions();
  o.verify_config_tasks = true;
  o.envs = {{"broken", 1.0, {{"b-0", ""}}}};
  o.curriculum.per_env.clear();
  Start(o);
  std::string actor = Register(pb::ROLE_ACTOR, "");
  std::string server = Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"broken"});
  ASSERT_TRUE(service_->WaitForTaskFetches(absl::Seconds(20)));
  pb::GetTasksResponse resp;
  EXPECT_EQ(GetTasks(actor, 1, 1, &resp).error_code(), StatusCode::UNAVAILABLE);
  pb::HeartbeatRequest beat;
  beat.set_component_id(server);
  pb::HeartbeatResponse hb;
  ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), beat, &hb).ok());
  ASSERT_TRUE(service_->WaitForTaskFetches(absl::Seconds(20)));
  EXPECT_EQ(fetcher_->calls_.load(), 2);  // tried again on the beat
  EXPECT_EQ(GetTasks(actor, 1, 1, &resp).error_code(), StatusCode::UNAVAILABLE);
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

}  // namespace
}  // namespace agentgym::scheduler
