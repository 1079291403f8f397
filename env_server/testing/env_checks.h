#ifndef AGENTGYM_ENV_SERVER_TESTING_ENV_CHECKS_H_
#define AGENTGYM_ENV_SERVER_TESTING_ENV_CHECKS_H_

// Shared checks every built-in env's unit test runs (gtest assertions inside).

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "env_server/environment.h"

namespace agentgym::env::testing {

struct OracleReport {
  int episodes = 0;
  int successes = 0;
  int max_turns_used = 0;
};

// For every task type, runs the episode oracle on `per_type` tasks of `split`
// (spread over the index range, seeds varied) and expects success within the
// type's recommended_max_turns on every one. Fills `report` (if given) with
// what it saw.
void ExpectOracleSolvesEveryType(const Environment& env, int per_type,
                                 Split split = Split::kTrain,
                                 OracleReport* report = nullptr);

// Same (task, seed) and the same actions give the same instruction,
// observations, rewards and flags; the oracle's actions are used as the script.
void ExpectDeterministic(const Environment& env, int tasks_per_type = 3);

// Drives episodes with random, malformed and near-miss actions (`extra_actions`
// added to a built-in list of junk): every step must return a non-empty
// observation, scores in [0, 1], and no crash.
void ExpectSurvivesJunkActions(const Environment& env, int steps,
                               const std::vector<std::string>& extra_actions = {});

// Plays the oracle on one task and prints the episode as the env docs show
// it (instruction, observations, actions, reward/score/flags per step).
// For the DISABLED_PrintOracleEpisode* tests that produce docs/envs/*.md.
void PrintOracleEpisode(const Environment& env, const TaskKey& key, uint64_t seed,
                        std::ostream& out);

// Describe() is well formed: names, counts > 0 in train, action format and
// recommended turns set.
void ExpectWellFormedDescription(const Environment& env);

}  // namespace agentgym::env::testing

#endif  // AGENTGYM_ENV_SERVER_TESTING_ENV_CHECKS_H_
