#include "env_server/client/turn_tracker.h"

#include <string>

#include "gtest/gtest.h"

namespace agentgym::env {
namespace {

TEST(TurnTrackerTest, RemembersSetsAndForgets) {
  TurnTracker turns(/*capacity=*/100);
  EXPECT_FALSE(turns.Get("a").has_value());
  turns.Set("a", 0);
  turns.Set("b", 3);
  turns.Set("a", 1);
  EXPECT_EQ(turns.Get("a"), 1);
  EXPECT_EQ(turns.Get("b"), 3);
  turns.Forget("a");
  EXPECT_FALSE(turns.Get("a").has_value());
  EXPECT_EQ(turns.size(), 1u);
}

// Sessions abandoned without Close must not grow the tracker for ever; the
// ones still in use survive.
TEST(TurnTrackerTest, StaysBoundedAndKeepsSessionsInUse) {
  TurnTracker turns(/*capacity=*/10);
  turns.Set("kept", 7);
  for (int i = 0; i < 1000; ++i) {
    turns.Set("abandoned-" + std::to_string(i), i);
    EXPECT_LE(turns.size(), 10u);
    if (i % 3 == 0) {
      EXPECT_EQ(turns.Get("kept"), 7) << i;  // in use: moved forward
    }
  }
  EXPECT_EQ(turns.Get("kept"), 7);
  EXPECT_FALSE(turns.Get("abandoned-0").has_value());
  EXPECT_EQ(turns.Get("abandoned-999"), 999);
}

}  // namespace
}  // namespace agentgym::env
