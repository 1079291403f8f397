#include "scheduler/curriculum.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/config.h"
#include "core/status_macros.h"
#include "scheduler/request_limits.h"

namespace agentgym::scheduler {
namespace {

constexpr int32_t kDefaultHorizon = 30;
constexpr int32_t kMaxHorizon = 100000;

const std::vector<std::string> kTrackKeys = {"horizons", "stage_steps", "stage_starts"};
const std::vector<std::string> kCurriculumKeys = {"mode",    "horizons", "stage_steps",
                                                  "stage_starts", "per_env", "adaptive",
                                                  "history_limit", "solvable", "guard"};
const std::vector<std::string> kGuardKeys = {"enabled",        "mixed_floor", "entropy_floor",
                                             "patience_steps", "action",      "max_interventions"};
const std::vector<std::string> kSolvableKeys = {"enabled", "slack"};
const std::vector<std::string> kAdaptiveKeys = {"window",           "success_threshold",
                                                "plateau_delta",    "min_steps_per_stage",
                                                "max_steps_per_stage", "min_seconds_per_stage"};

// `node[key]` as T into `out` when present. INVALID_ARGUMENT naming
// `where.key` when it does not convert or (floating point) is not finite.
template <typename T>
absl::Status Read(const YAML::Node& node, const std::string& where, const char* key, T* out) {
  const YAML::Node value = node[key];
  if (!value) return absl::OkStatus();
  try {
    T parsed = value.as<T>();
    if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(parsed)) throw YAML::Exception(YAML::Mark(), "not finite");
    }
    *out = parsed;
    return absl::OkStatus();
  } catch (const YAML::Exception&) {
    const char* wanted = std::is_floating_point_v<T> ? "a finite number"
                         : std::is_integral_v<T>     ? "an integer"
                                                     : "a list of integers";
    return absl::InvalidArgumentError(
        absl::StrCat(where, ".", key, " has the wrong type (wanted ", wanted, ")"));
  }
}

absl::StatusOr<TrackSchedule> ParseTrack(const YAML::Node& node, const std::string& where,
                                         const std::vector<std::string>& known) {
  TrackSchedule track;
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " must be a mapping"));
  }
  AG_RETURN_IF_ERROR(Config::ExpectOnlyKeysOf(node, where, known));
  if (!node["horizons"]) {
    if (node["stage_steps"] || node["stage_starts"]) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " has stage_steps or stage_starts but no horizons"));
    }
    return absl::InvalidArgumentError(absl::StrCat(where, ".horizons is required"));
  }
  AG_RETURN_IF_ERROR(Read(node, where, "horizons", &track.horizons));
  if (node["stage_starts"] && node["stage_steps"]) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": give stage_steps or stage_starts, not both"));
  }
  if (node["stage_starts"]) {
    AG_RETURN_IF_ERROR(Read(node, where, "stage_starts", &track.stage_starts));
  } else {
    int64_t delta = 100;
    AG_RETURN_IF_ERROR(Read(node, where, "stage_steps", &delta));
    if (delta <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".stage_steps must be > 0, got ", delta));
    }
    for (size_t k = 0; k < track.horizons.size(); ++k) {
      track.stage_starts.push_back(static_cast<int64_t>(k) * delta);
    }
  }
  return track;
}

absl::Status ValidateTrack(const TrackSchedule& t, const std::string& where) {
  if (t.horizons.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".horizons is empty"));
  }
  for (size_t k = 0; k < t.horizons.size(); ++k) {
    if (t.horizons[k] <= 0 || t.horizons[k] > kMaxHorizon) {
      return absl::InvalidArgumentError(absl::StrCat(where, ".horizons[", k, "] must be in 1..",
                                                     kMaxHorizon, ", got ", t.horizons[k]));
    }
    if (k > 0 && t.horizons[k] < t.horizons[k - 1]) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".horizons must not decrease: [", absl::StrJoin(t.horizons, ", "),
                       "]"));
    }
  }
  if (t.stage_starts.size() != t.horizons.size()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".stage_starts has ",
                                                   t.stage_starts.size(), " entries for ",
                                                   t.horizons.size(), " horizons"));
  }
  if (t.stage_starts[0] != 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".stage_starts[0] must be 0"));
  }
  for (size_t k = 1; k < t.stage_starts.size(); ++k) {
    if (t.stage_starts[k] <= t.stage_starts[k - 1]) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".stage_starts must increase: [",
                       absl::StrJoin(t.stage_starts, ", "), "]"));
    }
  }
  return absl::OkStatus();
}

