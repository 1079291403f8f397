// Task hand-out through the service: groups, reassignment after a lapsed
// lease, env servers joining and leaving the pool, task lists fetched from and
// checked against env servers.

#include <memory>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "scheduler/coordinator_service.h"
#include "scheduler/testing/coordinator_service_fixture.h"

namespace agentgym::scheduler {
namespace {

using testing::CoordinatorServiceTest;
using testing::DefaultOptions;
using testing::Tasks;
using ::grpc::StatusCode;

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
    if (c.component_id() == actor) {
      EXPECT_EQ(c.outstanding_groups(), 2);
    }
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

// `envs[i].task_types` keeps only the fetched tasks of those types; a type the
// server does not offer leaves the env refused when nothing else is left.
TEST_F(CoordinatorServiceTest, TaskTypesRestrictTheFetchedTrainList) {
  CoordinatorOptions o = DefaultOptions();
  o.envs = {{"maze", 1.0, {}, {"open4"}}, {"webshop", 1.0, {}, {"nosuch"}}};
  o.curriculum.per_env.clear();
  Start(o, nullptr,
        {{"maze", {{"open4/train/0", "open4"}, {"walls/train/0", "walls"},
                   {"open4/train/1", "open4"}}},
         {"webshop", {{"shop/train/0", "shop"}}}});
  std::string actor = Register(pb::ROLE_ACTOR, "");
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5003", {"maze", "webshop"});
  ASSERT_TRUE(service_->WaitForTaskFetches(absl::Seconds(20)));
  pb::GetTasksResponse resp;
  ASSERT_TRUE(GetTasks(actor, 8, 1, &resp).ok());
  ASSERT_EQ(resp.groups_size(), 8);
  for (const auto& g : resp.groups()) {
    EXPECT_EQ(g.tasks(0).env(), "maze");
    EXPECT_EQ(g.tasks(0).task_type(), "open4") << g.tasks(0).task_id();
  }
  pb::RunStatus status = Status();
  for (const auto& e : status.envs()) {
    if (e.env() == "maze") EXPECT_EQ(e.train_tasks(), 2);
    if (e.env() == "webshop") EXPECT_EQ(e.tasks_state(), "refused");
  }
  // Refused for good: a later heartbeat does not fetch (and log) again.
  const int calls = fetcher_->calls_.load();
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5004", {"webshop"});
  ASSERT_TRUE(service_->WaitForTaskFetches(absl::Seconds(20)));
  EXPECT_EQ(fetcher_->calls_.load(), calls);
}

// curriculum.solvable: at horizon h only tasks with min_turns + slack <= h
// (and those of unknown length) are handed out; status counts them; the pool
// widens when the stage moves on.
TEST_F(CoordinatorServiceTest, SolvableStagesHandOutOnlyTasksThatFitTheHorizon) {
  CoordinatorOptions o = DefaultOptions();
  // babyai: the env the fixture's Progress() reports on.
  o.envs = {{"maze", 1.0, {}}, {"babyai", 1.0, Tasks("ba", 2)}};
  o.curriculum.per_env.clear();
  o.curriculum.default_track = {{4, 8}, {0, 100}};
  o.curriculum.solvable.enabled = true;
  o.curriculum.solvable.slack = 1;
  Start(o, nullptr,
        {{"maze", {{"m/train/0", "t", 2}, {"m/train/1", "t", 3}, {"m/train/2", "t", 6},
                   {"m/train/3", "t", 0}}}});
  std::string actor = Register(pb::ROLE_ACTOR, "");
  std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6000");
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5003", {"maze"});
  ASSERT_TRUE(service_->WaitForTaskFetches(absl::Seconds(20)));
  auto handed = [&]() {
    std::set<std::string> ids;
    pb::GetTasksResponse resp;
    EXPECT_TRUE(GetTasks(actor, 24, 1, &resp).ok());
    for (const auto& g : resp.groups()) {
      if (g.tasks(0).env() == "maze") ids.insert(g.tasks(0).task_id());
    }
    return ids;
  };
  // Horizon 4, slack 1: min_turns <= 3.
  EXPECT_EQ(handed(), (std::set<std::string>{"m/train/0", "m/train/1", "m/train/3"}));
  auto maze_stats = [&]() {
    const pb::RunStatus status = Status();
    for (const auto& e : status.envs()) {
      if (e.env() == "maze") return e;
    }
    return pb::EnvWindowStats();
  };
  EXPECT_EQ(maze_stats().tasks_fitting_horizon(), 2);
  EXPECT_EQ(maze_stats().tasks_unknown_length(), 1);
  ASSERT_TRUE(Progress(learner, 100).ok());  // fixed schedule: stage 1, horizon 8
  EXPECT_EQ(handed(), (std::set<std::string>{"m/train/0", "m/train/1", "m/train/2", "m/train/3"}));
  EXPECT_EQ(maze_stats().tasks_fitting_horizon(), 3);
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

}  // namespace
}  // namespace agentgym::scheduler

namespace agentgym::scheduler {
namespace {

using testing::CoordinatorServiceTest;

// Flow control: past the learner's window of groups ahead of training
// (held by actors, waiting for reassignment, or ready at the learner), no
// group is handed out; completions and a learner that trains free room.
TEST_F(CoordinatorServiceTest, NoGroupsPastTheLearnersWindowAheadOfTraining) {
  Start();
  Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  const std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6001");
  const std::string actor = Register(pb::ROLE_ACTOR, "");
  auto learner_beat = [&](int64_t ready, int64_t window) {
    pb::HeartbeatRequest beat;
    beat.set_component_id(learner);
    (*beat.mutable_load()->mutable_queue_depths())[kReadyGroupsDepth] = ready;
    (*beat.mutable_load()->mutable_queue_depths())[kMaxGroupsAheadDepth] = window;
    pb::HeartbeatResponse hb;
    ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), beat, &hb).ok());
  };
  // No window yet: as many as asked.
  pb::GetTasksResponse resp;
  ASSERT_TRUE(GetTasks(actor, 3, 2, &resp).ok());
  EXPECT_EQ(resp.groups_size(), 3);
  // A window of 4 with 3 held by the actor: one more.
  learner_beat(/*ready=*/0, /*window=*/4);
  ASSERT_TRUE(GetTasks(actor, 3, 2, &resp).ok());
  ASSERT_EQ(resp.groups_size(), 1);
  const std::string last = resp.groups(0).group_id();
  ASSERT_TRUE(GetTasks(actor, 3, 2, &resp).ok());
  EXPECT_EQ(resp.groups_size(), 0);
  EXPECT_TRUE(resp.has_directives());
  // The actor finishes a group; the learner now holds it ready: still full.
  pb::GetTasksRequest req;
  req.set_component_id(actor);
  req.set_num_groups(3);
  req.set_group_size(2);
  req.add_completed_group_ids(last);
  learner_beat(/*ready=*/1, /*window=*/4);
  ASSERT_TRUE(stub_->GetTasks(Ctx().get(), req, &resp).ok());
  EXPECT_EQ(resp.groups_size(), 0);
  // The learner took it into a batch: room for one.
  learner_beat(/*ready=*/0, /*window=*/4);
  ASSERT_TRUE(GetTasks(actor, 3, 2, &resp).ok());
  EXPECT_EQ(resp.groups_size(), 1);
  // A trained step's report sets the window too (0: no limit).
  pb::ReportProgressRequest progress;
  progress.set_component_id(learner);
  progress.set_step(1);
  progress.set_policy_version(1);
  progress.set_max_groups_ahead(0);
  pb::ReportProgressResponse ignored;
  ASSERT_TRUE(stub_->ReportProgress(Ctx().get(), progress, &ignored).ok());
  ASSERT_TRUE(GetTasks(actor, 3, 2, &resp).ok());
  EXPECT_EQ(resp.groups_size(), 3);
  progress.set_step(2);
  progress.set_max_groups_ahead(-1);
  EXPECT_EQ(stub_->ReportProgress(Ctx().get(), progress, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// An actor killed mid-run leaves its groups for reassignment. They already
// count in the window, so a full window must not hold them back: a new
// actor gets them (and nothing fresh), or the window never drains.
TEST_F(CoordinatorServiceTest, ReassignedGroupsAreHandedOutWhenTheWindowIsFull) {
  Start();
  const std::string env = Register(pb::ROLE_ENV_SERVER, "127.0.0.1:5001", {"textcraft"});
  const std::string learner = Register(pb::ROLE_LEARNER, "127.0.0.1:6001");
  const std::string dead = Register(pb::ROLE_ACTOR, "");
  pb::HeartbeatRequest beat;
  beat.set_component_id(learner);
  (*beat.mutable_load()->mutable_queue_depths())[kReadyGroupsDepth] = 1;
  (*beat.mutable_load()->mutable_queue_depths())[kMaxGroupsAheadDepth] = 4;
  pb::HeartbeatResponse hb;
  ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), beat, &hb).ok());
  pb::GetTasksResponse resp;
  ASSERT_TRUE(GetTasks(dead, 8, 2, &resp).ok());
  ASSERT_EQ(resp.groups_size(), 3);  // 1 ready at the learner + 3 = the window
  clock_.Advance(absl::Seconds(6));
  const std::string fresh_actor = Register(pb::ROLE_ACTOR, "");
  for (const std::string& id : {env, learner, fresh_actor}) {
    pb::HeartbeatRequest keep;
    keep.set_component_id(id);
    if (id == learner) keep = beat;
    ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), keep, &hb).ok());
  }
  clock_.Advance(absl::Seconds(6));
  ASSERT_EQ(service_->Reap(), 1);
  ASSERT_EQ(service_->reassign_queue_size(), 3u);
  ASSERT_TRUE(GetTasks(fresh_actor, 8, 2, &resp).ok());
  EXPECT_EQ(resp.groups_size(), 3);
  for (const auto& g : resp.groups()) EXPECT_TRUE(g.reassigned());
  EXPECT_EQ(service_->reassign_queue_size(), 0u);
  // The window is still full: nothing fresh.
  ASSERT_TRUE(GetTasks(fresh_actor, 8, 2, &resp).ok());
  EXPECT_EQ(resp.groups_size(), 0);
}

}  // namespace
}  // namespace agentgym::scheduler
