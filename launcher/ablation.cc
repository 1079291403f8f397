#include "launcher/ablation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "launcher/svg_plot.h"

namespace agentgym::launcher {
namespace {

constexpr double kBars[] = {0.3, 0.6, 0.8};

std::string YamlList(const std::vector<int32_t>& v) { return absl::StrCat("[", absl::StrJoin(v, ", "), "]"); }

double Mean(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double StdDev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = Mean(v);
  double sq = 0;
  for (double x : v) sq += (x - m) * (x - m);
  return std::sqrt(sq / static_cast<double>(v.size() - 1));
}

}  // namespace

const std::vector<std::string>& KnownVariants() {
  static const auto* variants =
      new std::vector<std::string>{"fixed-short", "fixed-long", "paper-schedule", "adaptive"};
  return *variants;
}

absl::StatusOr<std::vector<std::string>> VariantOverrides(const std::string& variant,
                                                          const BaseCurriculum& base) {
  if (base.horizons.empty()) return absl::InvalidArgumentError("the base config has no curriculum.horizons");
  const std::string steps = absl::StrCat("curriculum.stage_steps=", base.stage_steps);
  // per_env tracks would keep their own schedules in every variant: the
  // ablation compares the default track's, so they are cleared.
  const std::string no_per_env = "curriculum.per_env={}";
  if (variant == "fixed-short") {
    return std::vector<std::string>{"curriculum.mode=fixed", no_per_env,
                                    absl::StrCat("curriculum.horizons=[", base.horizons.front(), "]"), steps};
  }
  if (variant == "fixed-long") {
    return std::vector<std::string>{"curriculum.mode=fixed", no_per_env,
                                    absl::StrCat("curriculum.horizons=[", base.horizons.back(), "]"), steps};
  }
  if (variant == "paper-schedule") {
    return std::vector<std::string>{"curriculum.mode=fixed", no_per_env,
                                    absl::StrCat("curriculum.horizons=", YamlList(base.horizons)), steps};
  }
  if (variant == "adaptive") {
    // Leave a stage once held-out-like training success passes 60% or stops
    // improving, never before half the paper's stage length; hand out only
    // tasks that fit the horizon; the stall guard moves on (or stops the run)
    // when groups stop having mixed rewards.
    const int64_t min_steps = std::max<int64_t>(1, base.stage_steps / 2);
    return std::vector<std::string>{
        "curriculum.mode=adaptive",
        no_per_env,
        absl::StrCat("curriculum.horizons=", YamlList(base.horizons)),
        steps,
        absl::StrCat("curriculum.adaptive={window: 20, success_threshold: 0.6, plateau_delta: 0.02, "
                     "min_steps_per_stage: ",
                     min_steps, ", max_steps_per_stage: ", 2 * base.stage_steps, "}"),
        "curriculum.solvable={enabled: true, slack: 0}",
        absl::StrCat("curriculum.guard={mixed_floor: 0.05, patience_steps: ", std::max<int64_t>(10, min_steps / 2),
                     ", action: advance, max_interventions: ", base.horizons.size(), "}"),
    };
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown variant '", variant,
                                                 "' (known: ", absl::StrJoin(KnownVariants(), ", "), ")"));
}

int CountCollapseEvents(const std::vector<MetricsRow>& rows, double entropy_floor, int64_t min_steps) {
  int events = 0;
  int64_t run = 0;
  for (const MetricsRow& r : rows) {
    auto entropy = r.find("entropy");
    auto mixed = r.find("mixed_group_frac");
    const bool collapsed = (entropy != r.end() && entropy->second < entropy_floor) ||
                           (mixed != r.end() && mixed->second <= 0.0);
    if (collapsed) {
      if (++run == min_steps) ++events;
    } else {
      run = 0;
    }
  }
  return events;
}

const CurvePoint* FirstReaching(const std::vector<CurvePoint>& curve, double bar) {
  for (const CurvePoint& p : curve) {
    if (p.success >= bar) return &p;
  }
  return nullptr;
}

std::string AblationTable(const std::vector<VariantResult>& results) {
  std::string out =
      "| variant | seeds | steps to 30% | steps to 60% | steps to 80% | s to 30% | s to 60% | s to 80% | "
      "final held-out | best held-out | collapse events | mean turns | failed runs |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const VariantResult& v : results) {
    std::vector<std::string> step_cells, second_cells;
    for (double bar : kBars) {
      std::vector<double> steps, seconds;
      for (const SeedRun& s : v.seeds) {
        if (const CurvePoint* p = FirstReaching(s.curve, bar)) {
          steps.push_back(static_cast<double>(p->step));
          seconds.push_back(p->seconds);
        }
      }
      // Means over the seeds that got there, with how many did: a variant
      // that reached a bar in 1 of 3 seeds is not "faster" than one that
      // reached it in all 3.
      const std::string reached = absl::StrCat(" (", steps.size(), "/", v.seeds.size(), ")");
      step_cells.push_back(steps.empty() ? absl::StrCat("—", reached)
                                         : absl::StrCat(absl::StrFormat("%.0f", Mean(steps)), reached));
      second_cells.push_back(seconds.empty() ? "—" : absl::StrFormat("%.0f", Mean(seconds)));
    }
    std::vector<double> finals, bests, turns;
    int collapses = 0, failed = 0;
    for (const SeedRun& s : v.seeds) {
      collapses += s.collapse_events;
      failed += s.failed ? 1 : 0;
      if (s.curve.empty()) continue;
      finals.push_back(s.curve.back().success);
      turns.push_back(s.curve.back().mean_turns);
      double best = 0;
      for (const CurvePoint& p : s.curve) best = std::max(best, p.success);
      bests.push_back(best);
    }
    auto pct = [](const std::vector<double>& v) {
      return v.empty() ? std::string("—")
                       : absl::StrFormat("%.1f%% ± %.1f", 100 * Mean(v), 100 * StdDev(v));
    };
    absl::StrAppend(&out, "| ", v.variant, " | ", v.seeds.size(), " | ", absl::StrJoin(step_cells, " | "), " | ",
                    absl::StrJoin(second_cells, " | "), " | ", pct(finals), " | ", pct(bests), " | ", collapses,
                    " | ", turns.empty() ? "—" : absl::StrFormat("%.2f", Mean(turns)), " | ", failed, " |\n");
  }
  return out;
}

std::string AblationPlot(const std::vector<VariantResult>& results, const std::string& title) {
  std::vector<PlotSeries> series;
  for (const VariantResult& v : results) {
    std::set<int64_t> steps;
    for (const SeedRun& s : v.seeds) {
      for (const CurvePoint& p : s.curve) steps.insert(p.step);
    }
    PlotSeries line;
    line.name = v.variant;
    for (int64_t step : steps) {
      std::vector<double> at;
      for (const SeedRun& s : v.seeds) {
        for (const CurvePoint& p : s.curve) {
          if (p.step == step) at.push_back(p.success);
        }
      }
      line.x.push_back(static_cast<double>(step));
      line.y.push_back(Mean(at));
      line.y_low.push_back(*std::min_element(at.begin(), at.end()));
      line.y_high.push_back(*std::max_element(at.begin(), at.end()));
    }
    series.push_back(std::move(line));
  }
  PlotOptions o;
  o.title = title;
  o.y_label = "held-out success (mean, band: min..max over seeds)";
  o.y_min = 0;
  o.y_max = 1;
  o.width = 820;
  o.height = 360;
  return RenderLinePlot(o, series);
}

}  // namespace agentgym::launcher
