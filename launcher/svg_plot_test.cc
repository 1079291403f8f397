#include "launcher/svg_plot.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentgym::launcher {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

int Count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t p = 0; (p = text.find(part, p)) != std::string::npos; p += part.size()) ++n;
  return n;
}

TEST(SvgPlotTest, NiceTicksUseOneTwoFiveSteps) {
  EXPECT_THAT(NiceTicks(0, 1), ElementsAre(0, 0.2, ::testing::DoubleNear(0.4, 1e-12),
                                           ::testing::DoubleNear(0.6, 1e-12),
                                           ::testing::DoubleNear(0.8, 1e-12), 1));
  EXPECT_THAT(NiceTicks(0, 1000, 5), ElementsAre(0, 200, 400, 600, 800, 1000));
  EXPECT_THAT(NiceTicks(3, 17, 3), ElementsAre(5, 10, 15));
  EXPECT_TRUE(NiceTicks(1, 1).empty());
  EXPECT_TRUE(NiceTicks(0, NAN).empty());
}

TEST(SvgPlotTest, RendersSeriesBandsLegendAndEscapesText) {
  PlotOptions o;
  o.title = "success <maze & co>";
  o.y_min = 0;
  o.y_max = 1;
  PlotSeries a{"maze", {0, 1, 2, 3}, {0.0, 0.5, NAN, 1.0}};  // NaN breaks the line
  PlotSeries b{"babyai", {0, 3}, {0.2, 0.4}};
  const std::string svg = RenderLinePlot(o, {a, b}, {{0, 1, "stage 0: 5"}, {1, 3, "stage 1: 6"}});
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  EXPECT_EQ(Count(svg, "class=\"series\""), 3);  // a in two pieces, b in one
  EXPECT_EQ(Count(svg, "class=\"band\""), 2);
  EXPECT_THAT(svg, HasSubstr("success &lt;maze &amp; co&gt;"));
  EXPECT_THAT(svg, HasSubstr(">maze</text>"));
  EXPECT_THAT(svg, HasSubstr(">babyai</text>"));
  EXPECT_THAT(svg, HasSubstr(">stage 1: 6</text>"));
  EXPECT_EQ(svg, RenderLinePlot(o, {a, b}, {{0, 1, "stage 0: 5"}, {1, 3, "stage 1: 6"}}));
}

TEST(SvgPlotTest, PointsMapIntoThePlotArea) {
  PlotOptions o;
  o.width = 400;
  o.height = 200;
  o.y_min = 0;
  o.y_max = 1;
  const std::string svg = RenderLinePlot(o, {{"s", {0, 10}, {0, 1}}});
  // left margin 64, right 166, top 34, bottom 44: (0,0) -> (64,156); (10,1) -> (234,34).
  EXPECT_THAT(svg, HasSubstr("points=\"64.0,156.0 234.0,34.0\""));
}

TEST(SvgPlotTest, EmptyInputStillMakesAValidDocument) {
  const std::string svg = RenderLinePlot(PlotOptions{}, {{"nothing", {}, {}}});
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  EXPECT_EQ(Count(svg, "class=\"series\""), 0);
  EXPECT_THAT(svg, HasSubstr(">nothing</text>"));
}

}  // namespace
}  // namespace agentgym::launcher