double Mean(std::deque<double>::const_iterator begin, std::deque<double>::const_iterator end) {
  if (begin == end) return 0.0;
  return std::accumulate(begin, end, 0.0) / static_cast<double>(end - begin);
}

}  // namespace

const char* ModeName(CurriculumOptions::Mode mode) {
  return mode == CurriculumOptions::Mode::kAdaptive ? "adaptive" : "fixed";
}

absl::StatusOr<CurriculumOptions> CurriculumOptions::FromYaml(const YAML::Node& node) {
  CurriculumOptions options;
  if (!node || node.IsNull()) {
    options.default_track = {{kDefaultHorizon}, {0}};
    return options;
  }
  if (!node.IsMap()) return absl::InvalidArgumentError("curriculum must be a mapping");
  AG_RETURN_IF_ERROR(Config::ExpectOnlyKeysOf(node, "curriculum", kCurriculumKeys));
  std::string mode = "fixed";
  if (node["mode"]) {
    if (!node["mode"].IsScalar()) {
      return absl::InvalidArgumentError("curriculum.mode must be 'fixed' or 'adaptive'");
    }
    mode = node["mode"].Scalar();
  }
  if (mode == "fixed") {
    options.mode = Mode::kFixed;
  } else if (mode == "adaptive") {
    options.mode = Mode::kAdaptive;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("curriculum.mode must be 'fixed' or 'adaptive', got '", mode, "'"));
  }
  if (node["horizons"] || node["stage_steps"] || node["stage_starts"]) {
    AG_ASSIGN_OR_RETURN(options.default_track, ParseTrack(node, "curriculum", kCurriculumKeys));
  } else {
    options.default_track = {{kDefaultHorizon}, {0}};
  }
  if (const YAML::Node per_env = node["per_env"]) {
    if (!per_env.IsMap()) return absl::InvalidArgumentError("curriculum.per_env must be a mapping");
    for (auto it = per_env.begin(); it != per_env.end(); ++it) {
      std::string env = it->first.IsScalar() ? it->first.Scalar() : "";
      if (env.empty()) {
        return absl::InvalidArgumentError("curriculum.per_env has an empty or non-string env name");
      }
      AG_ASSIGN_OR_RETURN(options.per_env[env], ParseTrack(it->second,
                                                           absl::StrCat("curriculum.per_env.", env),
                                                           kTrackKeys));
    }
  }
  if (const YAML::Node a = node["adaptive"]) {
    const std::string where = "curriculum.adaptive";
    if (!a.IsMap()) return absl::InvalidArgumentError(where + " must be a mapping");
    AG_RETURN_IF_ERROR(Config::ExpectOnlyKeysOf(a, where, kAdaptiveKeys));
    AdaptiveRule& r = options.adaptive;
    AG_RETURN_IF_ERROR(Read(a, where, "window", &r.window));
    AG_RETURN_IF_ERROR(Read(a, where, "success_threshold", &r.success_threshold));
    AG_RETURN_IF_ERROR(Read(a, where, "plateau_delta", &r.plateau_delta));
    AG_RETURN_IF_ERROR(Read(a, where, "min_steps_per_stage", &r.min_steps_per_stage));
    AG_RETURN_IF_ERROR(Read(a, where, "max_steps_per_stage", &r.max_steps_per_stage));
    double seconds = 0;
    AG_RETURN_IF_ERROR(Read(a, where, "min_seconds_per_stage", &seconds));
    if (seconds < 0) return absl::InvalidArgumentError(where + ".min_seconds_per_stage must be >= 0");
    r.min_time_per_stage = absl::Seconds(seconds);
  }
  if (const YAML::Node sv = node["solvable"]) {
    const std::string where = "curriculum.solvable";
    if (!sv.IsMap()) return absl::InvalidArgumentError(where + " must be a mapping");
    AG_RETURN_IF_ERROR(Config::ExpectOnlyKeysOf(sv, where, kSolvableKeys));
    if (const YAML::Node en = sv["enabled"]) {
      if (!en.IsScalar() || !YAML::convert<bool>::decode(en, options.solvable.enabled)) {
        return absl::InvalidArgumentError(where + ".enabled must be true or false");
      }
    } else {
      options.solvable.enabled = true;  // a `solvable:` section means on
    }
    AG_RETURN_IF_ERROR(Read(sv, where, "slack", &options.solvable.slack));
    if (options.solvable.slack < 0) {
      return absl::InvalidArgumentError(where + ".slack must be >= 0");
    }
  }
  if (const YAML::Node g = node["guard"]) {
    const std::string where = "curriculum.guard";
    if (!g.IsMap()) return absl::InvalidArgumentError(where + " must be a mapping");
    AG_RETURN_IF_ERROR(Config::ExpectOnlyKeysOf(g, where, kGuardKeys));
    Guard& gd = options.guard;
    gd.enabled = true;  // a `guard:` section means on
    if (const YAML::Node en = g["enabled"]) {
      if (!en.IsScalar() || !YAML::convert<bool>::decode(en, gd.enabled)) {
        return absl::InvalidArgumentError(where + ".enabled must be true or false");
      }
    }
    AG_RETURN_IF_ERROR(Read(g, where, "mixed_floor", &gd.mixed_floor));
    AG_RETURN_IF_ERROR(Read(g, where, "entropy_floor", &gd.entropy_floor));
    AG_RETURN_IF_ERROR(Read(g, where, "patience_steps", &gd.patience_steps));
    AG_RETURN_IF_ERROR(Read(g, where, "max_interventions", &gd.max_interventions));
    if (const YAML::Node a = g["action"]) {
      const std::string action = a.IsScalar() ? a.Scalar() : "";
      if (action == "advance") {
        gd.action = Guard::Action::kAdvance;
      } else if (action == "fail") {
        gd.action = Guard::Action::kFail;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".action must be 'advance' or 'fail', got '", Quote(action), "'"));
      }
    }
  }
  int64_t history_limit = static_cast<int64_t>(options.history_limit);
  AG_RETURN_IF_ERROR(Read(node, "curriculum", "history_limit", &history_limit));
  if (history_limit <= 0) return absl::InvalidArgumentError("curriculum.history_limit must be > 0");
  options.history_limit = static_cast<size_t>(history_limit);
  AG_RETURN_IF_ERROR(options.Validate());
  return options;
}

