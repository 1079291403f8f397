#include "core/flag_checks.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace agentgym {
namespace {

TEST(FlagChecksTest, NamesTheFlagTheRangeAndTheValue) {
  EXPECT_TRUE(CheckAtLeast("--n", 1, 1).ok());
  absl::Status s = CheckAtLeast("--n", 0, 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "--n must be at least 1; got 0");
  EXPECT_TRUE(CheckInRange("--p", 5, 1, 5).ok());
  EXPECT_EQ(CheckInRange("--p", 6, 1, 5).message(), "--p must be in 1..5; got 6");
}

TEST(FlagChecksTest, PositiveRefusesZeroNegativeNanInfinityAndAboveMax) {
  EXPECT_TRUE(CheckPositive("--t", 0.5, 10).ok());
  EXPECT_TRUE(CheckPositive("--t", 10, 10).ok());
  for (double bad : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity(), 10.5}) {
    absl::Status s = CheckPositive("--t", bad, 10);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("--t must be a number > 0 and at most 10"), std::string::npos)
        << s.message();
  }
}

}  // namespace
}  // namespace agentgym
