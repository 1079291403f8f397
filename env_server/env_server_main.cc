// agentgym-env-server: serves built-in environments over the Env contract.
//
//   agentgym-env-server --listen 127.0.0.1:50051 --envs textcraft,babyai
//   agentgym-env-server --list
//
// Prints "listening on HOST:PORT" once ready (port 0 picks a free port), and
// shuts down cleanly on SIGTERM / SIGINT.

#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <limits>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/protobuf_log.h"
#include "core/security_flags.h"
#include "core/flag_checks.h"
#include "core/logging.h"
#include "core/net_address.h"
#include "env_server/coordinator_link.h"
#include "env_server/env_registry.h"
#include "env_server/env_server.h"

namespace {

using agentgym::env::EnvServerOptions;
using agentgym::env::kMaxBatchItemsLimit;
using agentgym::env::kMaxSessionsLimit;

// Blocks SIGTERM/SIGINT so that every thread inherits the mask and only the
// watcher thread (sigwait) sees them. Called before any other thread starts.
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// A table cell: no line breaks, '|' escaped.
std::string MarkdownCell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c == '\n' ? ' ' : c;
    }
  }
  return out;
}

// --list --format=markdown: the env index of docs/envs.md (a test checks that
// the committed file matches this output).
void PrintEnvsMarkdown(
    const std::map<std::string, std::unique_ptr<agentgym::env::Environment>>& envs) {
  int64_t types = 0, train = 0, test = 0;
  std::printf("| env | task types | train tasks | test tasks | mirrors |\n"
              "|---|---:|---:|---:|---|\n");
  for (const auto& [name, env] : envs) {
    const auto& d = env->Describe();
    int64_t env_train = 0, env_test = 0;
    for (const auto& t : d.task_types) {
      env_train += t.train_count;
      env_test += t.test_count;
    }
    types += static_cast<int64_t>(d.task_types.size());
    train += env_train;
    test += env_test;
    std::printf("| [%s](#%s) | %zu | %lld | %lld | %s |\n", d.name.c_str(), d.name.c_str(),
                d.task_types.size(), static_cast<long long>(env_train),
                static_cast<long long>(env_test), MarkdownCell(d.mirrors).c_str());
  }
  std::printf("| **%zu envs** | **%lld** | **%lld** | **%lld** | |\n", envs.size(),
              static_cast<long long>(types), static_cast<long long>(train),
              static_cast<long long>(test));
  for (const auto& [name, env] : envs) {
    const auto& d = env->Describe();
    std::printf("\n### %s\n\n%s\n\n- Mirrors: %s\n- Recommended max turns: %d\n"
                "- Action format:\n\n```text\n%s\n```\n\n",
                d.name.c_str(), d.description.c_str(), d.mirrors.c_str(),
                d.recommended_max_turns, d.action_format.c_str());
    std::printf("| task type | train | test | max turns | description |\n"
                "|---|---:|---:|---:|---|\n");
    for (const auto& t : d.task_types) {
      std::printf("| `%s` | %lld | %lld | %d | %s |\n", t.name.c_str(),
                  static_cast<long long>(t.train_count), static_cast<long long>(t.test_count),
                  t.recommended_max_turns, MarkdownCell(t.description).c_str());
    }
  }
}

int ListEnvs(const std::vector<std::string>& names,
             const std::map<std::string, agentgym::env::EnvOptions>& options,
             bool markdown = false) {
  auto envs = agentgym::env::BuildEnvs(names, options);
  if (!envs.ok()) {
    std::cerr << "error: " << envs.status().message() << "\n";
    return 2;
  }
  if (markdown) {
    PrintEnvsMarkdown(*envs);
    return 0;
  }
  for (const auto& [name, env] : *envs) {
    const auto& d = env->Describe();
    std::printf("%s — %s\n  mirrors: %s\n  action format: %s\n  recommended max turns: %d\n",
                d.name.c_str(), d.description.c_str(), d.mirrors.c_str(),
                d.action_format.c_str(), d.recommended_max_turns);
    std::printf("  %-22s %8s %8s %10s  %s\n", "task type", "train", "test", "max turns",
                "description");
    for (const auto& t : d.task_types) {
      std::printf("  %-22s %8lld %8lld %10d  %s\n", t.name.c_str(),
                  static_cast<long long>(t.train_count), static_cast<long long>(t.test_count),
                  t.recommended_max_turns, t.description.c_str());
    }
    std::printf("\n");
  }
  return 0;
}

