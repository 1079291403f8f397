// The learning proof: `agentgym train` through the real multi-process path
// (coordinator, env server, learner, actor as supervised children) takes a
// random-init tiny model on the maze env's open4 grid from < 10% to >= 60%
// held-out (test split, greedy) success within 1000 learner steps. Held-out
// success is measured on the checkpoints the run writes every 25 steps, as
// they appear; once a checkpoint reaches the bar the run is stopped (SIGINT:
// the learner checkpoints, the launcher exits 130), so a run that learns
// fast costs little CI time and a slow one still has its 1000 steps. Steps
// are asserted, never seconds.
//
// Why 60% and not the 80% we aim for: of two full runs, one reached 87.5%
// at step 450; the other peaked at 77% (steps 450 and 525), then its entropy
// collapsed (mixed groups fell to ~10%) and it oscillated between 44% and
// 77% up to step 750. Both passed 60% by step 450 (docs/benchmarks.md).
//
// REINFORCE++ has the same path and a held-out bar of 60% within 800 steps.
// RLOO is held to training success (sampled at temperature 1, the learner's
// success_rate averaged over 25 steps): >= 15% within 600 steps, from ~0.1%
// at init; its held-out greedy success stays far below (measured: <= 8% in
// 450 steps); see docs/benchmarks.md.
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <set>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/e2e/launcher_process.h"

namespace agentgym::testing {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kCheckpointEvery = 25;
constexpr int kEvalMaxTurns = 8;  // the last horizon of the tiny configs

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  int64_t out = fallback;
  if (v != nullptr && absl::SimpleAtoi(v, &out)) return out;
  return fallback;
}

struct Curve {
  std::vector<std::pair<int64_t, double>> held_out;  // (step, success)
  int64_t FirstStepAtLeast(double rate) const {
    for (const auto& [step, s] : held_out) {
      if (s >= rate) return step;
    }
    return -1;
  }
  double Best() const {
    double best = -1;
    for (const auto& [step, s] : held_out) best = std::max(best, s);
    return best;
  }
};

struct TrainedRun {
  int exit_code = -1;
  std::string run_dir, output;
  double init_success = -1;
  Curve curve;     // held-out success of checkpoints
  Curve training;  // training success, mean of the last kTrainingWindow steps
};

constexpr int kTrainingWindow = 25;

// The learner's success_rate averaged over the last kTrainingWindow steps,
// at every step that has that many behind it (a half-written last line of
// the JSONL is skipped).
std::vector<std::pair<int64_t, double>> TrainingSuccess(const std::string& run_dir) {
  std::vector<std::pair<int64_t, double>> out;
  std::ifstream in(run_dir + "/learner-metrics.jsonl");
  std::vector<double> rates;
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json row = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!row.is_object() || !row.contains("success_rate") || !row.contains("step")) continue;
    rates.push_back(row["success_rate"].get<double>());
    const size_t window = static_cast<size_t>(kTrainingWindow);
    if (rates.size() < window) continue;
    double sum = 0;
    for (size_t i = rates.size() - window; i < rates.size(); ++i) sum += rates[i];
    out.emplace_back(row["step"].get<int64_t>(), sum / kTrainingWindow);
  }
  return out;
}

// What stops a run early: held-out success of a checkpoint, or training
// success over the last kTrainingWindow steps, reaching `target`.
enum class Bar { kHeldOut, kTraining };

