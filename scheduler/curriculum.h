#ifndef AGENTGYM_SCHEDULER_CURRICULUM_H_
#define AGENTGYM_SCHEDULER_CURRICULUM_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agentgym/coordinator/v1/coordinator.pb.h"
#include "core/clock.h"
#include "yaml-cpp/yaml.h"

namespace agentgym::scheduler {

namespace pb = ::agentgym::coordinator::v1;

// The ScalingInter-RL horizon schedule of one track: stage k caps episodes at
// horizons[k] interaction turns.
struct TrackSchedule {
  std::vector<int32_t> horizons;  // > 0, non-decreasing
  // Fixed mode: stage k starts at stage_starts[k] (stage_starts[0] == 0).
  // Filled from `stage_steps` (Δ) as {0, Δ, 2Δ, ...} when not given.
  std::vector<int64_t> stage_starts;
};

// The adaptive rule: leave a stage once its moving success rate passes
// `success_threshold` or stops improving (plateau), but never before
// `min_steps_per_stage` steps and `min_time_per_stage` in it.
struct AdaptiveRule {
  int32_t window = 20;              // success observations in the moving mean
  double success_threshold = 0.0;   // 0: off
  // 0: off. Plateau: mean(last window) - mean(window before) < plateau_delta,
  // so a falling rate counts as well (a drop is no progress either).
  double plateau_delta = 0.0;
  int64_t min_steps_per_stage = 50;
  int64_t max_steps_per_stage = 0;  // 0: no cap
  absl::Duration min_time_per_stage = absl::ZeroDuration();
};

struct CurriculumOptions {
  enum class Mode { kFixed, kAdaptive };
  Mode mode = Mode::kFixed;
  TrackSchedule default_track;                   // env "": every other env
  std::map<std::string, TrackSchedule> per_env;  // envs with their own schedule
  AdaptiveRule adaptive;
  // Solvability-aware stages (`curriculum.solvable`): at horizon h an env's
  // tasks with a known min_turns are handed out only when min_turns + slack
  // <= h, so the pool widens as h grows; tasks of unknown length (0) follow
  // the plain schedule. When no task of an env fits, every task is used.
  struct Solvable {
    bool enabled = false;
    int32_t slack = 0;  // >= 0: spare turns a task must leave at the horizon
  } solvable;
  // The stall guard (`curriculum.guard`; off unless given): a step is
  // stalled when the learner reports a mixed-group fraction under
  // mixed_floor, or (entropy_floor > 0) a policy entropy under
  // entropy_floor. After `patience_steps` stalled steps in a row the guard
  // advances every unpinned track that has a next stage (action kAdvance),
  // at most max_interventions times; when it cannot (every track at its last
  // stage, the interventions spent, or action kFail) the run fails with a
  // message saying why, instead of burning its budget on zero gradients.
  struct Guard {
    enum class Action { kAdvance, kFail };
    bool enabled = false;
    double mixed_floor = 0.05;
    double entropy_floor = 0.0;  // 0: entropy is not watched
    int64_t patience_steps = 30;
    Action action = Action::kAdvance;
    int32_t max_interventions = 3;
  } guard;
  size_t history_limit = 256;  // stage changes kept for status / checkpoints

  // Parses the `curriculum:` mapping (docs/coordinator.md). A null node gives
  // a single-stage default horizon of 30 turns. INVALID_ARGUMENT names the
  // offending key.
  static absl::StatusOr<CurriculumOptions> FromYaml(const YAML::Node& node);
  absl::Status Validate() const;
};

const char* ModeName(CurriculumOptions::Mode mode);

// The horizon curriculum: which stage (and so which max-turns cap) each track
// is in, moved by the fixed schedule, the adaptive rule or by hand. Every move
// is returned as a StageChange so the caller can log, count and push it.
// Not thread-safe: the coordinator service serialises calls. Time comes from
// the injected clock (not owned; must outlive this object).
class Curriculum {
 public:
  static absl::StatusOr<Curriculum> Create(CurriculumOptions options, Clock* clock);

