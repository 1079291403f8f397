#include "scheduler/coordinator_options.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/net_address.h"
#include "core/status_macros.h"

namespace agentgym::scheduler {
namespace {

// Top-level sections of the one run config that other components read. The
// coordinator accepts them unread; any other unknown top-level key is an
// error, so a misspelt `curriculm:` cannot leave a run without its curriculum.
// Add a section here when a component starts reading one.
const std::vector<std::string>& OtherComponentsSections() {
  static const auto* sections = new std::vector<std::string>{
      "run", "model", "policy", "algorithm", "actor", "actors", "learner", "env_server",
      "env_servers", "deploy"};
  return *sections;
}

const std::vector<std::string> kCoordinatorKeys = {
    "listen",          "lease_ms",          "heartbeat_interval_ms", "forget_after_ms",
    "reap_interval_ms", "status_window",    "metrics_listen",        "metrics_jsonl",
    "state_file",      "learner_address",   "rendezvous_address",    "list_tasks_timeout_ms",
    "verify_config_tasks", "sampler", "max_outstanding_tasks_per_actor",
    "max_outstanding_tasks", "max_components"};
const std::vector<std::string> kSamplerKeys = {"seed", "allow_repeats",
                                               "distinct_seeds_in_group"};
const std::vector<std::string> kEnvKeys = {"name", "weight", "tasks", "task_types"};
const std::vector<std::string> kTaskKeys = {"id", "type"};

absl::StatusOr<absl::Duration> Millis(const Config& config, const std::string& key,
                                      absl::Duration fallback) {
  AG_ASSIGN_OR_RETURN(int64_t ms,
                      config.GetOr<int64_t>(key, absl::ToInt64Milliseconds(fallback)));
  if (ms <= 0) return absl::InvalidArgumentError(absl::StrCat(key, " must be > 0, got ", ms));
  return absl::Milliseconds(ms);
}

// A non-empty string scalar at `node`, or INVALID_ARGUMENT naming `where`.
absl::StatusOr<std::string> Name(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, " must be a non-empty string"));
  }
  return node.Scalar();
}

absl::StatusOr<EnvTask> ParseTask(const YAML::Node& t, const std::string& where) {
  EnvTask task;
  if (t.IsScalar()) {
    AG_ASSIGN_OR_RETURN(task.task_id, Name(t, where));
  } else if (t.IsMap()) {
    AG_RETURN_IF_ERROR(Config::ExpectOnlyKeysOf(t, where, kTaskKeys));
    if (!t["id"]) return absl::InvalidArgumentError(absl::StrCat(where, ".id is required"));
    AG_ASSIGN_OR_RETURN(task.task_id, Name(t["id"], where + ".id"));
    if (t["type"]) {
      AG_ASSIGN_OR_RETURN(task.task_type, Name(t["type"], where + ".type"));
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " must be a task id or {id, type}"));
  }
  if (IsTestSplitTaskId(task.task_id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, " '", task.task_id,
        "' is a test-split task id; the coordinator hands out train tasks only"));
  }
  return task;
}

absl::StatusOr<EnvSpec> ParseEnv(const YAML::Node& e, const std::string& where) {
  EnvSpec spec;
  if (e.IsScalar()) {
    AG_ASSIGN_OR_RETURN(spec.name, Name(e, where));
    return spec;
  }
  if (!e.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " must be an env name or {name, weight, tasks}"));
  }
  AG_RETURN_IF_ERROR(Config::ExpectOnlyKeysOf(e, where, kEnvKeys));
  if (!e["name"]) return absl::InvalidArgumentError(absl::StrCat(where, ".name is required"));
  AG_ASSIGN_OR_RETURN(spec.name, Name(e["name"], where + ".name"));
  if (const YAML::Node w = e["weight"]) {
    bool ok = w.IsScalar();
    if (ok) {
      try {
        spec.weight = w.as<double>();
      } catch (const YAML::Exception&) {
        ok = false;
      }
    }
    if (!ok || !std::isfinite(spec.weight) || spec.weight <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ".weight must be a finite number > 0"));
    }
  }
  if (const YAML::Node types = e["task_types"]) {
    if (!types.IsSequence() || types.size() == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".task_types must be a non-empty list of task type names, e.g. [open4]"));
    }
    for (size_t j = 0; j < types.size(); ++j) {
      AG_ASSIGN_OR_RETURN(std::string type,
                          Name(types[j], absl::StrCat(where, ".task_types[", j, "]")));
      if (std::find(spec.task_types.begin(), spec.task_types.end(), type) !=
          spec.task_types.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".task_types lists '", type, "' twice"));
      }
      spec.task_types.push_back(std::move(type));
    }
    if (e["tasks"]) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": task_types filters the task list fetched from the env server; with "
                 "`tasks:` given there is nothing to filter: keep one of the two"));
    }
  }
  if (const YAML::Node tasks = e["tasks"]) {
    if (!tasks.IsSequence()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".tasks must be a list of task ids (or {id, type}); leave it out to fetch the "
                 "env's train tasks from its env server"));
    }
    if (tasks.size() == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ".tasks is empty; leave it out to fetch the env's train tasks from its env "
                 "server"));
    }
    for (size_t j = 0; j < tasks.size(); ++j) {
      AG_ASSIGN_OR_RETURN(EnvTask task, ParseTask(tasks[j], absl::StrCat(where, ".tasks[", j, "]")));
      spec.tasks.push_back(std::move(task));
    }
  }
  return spec;
}

