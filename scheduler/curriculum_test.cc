#include "scheduler/curriculum.h"

#include <string>

#include "core/config.h"
#include "gtest/gtest.h"

namespace agentgym::scheduler {
namespace {

CurriculumOptions Parse(const std::string& yaml) {
  auto config = Config::FromString(yaml);
  EXPECT_TRUE(config.ok()) << config.status();
  auto options = CurriculumOptions::FromYaml(config->Find("curriculum"));
  EXPECT_TRUE(options.ok()) << options.status();
  return *options;
}

Curriculum Make(const CurriculumOptions& options, Clock* clock) {
  auto c = Curriculum::Create(options, clock);
  EXPECT_TRUE(c.ok()) << c.status();
  return *std::move(c);
}

TEST(CurriculumTest, FixedScheduleMovesAtTheConfiguredSteps) {
  FakeClock clock;
  Curriculum c = Make(Parse("curriculum: {horizons: [10, 20, 30], stage_steps: 100}"), &clock);
  EXPECT_EQ(c.MaxTurnsFor("textcraft"), 10);
  EXPECT_TRUE(c.OnProgress(99, {}).empty());
  EXPECT_EQ(c.MaxTurnsFor("textcraft"), 10);
  auto changes = c.OnProgress(100, {});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].from_max_turns(), 10);
  EXPECT_EQ(changes[0].to_max_turns(), 20);
  EXPECT_EQ(changes[0].reason(), "schedule");
  EXPECT_EQ(c.MaxTurnsFor("anything"), 20);
  EXPECT_TRUE(c.OnProgress(150, {}).empty());
  // A report that skips a boundary still lands in the right stage.
  changes = c.OnProgress(5000, {});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].to_stage(), 2);
  EXPECT_EQ(c.MaxTurnsFor("textcraft"), 30);
  EXPECT_EQ(c.HorizonProto().tracks(0).since_step(), 200);
  EXPECT_EQ(c.revision(), 2);
}

TEST(CurriculumTest, PerEnvSchedulesMoveIndependently) {
  FakeClock clock;
  Curriculum c = Make(Parse(R"(
curriculum:
  horizons: [10, 20, 30]
  stage_steps: 100
  per_env:
    webarena: {horizons: [8, 12, 15], stage_steps: 80}
)"),
                      &clock);
  EXPECT_EQ(c.MaxTurnsFor("webarena"), 8);
  auto changes = c.OnProgress(80, {});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].env(), "webarena");
  EXPECT_EQ(c.MaxTurnsFor("webarena"), 12);
  EXPECT_EQ(c.MaxTurnsFor("textcraft"), 10);
  changes = c.OnProgress(160, {});
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(c.MaxTurnsFor("webarena"), 15);
  EXPECT_EQ(c.MaxTurnsFor("textcraft"), 20);
}

CurriculumOptions Adaptive(double threshold, double plateau, int64_t min_steps) {
  CurriculumOptions o;
  o.mode = CurriculumOptions::Mode::kAdaptive;
  o.default_track = {{6, 13, 20}, {0, 100, 200}};
  o.adaptive.window = 5;
  o.adaptive.success_threshold = threshold;
  o.adaptive.plateau_delta = plateau;
  o.adaptive.min_steps_per_stage = min_steps;
  return o;
}

TEST(CurriculumTest, AdaptiveAdvancesWhenSuccessPassesThresholdAfterMinSteps) {
  FakeClock clock;
  Curriculum c = Make(Adaptive(/*threshold=*/0.8, /*plateau=*/0, /*min_steps=*/10), &clock);
  // High success from the start, but the stage must last 10 steps.
  for (int step = 1; step < 10; ++step) {
    EXPECT_TRUE(c.OnProgress(step, {{"babyai", {10, 9}}}).empty()) << step;
  }
  auto changes = c.OnProgress(10, {{"babyai", {10, 9}}});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].reason(), "threshold");
  EXPECT_EQ(c.MaxTurnsFor("babyai"), 13);
  // The window restarts in the new stage: low success keeps it there.
  for (int step = 11; step < 40; ++step) {
    EXPECT_TRUE(c.OnProgress(step, {{"babyai", {10, 3}}}).empty()) << step;
  }
  EXPECT_EQ(c.MaxTurnsFor("babyai"), 13);
}

