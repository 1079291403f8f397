#include "core/metrics.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/logging.h"

namespace agentgym::metrics {
namespace {

void AtomicAdd(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta,
                                       std::memory_order_relaxed)) {
  }
}

Labels Sorted(Labels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  return absl::StrCat(v);
}

}  // namespace

void Counter::Increment(double delta) { AtomicAdd(value_, delta); }
void Gauge::Add(double delta) { AtomicAdd(value_, delta); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_([&] {
        std::sort(upper_bounds.begin(), upper_bounds.end());
        upper_bounds.erase(std::unique(upper_bounds.begin(), upper_bounds.end()),
                           upper_bounds.end());
        return upper_bounds;
      }()),
      counts_(upper_bounds_.size() + 1, 0) {}

void Histogram::Observe(double v) {
  size_t bucket = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), v) -
                  upper_bounds_.begin();
  absl::MutexLock lock(&mu_);
  ++counts_[bucket];
  ++count_;
  sum_ += v;
}

Histogram::Snapshot Histogram::Read() const {
  absl::MutexLock lock(&mu_);
  return Snapshot{upper_bounds_, counts_, count_, sum_};
}

double Histogram::Snapshot::Quantile(double q) const {
  if (count == 0) return 0.0;
  double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count);
  double seen = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    if (seen + counts[i] >= rank) {
      double lo = i == 0 ? 0.0 : upper_bounds[i - 1];
      // The +Inf bucket has no upper edge: report its lower edge.
      if (i == upper_bounds.size()) return lo;
      double hi = upper_bounds[i];
      return lo + (hi - lo) * (rank - seen) / static_cast<double>(counts[i]);
    }
    seen += counts[i];
  }
  return upper_bounds.empty() ? 0.0 : upper_bounds.back();
}

std::vector<double> Histogram::ExponentialBounds(double lo, double hi) {
  std::vector<double> bounds;
  for (double decade = lo; decade <= hi; decade *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      if (decade * m <= hi) bounds.push_back(decade * m);
    }
  }
  return bounds;
}

Registry& Registry::Global() {
  static Registry* const registry = new Registry();
  return *registry;
}

Registry::Family* Registry::FamilyFor(const std::string& name, Kind kind,
                                      const std::string& help) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.kind = kind;
    it->second.help = help;
  } else if (it->second.kind != kind) {
    GetLogger("metrics")->error("metric '{}' requested as two different kinds", name);
    return nullptr;
  }
  return &it->second;
}

Counter* Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  absl::MutexLock lock(&mu_);
  Family* family = FamilyFor(name, Kind::kCounter, help);
  if (family == nullptr) return nullptr;
  auto& slot = family->counters[Sorted(labels)];
  if (!slot) slot = std::make_unique<Counter>();
  return slot.get();
}

Gauge* Registry::GetGauge(const std::string& name, const std::string& help,
                          const Labels& labels) {
  absl::MutexLock lock(&mu_);
  Family* family = FamilyFor(name, Kind::kGauge, help);
  if (family == nullptr) return nullptr;
  auto& slot = family->gauges[Sorted(labels)];
  if (!slot) slot = std::make_unique<Gauge>();
  return slot.get();
}

Histogram* Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const std::vector<double>& upper_bounds,
                                  const Labels& labels) {
  absl::MutexLock lock(&mu_);
  Family* family = FamilyFor(name, Kind::kHistogram, help);
  if (family == nullptr) return nullptr;
  auto& slot = family->histograms[Sorted(labels)];
  if (!slot) slot = std::make_unique<Histogram>(upper_bounds);
  return slot.get();
}

std::string SeriesName(const std::string& name, const Labels& labels) {
  if (labels.empty()) return name;
  std::string out = name + "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    std::string value = absl::StrReplaceAll(
        labels[i].second, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
    absl::StrAppend(&out, labels[i].first, "=\"", value, "\"");
  }
  return out + "}";
}

std::string Registry::PrometheusText() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    const char* type = family.kind == Kind::kCounter ? "counter"
                       : family.kind == Kind::kGauge ? "gauge"
                                                     : "histogram";
    absl::StrAppend(&out, "# HELP ", name, " ",
                    absl::StrReplaceAll(family.help, {{"\\", "\\\\"}, {"\n", "\\n"}}),
                    "\n# TYPE ", name, " ", type, "\n");
    for (const auto& [labels, c] : family.counters) {
      absl::StrAppend(&out, SeriesName(name, labels), " ", FormatValue(c->Value()), "\n");
    }
    for (const auto& [labels, g] : family.gauges) {
      absl::StrAppend(&out, SeriesName(name, labels), " ", FormatValue(g->Value()), "\n");
    }
    for (const auto& [labels, h] : family.histograms) {
      Histogram::Snapshot snap = h->Read();
      uint64_t cumulative = 0;
      for (size_t i = 0; i < snap.counts.size(); ++i) {
        cumulative += snap.counts[i];
        Labels with_le = labels;
        with_le.emplace_back("le", i < snap.upper_bounds.size()
                                       ? FormatValue(snap.upper_bounds[i])
                                       : "+Inf");
        absl::StrAppend(&out, SeriesName(name + "_bucket", with_le), " ", cumulative, "\n");
      }
      absl::StrAppend(&out, SeriesName(name + "_sum", labels), " ", FormatValue(snap.sum),
                      "\n", SeriesName(name + "_count", labels), " ", snap.count, "\n");
    }
  }
  return out;
}

nlohmann::json Registry::Snapshot() const {
  absl::MutexLock lock(&mu_);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, family] : families_) {
    for (const auto& [labels, c] : family.counters) out[SeriesName(name, labels)] = c->Value();
    for (const auto& [labels, g] : family.gauges) out[SeriesName(name, labels)] = g->Value();
    for (const auto& [labels, h] : family.histograms) {
      Histogram::Snapshot snap = h->Read();
      out[SeriesName(name, labels)] = {{"count", snap.count},
                                       {"sum", snap.sum},
                                       {"p50", snap.Quantile(0.5)},
                                       {"p99", snap.Quantile(0.99)}};
    }
  }
  return out;
}

}  // namespace agentgym::metrics