absl::StatusOr<std::vector<EnvSpec>> ParseEnvs(const YAML::Node& node) {
  std::vector<EnvSpec> envs;
  if (!node || node.IsNull()) return envs;
  if (!node.IsSequence()) {
    return absl::InvalidArgumentError("envs must be a list of {name, weight, tasks}");
  }
  for (size_t i = 0; i < node.size(); ++i) {
    AG_ASSIGN_OR_RETURN(EnvSpec spec, ParseEnv(node[i], absl::StrCat("envs[", i, "]")));
    for (const EnvSpec& earlier : envs) {
      if (earlier.name == spec.name) {
        return absl::InvalidArgumentError(
            absl::StrCat("envs[", i, "]: env '", spec.name, "' is listed twice"));
      }
    }
    envs.push_back(std::move(spec));
  }
  return envs;
}

// "" or host:port with a port in 1..65535.
absl::StatusOr<std::string> OptionalAddress(const Config& config, const std::string& key) {
  AG_ASSIGN_OR_RETURN(std::string address, config.GetOr<std::string>(key, ""));
  if (!address.empty()) {
    auto parsed = ParseHostPort(address, /*min_port=*/1);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(key, ": ", parsed.status().message()));
    }
  }
  return address;
}

absl::Status ValidateConfigKeys(const Config& config) {
  std::vector<std::string> top = {"coordinator", "envs", "curriculum"};
  top.insert(top.end(), OtherComponentsSections().begin(), OtherComponentsSections().end());
  AG_RETURN_IF_ERROR(config.ExpectOnlyKeys("", top));
  AG_RETURN_IF_ERROR(config.ExpectOnlyKeys("coordinator", kCoordinatorKeys));
  AG_RETURN_IF_ERROR(config.ExpectOnlyKeys("coordinator.sampler", kSamplerKeys));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CoordinatorServerOptions> CoordinatorOptionsFromConfig(const Config& config) {
  AG_RETURN_IF_ERROR(ValidateConfigKeys(config));
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
  AG_ASSIGN_OR_RETURN(s.learner_address, OptionalAddress(config, "coordinator.learner_address"));
  AG_ASSIGN_OR_RETURN(s.rendezvous_address,
                      OptionalAddress(config, "coordinator.rendezvous_address"));
  AG_ASSIGN_OR_RETURN(s.verify_config_tasks,
                      config.GetOr<bool>("coordinator.verify_config_tasks", s.verify_config_tasks));
  // Memory bounds: task entries handed out and not yet finished, per actor
  // and over all actors; components registered at once.
  for (auto [key, value] : {std::pair<const char*, size_t*>{"coordinator.max_outstanding_tasks_per_actor",
                                                           &s.max_outstanding_tasks_per_actor},
                           {"coordinator.max_outstanding_tasks", &s.max_outstanding_tasks},
                           {"coordinator.max_components", &s.registry.max_components}}) {
    AG_ASSIGN_OR_RETURN(int64_t v, config.GetOr<int64_t>(key, static_cast<int64_t>(*value)));
    if (v < 1 || v > 100000000) {
      return absl::InvalidArgumentError(absl::StrCat(key, " must be in 1..100000000, got ", v));
    }
    *value = static_cast<size_t>(v);
  }
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
  AG_RETURN_IF_ERROR(ValidateCrossReferences(s));
  return o;
}

}  // namespace agentgym::scheduler