TEST(CurriculumTest, AdaptiveAdvancesOnPlateau) {
  FakeClock clock;
  Curriculum c = Make(Adaptive(/*threshold=*/0, /*plateau=*/0.05, /*min_steps=*/0), &clock);
  // Improving: 0.1, 0.2, ... each window beats the last by far.
  int step = 0;
  for (; step < 10; ++step) {
    EXPECT_TRUE(c.OnProgress(step, {{"babyai", {100, 10 * step}}}).empty()) << step;
  }
  // Flat at 0.5: the last window stops improving over the one before.
  std::vector<pb::StageChange> changes;
  for (; step < 40 && changes.empty(); ++step) changes = c.OnProgress(step, {{"babyai", {100, 50}}});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].reason(), "plateau");
  EXPECT_EQ(changes[0].to_max_turns(), 13);
}

// The plateau rule, precisely: with two full windows of w observations, the
// track moves on when mean(last w) - mean(w before) < plateau_delta. A drop is
// no progress either, so it counts; only a rise of at least plateau_delta
// holds the stage.
TEST(CurriculumTest, PlateauMeansNoImprovementOfDeltaAndADropCounts) {
  auto run = [](std::vector<int> successes_per_100) {
    FakeClock clock;
    Curriculum c = Make(Adaptive(/*threshold=*/0, /*plateau=*/0.05, /*min_steps=*/0), &clock);
    std::vector<pb::StageChange> changes;
    int step = 0;
    for (int s : successes_per_100) {
      changes = c.OnProgress(step++, {{"babyai", {100, s}}});
      if (!changes.empty()) break;
    }
    return std::make_pair(step, changes);
  };
  // Window 5: first window at 0.50, second rising to 0.60 (+0.10): holds.
  auto [rise_step, rise] = run({50, 50, 50, 50, 50, 60, 60, 60, 60, 60});
  EXPECT_TRUE(rise.empty());
  // +0.02 < 0.05: a plateau, at the first step with two full windows.
  auto [flat_step, flat] = run({50, 50, 50, 50, 50, 52, 52, 52, 52, 52});
  ASSERT_EQ(flat.size(), 1u);
  EXPECT_EQ(flat[0].reason(), "plateau");
  EXPECT_EQ(flat_step, 10);
  // A drop (0.50 -> 0.30) also moves the stage on, as "plateau".
  auto [drop_step, drop] = run({50, 50, 50, 50, 50, 30, 30, 30, 30, 30});
  ASSERT_EQ(drop.size(), 1u);
  EXPECT_EQ(drop[0].reason(), "plateau");
  EXPECT_EQ(drop[0].to_max_turns(), 13);
  // Fewer than two full windows: no judgement yet.
  auto [short_step, short_run] = run({50, 50, 50, 50, 50, 10, 10, 10, 10});
  EXPECT_TRUE(short_run.empty());
}

TEST(CurriculumTest, AdaptiveWaitsForMinimumTimeOnInjectedClock) {
  FakeClock clock;
  CurriculumOptions o = Adaptive(0.5, 0, 0);
  o.adaptive.min_time_per_stage = absl::Minutes(10);
  Curriculum c = Make(o, &clock);
  for (int step = 0; step < 20; ++step) {
    EXPECT_TRUE(c.OnProgress(step, {{"babyai", {4, 4}}}).empty());
  }
  clock.Advance(absl::Minutes(11));
  EXPECT_EQ(c.OnProgress(20, {{"babyai", {4, 4}}}).size(), 1u);
}

TEST(CurriculumTest, ManualOverridePinsUntilReleased) {
  FakeClock clock;
  Curriculum c = Make(Parse("curriculum: {horizons: [10, 20, 30], stage_steps: 100}"), &clock);
  auto pinned = c.SetHorizon("", std::nullopt, 25, false);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  EXPECT_EQ(c.MaxTurnsFor("x"), 25);
  EXPECT_TRUE(c.OnProgress(300, {}).empty());  // pinned: the schedule waits
  EXPECT_EQ(c.MaxTurnsFor("x"), 25);
  // Released, the schedule takes over at once: step 300 is stage 2.
  auto released = c.SetHorizon("", std::nullopt, std::nullopt, true);
  ASSERT_TRUE(released.ok());
  ASSERT_EQ(released->size(), 1u);
  EXPECT_EQ((*released)[0].reason(), "release");
  EXPECT_EQ((*released)[0].from_max_turns(), 25);
  EXPECT_EQ((*released)[0].to_max_turns(), 30);
  EXPECT_EQ(c.MaxTurnsFor("x"), 30);
  EXPECT_EQ(c.HorizonProto().tracks(0).since_step(), 200);
  EXPECT_TRUE(c.OnProgress(301, {}).empty());
  ASSERT_TRUE(c.SetHorizon("", 0, std::nullopt, false).ok());
  EXPECT_EQ(c.MaxTurnsFor("x"), 10);
  EXPECT_TRUE(c.HorizonProto().tracks(0).pinned());
}

