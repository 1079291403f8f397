#ifndef AGENTGYM_CORE_METRICS_H_
#define AGENTGYM_CORE_METRICS_H_

// The one metrics module. Components record into a Registry; the registry
// renders Prometheus text (served by MetricsHttpServer) and JSON snapshots
// (appended per step by JsonlWriter). Metric objects are owned by the registry
// and live as long as it does, so callers may cache the returned pointers.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace agentgym::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Monotonic counter. Thread-safe, lock-free.
class Counter {
 public:
  void Increment(double delta = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double delta);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Cumulative histogram with fixed upper bounds (+Inf is implicit). Thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> counts;  // per bucket, not cumulative; last is +Inf
    uint64_t count = 0;
    double sum = 0.0;
    // Linear interpolation inside the bucket holding quantile q in [0, 1].
    double Quantile(double q) const;
  };
  Snapshot Read() const;

  // 1, 2, 5 × powers of ten from `lo` to `hi`.
  static std::vector<double> ExponentialBounds(double lo, double hi);

 private:
  const std::vector<double> upper_bounds_;
  mutable absl::Mutex mu_;
  std::vector<uint64_t> counts_ ABSL_GUARDED_BY(mu_);
  uint64_t count_ ABSL_GUARDED_BY(mu_) = 0;
  double sum_ ABSL_GUARDED_BY(mu_) = 0.0;
};

// Named metrics. Asking twice for the same (name, labels) returns the same
// object; asking for a name under a different kind returns nullptr (a bug at
// the call site, reported once in the log). Thread-safe.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry; never destroyed.
  static Registry& Global();

  Counter* GetCounter(const std::string& name, const std::string& help,
                      const Labels& labels = {});
  Gauge* GetGauge(const std::string& name, const std::string& help,
                  const Labels& labels = {});
  Histogram* GetHistogram(const std::string& name, const std::string& help,
                          const std::vector<double>& upper_bounds,
                          const Labels& labels = {});

  // Prometheus text exposition format 0.0.4.
  std::string PrometheusText() const;
  // {"name{k=\"v\"}": value, ...}; histograms as {count, sum, p50, p99}.
  nlohmann::json Snapshot() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Family {
    Kind kind;
    std::string help;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Gauge>> gauges;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
  };
  Family* FamilyFor(const std::string& name, Kind kind, const std::string& help)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
};

// Renders `name{k="v",...}` with Prometheus escaping.
std::string SeriesName(const std::string& name, const Labels& labels);

}  // namespace agentgym::metrics

#endif  // AGENTGYM_CORE_METRICS_H_