absl::Status CurriculumOptions::Validate() const {
  AG_RETURN_IF_ERROR(ValidateTrack(default_track, "curriculum"));
  for (const auto& [env, track] : per_env) {
    AG_RETURN_IF_ERROR(ValidateTrack(track, absl::StrCat("curriculum.per_env.", env)));
  }
  const AdaptiveRule& r = adaptive;
  if (r.window <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("curriculum.adaptive.window must be > 0, got ", r.window));
  }
  if (!(r.success_threshold >= 0 && r.success_threshold <= 1)) {  // NaN too
    return absl::InvalidArgumentError(absl::StrCat(
        "curriculum.adaptive.success_threshold must be in [0, 1], got ", r.success_threshold));
  }
  if (!(r.plateau_delta >= 0) || !std::isfinite(r.plateau_delta)) {
    return absl::InvalidArgumentError("curriculum.adaptive.plateau_delta must be >= 0");
  }
  if (r.min_steps_per_stage < 0 || r.max_steps_per_stage < 0) {
    return absl::InvalidArgumentError("curriculum.adaptive step limits must be >= 0");
  }
  if (mode == Mode::kAdaptive && r.success_threshold == 0 && r.plateau_delta == 0 &&
      r.max_steps_per_stage == 0) {
    return absl::InvalidArgumentError(
        "curriculum.mode is adaptive but no rule is set: give adaptive.success_threshold, "
        "adaptive.plateau_delta or adaptive.max_steps_per_stage");
  }
  if (history_limit == 0) return absl::InvalidArgumentError("curriculum.history_limit must be > 0");
  if (!(guard.mixed_floor >= 0 && guard.mixed_floor <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("curriculum.guard.mixed_floor must be in [0, 1], got ", guard.mixed_floor));
  }
  if (!(guard.entropy_floor >= 0) || !std::isfinite(guard.entropy_floor)) {
    return absl::InvalidArgumentError("curriculum.guard.entropy_floor must be >= 0");
  }
  if (guard.patience_steps < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("curriculum.guard.patience_steps must be >= 1, got ", guard.patience_steps));
  }
  if (guard.max_interventions < 0) {
    return absl::InvalidArgumentError("curriculum.guard.max_interventions must be >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<Curriculum> Curriculum::Create(CurriculumOptions options, Clock* clock) {
  AG_RETURN_IF_ERROR(options.Validate());
  if (clock == nullptr) return absl::InvalidArgumentError("curriculum clock is null");
  return Curriculum(std::move(options), clock);
}

Curriculum::Curriculum(CurriculumOptions options, Clock* clock)
    : options_(std::move(options)), clock_(clock) {
  absl::Time now = clock_->Now();
  tracks_.push_back(Track{"", options_.default_track, 0, false, 0, 0, now, {}});
  for (const auto& [env, schedule] : options_.per_env) {
    tracks_.push_back(Track{env, schedule, 0, false, 0, 0, now, {}});
  }
  guard_.set_enabled(options_.guard.enabled);
}

Curriculum::Track* Curriculum::FindTrack(const std::string& env) {
  for (Track& t : tracks_) {
    if (t.env == env) return &t;
  }
  return nullptr;
}

const Curriculum::Track& Curriculum::TrackFor(const std::string& env) const {
  for (size_t i = 1; i < tracks_.size(); ++i) {
    if (tracks_[i].env == env) return tracks_[i];
  }
  return tracks_[0];
}

int32_t Curriculum::MaxTurns(const Track& track) {
  return track.pinned_max_turns > 0 ? track.pinned_max_turns
                                    : track.schedule.horizons[track.stage];
}

int32_t Curriculum::MaxTurnsFor(const std::string& env) const { return MaxTurns(TrackFor(env)); }

pb::StageChange Curriculum::Move(Track& track, int32_t to_stage, int32_t from_turns,
                                 int64_t step, const std::string& reason) {
  pb::StageChange change;
  change.set_env(track.env);
  change.set_from_stage(track.stage);
  change.set_to_stage(to_stage);
  change.set_from_max_turns(from_turns);
  change.set_step(step);
  change.set_unix_ms(absl::ToUnixMillis(clock_->Now()));
  change.set_reason(reason);
  if (to_stage != track.stage) {
    track.stage = to_stage;
    track.since_step = step;
    track.since_time = clock_->Now();
    track.recent_success.clear();
  }
  change.set_to_max_turns(MaxTurns(track));
  ++revision_;
  history_.push_back(change);
  while (history_.size() > options_.history_limit) history_.pop_front();
  return change;
}

int32_t Curriculum::FixedStage(const Track& track, int64_t step) {
  const auto& starts = track.schedule.stage_starts;
  const int32_t last = static_cast<int32_t>(track.schedule.horizons.size()) - 1;
  const int32_t target = static_cast<int32_t>(
      std::upper_bound(starts.begin(), starts.end(), step) - starts.begin() - 1);
  return std::clamp(target, 0, last);
}

std::optional<std::string> Curriculum::AdaptiveReason(const Track& track, int64_t step) const {
  const AdaptiveRule& r = options_.adaptive;
  int64_t in_stage = step - track.since_step;
  if (r.max_steps_per_stage > 0 && in_stage >= r.max_steps_per_stage) return "max_steps";
  if (in_stage < r.min_steps_per_stage) return std::nullopt;
  if (clock_->Now() - track.since_time < r.min_time_per_stage) return std::nullopt;
  const auto& s = track.recent_success;
  size_t w = static_cast<size_t>(r.window);
  if (s.size() < w) return std::nullopt;
  double current = Mean(s.end() - w, s.end());
  if (r.success_threshold > 0 && current >= r.success_threshold) return "threshold";
  if (r.plateau_delta > 0 && s.size() >= 2 * w) {
    double previous = Mean(s.end() - 2 * w, s.end() - w);
    if (current - previous < r.plateau_delta) return "plateau";
  }
  return std::nullopt;
}

std::vector<pb::StageChange> Curriculum::OnProgress(int64_t step, const StepSuccess& success,
                                                    const StepHealth& health) {
  step_ = step;
  std::vector<pb::StageChange> changes;
  // Aggregate the step's success per track: envs without a track of their own
  // feed the default track.
  std::map<std::string, std::pair<int64_t, int64_t>> per_track;
  for (const auto& [env, counts] : success) {
    auto& agg = per_track[TrackFor(env).env];
    agg.first += counts.first;
    agg.second += counts.second;
  }
  const size_t keep = 2 * static_cast<size_t>(options_.adaptive.window);
  for (Track& track : tracks_) {
    auto it = per_track.find(track.env);
    if (it != per_track.end() && it->second.first > 0) {
      track.recent_success.push_back(static_cast<double>(it->second.second) /
                                     static_cast<double>(it->second.first));
      while (track.recent_success.size() > keep) track.recent_success.pop_front();
    }
    if (track.pinned) continue;
    const int32_t last = static_cast<int32_t>(track.schedule.horizons.size()) - 1;
    if (options_.mode == CurriculumOptions::Mode::kFixed) {
      const auto& starts = track.schedule.stage_starts;
      const int32_t target = std::max(FixedStage(track, step), track.guard_min_stage);
      if (target != track.stage) {
        int32_t from_turns = MaxTurns(track);
        changes.push_back(Move(track, target, from_turns, step, "schedule"));
        // The schedule, not the time a report arrived, says when a stage began.
        track.since_step = starts[target];
      }
    } else if (track.stage < last) {
      if (auto reason = AdaptiveReason(track, step)) {
        changes.push_back(Move(track, track.stage + 1, MaxTurns(track), step, *reason));
      }
    }
  }
  std::vector<pb::StageChange> guarded = Guard(step, health);
  changes.insert(changes.end(), guarded.begin(), guarded.end());
  return changes;
}

std::vector<pb::StageChange> Curriculum::Guard(int64_t step, const StepHealth& health) {
  const CurriculumOptions::Guard& g = options_.guard;
  if (!g.enabled || !guard_.failure().empty()) return {};
  if (health.mixed_group_fraction) guard_.set_mixed_group_fraction(*health.mixed_group_fraction);
  if (health.policy_entropy) guard_.set_policy_entropy(*health.policy_entropy);
  std::vector<std::string> why;
  if (health.mixed_group_fraction && *health.mixed_group_fraction < g.mixed_floor) {
    why.push_back(absl::StrCat("mixed-reward groups under ", g.mixed_floor));
  }
  if (g.entropy_floor > 0 && health.policy_entropy && *health.policy_entropy < g.entropy_floor) {
    why.push_back(absl::StrCat("policy entropy under ", g.entropy_floor));
  }
  if (why.empty()) {
    guard_.set_stalled_steps(0);
    return {};
  }
  guard_.set_stalled_steps(guard_.stalled_steps() + 1);
  if (guard_.stalled_steps() < g.patience_steps) return {};
  const std::string stall = absl::StrCat(absl::StrJoin(why, " and "), " for ", guard_.stalled_steps(),
                                         " steps (at step ", step, ")");
  guard_.set_stalled_steps(0);
  std::vector<Track*> movable;
  for (Track& t : tracks_) {
    if (!t.pinned && t.stage + 1 < static_cast<int32_t>(t.schedule.horizons.size())) movable.push_back(&t);
  }
  std::string cannot;
  if (g.action == CurriculumOptions::Guard::Action::kFail) {
    cannot = "curriculum.guard.action is 'fail'";
  } else if (guard_.interventions() >= g.max_interventions) {
    cannot = absl::StrCat("the guard already intervened ", guard_.interventions(), " times (max_interventions)");
  } else if (movable.empty()) {
    cannot = "every unpinned track is at its last horizon stage";
  }
  if (!cannot.empty()) {
    guard_.set_failure(absl::StrCat("training stalled: ", stall, "; ", cannot,
                                    ". Group-relative algorithms get no gradient when every member of a group "
                                    "scores the same: check the horizon (can the tasks be solved in it?), "
                                    "the entropy bonus and the learning rate"));
    return {};
  }
  std::vector<pb::StageChange> changes;
  for (Track* t : movable) {
    t->guard_min_stage = t->stage + 1;
    changes.push_back(Move(*t, t->stage + 1, MaxTurns(*t), step, "guard"));
  }
  guard_.set_interventions(guard_.interventions() + 1);
  guard_.set_last_intervention(absl::StrCat("advanced ", changes.size(), " track(s) a stage: ", stall));
  return changes;
}

absl::StatusOr<std::vector<pb::StageChange>> Curriculum::SetHorizon(
    const std::string& env, std::optional<int32_t> stage, std::optional<int32_t> max_turns,
    bool release) {
  int targets = (stage ? 1 : 0) + (max_turns ? 1 : 0) + (release ? 1 : 0);
  if (targets != 1) {
    return absl::InvalidArgumentError(
        "set-horizon needs exactly one of: a stage, a max_turns value, or release");
  }
  if (max_turns && (*max_turns <= 0 || *max_turns > kMaxHorizon)) {
    return absl::InvalidArgumentError(absl::StrCat("horizon (max_turns) must be in 1..",
                                                   kMaxHorizon, ", got ", *max_turns));
  }
  if (stage && *stage < 0) {
    return absl::InvalidArgumentError(absl::StrCat("stage must be >= 0, got ", *stage));
  }
  std::vector<Track*> targets_list;
  if (env.empty()) {
    for (Track& t : tracks_) targets_list.push_back(&t);
  } else if (Track* t = FindTrack(env)) {
    targets_list.push_back(t);
  } else {
    std::vector<std::string> names;
    for (const Track& t : tracks_) names.push_back(t.env.empty() ? "(default)" : t.env);
    return absl::NotFoundError(absl::StrCat("no horizon track for env '", Quote(env),
                                            "'; tracks: ", absl::StrJoin(names, ", "),
                                            " (leave env empty for every track)"));
  }
  if (stage) {
    for (Track* t : targets_list) {
      if (*stage >= static_cast<int32_t>(t->schedule.horizons.size())) {
        return absl::OutOfRangeError(absl::StrCat(
            "stage ", *stage, " is past the schedule of track '", t->env.empty() ? "(default)" : t->env,
            "' (", t->schedule.horizons.size(), " stages: [",
            absl::StrJoin(t->schedule.horizons, ", "), "])"));
      }
    }
  }
  // A track already as asked is left alone: no StageChange, no revision
  // bump (e.g. --release of a track that is not pinned, or the same pin twice).
  std::vector<pb::StageChange> changes;
  for (Track* t : targets_list) {
    int32_t from_turns = MaxTurns(*t);
    if (release) {
      if (!t->pinned) continue;
      t->pinned = false;
      t->pinned_max_turns = 0;
      // The automatic rule takes over at once: under the fixed schedule the
      // track goes to the stage the schedule gives for the current step.
      const bool fixed = options_.mode == CurriculumOptions::Mode::kFixed;
      const int32_t from_stage = t->stage;
      const int32_t to_stage = fixed ? FixedStage(*t, step_) : from_stage;
      changes.push_back(Move(*t, to_stage, from_turns, step_, "release"));
      if (fixed && to_stage != from_stage) t->since_step = t->schedule.stage_starts[to_stage];
    } else if (stage) {
      if (t->pinned && t->pinned_max_turns == 0 && t->stage == *stage) continue;
      t->pinned = true;
      t->pinned_max_turns = 0;
      changes.push_back(Move(*t, *stage, from_turns, step_, "manual"));
    } else {
      if (t->pinned && t->pinned_max_turns == *max_turns) continue;
      t->pinned = true;
      t->pinned_max_turns = *max_turns;
      changes.push_back(Move(*t, t->stage, from_turns, step_, "manual"));
    }
  }
  return changes;
}

pb::Horizon Curriculum::HorizonProto() const {
  pb::Horizon horizon;
  horizon.set_revision(revision_);
  for (const Track& t : tracks_) {
    pb::HorizonStage* s = horizon.add_tracks();
    s->set_env(t.env);
    s->set_stage(t.stage);
    s->set_num_stages(static_cast<int32_t>(t.schedule.horizons.size()));
    s->set_max_turns(MaxTurns(t));
    s->set_pinned(t.pinned);
    s->set_since_step(t.since_step);
    s->set_mode(ModeName(options_.mode));
    for (int32_t h : t.schedule.horizons) s->add_schedule(h);
  }
  return horizon;
}

pb::CurriculumState Curriculum::State() const {
  pb::CurriculumState state;
  state.set_step(step_);
  state.set_revision(revision_);
  for (const Track& t : tracks_) {
    pb::TrackState* s = state.add_tracks();
    s->set_env(t.env);
    s->set_stage(t.stage);
    s->set_pinned(t.pinned);
    s->set_pinned_max_turns(t.pinned_max_turns);
    s->set_since_step(t.since_step);
    s->set_since_unix_ms(absl::ToUnixMillis(t.since_time));
    for (double v : t.recent_success) s->add_recent_success(v);
    s->set_guard_min_stage(t.guard_min_stage);
  }
  for (const auto& change : history_) *state.add_history() = change;
  *state.mutable_guard() = guard_;
  return state;
}

absl::StatusOr<std::vector<pb::StageChange>> Curriculum::Restore(
    const pb::CurriculumState& state) {
  if (state.step() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("curriculum state step must be >= 0, got ",
                                                   state.step()));
  }
  // Validate everything first so a bad state changes nothing.
  for (const pb::TrackState& s : state.tracks()) {
    Track* t = FindTrack(s.env());
    if (t == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "curriculum state has track '", Quote(s.env()),
          "' that this run's config does not define; the schedule changed since the checkpoint"));
    }
    if (s.stage() < 0 || s.stage() >= static_cast<int32_t>(t->schedule.horizons.size())) {
      return absl::OutOfRangeError(absl::StrCat("curriculum state puts track '", s.env(),
                                                "' in stage ", s.stage(), " of ",
                                                t->schedule.horizons.size()));
    }
    if (s.pinned_max_turns() < 0 || s.pinned_max_turns() > kMaxHorizon) {
      return absl::InvalidArgumentError(absl::StrCat("curriculum state has a bad pinned horizon ",
                                                     s.pinned_max_turns()));
    }
  }
  step_ = state.step();
  std::vector<pb::StageChange> changes;
  for (const pb::TrackState& s : state.tracks()) {
    Track* t = FindTrack(s.env());
    int32_t from_turns = MaxTurns(*t);
    t->pinned = s.pinned();
    t->pinned_max_turns = s.pinned_max_turns();
    changes.push_back(Move(*t, s.stage(), from_turns, state.step(), "restore"));
    t->since_step = s.since_step();
    t->since_time = absl::FromUnixMillis(s.since_unix_ms());
    t->recent_success.assign(s.recent_success().begin(), s.recent_success().end());
    t->guard_min_stage = std::clamp<int32_t>(s.guard_min_stage(), 0, t->stage);
  }
  // The guard's counts carry over; whether it is on is this run's config,
  // and a resumed run gets a fresh verdict (its config may have changed).
  if (state.has_guard()) {
    guard_ = state.guard();
    guard_.set_enabled(options_.guard.enabled);
    guard_.clear_failure();
  }
  // Keep the checkpoint's history ahead of the restore events themselves.
  std::deque<pb::StageChange> merged(state.history().begin(), state.history().end());
  for (const auto& c : changes) merged.push_back(c);
  while (merged.size() > options_.history_limit) merged.pop_front();
  history_ = std::move(merged);
  revision_ = std::max(revision_, state.revision() + 1);
  return changes;
}

}  // namespace agentgym::scheduler
