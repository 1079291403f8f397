#ifndef AGENTGYM_TESTS_E2E_E2E_UTIL_H_
#define AGENTGYM_TESTS_E2E_E2E_UTIL_H_

// Shared pieces of the `agentgym train` e2e tests: held-out evaluation of a
// model dir through `agentgym eval`, checkpoints of a run, the coordinator's
// final status.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/common/test_process.h"

namespace agentgym::testing {

inline nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// Held-out (test split) greedy success of maze/open4 for `model_dir`; -1 on
// failure (the output is in *log).
inline double HeldOutSuccess(const std::string& model_dir, const std::string& scratch,
                             int max_turns, std::string* log) {
  const std::string json = scratch + "/eval-" + std::filesystem::path(model_dir).filename().string() +
                           ".json";
  auto r = RunCommand(AG_AGENTGYM_BIN,
                      {"eval", "--model", model_dir, "--envs", "maze", "--task-types", "open4",
                       "--split", "test", "--greedy", "--max-turns", absl::StrCat(max_turns),
                       "--max-new-tokens", "4", "--json", json},
                      absl::Seconds(300));
  if (!r.ok() || r->exit_code != 0 || r->term_signal != 0) {
    *log = r.ok() ? absl::StrCat("exit ", r->exit_code, ", signal ", r->term_signal, ": ", r->output)
                  : std::string(r.status().message());
    return -1;
  }
  const nlohmann::json report = ReadJson(json);
  if (report.is_object() && report.contains("rows")) {
    for (const auto& row : report["rows"]) {
      if (row["task_type"] == "open4") return row["success_rate"].get<double>();
    }
  }
  *log = absl::StrCat("no open4 row in ", json, ": ", report.dump(), "\noutput: ", r->output);
  return -1;
}

// (step, dir) of every checkpoints/step-NNNNNN, by step.
inline std::vector<std::pair<int64_t, std::string>> Checkpoints(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(run_dir + "/checkpoints", ec)) {
    const std::string name = e.path().filename().string();
    int64_t step = 0;
    if (name.rfind("step-", 0) == 0 && absl::SimpleAtoi(name.substr(5), &step) &&
        e.is_directory()) {
      out.emplace_back(step, e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The run's accounting identity in a final-status.json: produced = trained
// + stale + rejected + env_error + dropped + in_flight, something trained.
// Returns the accounting (empty when there is none).
inline nlohmann::json ExpectAccountingHolds(const nlohmann::json& status) {
  EXPECT_TRUE(status.is_object() && status.contains("accounting")) << status.dump();
  if (!status.is_object() || !status.contains("accounting")) return nlohmann::json::object();
  const nlohmann::json& a = status["accounting"];
  auto n = [&a](const char* k) -> int64_t {
    if (!a.contains(k)) return 0;
    return a[k].is_string() ? std::stoll(a[k].get<std::string>()) : a[k].get<int64_t>();
  };
  EXPECT_EQ(n("produced"), n("trained") + n("stale") + n("rejected") + n("env_error") +
                               n("dropped") + n("in_flight"))
      << a.dump();
  EXPECT_GT(n("trained"), 0) << a.dump();
  return a;
}

// One count of an accounting object (int64s come as JSON strings).
inline int64_t Count(const nlohmann::json& accounting, const char* key) {
  if (!accounting.contains(key)) return 0;
  const nlohmann::json& v = accounting[key];
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<int64_t>();
}

}  // namespace agentgym::testing

#endif  // AGENTGYM_TESTS_E2E_E2E_UTIL_H_
