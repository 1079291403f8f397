#include "scheduler/coordinator_options.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace agentgym::scheduler {
namespace {

absl::StatusOr<absl::Duration> Millis(const Config& config, const std::string& key,
                                      absl::Duration fallback) {
  AG_ASSIGN_OR_RETURN(int64_t ms,
                      config.GetOr<int64_t>(key, absl::ToInt64Milliseconds(fallback)));
  if (ms <= 0) return absl::InvalidArgumentError(absl::StrCat(key, " must be > 0, got ", ms));
  return absl::Milliseconds(ms);
}

absl::StatusOr<std::vector<EnvSpec>> ParseEnvs(const YAML::Node& node) {
  std::vector<EnvSpec> envs;
  if (!node || node.IsNull()) return envs;
  if (!node.IsSequence()) {
    return absl::InvalidArgumentError("envs must be a list of {name, weight, tasks}");
  }
  try {
    for (size_t i = 0; i < node.size(); ++i) {
      const YAML::Node e = node[i];
      EnvSpec spec;
      if (e.IsScalar()) {
        spec.name = e.as<std::string>();
      } else {
        if (!e["name"]) return absl::InvalidArgumentError(absl::StrCat("envs[", i, "].name is required"));
        spec.name = e["name"].as<std::string>();
        if (e["weight"]) spec.weight = e["weight"].as<double>();
        if (const YAML::Node tasks = e["tasks"]) {
          for (const YAML::Node& t : tasks) {
            if (t.IsScalar()) {
              spec.tasks.push_back(EnvTask{t.as<std::string>(), ""});
            } else {
              spec.tasks.push_back(EnvTask{t["id"].as<std::string>(),
                                           t["type"] ? t["type"].as<std::string>() : ""});
            }
          }
        }
      }
      envs.push_back(std::move(spec));
    }
  } catch (const YAML::Exception& ex) {
    return absl::InvalidArgumentError(absl::StrCat("envs: ", ex.what()));
  }
  return envs;
}

}  // namespace

absl::StatusOr<CoordinatorServerOptions> CoordinatorOptionsFromConfig(const Config& config) {
  CoordinatorServerOptions o;
  CoordinatorOptions& s = o.service;
  AG_ASSIGN_OR_RETURN(o.listen, config.GetOr<std::string>("coordinator.listen", o.listen));
  AG_ASSIGN_OR_RETURN(o.metrics_listen, config.GetOr<std::string>("coordinator.metrics_listen", ""));
  AG_ASSIGN_OR_RETURN(o.metrics_jsonl, config.GetOr<std::string>("coordinator.metrics_jsonl", ""));
  AG_ASSIGN_OR_RETURN(o.reap_interval,
                      Millis(config, "coordinator.reap_interval_ms", o.reap_interval));
  AG_ASSIGN_OR_RETURN(o.list_tasks_timeout,
                      Millis(config, "coordinator.list_tasks_timeout_ms", o.list_tasks_timeout));
  AG_ASSIGN_OR_RETURN(s.registry.lease, Millis(config, "coordinator.lease_ms", s.registry.lease));
  AG_ASSIGN_OR_RETURN(s.registry.forget_after, Millis(config, "coordinator.forget_after_ms",
                                                      s.registry.forget_after));
  AG_ASSIGN_OR_RETURN(s.heartbeat_interval, Millis(config, "coordinator.heartbeat_interval_ms",
                                                   s.heartbeat_interval));
  if (s.heartbeat_interval >= s.registry.lease) {
    return absl::InvalidArgumentError(
        "coordinator.heartbeat_interval_ms must be shorter than coordinator.lease_ms");
  }
  AG_ASSIGN_OR_RETURN(int64_t window, config.GetOr<int64_t>("coordinator.status_window", 20));
  if (window <= 0) return absl::InvalidArgumentError("coordinator.status_window must be > 0");
  s.status_window = static_cast<size_t>(window);
  AG_ASSIGN_OR_RETURN(s.state_file, config.GetOr<std::string>("coordinator.state_file", ""));
  AG_ASSIGN_OR_RETURN(s.learner_address,
                      config.GetOr<std::string>("coordinator.learner_address", ""));
  AG_ASSIGN_OR_RETURN(s.rendezvous_address,
                      config.GetOr<std::string>("coordinator.rendezvous_address", ""));
  AG_ASSIGN_OR_RETURN(s.sampler.seed, config.GetOr<uint64_t>("coordinator.sampler.seed", 0));
  AG_ASSIGN_OR_RETURN(s.sampler.allow_repeats,
                      config.GetOr<bool>("coordinator.sampler.allow_repeats", false));
  AG_ASSIGN_OR_RETURN(s.sampler.distinct_seeds_in_group,
                      config.GetOr<bool>("coordinator.sampler.distinct_seeds_in_group", false));
  AG_ASSIGN_OR_RETURN(s.envs, ParseEnvs(config.Find("envs")));
  if (s.envs.empty()) {
    return absl::InvalidArgumentError(
        "envs is empty: list the envs to train on, e.g. envs: [{name: textcraft, weight: 1}]");
  }
  AG_ASSIGN_OR_RETURN(s.curriculum, CurriculumOptions::FromYaml(config.Find("curriculum")));
  return o;
}

}  // namespace agentgym::scheduler
