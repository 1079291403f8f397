// BatchStep over envs whose steps may block: one waiting item must not hold
// up the others (the paper's "every turn waits for the slowest env").

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "env_server/env_service.h"
#include "gtest/gtest.h"

namespace agentgym::env {
namespace {

// Episodes share one gate: "wait" waits (at most 5 s) for it to open, "open"
// opens it. Run one after another, a batch [wait, open] times out; run
// concurrently, the wait sees the gate open.
class GatedEnv : public Environment {
 public:
  GatedEnv() {
    description_.name = "gated";
    description_.action_format = "wait | open";
    description_.recommended_max_turns = 4;
    description_.task_types.push_back({"gate", "wait for the gate", 2, 0, 4});
  }
  const EnvDescription& Describe() const override { return description_; }
  bool StepsMayBlock() const override { return true; }
  absl::StatusOr<std::unique_ptr<Episode>> NewEpisode(const TaskKey&, uint64_t,
                                                      EpisodeStart* start) const override {
    start->instruction = "pass the gate";
    start->observation = "a closed gate";
    return std::unique_ptr<Episode>(new GatedEpisode(&gate_));
  }

 private:
  class GatedEpisode : public Episode {
   public:
    explicit GatedEpisode(absl::Notification* gate) : gate_(gate) {}
    absl::StatusOr<StepOutcome> Step(std::string_view action) override {
      StepOutcome out;
      if (action == "open") {
        if (!gate_->HasBeenNotified()) gate_->Notify();
        out.observation = "you opened the gate";
      } else {
        out.observation = gate_->WaitForNotificationWithTimeout(absl::Seconds(5))
                              ? "the gate opened"
                              : "the gate stayed closed";
      }
      return out;
    }

   private:
    absl::Notification* gate_;
  };

  EnvDescription description_;
  mutable absl::Notification gate_;
};

TEST(EnvServiceBatchTest, ABlockedItemDoesNotHoldUpTheRestOfTheBatch) {
  std::map<std::string, std::unique_ptr<Environment>> envs;
  envs.emplace("gated", std::make_unique<GatedEnv>());
  metrics::Registry metrics;
  EnvServiceOptions options;
  options.metrics = &metrics;
  EnvService service(std::move(envs), options);
  std::string ids[2];
  for (int i = 0; i < 2; ++i) {
    v1::CreateRequest create;
    create.set_env("gated");
    create.set_task_id("gate/train/" + std::to_string(i));
    auto created = service.CreateSession(create);
    ASSERT_TRUE(created.ok()) << created.status();
    ids[i] = created->session_id();
  }
  v1::BatchStepRequest req;
  auto* wait = req.add_items();
  wait->set_session_id(ids[0]);
  wait->set_action("wait");
  auto* open = req.add_items();
  open->set_session_id(ids[1]);
  open->set_action("open");
  v1::BatchStepResponse resp;
  ASSERT_TRUE(service.BatchStep(nullptr, &req, &resp).ok());
  ASSERT_EQ(resp.items_size(), 2);
  EXPECT_EQ(resp.items(0).result().observation(), "the gate opened");
  EXPECT_EQ(resp.items(1).result().observation(), "you opened the gate");
}

TEST(EnvServiceBatchTest, ItemsOfOneSessionStillRunInRequestOrder) {
  std::map<std::string, std::unique_ptr<Environment>> envs;
  envs.emplace("gated", std::make_unique<GatedEnv>());
  metrics::Registry metrics;
  EnvServiceOptions options;
  options.metrics = &metrics;
  EnvService service(std::move(envs), options);
  v1::CreateRequest create;
  create.set_env("gated");
  create.set_task_id("gate/train/0");
  auto created = service.CreateSession(create);
  ASSERT_TRUE(created.ok()) << created.status();
  v1::BatchStepRequest req;
  for (const char* action : {"open", "wait"}) {
    auto* item = req.add_items();
    item->set_session_id(created->session_id());
    item->set_action(action);
  }
  v1::BatchStepResponse resp;
  ASSERT_TRUE(service.BatchStep(nullptr, &req, &resp).ok());
  ASSERT_EQ(resp.items_size(), 2);
  EXPECT_EQ(resp.items(0).result().observation(), "you opened the gate");
  EXPECT_EQ(resp.items(1).result().observation(), "the gate opened");
  EXPECT_EQ(resp.items(1).result().turn(), 2);
}

}  // namespace
}  // namespace agentgym::env