// A request that changes nothing records nothing: no 10 -> 10 StageChange,
// no revision bump.
TEST(CurriculumTest, NoOpOverridesRecordNothing) {
  FakeClock clock;
  Curriculum c = Make(Parse(R"(
curriculum:
  horizons: [10, 20, 30]
  per_env:
    babyai: {horizons: [6, 13, 20]}
)"),
                      &clock);
  auto none = c.SetHorizon("", std::nullopt, std::nullopt, /*release=*/true);  // nothing pinned
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(c.revision(), 0);
  EXPECT_TRUE(c.history().empty());

  ASSERT_EQ(c.SetHorizon("babyai", std::nullopt, 9, false)->size(), 1u);
  EXPECT_EQ(c.revision(), 1);
  EXPECT_TRUE(c.SetHorizon("babyai", std::nullopt, 9, false)->empty());  // same pin again
  ASSERT_EQ(c.SetHorizon("", 1, std::nullopt, false)->size(), 2u);
  EXPECT_TRUE(c.SetHorizon("", 1, std::nullopt, false)->empty());
  EXPECT_EQ(c.revision(), 3);
  // Releasing every track touches only the pinned ones.
  ASSERT_EQ(c.SetHorizon("babyai", std::nullopt, std::nullopt, true)->size(), 1u);
  auto rest = c.SetHorizon("", std::nullopt, std::nullopt, true);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].env(), "");
  EXPECT_EQ((*rest)[0].to_max_turns(), 10);  // step 0: the schedule's stage 0
  EXPECT_TRUE(c.SetHorizon("", std::nullopt, std::nullopt, true)->empty());
  EXPECT_EQ(c.revision(), 5);
  EXPECT_EQ(c.history().size(), 5u);
}

