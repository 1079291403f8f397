#include "launcher/run_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"
#include "scheduler/coordinator_options.h"

namespace agentgym::launcher {
namespace {

// Values the launcher uses when the file leaves them out; merged under the
// file so --print-config shows them.
constexpr char kDefaults[] = R"(
run:
  name: run
  run_root: runs
  env_servers: 1
  actors: 1
  progress_interval_s: 5
  stop_grace_s: 30
  restart: {initial_backoff_ms: 500, max_backoff_ms: 10000, crash_loop_count: 5,
            crash_loop_window_s: 60}
  eval: {enabled: true, split: test, limit: 0, greedy: true, samples: 1, max_turns: 0,
         concurrent_episodes: 64}
  child_env: {OMP_NUM_THREADS: "1"}
learner:
  world_size: 1
)";

const std::vector<std::string> kTopLevel = {"run",     "model",       "algorithm",
                                            "actor",   "learner",     "env_server",
                                            "coordinator", "envs",    "curriculum"};
const std::vector<std::string> kRunKeys = {
    "name",       "total_steps", "seed",    "run_root", "env_servers", "actors",
    "progress_interval_s", "stop_grace_s", "restart", "eval", "child_env"};
const std::vector<std::string> kRestartKeys = {"initial_backoff_ms", "max_backoff_ms",
                                               "crash_loop_count", "crash_loop_window_s"};
const std::vector<std::string> kEvalKeys = {"enabled",  "split",     "envs",
                                            "limit",    "greedy",    "samples",
                                            "max_turns", "concurrent_episodes"};
const std::vector<std::string> kEnvServerKeys = {
    "envs", "env_options", "max_sessions", "session_ttl_s", "max_batch_items",
    "max_action_bytes", "log_level", "faults"};
const std::vector<std::string> kFaultKeys = {"step_failure_rate", "delay_ms", "drop_rate",
                                             "seed"};

// `overlay` on top of `base`: maps merge key by key, anything else replaces.
YAML::Node Merge(const YAML::Node& base, const YAML::Node& overlay) {
  // A missing key of a const map is an invalid node: only IsDefined() may
  // be asked of it.
  const bool has_base = base.IsDefined() && !base.IsNull();
  if (!overlay.IsDefined() || overlay.IsNull()) return has_base ? YAML::Clone(base) : overlay;
  if (!has_base || !base.IsMap() || !overlay.IsMap()) return YAML::Clone(overlay);
  YAML::Node out = YAML::Clone(base);
  for (const auto& kv : overlay) {
    const std::string key = kv.first.Scalar();
    const YAML::Node b = base[key];
    out[key] = b.IsDefined() ? Merge(b, kv.second) : YAML::Clone(kv.second);
  }
  return out;
}

absl::Status Bad(const std::string& key, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(key, " ", why));
}

template <typename T>
absl::Status Read(const Config& c, const std::string& key, T* out) {
  AG_ASSIGN_OR_RETURN(*out, c.GetOr<T>(key, *out));
  return absl::OkStatus();
}

absl::Status ReadCount(const Config& c, const std::string& key, int64_t min, int64_t max,
                       int* out) {
  int64_t v = *out;
  AG_RETURN_IF_ERROR(Read(c, key, &v));
  if (v < min || v > max) return Bad(key, absl::StrCat("must be in ", min, "..", max, "; got ", v));
  *out = static_cast<int>(v);
  return absl::OkStatus();
}

absl::Status ReadSeconds(const Config& c, const std::string& key, double scale,
                         absl::Duration* out) {
  double v = absl::ToDoubleSeconds(*out) / scale;
  AG_RETURN_IF_ERROR(Read(c, key, &v));
  if (!(v >= 0) || v > 1e7) return Bad(key, absl::StrCat("must be >= 0; got ", v));
  *out = absl::Seconds(v * scale);
  return absl::OkStatus();
}

