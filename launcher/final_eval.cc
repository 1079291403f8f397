#include "launcher/final_eval.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "actor/eval.h"
#include "core/status_macros.h"

namespace agentgym::launcher {

absl::StatusOr<FinalEval> RunFinalEval(const RunSettings& settings, const Config& config,
                                       const std::string& model_dir,
                                       const std::string& env_server) {
  actor::EvalOptions o;
  o.model_dir = model_dir;
  o.env_server = env_server;
  o.split = settings.eval.split;
  o.limit = settings.eval.limit;
  o.greedy = settings.eval.greedy;
  o.samples = settings.eval.samples;
  o.concurrent_episodes = settings.eval.concurrent_episodes;
  o.max_turns = settings.eval.max_turns > 0 ? settings.eval.max_turns : settings.final_horizon;
  AG_ASSIGN_OR_RETURN(int64_t seed, config.GetOr<int64_t>("run.seed", 1));
  o.seed = static_cast<uint64_t>(seed);
  AG_ASSIGN_OR_RETURN(int64_t max_new_tokens, config.GetOr<int64_t>("actor.max_new_tokens", 32));
  o.max_new_tokens = static_cast<int>(max_new_tokens);
  AG_ASSIGN_OR_RETURN(double temperature, config.GetOr<double>("actor.temperature", 1.0));
  o.temperature = static_cast<float>(temperature);
  // Task types trained on, per env (from the ids "<type>/<split>/<index>" in
  // `envs`): the table shows those rows, the JSON every row.
  std::set<std::string> trained_types;
  for (const EnvTasks& e : settings.envs) {
    o.envs.push_back(e.env);
    for (const std::string& id : e.task_ids) {
      const size_t slash = id.find('/');
      if (slash != std::string::npos) trained_types.insert(e.env + "/" + id.substr(0, slash));
    }
  }
  if (!settings.eval.envs.empty()) o.envs = settings.eval.envs;
  // Only the task types trained on (open4 of maze, not its large mazes).
  std::set<std::string> type_names;
  for (const std::string& t : trained_types) type_names.insert(t.substr(t.find('/') + 1));
  o.task_types.assign(type_names.begin(), type_names.end());
  AG_ASSIGN_OR_RETURN(actor::EvalReport report, actor::RunEval(o));
  FinalEval out;
  out.json = actor::EvalReportToJson(report);
  if (!trained_types.empty()) {
    actor::EvalReport shown = report;
    shown.rows.clear();
    for (const auto& row : report.rows) {
      if (trained_types.count(row.env + "/" + row.task_type) > 0 ||
          trained_types.count(row.env + "/") > 0) {
        shown.rows.push_back(row);
      }
    }
    if (!shown.rows.empty()) report = std::move(shown);
  }
  out.table = actor::FormatEvalTable(report);
  out.description = absl::StrCat(
      o.greedy ? "greedy" : absl::StrCat(o.samples, " samples per task"),
      o.limit > 0 ? absl::StrCat(", ", o.limit, " tasks per env") : ", every task",
      o.max_turns > 0 ? absl::StrCat(", horizon ", o.max_turns) : "", ", envs ",
      absl::StrJoin(o.envs, ","));
  return out;
}

}  // namespace agentgym::launcher
