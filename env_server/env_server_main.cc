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
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/config.h"
#include "core/flag_checks.h"
#include "core/logging.h"
#include "core/net_address.h"
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
struct ConfigPicker {
  const CLI::App& app;
  const agentgym::Config& config;

  template <typename T>
  absl::Status Value(const char* flag, const char* key, T* value) const {
    if (app.count(flag) > 0 || !config.Has(key)) return absl::OkStatus();
    auto v = config.Get<T>(key);
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
  app.add_option("--config", config_path,
                 "YAML config; keys: listen, envs, env_options.<env>.<key>, max_sessions, "
                 "session_ttl_s, max_action_bytes, max_batch_items, max_message_bytes, "
                 "grpc_api, log_level "
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
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  app.add_option("--search-backend", search_backend,
                 "searchqa: send search[] to this retriever, http://host:port/path (same as "
                 "--env-opt searchqa.search_backend=...)");
  app.add_option("--grpc-api", grpc_api,
                 "callback: run RPCs inline on gRPC's threads (for envs whose steps take "
                 "microseconds); sync: a worker thread per RPC (for envs whose steps block); "
                 "auto: callback unless a served env's steps may block")
      ->check(CLI::IsMember({"auto", "callback", "sync"}));
  app.add_flag("--list", list, "list the envs and task types, then exit");
  app.add_option("--format", list_format, "with --list: text or markdown (docs/envs.md)")
      ->check(CLI::IsMember({"text", "markdown"}));
  CLI11_PARSE(app, argc, argv);

  agentgym::Config config;
  if (!config_path.empty()) {
    auto loaded = agentgym::Config::FromFile(config_path);
    if (!loaded.ok()) return Usage(loaded.status());
    config = *std::move(loaded);
  }
  if (auto s = config.ApplyOverrides(overrides); !s.ok()) return Usage(s);
  // A misspelt key (`--set max_sesions=5`) would otherwise be ignored.
  if (auto s = config.ExpectOnlyKeys("", {"listen", "envs", "env_options", "max_sessions",
                                          "session_ttl_s", "max_action_bytes",
                                          "max_batch_items", "max_message_bytes",
                                          "grpc_api", "log_level"});
      !s.ok()) {
    return Usage(s);
  }

  // Each setting: the command line if given there, else the config, else the
  // flag's default.
  ConfigPicker pick{app, config};
  absl::Status picked = pick.Value("--listen", "listen", &listen);
  picked.Update(pick.Value("--max-sessions", "max_sessions", &max_sessions));
  picked.Update(pick.Value("--session-ttl-s", "session_ttl_s", &ttl_s));
  picked.Update(pick.Value("--max-action-bytes", "max_action_bytes", &max_action_bytes));
  picked.Update(pick.Value("--max-batch-items", "max_batch_items", &max_batch_items));
  picked.Update(pick.Value("--max-message-bytes", "max_message_bytes", &max_message_bytes));
  picked.Update(pick.Value("--grpc-api", "grpc_api", &grpc_api));
  picked.Update(pick.Value("--log-level", "log_level", &log_level));
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
  if (!envs_flag.empty()) {
    options.envs = SplitNames(envs_flag);
  } else if (config.Has("envs")) {
    auto names = config.Get<std::vector<std::string>>("envs");
    if (!names.ok()) {
      auto joined = config.Get<std::string>("envs");  // also "textcraft,babyai"
      if (!joined.ok()) return Usage(names.status());
      names = SplitNames(*joined);
    }
    options.envs = *names;
  }
  if (config.Has("env_options")) {
    if (auto s = ReadEnvOptions(config.Find("env_options"), &options.env_options); !s.ok()) {
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

  options.service.sessions.max_sessions = max_sessions;
  options.service.sessions.default_idle_ttl = absl::Seconds(ttl_s);
  options.service.max_action_bytes = max_action_bytes;
  options.service.max_batch_items = max_batch_items;
  options.max_message_bytes = static_cast<int>(max_message_bytes);
  options.grpc_api = grpc_api == "sync"       ? EnvServerOptions::GrpcApi::kSync
                     : grpc_api == "callback" ? EnvServerOptions::GrpcApi::kCallback
                                              : EnvServerOptions::GrpcApi::kAuto;
  auto server = agentgym::env::EnvServer::Start(options);
  if (!server.ok()) {
    std::cerr << "error: " << server.status().message() << "\n";
    return 1;
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

  std::thread signal_watcher([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    agentgym::GetLogger("env_server")->info("signal {}: shutting down", sig);
    (*server)->Shutdown();
  });
  (*server)->Wait();  // returns once the watcher has shut the server down
  signal_watcher.join();
  return 0;
}
