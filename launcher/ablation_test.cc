#include "launcher/ablation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace agentgym::launcher {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(AblationTest, VariantsChangeOnlyTheCurriculum) {
  BaseCurriculum base{{5, 6, 8}, 100};
  auto short_ = VariantOverrides("fixed-short", base);
  ASSERT_TRUE(short_.ok());
  EXPECT_THAT(*short_, Contains("curriculum.horizons=[5]"));
  EXPECT_THAT(*short_, Contains("curriculum.mode=fixed"));
  auto long_ = VariantOverrides("fixed-long", base);
  ASSERT_TRUE(long_.ok());
  EXPECT_THAT(*long_, Contains("curriculum.horizons=[8]"));
  auto paper = VariantOverrides("paper-schedule", base);
  ASSERT_TRUE(paper.ok());
  EXPECT_THAT(*paper, Contains("curriculum.horizons=[5, 6, 8]"));
  EXPECT_THAT(*paper, Contains("curriculum.stage_steps=100"));
  auto adaptive = VariantOverrides("adaptive", base);
  ASSERT_TRUE(adaptive.ok());
  EXPECT_THAT(*adaptive, Contains("curriculum.mode=adaptive"));
  bool guard = false, solvable = false;
  for (const std::string& o : *adaptive) {
    guard = guard || o.rfind("curriculum.guard=", 0) == 0;
    solvable = solvable || o.rfind("curriculum.solvable=", 0) == 0;
    EXPECT_EQ(o.rfind("curriculum.", 0), 0u) << o;  // nothing outside the curriculum changes
  }
  EXPECT_TRUE(guard);
  EXPECT_TRUE(solvable);
  auto bad = VariantOverrides("sometimes", base);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("fixed-short"));
}

TEST(AblationTest, CollapseEventsAreLongSpansOfNoEntropyOrNoMixedGroups) {
  std::vector<MetricsRow> rows;
  for (int i = 0; i < 100; ++i) {
    MetricsRow r;
    r["step"] = i;
    r["entropy"] = (i >= 10 && i < 40) ? 0.01 : 1.0;        // a 30-step span: one event
    r["mixed_group_frac"] = (i >= 60 && i < 70) ? 0.0 : 0.3;  // 10 steps: too short
    rows.push_back(r);
  }
  EXPECT_EQ(CountCollapseEvents(rows, 0.05, 20), 1);
  EXPECT_EQ(CountCollapseEvents(rows, 0.05, 10), 2);
  EXPECT_EQ(CountCollapseEvents({}, 0.05, 20), 0);
}

TEST(AblationTest, TableCountsSeedsThatReachEachBarAndPlotHasABandPerVariant) {
  VariantResult a{"fixed-long", {}};
  a.seeds.push_back({1, {{25, 10, 0.2, 5}, {50, 20, 0.65, 4}, {75, 30, 0.85, 3}}, 0, false, ""});
  a.seeds.push_back({2, {{25, 12, 0.1, 6}, {50, 24, 0.35, 5}, {75, 36, 0.5, 5}}, 1, false, ""});
  VariantResult b{"fixed-short", {}};
  b.seeds.push_back({1, {}, 0, true, "exit code 1"});
  ASSERT_NE(FirstReaching(a.seeds[0].curve, 0.6), nullptr);
  EXPECT_EQ(FirstReaching(a.seeds[0].curve, 0.6)->step, 50);
  EXPECT_EQ(FirstReaching(a.seeds[1].curve, 0.6), nullptr);
  const std::string table = AblationTable({a, b});
  // 30%: seed 1 at 50, seed 2 at 50 -> 50 (2/2); 60%: seed 1 at 50 (1/2);
  // 80%: seed 1 at 75 (1/2).
  EXPECT_THAT(table, HasSubstr("| fixed-long | 2 | 50 (2/2) | 50 (1/2) | 75 (1/2) | 22 | 20 | 30 |"));
  EXPECT_THAT(table, HasSubstr("67.5% ± 24.7"));  // final: 0.85 and 0.5
  EXPECT_THAT(table, HasSubstr("| fixed-short | 1 | — (0/1) | — (0/1) | — (0/1) |"));
  EXPECT_THAT(table, HasSubstr("| 1 |\n"));  // one failed run
  const std::string svg = AblationPlot({a, b}, "t");
  EXPECT_THAT(svg, HasSubstr("class=\"band\""));
  EXPECT_THAT(svg, HasSubstr("fixed-long"));
}

}  // namespace
}  // namespace agentgym::launcher