// Runs `agentgym train` on `config` for at most `max_steps` learner steps,
// evaluating model-init (and, for Bar::kHeldOut, every checkpoint as it
// appears) on the held-out split, and stops the run at the bar.
TrainedRun TrainUntil(const std::string& config, int64_t max_steps, Bar bar, double target,
                      const TempDir& dir) {
  TrainedRun out;
  const std::vector<std::string> args = {
      "train", "--config", std::string(AG_CONFIGS_DIR) + "/" + config, "--run-root", dir.path(),
      "--set", absl::StrCat("run.total_steps=", max_steps),
      "--set", absl::StrCat("learner.checkpoint_every=", kCheckpointEvery),
      "--set", "learner.keep_checkpoints=1000", "--set", "run.progress_interval_s=10",
      "--set", "run.eval.enabled=false"};
  const absl::Time start = absl::Now();
  auto started = LauncherProcess::Start(AG_AGENTGYM_BIN, args);
  if (!started.ok()) {
    out.output = std::string(started.status().message());
    return out;
  }
  LauncherProcess& p = **started;
  std::string log;
  std::set<int64_t> evaluated;
  bool stopped = false;
  auto evaluate_new = [&]() {
    if (bar == Bar::kTraining) {
      out.training.held_out = TrainingSuccess(p.run_dir());
      return out.training.Best() >= target;
    }
    for (const auto& [step, ckpt] : Checkpoints(p.run_dir())) {
      if (!evaluated.insert(step).second) continue;
      const double s = HeldOutSuccess(ckpt, dir.path(), kEvalMaxTurns, &log);
      if (s < 0) {
        std::cout << "eval of " << ckpt << " failed: " << log << "\n";
        continue;
      }
      out.curve.held_out.emplace_back(step, s);
      std::cout << absl::StrFormat("%s step %4d held-out success %.3f\n", config, step, s)
                << std::flush;
      if (s >= target) return true;
    }
    return false;
  };
  // Below the ctest TIMEOUT, so a slow run still reports its curve.
  const absl::Time deadline = start + absl::Minutes(25);
  while (p.Pump(absl::Seconds(2)) && absl::Now() < deadline) {
    if (out.init_success < 0 && !p.run_dir().empty() &&
        std::filesystem::exists(p.run_dir() + "/model-init/config.json")) {
      out.init_success = HeldOutSuccess(p.run_dir() + "/model-init", dir.path(), kEvalMaxTurns, &log);
      if (out.init_success < 0) std::cout << "eval of model-init failed: " << log << "\n";
    }
    if (!stopped && !p.run_dir().empty() && evaluate_new()) {
      kill(p.pid(), SIGINT);
      stopped = true;
    }
  }
  out.exit_code = p.Wait(absl::Minutes(5));
  out.output = p.output();
  out.run_dir = p.run_dir();
  if (!stopped) evaluate_new();  // the last checkpoints of a run that ended on its own
  const Curve& shown = bar == Bar::kTraining ? out.training : out.curve;
  for (size_t i = 0; bar == Bar::kTraining && i < shown.held_out.size(); i += 25) {
    std::cout << absl::StrFormat("%s step %4d training success (last %d steps) %.3f\n", config,
                                 shown.held_out[i].first, kTrainingWindow,
                                 shown.held_out[i].second);
  }
  std::cout << config << ": " << (shown.held_out.empty() ? 0 : shown.held_out.back().first)
            << " steps in " << absl::ToDoubleSeconds(absl::Now() - start)
            << " s (wall, for information)\n";
  return out;
}

// Stopped at the bar (130) or, not having reached it, ended at max_steps (0).
void ExpectStoppedCleanly(const TrainedRun& run) {
  EXPECT_TRUE(run.exit_code == 130 || run.exit_code == 0) << run.output;
  ASSERT_FALSE(run.run_dir.empty()) << run.output;
  EXPECT_TRUE(std::filesystem::exists(run.run_dir + "/summary.md"));
  EXPECT_TRUE(std::filesystem::exists(run.run_dir + "/success.svg"));
  const nlohmann::json a = ExpectAccountingHolds(ReadJson(run.run_dir + "/final-status.json"));
  std::cout << "accounting: " << a.dump() << "\n";
}

