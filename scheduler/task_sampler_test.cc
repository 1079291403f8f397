#include "scheduler/task_sampler.h"

#include <map>
#include <set>

#include "gtest/gtest.h"

namespace agentgym::scheduler {
namespace {

std::vector<EnvTask> Tasks(const std::string& prefix, int n) {
  std::vector<EnvTask> tasks;
  for (int i = 0; i < n; ++i) tasks.push_back({prefix + std::to_string(i), "t"});
  return tasks;
}

TEST(TaskSamplerTest, EnvsAreDrawnPerWeight) {
  auto sampler = TaskSampler::Create(
      {{"a", 3.0, Tasks("a", 50)}, {"b", 1.0, Tasks("b", 50)}}, {/*seed=*/7});
  ASSERT_TRUE(sampler.ok()) << sampler.status();
  std::map<std::string, int> counts;
  auto groups = sampler->Sample(8000, 1, {"a", "b"});
  ASSERT_TRUE(groups.ok());
  for (const auto& g : *groups) ++counts[g.env];
  double share = counts["a"] / 8000.0;
  EXPECT_NEAR(share, 0.75, 0.02);
}

TEST(TaskSamplerTest, OnlyAllowedEnvsAreDrawn) {
  auto sampler = TaskSampler::Create(
      {{"a", 1.0, Tasks("a", 5)}, {"b", 100.0, Tasks("b", 5)}}, {});
  ASSERT_TRUE(sampler.ok());
  auto groups = sampler->Sample(50, 2, {"a"});
  ASSERT_TRUE(groups.ok());
  for (const auto& g : *groups) EXPECT_EQ(g.env, "a");
  EXPECT_EQ(sampler->Sample(1, 1, {"c"}).status().code(), absl::StatusCode::kUnavailable);
}

TEST(TaskSamplerTest, NoTaskTwiceWithinAnEpoch) {
  auto sampler = TaskSampler::Create({{"a", 1.0, Tasks("a", 40)}}, {/*seed=*/3});
  ASSERT_TRUE(sampler.ok());
  std::set<std::string> seen;
  for (int round = 0; round < 4; ++round) {
    auto groups = sampler->Sample(10, 4, {"a"});
    ASSERT_TRUE(groups.ok());
    for (const auto& g : *groups) {
      EXPECT_EQ(g.epoch, 0);
      EXPECT_TRUE(seen.insert(g.task.task_id).second) << g.task.task_id << " handed twice";
    }
  }
  EXPECT_EQ(seen.size(), 40u);
  auto next = sampler->Sample(1, 1, {"a"});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)[0].epoch, 1);
  EXPECT_EQ(sampler->epoch("a"), 1);
}

TEST(TaskSamplerTest, RepeatsAllowedWhenAsked) {
  SamplerOptions options;
  options.allow_repeats = true;
  auto sampler = TaskSampler::Create({{"a", 1.0, Tasks("a", 3)}}, options);
  ASSERT_TRUE(sampler.ok());
  auto groups = sampler->Sample(30, 1, {"a"});
  ASSERT_TRUE(groups.ok());
  std::set<std::string> ids;
  for (const auto& g : *groups) ids.insert(g.task.task_id);
  EXPECT_LE(ids.size(), 3u);
  EXPECT_EQ(sampler->epoch("a"), 0);
}

TEST(TaskSamplerTest, GroupsStayWholeAndShareTheEpisodeSeed) {
  auto sampler = TaskSampler::Create({{"a", 1.0, Tasks("a", 10)}}, {});
  ASSERT_TRUE(sampler.ok());
  auto groups = sampler->Sample(5, 8, {"a"});
  ASSERT_TRUE(groups.ok());
  ASSERT_EQ(groups->size(), 5u);
  std::set<std::string> ids;
  for (const auto& g : *groups) {
    ASSERT_EQ(g.seeds.size(), 8u);
    for (uint64_t s : g.seeds) EXPECT_EQ(s, g.seeds[0]);
    EXPECT_TRUE(ids.insert(g.group_id).second);
  }

  SamplerOptions distinct;
  distinct.distinct_seeds_in_group = true;
  auto other = TaskSampler::Create({{"a", 1.0, Tasks("a", 10)}}, distinct);
  ASSERT_TRUE(other.ok());
  auto g = other->Sample(1, 4, {"a"});
  ASSERT_TRUE(g.ok());
  std::set<uint64_t> seeds((*g)[0].seeds.begin(), (*g)[0].seeds.end());
  EXPECT_EQ(seeds.size(), 4u);
}

TEST(TaskSamplerTest, SameSeedSameDraws) {
  auto a = TaskSampler::Create({{"a", 1.0, Tasks("a", 20)}, {"b", 1.0, Tasks("b", 20)}}, {9});
  auto b = TaskSampler::Create({{"a", 1.0, Tasks("a", 20)}, {"b", 1.0, Tasks("b", 20)}}, {9});
  ASSERT_TRUE(a.ok() && b.ok());
  auto ga = a->Sample(30, 1, {"a", "b"});
  auto gb = b->Sample(30, 1, {"a", "b"});
  for (size_t i = 0; i < ga->size(); ++i) {
    EXPECT_EQ((*ga)[i].task.task_id, (*gb)[i].task.task_id);
    EXPECT_EQ((*ga)[i].seeds, (*gb)[i].seeds);
  }
}