  // Per-env batch success of one training step: env -> (episodes, successes).
  using StepSuccess = std::map<std::string, std::pair<int64_t, int64_t>>;

  // What the learner reported of the step's health (unset: not reported).
  struct StepHealth {
    std::optional<double> mixed_group_fraction;
    std::optional<double> policy_entropy;
  };

  // Applies the automatic rule, then the stall guard, after training step
  // `step`. Returns the stage changes made (empty when none); a guard
  // failure shows in guard_failure().
  std::vector<pb::StageChange> OnProgress(int64_t step, const StepSuccess& success,
                                          const StepHealth& health = {});

  // Non-empty once the stall guard gave up: why the run should stop.
  const std::string& guard_failure() const { return guard_.failure(); }
  const pb::CurriculumGuardStatus& guard_status() const { return guard_; }

  // Manual override (`agentgym-ctl set-horizon`). `env` empty means every
  // track. Exactly one of: `stage`, `max_turns`, `release`. Pinning stops the
  // automatic rule for the track until released; a release hands the track
  // back at once (fixed mode: to the schedule's stage for the current step).
  // Tracks already as asked are left alone and give no StageChange, so the
  // result may be empty.
  // INVALID_ARGUMENT: negative/zero horizon, negative stage, nothing to do;
  // OUT_OF_RANGE: stage past the schedule; NOT_FOUND: no such track.
  absl::StatusOr<std::vector<pb::StageChange>> SetHorizon(const std::string& env,
                                                          std::optional<int32_t> stage,
                                                          std::optional<int32_t> max_turns,
                                                          bool release);

  // The horizon an episode of `env` starts with now.
  int32_t MaxTurnsFor(const std::string& env) const;
  pb::Horizon HorizonProto() const;
  int64_t revision() const { return revision_; }
  const CurriculumOptions::Solvable& solvable() const { return options_.solvable; }
  // With solvable stages on: the most min_turns a task of `env` may need to
  // be handed out now (horizon - slack); nullopt when off.
  std::optional<int32_t> FitTurnsFor(const std::string& env) const {
    if (!options_.solvable.enabled) return std::nullopt;
    return MaxTurnsFor(env) - options_.solvable.slack;
  }
  const std::deque<pb::StageChange>& history() const { return history_; }

  // Checkpoint round trip. Restore checks every track exists and every stage
  // is in range before changing anything (INVALID_ARGUMENT / OUT_OF_RANGE).
  pb::CurriculumState State() const;
  absl::StatusOr<std::vector<pb::StageChange>> Restore(const pb::CurriculumState& state);

 private:
  struct Track {
    std::string env;
    TrackSchedule schedule;
    int32_t stage = 0;
    bool pinned = false;
    int32_t pinned_max_turns = 0;
    int64_t since_step = 0;
    absl::Time since_time;
    std::deque<double> recent_success;  // newest last, at most 2 windows
    int32_t guard_min_stage = 0;  // the fixed schedule gives no lower stage
  };

  Curriculum(CurriculumOptions options, Clock* clock);
  Track* FindTrack(const std::string& env);
  const Track& TrackFor(const std::string& env) const;
  static int32_t MaxTurns(const Track& track);
  // The stage the fixed schedule gives `track` at `step`.
  static int32_t FixedStage(const Track& track, int64_t step);
  std::optional<std::string> AdaptiveReason(const Track& track, int64_t step) const;
  pb::StageChange Move(Track& track, int32_t to_stage, int32_t from_turns, int64_t step,
                       const std::string& reason);
  // The stall guard after step `step` (see CurriculumOptions::Guard).
  std::vector<pb::StageChange> Guard(int64_t step, const StepHealth& health);

  CurriculumOptions options_;
  Clock* clock_;
  std::vector<Track> tracks_;  // [0] is the default track (env "")
  int64_t step_ = 0;
  int64_t revision_ = 0;
  std::deque<pb::StageChange> history_;
  pb::CurriculumGuardStatus guard_;
};

}  // namespace agentgym::scheduler

#endif  // AGENTGYM_SCHEDULER_CURRICULUM_H_