TEST(LearningE2eTest, GrpoLearnsOpen4FromRandomInit) {
  TempDir dir;
  const int64_t steps = EnvInt("AG_E2E_GRPO_STEPS", 1000);
  ASSERT_LE(steps, 1000);
  TrainedRun run = TrainUntil("tiny-grid-grpo.yaml", steps, Bar::kHeldOut, 0.60, dir);
  // Before training: the random-init model (made by the launcher) fails.
  ASSERT_GE(run.init_success, 0) << run.output;
  EXPECT_LT(run.init_success, 0.10);
  const int64_t at10 = run.curve.FirstStepAtLeast(0.10);
  const int64_t at60 = run.curve.FirstStepAtLeast(0.60);
  std::cout << absl::StrFormat(
      "GRPO held-out success: init %.3f; first >= 10%% at step %d, >= 60%% at %d (of at most "
      "%d), best %.3f\n",
      run.init_success, at10, at60, steps, run.curve.Best());
  EXPECT_GT(at60, 0) << "held-out success never reached 60% in " << steps << " steps (best "
                     << run.curve.Best() << ")";
  EXPECT_LE(at60, 1000);
  ExpectStoppedCleanly(run);
  std::ifstream summary(run.run_dir + "/summary.md");
  std::string md((std::istreambuf_iterator<char>(summary)), std::istreambuf_iterator<char>());
  EXPECT_THAT(md, HasSubstr("produced"));
}

// Training success >= 15% within 600 steps.
void ExpectTrainingSuccessBar(const std::string& name, const std::string& config) {
  TempDir dir;
  constexpr double kBar = 0.15;
  constexpr int64_t kSteps = 600;
  TrainedRun run = TrainUntil(config, kSteps, Bar::kTraining, kBar, dir);
  const int64_t at = run.training.FirstStepAtLeast(kBar);
  std::cout << absl::StrFormat(
      "%s: held-out at init %.3f; training success (last %d steps) first >= %.2f at step %d, "
      "best %.3f\n",
      name, run.init_success, kTrainingWindow, kBar, at, run.training.Best());
  ASSERT_GE(run.init_success, 0) << run.output;
  EXPECT_LT(run.init_success, 0.10);
  EXPECT_GT(at, 0) << name << " never reached " << kBar << " training success in " << kSteps
                   << " steps";
  EXPECT_LE(at, kSteps);
  ExpectStoppedCleanly(run);
}

TEST(LearningE2eTest, RlooLearnsOpen4) { ExpectTrainingSuccessBar("RLOO", "tiny-grid-rloo.yaml"); }

// Held-out success >= `bar` within `steps` (AG_E2E_STEPS may lower it).
void ExpectHeldOutBar(const std::string& name, const std::string& config, int64_t steps,
                      double bar) {
  TempDir dir;
  steps = std::min(steps, EnvInt("AG_E2E_STEPS", steps));
  TrainedRun run = TrainUntil(config, steps, Bar::kHeldOut, bar, dir);
  std::cout << absl::StrFormat("%s held-out: init %.3f, best %.3f, >= %.2f at step %d\n", name,
                               run.init_success, run.curve.Best(), bar,
                               run.curve.FirstStepAtLeast(bar));
  ASSERT_GE(run.init_success, 0) << run.output;
  EXPECT_LT(run.init_success, 0.10);
  EXPECT_GE(run.curve.Best(), bar);
  ExpectStoppedCleanly(run);
}

TEST(LearningE2eTest, ReinforcePlusPlusLearnsOpen4) {
  ExpectHeldOutBar("REINFORCE++", "tiny-grid-reinforce-pp.yaml", 800, 0.60);
}

// Disabled: PPO does not reach its bar yet (run it with
// --gtest_also_run_disabled_tests). From random init almost no episode
// succeeds, so the critic's advantages are noise; with a zero-init value
// head and raw advantages it no longer collapses at once, but held-out
// success stayed 0-4% in every variant tried (docs/benchmarks.md).
TEST(LearningE2eTest, DISABLED_PpoImprovesOnOpen4) {
  ExpectHeldOutBar("PPO", "tiny-grid-ppo.yaml", 800, 0.30);
}

}  // namespace
}  // namespace agentgym::testing