TEST(TaskSamplerTest, TestSplitIdsAreRecognisedAndRefused) {
  for (const char* id : {"depth1/test/0", "GoTo/test/17"}) EXPECT_TRUE(IsTestSplitTaskId(id)) << id;
  for (const char* id : {"depth1/train/0", "test/train/3", "a/test/b", "/test/1", "a/test/",
                         "x/y/test/1", "contest/12", "tc-1"}) {
    EXPECT_FALSE(IsTestSplitTaskId(id)) << id;
  }
  auto sampler = TaskSampler::Create({{"textcraft", 1.0, {{"depth1/train/0", ""},
                                                          {"depth1/test/0", ""}}}},
                                     {});
  EXPECT_EQ(sampler.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(sampler.status().message().find("depth1/test/0"), std::string::npos);
  auto ok = TaskSampler::Create({{"textcraft", 1.0, {}}}, {});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->SetTasks("textcraft", {{"depth1/test/1", ""}}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TaskSamplerTest, FilterByTaskTypesKeepsOnlyThoseTypesAndNamesMissingOnes) {
  std::vector<EnvTask> tasks = {{"a/train/0", "a"}, {"b/train/0", "b"}, {"a/train/1", "a"}};
  std::vector<std::string> missing;
  auto kept = FilterByTaskTypes(tasks, {"a", "zz"}, &missing);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].task_id, "a/train/0");
  EXPECT_EQ(kept[1].task_id, "a/train/1");
  EXPECT_EQ(missing, std::vector<std::string>{"zz"});
  EXPECT_EQ(FilterByTaskTypes(tasks, {}, &missing).size(), 3u);
}

// Solvability-aware stages: only tasks whose min_turns fits (and those of
// unknown length) are drawn; the pool widens with the cap; with nothing
// fitting every task is used.
TEST(TaskSamplerTest, FitTurnsKeepsOutTasksThatNeedMoreTurns) {
  std::vector<EnvTask> tasks = {{"t-2", "a", 2}, {"t-4", "a", 4}, {"t-6", "a", 6}, {"t-u", "a", 0}};
  for (bool repeats : {false, true}) {
    SamplerOptions options;
    options.allow_repeats = repeats;
    auto sampler = TaskSampler::Create({{"maze", 1.0, tasks}}, options);
    ASSERT_TRUE(sampler.ok()) << sampler.status();
    auto draw = [&](int32_t cap) {
      std::map<std::string, int32_t> fit = {{"maze", cap}};
      std::set<std::string> ids;
      auto groups = sampler->Sample(40, 1, {"maze"}, &fit);
      EXPECT_TRUE(groups.ok()) << groups.status();
      for (const auto& g : *groups) ids.insert(g.task.task_id);
      return ids;
    };
    EXPECT_EQ(draw(3), (std::set<std::string>{"t-2", "t-u"})) << repeats;
    EXPECT_EQ(draw(4), (std::set<std::string>{"t-2", "t-4", "t-u"})) << repeats;
    EXPECT_EQ(draw(6), (std::set<std::string>{"t-2", "t-4", "t-6", "t-u"})) << repeats;
    EXPECT_EQ(sampler->CountFitting("maze", 4).fitting, 2);
    EXPECT_EQ(sampler->CountFitting("maze", 4).unknown, 1);
  }
  // No task fits and none is of unknown length: all of them rather than none.
  auto known = TaskSampler::Create({{"maze", 1.0, {{"t-4", "a", 4}, {"t-6", "a", 6}}}}, {});
  ASSERT_TRUE(known.ok());
  std::map<std::string, int32_t> fit = {{"maze", 1}};
  auto groups = known->Sample(4, 1, {"maze"}, &fit);
  ASSERT_TRUE(groups.ok()) << groups.status();
  std::set<std::string> ids;
  for (const auto& g : *groups) ids.insert(g.task.task_id);
  EXPECT_EQ(ids.size(), 2u);
}

TEST(TaskSamplerTest, RejectsBadInput) {
  EXPECT_FALSE(TaskSampler::Create({}, {}).ok());
  EXPECT_FALSE(TaskSampler::Create({{"a", 0.0, {}}}, {}).ok());
  EXPECT_FALSE(TaskSampler::Create({{"a", 1.0, {}}, {"a", 1.0, {}}}, {}).ok());
  auto sampler = TaskSampler::Create({{"a", 1.0, {}}}, {});
  ASSERT_TRUE(sampler.ok());
  EXPECT_FALSE(sampler->HasTasks("a"));
  EXPECT_EQ(sampler->Sample(1, 1, {"a"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(sampler->Sample(0, 1, {"a"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sampler->SetTasks("zzz", Tasks("z", 1)).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sampler->SetTasks("a", {}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(sampler->SetTasks("a", Tasks("a", 2)).ok());
  EXPECT_TRUE(sampler->Sample(1, 1, {"a"}).ok());
}

}  // namespace
}  // namespace agentgym::scheduler