// "textcraft, babyai" -> {"textcraft", "babyai"}.
std::vector<std::string> SplitNames(absl::string_view list) {
  std::vector<std::string> names;
  for (absl::string_view name : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    names.emplace_back(absl::StripAsciiWhitespace(name));
  }
  return names;
}

int Usage(const absl::Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return 2;
}

// How range errors name a setting: both spellings, "--max-sessions (config
// max_sessions)", since it may have come from either.
std::string BothNames(const char* flag, const char* key) {
  return absl::StrCat(flag, " (config ", key, ")");
}

// Reads a setting from the config unless its flag was given.
// Keys are read under `prefix` ("" for a server config, "env_server." for
// the env_server section of a run config).
struct ConfigPicker {
  const CLI::App& app;
  const agentgym::Config& config;
  std::string prefix;

  template <typename T>
  absl::Status Value(const char* flag, const char* key, T* value) const {
    const std::string path = prefix + key;
    if (app.count(flag) > 0 || !config.Has(path)) return absl::OkStatus();
    auto v = config.Get<T>(path);
    if (!v.ok()) return v.status();
    *value = *std::move(v);
    return absl::OkStatus();
  }
};

// env_options: {<env>: {<key>: <scalar>, ...}, ...}; anything else is an
// INVALID_ARGUMENT naming the entry.
absl::Status ReadEnvOptions(const YAML::Node& node,
                            std::map<std::string, agentgym::env::EnvOptions>* out) {
  if (!node.IsMap()) {
    return absl::InvalidArgumentError("config env_options must map env names to option maps");
  }
  for (const auto& env : node) {
    const std::string env_name = env.first.Scalar();
    if (!env.second.IsMap()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config env_options.", env_name, " must be a map of key: value"));
    }
    for (const auto& kv : env.second) {
      if (!kv.second.IsScalar()) {
        return absl::InvalidArgumentError(absl::StrCat("config env_options.", env_name, ".",
                                                       kv.first.Scalar(), " must be a scalar"));
      }
      (*out)[env_name][kv.first.Scalar()] = kv.second.Scalar();
    }
  }
  return absl::OkStatus();
}

// "5:50" (or "20", a fixed delay) → [min, max] in milliseconds.
absl::Status ParseDelayRange(const std::string& text, double* min_ms, double* max_ms) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "--fault-delay-ms must be MIN:MAX (or one number) in milliseconds; got '", text, "'"));
  };
  if (parts.empty() || parts.size() > 2) return bad();
  if (!absl::SimpleAtod(parts[0], min_ms)) return bad();
  *max_ms = *min_ms;
  if (parts.size() == 2 && !absl::SimpleAtod(parts[1], max_ms)) return bad();
  if (!std::isfinite(*min_ms) || !std::isfinite(*max_ms)) return bad();
  return absl::OkStatus();
}

// The fault settings: `<prefix>faults` from the config (step_failure_rate,
// delay_ms: {min, max}, drop_connection_rate, seed), each overridden by its
// flag when given; validated.
struct FaultFlags {
  double step_failure_rate = 0;
  std::string delay_ms;
  double drop_rate = 0;
  uint64_t seed = 1;
};