absl::Status ReadRun(const Config& c, RunSettings* s) {
  AG_RETURN_IF_ERROR(c.ExpectOnlyKeys("run", kRunKeys));
  AG_RETURN_IF_ERROR(c.ExpectOnlyKeys("run.restart", kRestartKeys));
  AG_RETURN_IF_ERROR(c.ExpectOnlyKeys("run.eval", kEvalKeys));
  AG_RETURN_IF_ERROR(Read(c, "run.name", &s->name));
  if (s->name.empty() || s->name.find('/') != std::string::npos) {
    return Bad("run.name", "must be a non-empty name without '/'");
  }
  if (!c.Has("run.total_steps")) return Bad("run.total_steps", "is required");
  AG_RETURN_IF_ERROR(Read(c, "run.total_steps", &s->total_steps));
  if (s->total_steps < 1) return Bad("run.total_steps", "must be >= 1");
  int64_t seed = 0;
  AG_RETURN_IF_ERROR(Read(c, "run.seed", &seed));
  AG_RETURN_IF_ERROR(Read(c, "run.run_root", &s->run_root));
  AG_RETURN_IF_ERROR(ReadCount(c, "run.env_servers", 1, 64, &s->env_servers));
  AG_RETURN_IF_ERROR(ReadCount(c, "run.actors", 1, 256, &s->actors));
  AG_RETURN_IF_ERROR(ReadSeconds(c, "run.progress_interval_s", 1, &s->progress_interval));
  AG_RETURN_IF_ERROR(ReadSeconds(c, "run.stop_grace_s", 1, &s->stop_grace));
  SupervisorOptions& r = s->restart;
  AG_RETURN_IF_ERROR(ReadSeconds(c, "run.restart.initial_backoff_ms", 1e-3, &r.initial_backoff));
  AG_RETURN_IF_ERROR(ReadSeconds(c, "run.restart.max_backoff_ms", 1e-3, &r.max_backoff));
  if (r.max_backoff < r.initial_backoff) {
    return Bad("run.restart.max_backoff_ms", "must be >= run.restart.initial_backoff_ms");
  }
  AG_RETURN_IF_ERROR(ReadCount(c, "run.restart.crash_loop_count", 1, 1000, &r.crash_loop_count));
  AG_RETURN_IF_ERROR(ReadSeconds(c, "run.restart.crash_loop_window_s", 1, &r.crash_loop_window));
  EvalSettings& e = s->eval;
  AG_RETURN_IF_ERROR(Read(c, "run.eval.enabled", &e.enabled));
  AG_RETURN_IF_ERROR(Read(c, "run.eval.split", &e.split));
  if (e.split != "test" && e.split != "train") return Bad("run.eval.split", "must be test or train");
  AG_RETURN_IF_ERROR(Read(c, "run.eval.envs", &e.envs));
  AG_RETURN_IF_ERROR(Read(c, "run.eval.limit", &e.limit));
  if (e.limit < 0) return Bad("run.eval.limit", "must be >= 0");
  AG_RETURN_IF_ERROR(Read(c, "run.eval.greedy", &e.greedy));
  AG_RETURN_IF_ERROR(ReadCount(c, "run.eval.samples", 1, 1024, &e.samples));
  AG_RETURN_IF_ERROR(ReadCount(c, "run.eval.max_turns", 0, 100000, &e.max_turns));
  AG_RETURN_IF_ERROR(
      ReadCount(c, "run.eval.concurrent_episodes", 1, 100000, &e.concurrent_episodes));
  const YAML::Node env = c.Find("run.child_env");
  if (env.IsDefined() && !env.IsNull()) {
    if (!env.IsMap()) return Bad("run.child_env", "must map variable names to values");
    for (const auto& kv : env) {
      if (!kv.second.IsScalar()) {
        return Bad(absl::StrCat("run.child_env.", kv.first.Scalar()), "must be a scalar");
      }
      s->child_env.emplace_back(kv.first.Scalar(), kv.second.Scalar());
    }
  }
  return absl::OkStatus();
}

