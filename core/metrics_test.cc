#include "core/metrics.h"

#include "gtest/gtest.h"

namespace agentgym::metrics {
namespace {

TEST(MetricsTest, SameNameAndLabelsGiveSameObject) {
  Registry registry;
  Counter* a = registry.GetCounter("steps_total", "steps", {{"env", "babyai"}});
  Counter* b = registry.GetCounter("steps_total", "steps", {{"env", "babyai"}});
  Counter* c = registry.GetCounter("steps_total", "steps", {{"env", "textcraft"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(registry.GetGauge("steps_total", "steps"), nullptr);
}

TEST(MetricsTest, PrometheusTextHasTypesLabelsAndCumulativeBuckets) {
  Registry registry;
  registry.GetCounter("steps_total", "Env steps", {{"env", "babyai"}})->Increment(3);
  registry.GetGauge("sessions", "Open sessions")->Set(5);
  Histogram* h = registry.GetHistogram("latency_seconds", "Step latency", {0.1, 1.0});
  h->Observe(0.05);
  h->Observe(0.5);
  h->Observe(5);
  std::string text = registry.PrometheusText();
  EXPECT_NE(text.find("# TYPE steps_total counter"), std::string::npos);
  EXPECT_NE(text.find("steps_total{env=\"babyai\"} 3"), std::string::npos);
  EXPECT_NE(text.find("sessions 5"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"0.1\"} 1"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"1\"} 2"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_bucket{le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("latency_seconds_count 3"), std::string::npos);
}

TEST(MetricsTest, QuantilesInterpolateInsideBuckets) {
  Histogram h({10, 20, 30});
  for (int i = 0; i < 100; ++i) h.Observe(15);
  auto snap = h.Read();
  EXPECT_GE(snap.Quantile(0.5), 10);
  EXPECT_LE(snap.Quantile(0.5), 20);
  EXPECT_EQ(snap.count, 100u);
  EXPECT_DOUBLE_EQ(snap.sum, 1500);
}

TEST(MetricsTest, SnapshotIsJson) {
  Registry registry;
  registry.GetCounter("a_total", "a")->Increment();
  auto json = registry.Snapshot();
  EXPECT_DOUBLE_EQ(json["a_total"].get<double>(), 1.0);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(SeriesName("m", {{"k", "a\"b"}}), "m{k=\"a\\\"b\"}");
}

}  // namespace
}  // namespace agentgym::metrics