absl::Status ReadFaults(const CLI::App& app, const agentgym::Config& config,
                        const std::string& prefix, const FaultFlags& flags,
                        agentgym::env::FaultOptions* out) {
  const std::string key = prefix + "faults";
  double min_ms = 0, max_ms = 0;
  if (config.Has(key)) {
    if (!config.Find(key).IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat("config ", key, " must be a map"));
    }
    if (auto s = config.ExpectOnlyKeys(
            key, {"step_failure_rate", "delay_ms", "drop_connection_rate", "seed"});
        !s.ok()) {
      return s;
    }
    auto rate = config.GetOr<double>(key + ".step_failure_rate", 0.0);
    auto drop = config.GetOr<double>(key + ".drop_connection_rate", 0.0);
    auto seed = config.GetOr<uint64_t>(key + ".seed", 1);
    if (!rate.ok()) return rate.status();
    if (!drop.ok()) return drop.status();
    if (!seed.ok()) return seed.status();
    out->step_failure_rate = *rate;
    out->drop_connection_rate = *drop;
    out->seed = *seed;
    if (config.Has(key + ".delay_ms")) {
      const std::string delay = key + ".delay_ms";
      if (auto s = config.ExpectOnlyKeys(delay, {"min", "max"}); !s.ok()) return s;
      auto lo = config.GetOr<double>(delay + ".min", 0.0);
      if (!lo.ok()) return lo.status();
      auto hi = config.GetOr<double>(delay + ".max", *lo);
      if (!hi.ok()) return hi.status();
      min_ms = *lo;
      max_ms = *hi;
    }
  }
  if (app.count("--fault-step-failure-rate") > 0) out->step_failure_rate = flags.step_failure_rate;
  if (app.count("--fault-drop-rate") > 0) out->drop_connection_rate = flags.drop_rate;
  if (app.count("--fault-seed") > 0) out->seed = flags.seed;
  if (app.count("--fault-delay-ms") > 0) {
    if (auto s = ParseDelayRange(flags.delay_ms, &min_ms, &max_ms); !s.ok()) return s;
  }
  if (!std::isfinite(min_ms) || !std::isfinite(max_ms) || min_ms < 0 || max_ms < min_ms ||
      max_ms > 60000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fault delay (--fault-delay-ms, config ", key, ".delay_ms) must have 0 <= min <= max "
        "<= 60000 ms; got ", min_ms, ":", max_ms));
  }
  out->delay_min = absl::Milliseconds(min_ms);
  out->delay_max = absl::Milliseconds(max_ms);
  return out->Validate();
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t signals = BlockShutdownSignals();
  // Debian's Abseil is built with Mutex deadlock detection on, which records
  // a lock graph on every lock (gRPC's included): ~5% of the server's CPU on
  // the step path. The server's lock order is fixed (shard, then session).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  CLI::App app{"agentgym-env-server: built-in environments over the Env gRPC contract"};
  std::string config_path;
  std::vector<std::string> overrides;
  std::string listen = "127.0.0.1:50051";
  std::string envs_flag;
  std::vector<std::string> env_opts;
  int64_t max_sessions = 4096;
  double ttl_s = 600;
  int64_t max_action_bytes = 64 * 1024;
  int64_t max_batch_items = 4096;
  int64_t max_message_bytes = EnvServerOptions().max_message_bytes;
  std::string log_level = "info";
  std::string port_file;
  std::string grpc_api = "auto";
  std::string search_backend;
  bool list = false;
  std::string list_format = "text";
  std::string coordinator;
  std::string advertise;
  FaultFlags fault_flags;
  app.add_option("--config", config_path,
                 "YAML config; keys: listen, envs, env_options.<env>.<key>, max_sessions, "
                 "session_ttl_s, max_action_bytes, max_batch_items, max_message_bytes, "
                 "grpc_api, log_level, coordinator, advertise, faults.* (or the same keys "
                 "under env_server: in a run config) "
                 "(flags given on the command line win)");
  app.add_option("--set", overrides, "config override key.path=value (repeatable)");
  app.add_option("--listen", listen, "host:port to serve on; port 0 picks a free port");
  app.add_option("--envs", envs_flag, "comma-separated envs to serve (default: all)");
  app.add_option("--env-opt", env_opts, "env option <env>.<key>=<value> (repeatable)");
  // Ranges are checked after parsing (CheckSettings), where config values are
  // checked too and the message can name both spellings; CLI11's own
  // validators print ranges such as "0.000000 to 1.797693e+308" in full.
  app.add_option("--max-sessions", max_sessions, "maximum open sessions (1 to 1000000)");
  app.add_option("--session-ttl-s", ttl_s, "default idle TTL of a session, seconds (0, 7200]");
  app.add_option("--max-action-bytes", max_action_bytes, "largest action accepted (>= 1)");
  app.add_option("--max-batch-items", max_batch_items,
                 "most items in one Batch* request (1 to 1000000)");
  app.add_option("--max-message-bytes", max_message_bytes,
                 "largest gRPC message each way (4096 to 2147483647); must hold an action of "
                 "--max-action-bytes");
  app.add_option("--port-file", port_file, "write the bound port to this file once serving");
  agentgym::ServerSecurityOptions security;
  agentgym::AddServerSecurityFlags(app, &security);
  agentgym::PeerSecurityFlags peer_security;
  agentgym::AddPeerSecurityFlags(app, &peer_security);
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  app.add_option("--search-backend", search_backend,
                 "searchqa: send search[] to this retriever, http://host:port/path (same as "
                 "--env-opt searchqa.search_backend=...)");
  app.add_option("--grpc-api", grpc_api,
                 "callback: run RPCs inline on gRPC's threads (for envs whose steps take "
                 "microseconds); sync: a worker thread per RPC (for envs whose steps block); "
                 "auto: callback unless a served env's steps may block")
      ->check(CLI::IsMember({"auto", "callback", "sync"}));
  app.add_option("--coordinator", coordinator,
                 "host:port of agentgym-coordinator: register there as an env server, "
                 "heartbeat, deregister on SIGTERM (serves on while it is down)");
  app.add_option("--advertise", advertise,
                 "host:port told to the coordinator (default: the bound address)");
  app.add_option("--fault-step-failure-rate", fault_flags.step_failure_rate,
                 "fault injection: each Step / BatchStep item fails UNAVAILABLE with this "
                 "probability, unapplied (config faults.step_failure_rate)");
  app.add_option("--fault-delay-ms", fault_flags.delay_ms,
                 "fault injection: hold each session call's reply MIN:MAX ms, uniform "
                 "(config faults.delay_ms: {min, max})");
  app.add_option("--fault-drop-rate", fault_flags.drop_rate,
                 "fault injection: drop each session call (UNAVAILABLE, nothing applied) with "
                 "this probability (config faults.drop_connection_rate)");
  app.add_option("--fault-seed", fault_flags.seed,
                 "fault injection: seed of the fault draws (config faults.seed; default 1)");
  app.add_flag("--list", list, "list the envs and task types, then exit");
  app.add_option("--format", list_format, "with --list: text or markdown (docs/envs.md)")
      ->check(CLI::IsMember({"text", "markdown"}));
  AG_PARSE_COMMAND_LINE(app, argc, argv);  // CLI11's errors exit 2 (core/cli.h)
  // Bad strings in requests: one log line per kind and minute, not per request.
  agentgym::InstallProtobufLogHandler();

  agentgym::Config config;
  if (!config_path.empty()) {
    auto loaded = agentgym::Config::FromFile(config_path);
    if (!loaded.ok()) return Usage(loaded.status());
    config = *std::move(loaded);
  }
  if (auto s = config.ApplyOverrides(overrides); !s.ok()) return Usage(s);
  // A run config (one with an `env_server` section, read by every binary)
  // is read from that section and its other sections are left alone; any
  // other file is a server config of its own.
  const std::string section = config.Has("env_server") ? "env_server" : "";
  const std::string prefix = section.empty() ? "" : section + ".";
  // A misspelt key (`--set max_sesions=5`) would otherwise be ignored.
  if (auto s = config.ExpectOnlyKeys(section, {"listen", "envs", "env_options", "max_sessions",
                                          "session_ttl_s", "max_action_bytes",
                                          "max_batch_items", "max_message_bytes",
                                          "grpc_api", "log_level", "coordinator",
                                          "advertise", "faults"});
      !s.ok()) {
    return Usage(s);
  }

  // Each setting: the command line if given there, else the config, else the
  // flag's default.
  ConfigPicker pick{app, config, prefix};
  absl::Status picked = pick.Value("--listen", "listen", &listen);
  picked.Update(pick.Value("--max-sessions", "max_sessions", &max_sessions));
  picked.Update(pick.Value("--session-ttl-s", "session_ttl_s", &ttl_s));
  picked.Update(pick.Value("--max-action-bytes", "max_action_bytes", &max_action_bytes));
  picked.Update(pick.Value("--max-batch-items", "max_batch_items", &max_batch_items));
  picked.Update(pick.Value("--max-message-bytes", "max_message_bytes", &max_message_bytes));
  picked.Update(pick.Value("--grpc-api", "grpc_api", &grpc_api));
  picked.Update(pick.Value("--log-level", "log_level", &log_level));
  picked.Update(pick.Value("--coordinator", "coordinator", &coordinator));
  picked.Update(pick.Value("--advertise", "advertise", &advertise));
  if (!picked.ok()) return Usage(picked);
  picked = agentgym::CheckInRange(BothNames("--max-sessions", "max_sessions"), max_sessions, 1,
                                  kMaxSessionsLimit);
  // EnvServer::Start refuses more than fits in a message.
  picked.Update(agentgym::CheckAtLeast(BothNames("--max-action-bytes", "max_action_bytes"),
                                       max_action_bytes, 1));
  picked.Update(agentgym::CheckInRange(BothNames("--max-batch-items", "max_batch_items"),
                                       max_batch_items, 1, kMaxBatchItemsLimit));
  // gRPC's limit is an int.
  picked.Update(agentgym::CheckInRange(BothNames("--max-message-bytes", "max_message_bytes"),
                                       max_message_bytes, 4096,
                                       std::numeric_limits<int>::max()));
  // NaN passes `<= 0`, and absl::Seconds(inf or 1e300) is an infinite TTL.
  const absl::Duration max_ttl = EnvServerOptions().service.sessions.max_idle_ttl;
  if (!std::isfinite(ttl_s) || ttl_s <= 0 || absl::Seconds(ttl_s) > max_ttl) {
    picked.Update(absl::InvalidArgumentError(absl::StrCat(
        "--session-ttl-s (config session_ttl_s) must be a positive number of seconds, at "
        "most ", absl::ToInt64Seconds(max_ttl), " (the server's maximum idle TTL); got ",
        ttl_s)));
  }
  if (!picked.ok()) return Usage(picked);
  if (grpc_api != "auto" && grpc_api != "callback" && grpc_api != "sync") {
    return Usage(absl::InvalidArgumentError("grpc_api must be 'auto', 'callback' or 'sync'"));
  }
  if (auto s = agentgym::SetLogLevel(log_level); !s.ok()) return Usage(s);

  EnvServerOptions options;
  options.listen = listen;
  options.security = security;
  if (!envs_flag.empty()) {
    options.envs = SplitNames(envs_flag);
  } else if (config.Has(prefix + "envs")) {
    auto names = config.Get<std::vector<std::string>>(prefix + "envs");
    if (!names.ok()) {
      auto joined = config.Get<std::string>(prefix + "envs");  // also "textcraft,babyai"
      if (!joined.ok()) return Usage(names.status());
      names = SplitNames(*joined);
    }
    options.envs = *names;
  }
  if (config.Has(prefix + "env_options")) {
    if (auto s = ReadEnvOptions(config.Find(prefix + "env_options"), &options.env_options);
        !s.ok()) {
      return Usage(s);
    }
  }
  for (const auto& opt : env_opts) {
    size_t dot = opt.find('.');
    size_t eq = opt.find('=');
    if (dot == std::string::npos || eq == std::string::npos || dot > eq) {
      std::cerr << "error: --env-opt '" << opt << "' must look like <env>.<key>=<value>\n";
      return 2;
    }
    options.env_options[opt.substr(0, dot)][opt.substr(dot + 1, eq - dot - 1)] =
        opt.substr(eq + 1);
  }
  if (!search_backend.empty()) {
    options.env_options["searchqa"]["search_backend"] = search_backend;
  }
  if (list) return ListEnvs(options.envs, options.env_options, list_format == "markdown");

  if (auto s = ReadFaults(app, config, prefix, fault_flags, &options.service.faults); !s.ok()) {
    return Usage(s);
  }
  if (options.service.faults.enabled()) {
    const auto& f = options.service.faults;
    agentgym::GetLogger("env_server")
        ->warn("fault injection on: step failures {}, drops {}, reply delay {}-{} ms, seed {}",
               f.step_failure_rate, f.drop_connection_rate,
               absl::ToDoubleMilliseconds(f.delay_min), absl::ToDoubleMilliseconds(f.delay_max),
               f.seed);
  }
  options.service.sessions.max_sessions = max_sessions;
  options.service.sessions.default_idle_ttl = absl::Seconds(ttl_s);
  options.service.max_action_bytes = max_action_bytes;
  options.service.max_batch_items = max_batch_items;
  options.max_message_bytes = static_cast<int>(max_message_bytes);
  options.grpc_api = grpc_api == "sync"       ? EnvServerOptions::GrpcApi::kSync
                     : grpc_api == "callback" ? EnvServerOptions::GrpcApi::kCallback
                                              : EnvServerOptions::GrpcApi::kAuto;
  // Coordinator addresses are checked before serving, so a typo never shows
  // up as a server that prints "listening on" and then exits.
  if (!coordinator.empty()) {
    if (auto a = agentgym::ParseHostPort(coordinator, /*min_port=*/1); !a.ok()) {
      return Usage(absl::InvalidArgumentError(
          absl::StrCat("--coordinator '", coordinator, "': ", a.status().message())));
    }
    if (!advertise.empty()) {
      if (auto a = agentgym::ParseHostPort(advertise, /*min_port=*/1); !a.ok()) {
        return Usage(absl::InvalidArgumentError(
            absl::StrCat("--advertise '", advertise, "': ", a.status().message())));
      }
    }
  } else if (!advertise.empty()) {
    return Usage(absl::InvalidArgumentError("--advertise needs --coordinator"));
  }
  if (!port_file.empty()) {  // an unwritable --port-file is refused before serving
    if (auto s = agentgym::CheckPortFileWritable(port_file); !s.ok()) return Usage(s);
  }
  auto server = agentgym::env::EnvServer::Start(options);
  if (!server.ok()) {
    std::cerr << "error: " << server.status().message() << "\n";
    // Bad values: 2; cannot listen (UNAVAILABLE) and the like: 1.
    return agentgym::ExitCodeFor(server.status());
  }
  if (!port_file.empty()) {
    if (auto s = agentgym::WritePortFile(port_file, (*server)->port()); !s.ok()) {
      std::cerr << "error: --port-file: " << s.message() << "\n";
      return 1;
    }
  }
  // After the port file, so whoever sees this line can also read the file.
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);

  // Registration runs on the link's own thread: the server serves whether or
  // not a coordinator answers.
  std::unique_ptr<agentgym::env::CoordinatorLink> link;
  if (!coordinator.empty()) {
    agentgym::env::CoordinatorLinkOptions link_options;
    link_options.coordinator = coordinator;
    link_options.security = peer_security.For(security);
    link_options.advertise = advertise.empty() ? (*server)->address() : advertise;
    for (const auto& [name, env] : (*server)->service().envs()) {
      link_options.envs.push_back(name);
    }
    link_options.max_sessions = max_sessions;
    agentgym::env::EnvService* service = &(*server)->service();
    link_options.open_sessions = [service] {
      return static_cast<int64_t>(service->sessions().size());
    };
    auto started = agentgym::env::CoordinatorLink::Start(std::move(link_options));
    if (!started.ok()) {
      std::cerr << "error: " << started.status().message() << "\n";
      (*server)->Shutdown(absl::ZeroDuration());
      return 2;
    }
    link = *std::move(started);
  }

  std::thread signal_watcher([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    agentgym::GetLogger("env_server")->info("signal {}: shutting down", sig);
    // Leave the coordinator's pool first so no new episodes are sent here.
    if (link != nullptr) link->Close();
    (*server)->Shutdown();
  });
  (*server)->Wait();  // returns once the watcher has shut the server down
  signal_watcher.join();
  return 0;
}