absl::Status ReadEnvs(const Config& c, RunSettings* s) {
  const YAML::Node envs = c.Find("envs");
  if (!envs.IsDefined() || envs.IsNull()) {
    return Bad("envs", "is required: the envs to train on (docs/coordinator.md)");
  }
  if (!envs.IsSequence()) return Bad("envs", "must be a list");  // the coordinator says more
  for (size_t i = 0; i < envs.size(); ++i) {
    const YAML::Node e = envs[i];
    EnvTasks et;
    if (e.IsScalar()) {
      et.env = e.Scalar();
    } else if (e.IsMap() && e["name"] && e["name"].IsScalar()) {
      et.env = e["name"].Scalar();
      if (const YAML::Node tasks = e["tasks"]; tasks && tasks.IsSequence()) {
        for (const auto& t : tasks) {
          if (t.IsScalar()) et.task_ids.push_back(t.Scalar());
          if (t.IsMap() && t["id"] && t["id"].IsScalar()) et.task_ids.push_back(t["id"].Scalar());
        }
      }
    }
    s->envs.push_back(std::move(et));
  }
  return absl::OkStatus();
}

absl::Status ReadEnvServer(const Config& c, RunSettings* s) {
  AG_RETURN_IF_ERROR(c.ExpectOnlyKeys("env_server", kEnvServerKeys));
  AG_RETURN_IF_ERROR(c.ExpectOnlyKeys("env_server.faults", kFaultKeys));
  if (c.Has("env_server.envs")) {
    AG_RETURN_IF_ERROR(Read(c, "env_server.envs", &s->env_server_envs));
  } else {
    for (const EnvTasks& e : s->envs) s->env_server_envs.push_back(e.env);
  }
  if (s->env_server_envs.empty()) return Bad("env_server.envs", "must name at least one env");
  std::vector<std::string>& f = s->env_server_flags;
  f = {"--envs", absl::StrJoin(s->env_server_envs, ",")};
  const YAML::Node opts = c.Find("env_server.env_options");
  if (opts.IsDefined() && !opts.IsNull()) {
    if (!opts.IsMap()) return Bad("env_server.env_options", "must map env names to option maps");
    for (const auto& env : opts) {
      if (!env.second.IsMap()) {
        return Bad(absl::StrCat("env_server.env_options.", env.first.Scalar()),
                   "must be a map of key: value");
      }
      for (const auto& kv : env.second) {
        f.push_back("--env-opt");
        f.push_back(absl::StrCat(env.first.Scalar(), ".", kv.first.Scalar(), "=",
                                 kv.second.IsScalar() ? kv.second.Scalar() : ""));
      }
    }
  }
  for (const auto& [key, flag] : std::vector<std::pair<std::string, std::string>>{
           {"max_sessions", "--max-sessions"},
           {"session_ttl_s", "--session-ttl-s"},
           {"max_batch_items", "--max-batch-items"},
           {"max_action_bytes", "--max-action-bytes"},
           {"log_level", "--log-level"}}) {
    const std::string path = "env_server." + key;
    if (!c.Has(path)) continue;
    const YAML::Node v = c.Find(path);
    if (!v.IsScalar()) return Bad(path, "must be a scalar");
    f.push_back(flag);
    f.push_back(v.Scalar());
  }
  FaultSettings& fs = s->faults;
  AG_RETURN_IF_ERROR(Read(c, "env_server.faults.step_failure_rate", &fs.step_failure_rate));
  AG_RETURN_IF_ERROR(Read(c, "env_server.faults.drop_rate", &fs.drop_rate));
  AG_RETURN_IF_ERROR(Read(c, "env_server.faults.delay_ms", &fs.delay_ms));
  AG_RETURN_IF_ERROR(Read(c, "env_server.faults.seed", &fs.seed));
  for (const auto& [key, v] : std::vector<std::pair<const char*, double>>{
           {"step_failure_rate", fs.step_failure_rate}, {"drop_rate", fs.drop_rate}}) {
    if (!(v >= 0 && v <= 1)) {
      return Bad(absl::StrCat("env_server.faults.", key), absl::StrCat("must be in [0, 1]; got ", v));
    }
  }
  if (fs.step_failure_rate > 0) {
    f.push_back("--fault-step-failure-rate");
    f.push_back(absl::StrCat(fs.step_failure_rate));
  }
  if (!fs.delay_ms.empty()) {
    f.push_back("--fault-delay-ms");
    f.push_back(fs.delay_ms);
  }
  if (fs.drop_rate > 0) {
    f.push_back("--fault-drop-rate");
    f.push_back(absl::StrCat(fs.drop_rate));
  }
  if (fs.Any()) {
    f.push_back("--fault-seed");
    f.push_back(absl::StrCat(fs.seed));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ResolveConfig(const std::string& path,
                                     const std::vector<std::string>& overrides) {
  AG_ASSIGN_OR_RETURN(Config defaults, Config::FromString(kDefaults));
  Config file;
  if (path.empty()) {
    AG_ASSIGN_OR_RETURN(file, Config::FromString(EmbeddedDefaultConfig()));
  } else {
    AG_ASSIGN_OR_RETURN(file, Config::FromFile(path));
  }
  if (!file.root().IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.empty() ? "the embedded config" : path, " is not a YAML mapping"));
  }
  AG_ASSIGN_OR_RETURN(Config merged,
                      Config::FromString(YAML::Dump(Merge(defaults.root(), file.root()))));
  AG_RETURN_IF_ERROR(merged.ApplyOverrides(overrides));
  return merged;
}

