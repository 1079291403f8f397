#ifndef AGENTGYM_LAUNCHER_ABLATION_H_
#define AGENTGYM_LAUNCHER_ABLATION_H_

// The pure parts of `agentgym ablate`: what each curriculum variant changes
// in the base config, and how the held-out curves of its runs are summed up
// (steps and seconds to 30 / 60 / 80% success, final success, collapse
// events, turns) into the results table and the success-vs-step plot.
// Functions only; no I/O.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "launcher/summary.h"

namespace agentgym::launcher {

// The base config's default curriculum track.
struct BaseCurriculum {
  std::vector<int32_t> horizons;  // non-empty
  int64_t stage_steps = 100;
};

// Overrides (`a.b=v`, as `agentgym train --set` takes them) that turn the
// base config into `variant`, on the same budget and tasks:
//   fixed-short     the first stage's horizon throughout
//   fixed-long      the last stage's horizon throughout
//   paper-schedule  the base's stages on its fixed schedule (ScalingInter-RL)
//   adaptive        the base's stages, moved by the adaptive rule, with
//                   solvability-aware task pools and the stall guard on
// INVALID_ARGUMENT naming the variant otherwise.
absl::StatusOr<std::vector<std::string>> VariantOverrides(const std::string& variant,
                                                          const BaseCurriculum& base);
const std::vector<std::string>& KnownVariants();

// One checkpoint's held-out success.
struct CurvePoint {
  int64_t step = 0;
  double seconds = 0;  // from the run's start to the checkpoint's write
  double success = 0;
  double mean_turns = 0;
};

struct SeedRun {
  int seed = 0;
  std::vector<CurvePoint> curve;  // by step
  int collapse_events = 0;
  bool failed = false;       // the run did not end on its own (exit code != 0)
  std::string failure;       // why, when failed
};

struct VariantResult {
  std::string variant;
  std::vector<SeedRun> seeds;
};

// Spans of at least `min_steps` consecutive learner steps where the policy
// had collapsed: entropy under `entropy_floor`, or (when the rows carry
// it and the algorithm has groups) no group with mixed rewards.
int CountCollapseEvents(const std::vector<MetricsRow>& learner_rows, double entropy_floor = 0.05,
                        int64_t min_steps = 20);

// The first checkpoint at or above `bar`; nullopt-like (-1) when none.
const CurvePoint* FirstReaching(const std::vector<CurvePoint>& curve, double bar);

// The results table (markdown): one row per variant, means over seeds and
// how many seeds reached each bar.
std::string AblationTable(const std::vector<VariantResult>& results);

// Held-out success against step: per variant the mean over seeds, with a
// band from the lowest to the highest seed (SVG).
std::string AblationPlot(const std::vector<VariantResult>& results, const std::string& title);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_ABLATION_H_
