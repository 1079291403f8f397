#ifndef AGENTGYM_LAUNCHER_SUMMARY_H_
#define AGENTGYM_LAUNCHER_SUMMARY_H_

// The run's summary.md: what ran, how far it got, plots (SVG files beside
// it) of success and reward per env against the learner step with the
// horizon stages shaded, and of loss, KL and entropy; then the held-out
// evaluation table.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace agentgym::launcher {

// One JSONL line flattened: nested numbers under dotted keys
// ({"env": {"maze": {"success_rate": 1}}} -> "env.maze.success_rate").
using MetricsRow = std::map<std::string, double>;

// Every line of a JSONL file that has a numeric "step", flattened; lines
// that are not JSON objects are skipped (a run killed mid-write leaves half
// a line). NOT_FOUND when the file cannot be read.
absl::StatusOr<std::vector<MetricsRow>> ReadMetricsJsonl(const std::string& path);

// A horizon stage as the coordinator's per-step lines show it.
struct HorizonStage {
  int64_t first_step = 0, last_step = 0;
  int stage = 0;
  int max_turns = 0;
};
// Stages of the default track (or the first track) from the coordinator's
// metrics JSONL rows ("horizon.<track>.stage", "horizon.<track>.max_turns").
std::vector<HorizonStage> HorizonStages(const std::vector<MetricsRow>& coordinator_rows);

struct SummaryInputs {
  std::string run_dir;
  std::string run_name;
  std::string config_path;
  std::vector<MetricsRow> learner_rows;
  std::vector<MetricsRow> coordinator_rows;
  int64_t total_steps = 0;
  std::string outcome;     // "finished", "interrupted", "failed: ..."
  double wall_seconds = 0;
  std::string eval_table;  // markdown, from the eval; empty: no eval ran
  std::string eval_note;   // e.g. which checkpoint was evaluated, or why none
  std::string accounting;  // one line, from the coordinator's final status
};

// Writes summary.md and the SVG plots into `run_dir`; returns the path of
// summary.md.
absl::StatusOr<std::string> WriteSummary(const SummaryInputs& inputs);

}  // namespace agentgym::launcher

#endif  // AGENTGYM_LAUNCHER_SUMMARY_H_
