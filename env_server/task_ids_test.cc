#include "env_server/task_ids.h"

#include <set>

#include "env_server/testing/counter_env.h"
#include "gtest/gtest.h"

namespace agentgym::env {
namespace {

class TaskIdsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Environment> env_ = testing::MakeCounterEnv();
  const EnvDescription& d_ = env_->Describe();
};

TEST_F(TaskIdsTest, FormatAndParseRoundTrip) {
  TaskKey key{"count", Split::kTest, 3};
  EXPECT_EQ(FormatTaskId(key), "count/test/3");
  auto parsed = ParseTaskId("count/test/3", d_);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->type, "count");
  EXPECT_EQ(parsed->split, Split::kTest);
  EXPECT_EQ(parsed->index, 3);
}

TEST_F(TaskIdsTest, RejectsIdsThatNameNoTask) {
  for (const char* bad : {"", "count", "count/train", "nope/train/1", "count/dev/1",
                          "count/train/-1", "count/train/10", "count/test/5", "count/train/01",
                          "count/train/1x", "count/train/99999999999999999999999",
                          "count/train/1/extra"}) {
    auto parsed = ParseTaskId(bad, d_);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kNotFound) << bad;
  }
}

TEST_F(TaskIdsTest, SamplingIsDeterministicAndCoversTasks) {
  std::set<int64_t> seen;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    auto a = SampleTask(d_, Split::kTrain, "", seed);
    auto b = SampleTask(d_, Split::kTrain, "", seed);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->index, b->index);
    EXPECT_LT(a->index, 10);
    seen.insert(a->index);
  }
  EXPECT_EQ(seen.size(), 10u);
}

TEST_F(TaskIdsTest, SamplingRejectsUnknownType) {
  EXPECT_EQ(SampleTask(d_, Split::kTrain, "nope", 1).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace agentgym::env