absl::Status ValidateCoordinatorSections(const Config& component_config) {
  return scheduler::CoordinatorOptionsFromConfig(component_config).status();
}

absl::StatusOr<RunSettings> ValidateRunConfig(const Config& config,
                                              const ComponentValidator& validate) {
  RunSettings s;
  AG_RETURN_IF_ERROR(config.ExpectOnlyKeys("", kTopLevel));
  AG_RETURN_IF_ERROR(ReadRun(config, &s));
  AG_RETURN_IF_ERROR(ReadEnvs(config, &s));
  AG_RETURN_IF_ERROR(ReadEnvServer(config, &s));
  AG_RETURN_IF_ERROR(ReadCount(config, "learner.world_size", 1, 1024, &s.learner_world_size));
  AG_RETURN_IF_ERROR(Read(config, "model.dir", &s.model_dir));
  if (config.Has("model.init")) {
    AG_ASSIGN_OR_RETURN(ModelInitOptions init, ModelInitFromConfig(config));
    if (s.model_dir.empty()) s.model_init = init;
  } else if (s.model_dir.empty()) {
    return Bad("model", "needs `dir` (a model directory) or `init` (a random-init preset)");
  }
  if (const YAML::Node h = config.Find("curriculum.horizons"); h.IsSequence() && h.size() > 0) {
    try {
      s.final_horizon = h[h.size() - 1].as<int>();
    } catch (const YAML::Exception&) {
      // The coordinator's reader names the key.
    }
  }
  // With model.init the children get model.dir once the launcher has made
  // the model; check their sections as they will read them.
  Config components = ComponentConfig(config);
  if (s.model_init) {
    YAML::Node root = components.root();
    root["model"]["dir"] = "model-init";
  }
  AG_RETURN_IF_ERROR(validate(components));
  return s;
}

Config ComponentConfig(const Config& config) {
  YAML::Node root = YAML::Clone(config.root());
  if (root["model"] && root["model"].IsMap()) root["model"].remove("init");
  if (root["learner"] && root["learner"].IsMap()) {
    root["learner"].remove("world_size");
    if (root["learner"].size() == 0) root.remove("learner");
  }
  auto out = Config::FromString(YAML::Dump(root));
  return out.ok() ? *std::move(out) : Config();
}

}  // namespace agentgym::launcher