TEST(CurriculumTest, BadOverridesGetClearErrors) {
  FakeClock clock;
  Curriculum c = Make(Parse("curriculum: {horizons: [10, 20, 30]}"), &clock);
  auto negative = c.SetHorizon("", std::nullopt, -3, false);
  EXPECT_EQ(negative.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(negative.status().message().find("-3"), std::string::npos);
  EXPECT_EQ(c.SetHorizon("", 3, std::nullopt, false).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(c.SetHorizon("", -1, std::nullopt, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto unknown = c.SetHorizon("nosuchenv", std::nullopt, 5, false);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("nosuchenv"), std::string::npos);
  EXPECT_EQ(c.SetHorizon("", std::nullopt, std::nullopt, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.MaxTurnsFor("x"), 10);  // nothing changed
}

TEST(CurriculumTest, StateRoundTripResumesInTheRightStage) {
  FakeClock clock;
  CurriculumOptions o = Adaptive(0.8, 0, 0);
  Curriculum before = Make(o, &clock);
  for (int step = 0; step < 5; ++step) before.OnProgress(step, {{"babyai", {10, 9}}});
  ASSERT_EQ(before.MaxTurnsFor("babyai"), 13);
  before.OnProgress(6, {{"babyai", {10, 2}}});
  pb::CurriculumState state = before.State();

  Curriculum after = Make(o, &clock);
  ASSERT_EQ(after.MaxTurnsFor("babyai"), 6);
  auto restored = after.Restore(state);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(after.MaxTurnsFor("babyai"), 13);
  EXPECT_EQ(after.State().tracks(0).recent_success_size(), 1);
  EXPECT_EQ(after.State().tracks(0).since_step(), state.tracks(0).since_step());
  EXPECT_GE(after.history().size(), before.history().size());

  pb::CurriculumState bad = state;
  bad.mutable_tracks(0)->set_stage(7);
  EXPECT_EQ(after.Restore(bad).status().code(), absl::StatusCode::kOutOfRange);
  bad = state;
  bad.mutable_tracks(0)->set_env("gone");
  EXPECT_EQ(after.Restore(bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(after.MaxTurnsFor("babyai"), 13);
}

TEST(CurriculumTest, RejectsBadConfig) {
  for (const char* yaml : {
           "curriculum: {horizons: []}",
           "curriculum: {horizons: [10, 5]}",
           "curriculum: {horizons: [0, 5]}",
           "curriculum: {horizons: [10, 20], stage_steps: 0}",
           "curriculum: {horizons: [10, 20], stage_starts: [5, 10]}",
           "curriculum: {mode: sometimes, horizons: [10]}",
           "curriculum: {mode: adaptive, horizons: [10, 20]}",
           "curriculum: {horizons: [a, b]}",
       }) {
    auto config = Config::FromString(yaml);
    ASSERT_TRUE(config.ok());
    auto options = CurriculumOptions::FromYaml(config->Find("curriculum"));
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << yaml;
  }
}

// The shipped presets reproduce the paper's schedules.
TEST(CurriculumTest, PresetsMatchThePaper) {
  struct Expect {
    const char* file;
    std::vector<int32_t> horizons;
    int64_t delta;
  };
  for (const Expect& e : std::vector<Expect>{{"textcraft", {10, 20, 30}, 100},
                                             {"sciworld", {10, 20, 30}, 100},
                                             {"babyai", {6, 13, 20}, 100},
                                             {"deepsearch", {5, 8, 10}, 100},
                                             {"webarena", {8, 12, 15}, 80}}) {
    std::string path = std::string(AG_PRESET_DIR) + "/" + e.file + ".yaml";
    auto config = Config::FromFile(path);
    ASSERT_TRUE(config.ok()) << config.status();
    auto options = CurriculumOptions::FromYaml(config->Find("curriculum"));
    ASSERT_TRUE(options.ok()) << path << ": " << options.status();
    const TrackSchedule& t =
        options->per_env.count(e.file) ? options->per_env.at(e.file) : options->default_track;
    EXPECT_EQ(t.horizons, e.horizons) << path;
    ASSERT_EQ(t.stage_starts.size(), 3u);
    EXPECT_EQ(t.stage_starts[1], e.delta) << path;
    EXPECT_EQ(t.stage_starts[2], 2 * e.delta) << path;
  }
  for (const char* extra : {"mixed", "adaptive"}) {
    auto config = Config::FromFile(std::string(AG_PRESET_DIR) + "/" + extra + ".yaml");
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_TRUE(CurriculumOptions::FromYaml(config->Find("curriculum")).ok()) << extra;
  }
}

// The stall guard (LEARNING-FACTS: at a too-short horizon every group
// scored the same, the GRPO gradient vanished and training stalled).
Curriculum::StepHealth Mixed(double fraction, double entropy = 1.0) {
  Curriculum::StepHealth h;
  h.mixed_group_fraction = fraction;
  h.policy_entropy = entropy;
  return h;
}

TEST(CurriculumGuardTest, AdvancesTheStageAfterPatienceStalledStepsThenFailsAtTheLastStage) {
  FakeClock clock;
  Curriculum c = Make(Parse("curriculum: {horizons: [2, 4, 6], stage_steps: 1000, "
                            "guard: {mixed_floor: 0.1, patience_steps: 3}}"),
                      &clock);
  EXPECT_TRUE(c.guard_status().enabled());
  EXPECT_TRUE(c.OnProgress(1, {}, Mixed(0.0)).empty());
  EXPECT_TRUE(c.OnProgress(2, {}, Mixed(0.05)).empty());
  EXPECT_TRUE(c.OnProgress(3, {}, Mixed(0.5)).empty());  // a healthy step resets the count
  EXPECT_EQ(c.guard_status().stalled_steps(), 0);
  EXPECT_TRUE(c.OnProgress(4, {}, Mixed(0.0)).empty());
  EXPECT_TRUE(c.OnProgress(5, {}, Mixed(0.0)).empty());
  auto changes = c.OnProgress(6, {}, Mixed(0.0));
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].reason(), "guard");
  EXPECT_EQ(changes[0].to_max_turns(), 4);
  EXPECT_EQ(c.MaxTurnsFor("maze"), 4);
  EXPECT_EQ(c.guard_status().interventions(), 1);
  EXPECT_NE(c.guard_status().last_intervention().find("mixed-reward groups under 0.1"), std::string::npos);
  // The fixed schedule (next stage at step 1000) does not take it back.
  EXPECT_TRUE(c.OnProgress(7, {}, Mixed(0.5)).empty());
  EXPECT_EQ(c.MaxTurnsFor("maze"), 4);
  for (int64_t s = 8; s <= 10; ++s) c.OnProgress(s, {}, Mixed(0.0));
  EXPECT_EQ(c.MaxTurnsFor("maze"), 6);
  EXPECT_TRUE(c.guard_failure().empty());
  for (int64_t s = 11; s <= 13; ++s) EXPECT_TRUE(c.OnProgress(s, {}, Mixed(0.0)).empty());
  EXPECT_NE(c.guard_failure().find("every unpinned track is at its last horizon stage"), std::string::npos)
      << c.guard_failure();
  // The schedule still moves on as before once its step comes.
  EXPECT_EQ(c.OnProgress(2000, {}, Mixed(0.5)).size(), 0u);
  EXPECT_EQ(c.MaxTurnsFor("maze"), 6);
}

TEST(CurriculumGuardTest, EntropyFloorFailActionAndInterventionCap) {
  FakeClock clock;
  Curriculum fail = Make(Parse("curriculum: {horizons: [2, 4], guard: {entropy_floor: 0.2, "
                               "patience_steps: 2, action: fail}}"),
                         &clock);
  fail.OnProgress(1, {}, Mixed(0.5, 0.1));
  EXPECT_TRUE(fail.guard_failure().empty());
  fail.OnProgress(2, {}, Mixed(0.5, 0.1));
  EXPECT_NE(fail.guard_failure().find("policy entropy under 0.2"), std::string::npos) << fail.guard_failure();
  EXPECT_NE(fail.guard_failure().find("action is 'fail'"), std::string::npos);
  EXPECT_EQ(fail.MaxTurnsFor("maze"), 2);

  Curriculum capped = Make(Parse("curriculum: {horizons: [2, 4, 6], guard: {patience_steps: 1, "
                                 "max_interventions: 1}}"),
                           &clock);
  EXPECT_EQ(capped.OnProgress(1, {}, Mixed(0.0)).size(), 1u);
  EXPECT_TRUE(capped.OnProgress(2, {}, Mixed(0.0)).empty());
  EXPECT_NE(capped.guard_failure().find("max_interventions"), std::string::npos) << capped.guard_failure();

  // Off without a guard section; unreported health never counts as stalled.
  Curriculum off = Make(Parse("curriculum: {horizons: [2, 4], stage_steps: 1000}"), &clock);
  for (int64_t s = 1; s <= 100; ++s) EXPECT_TRUE(off.OnProgress(s, {}, Mixed(0.0)).empty());
  Curriculum unreported = Make(Parse("curriculum: {horizons: [2, 4], guard: {patience_steps: 1}}"), &clock);
  for (int64_t s = 1; s <= 10; ++s) EXPECT_TRUE(unreported.OnProgress(s, {}, {}).empty());
  EXPECT_TRUE(unreported.guard_failure().empty());
}

TEST(CurriculumGuardTest, PinnedTracksAreLeftAloneAndStateRoundTrips) {
  FakeClock clock;
  const CurriculumOptions options = Parse(
      "curriculum: {horizons: [2, 4, 6], per_env: {babyai: {horizons: [3, 5]}}, guard: {patience_steps: 1}}");
  Curriculum c = Make(options, &clock);
  ASSERT_TRUE(c.SetHorizon("babyai", std::nullopt, 3, false).ok());
  auto changes = c.OnProgress(1, {}, Mixed(0.0));
  ASSERT_EQ(changes.size(), 1u);  // the default track only: babyai is pinned
  EXPECT_EQ(changes[0].env(), "");
  EXPECT_EQ(c.MaxTurnsFor("babyai"), 3);

  Curriculum resumed = Make(options, &clock);
  ASSERT_TRUE(resumed.Restore(c.State()).ok());
  EXPECT_EQ(resumed.MaxTurnsFor("maze"), 4);
  EXPECT_EQ(resumed.guard_status().interventions(), 1);
  EXPECT_TRUE(resumed.OnProgress(2, {}, Mixed(0.5)).empty());  // the schedule keeps stage 1
  EXPECT_EQ(resumed.MaxTurnsFor("maze"), 4);
}

TEST(CurriculumGuardTest, RejectsBadGuardConfig) {
  for (const char* yaml : {"curriculum: {guard: {mixed_floor: 2}}", "curriculum: {guard: {patience_steps: 0}}",
                           "curriculum: {guard: {action: restart}}", "curriculum: {guard: {entropy_floor: -1}}",
                           "curriculum: {guard: {patinece_steps: 3}}", "curriculum: {guard: 3}"}) {
    auto config = Config::FromString(yaml);
    ASSERT_TRUE(config.ok());
    auto options = CurriculumOptions::FromYaml(config->Find("curriculum"));
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << yaml;
    EXPECT_NE(options.status().message().find("curriculum.guard"), std::string::npos) << options.status();
  }
}

}  // namespace
}  // namespace agentgym::scheduler
