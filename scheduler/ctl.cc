#include "scheduler/ctl.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "agentgym/coordinator/v1/coordinator.grpc.pb.h"
#include "core/cli.h"
#include "core/flag_checks.h"
#include "core/grpc_status.h"
#include "core/security_flags.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "nlohmann/json.hpp"
#include "scheduler/registry.h"

namespace agentgym::scheduler {
namespace {

namespace pb = ::agentgym::coordinator::v1;

std::string Ratio(double v) { return v < 0 ? "-" : absl::StrFormat("%.2f", v); }

std::string Age(int64_t ms) {
  if (ms < 1000) return absl::StrCat(ms, "ms");
  if (ms < 120'000) return absl::StrFormat("%.1fs", ms / 1000.0);
  if (ms < 7'200'000) return absl::StrCat(ms / 60'000, "m");
  return absl::StrCat(ms / 3'600'000, "h", (ms / 60'000) % 60, "m");
}

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  if (auto printed = google::protobuf::util::MessageToJsonString(message, &json, options);
      !printed.ok()) {
    // Still one JSON object per line, saying what went wrong.
    return nlohmann::json({{"error", printed.ToString()}}).dump();
  }
  return json;
}

std::string Detail(const pb::ComponentStatus& c) {
  std::vector<std::string> parts;
  const auto& caps = c.capabilities();
  if (!caps.envs().empty()) parts.push_back(absl::StrCat("envs=", absl::StrJoin(caps.envs(), ",")));
  if (!caps.device().empty()) parts.push_back(absl::StrCat("device=", caps.device()));
  if (c.role() == pb::ROLE_LEARNER) {
    parts.push_back(absl::StrCat("rank=", caps.rank(), "/", caps.world_size()));
  }
  if (c.role() == pb::ROLE_ACTOR) parts.push_back(absl::StrCat("groups=", c.outstanding_groups()));
  if (c.load().has_idle_ratio()) parts.push_back(absl::StrCat("idle=", Ratio(c.load().idle_ratio())));
  return absl::StrJoin(parts, " ");
}

}  // namespace

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header);
  for (const auto& row : rows) emit(row);
  return out;
}

std::string FormatComponents(const pb::RunStatus& status) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : status.components()) {
    rows.push_back({c.component_id(), RoleName(c.role()), c.name(),
                    c.address().empty() ? "-" : c.address(), HealthName(c.health()),
                    Age(c.heartbeat_age_ms()) + " ago", Detail(c)});
  }
  if (rows.empty() && status.components_omitted() == 0) return "no components registered\n";
  std::string out =
      FormatTable({"ID", "ROLE", "NAME", "ADDRESS", "HEALTH", "LAST_BEAT", "DETAIL"}, rows);
  if (status.components_omitted() > 0) {  // the status keeps under 4 MB (coordinator.md)
    absl::StrAppend(&out, "(", status.components_omitted(),
                    " more components not listed: the status is kept under 4 MB)\n");
  }
  return out;
}

std::string FormatStatus(const pb::RunStatus& s) {
  std::string out;
  absl::StrAppend(&out, "step ", s.training_step(), "   policy v", s.policy_version(), "   ",
                  s.paused() ? "PAUSED" : "running", "   uptime ", Age(s.uptime_ms()), "\n");
  absl::StrAppend(&out, "learner ", s.learner_address().empty() ? "-" : s.learner_address(),
                  "   rendezvous ", s.rendezvous_address().empty() ? "-" : s.rendezvous_address(),
                  "\n");
  absl::StrAppend(&out, absl::StrFormat("throughput %.2f traj/s   %.1f tok/s   (window %d steps)\n",
                                        s.trajectories_per_s(), s.tokens_per_s(),
                                        s.window_steps()));
  std::vector<std::string> hist;
  for (const auto& b : s.staleness_histogram()) hist.push_back(absl::StrCat(b.lag(), ":", b.count()));
  absl::StrAppend(&out, absl::StrFormat("staleness mean %.2f   max %d   [%s]\n", s.staleness_mean(),
                                        s.staleness_max(), absl::StrJoin(hist, " ")));
  absl::StrAppend(&out, "idle trainer ", Ratio(s.trainer_idle_ratio()), "   rollout ",
                  Ratio(s.rollout_idle_ratio()), "   weight sync ",
                  s.weight_sync_latency_ms() < 0
                      ? std::string("-")
                      : absl::StrFormat("%.1f ms", s.weight_sync_latency_ms()),
                  "\n");
  const auto& a = s.accounting();
  absl::StrAppend(&out, "trajectories produced ", a.produced(), "  trained ", a.trained(),
                  "  stale ", a.stale(), "  rejected ", a.rejected(), "  env_error ",
                  a.env_error(), "  dropped ", a.dropped(), "  in_flight ", a.in_flight(), "\n\n");

  std::vector<std::vector<std::string>> rows;
  for (const auto& t : s.horizon().tracks()) {
    rows.push_back({t.env().empty() ? "(default)" : t.env(), t.mode(),
                    absl::StrCat(t.stage() + 1, "/", t.num_stages()), absl::StrCat(t.max_turns()),
                    absl::StrJoin(t.schedule(), ","), absl::StrCat(t.since_step()),
                    t.pinned() ? "yes" : "no"});
  }
  out += FormatTable({"HORIZON", "MODE", "STAGE", "MAX_TURNS", "SCHEDULE", "SINCE_STEP", "PINNED"},
                     rows);
  out += "\n";
  rows.clear();
  for (const auto& e : s.envs()) {
    rows.push_back({e.env(), absl::StrCat(e.episodes()),
                    e.episodes() ? absl::StrFormat("%.3f", e.success_rate()) : "-",
                    e.episodes() ? absl::StrFormat("%.3f", e.mean_reward()) : "-",
                    absl::StrCat(e.max_turns()),
                    e.tasks_state() == "ready" || e.tasks_state().empty()
                        ? absl::StrCat(e.train_tasks())
                        : e.tasks_state()});
  }
  out += FormatTable({"ENV", "EPISODES", "SUCCESS", "MEAN_REWARD", "MAX_TURNS", "TASKS"}, rows);

  std::map<std::string, std::pair<int, int>> roles;  // up, down
  for (const auto& c : s.components()) {
    auto& r = roles[RoleName(c.role())];
    (c.health() == pb::HEALTH_UP ? r.first : r.second)++;
  }
  std::vector<std::string> summary;
  for (const auto& [role, counts] : roles) {
    summary.push_back(absl::StrCat(role, " ", counts.first, " up",
                                   counts.second ? absl::StrCat(" / ", counts.second, " down") : ""));
  }
  absl::StrAppend(&out, "\ncomponents: ", summary.empty() ? "none" : absl::StrJoin(summary, ", "),
                  "\n");
  for (const auto& c : s.components()) {
    if (c.health() == pb::HEALTH_UP) continue;
    absl::StrAppend(&out, "  DOWN ", RoleName(c.role()), " ", c.component_id(),
                    c.address().empty() ? "" : absl::StrCat(" at ", c.address()),
                    ", last beat ", Age(c.heartbeat_age_ms()), " ago\n");
  }
  if (!s.env_servers().empty()) {
    rows.clear();
    for (const auto& h : s.env_servers()) {
      rows.push_back({h.address(), HealthName(h.health()), absl::StrCat(h.episodes()),
                      absl::StrCat(h.env_errors()), absl::StrFormat("%.3f", h.error_rate())});
    }
    out += "\n" + FormatTable({"ENV_SERVER", "HEALTH", "EPISODES", "ENV_ERRORS", "ERROR_RATE"}, rows);
  }
  if (!s.queue_depths().empty()) {
    rows.clear();
    std::map<std::string, int64_t> sorted(s.queue_depths().begin(), s.queue_depths().end());
    for (const auto& [name, depth] : sorted) rows.push_back({name, absl::StrCat(depth)});
    out += "\n" + FormatTable({"QUEUE", "DEPTH"}, rows);
  }
  if (!s.recent_stage_changes().empty()) {
    rows.clear();
    for (const auto& c : s.recent_stage_changes()) {
      rows.push_back({absl::StrCat(c.step()), c.env().empty() ? "(default)" : c.env(),
                      absl::StrCat(c.from_max_turns(), " -> ", c.to_max_turns()), c.reason()});
    }
    out += "\n" + FormatTable({"STEP", "TRACK", "MAX_TURNS", "REASON"}, rows);
  }
  if (const auto& g = s.curriculum_guard(); g.enabled()) {
    absl::StrAppend(&out, "\ncurriculum guard: ", g.stalled_steps(), " stalled steps, ", g.interventions(),
                    " interventions");
    if (g.has_mixed_group_fraction()) absl::StrAppend(&out, ", mixed groups ", g.mixed_group_fraction());
    if (g.has_policy_entropy()) absl::StrAppend(&out, ", entropy ", g.policy_entropy());
    absl::StrAppend(&out, "\n");
    if (!g.last_intervention().empty()) absl::StrAppend(&out, "  last: ", g.last_intervention(), "\n");
    if (!g.failure().empty()) absl::StrAppend(&out, "  FAILED: ", g.failure(), "\n");
  }
  return out;
}

int RunCtl(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{"agentgym-ctl: look at and steer a running agentgym run through its coordinator"};
  app.require_subcommand(1);
  const char* env_address = std::getenv("AGENTGYM_COORDINATOR");
  std::string address = env_address != nullptr ? env_address : "127.0.0.1:7070";
  int64_t timeout_ms = 5000;
  bool json = false;
  app.add_option("-c,--coordinator", address,
                 "coordinator host:port (default $AGENTGYM_COORDINATOR or 127.0.0.1:7070)");
  app.add_option("--timeout-ms", timeout_ms, "deadline of each call (1 to 86400000)");
  app.add_flag("--json", json, "print JSON (one object per line) for scripts");
  ClientSecurityOptions security;
  AddClientSecurityFlags(app, &security);

  auto* status_cmd = app.add_subcommand("status", "the run at a glance");
  auto* watch_cmd = app.add_subcommand("watch", "print the status whenever it changes");
  int64_t count = 0, interval_ms = 1000;
  watch_cmd->add_option("-n,--count", count, "stop after this many updates (0: never)");
  watch_cmd->add_option("--interval-ms", interval_ms,
                        "refresh period (1 to 86400000); changes show at once but at most once "
                        "per period");
  auto* components_cmd = app.add_subcommand("components", "every component and its health");
  auto* horizon_cmd = app.add_subcommand(
      "set-horizon", "pin the horizon (max turns), jump to a stage, or release the pin");
  std::string env;
  int32_t max_turns_value = 0, stage_value = 0;
  bool release = false;
  auto* max_turns_pos = horizon_cmd->add_option("max_turns", max_turns_value,
                                                "pin this horizon (max turns per episode)");
  auto* max_turns_opt = horizon_cmd->add_option("--max-turns", max_turns_value,
                                                "same as MAX_TURNS (use --max-turns=N)");
  auto* stage_opt =
      horizon_cmd->add_option("--stage", stage_value, "jump to this stage (0-based) and pin it");
  horizon_cmd->add_option("--env", env, "only this env's track (default: every track)");
  horizon_cmd->add_flag("--release", release, "hand the horizon back to the schedule");
  auto* pause_cmd = app.add_subcommand("pause", "stop handing out tasks");
  std::string reason;
  pause_cmd->add_option("--reason", reason, "shown in the coordinator log");
  auto* resume_cmd = app.add_subcommand("resume", "hand out tasks again");

  std::vector<std::string> argv_storage = {"agentgym-ctl"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const auto& a : argv_storage) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    // CLI11 says only "A subcommand is required" for a misspelt command:
    // name it. The first word that is not a flag or a flag's value is the
    // command.
    if (e.get_exit_code() != 0) {
      const std::vector<std::string> commands = {"status", "watch", "components",
                                                 "set-horizon", "pause", "resume"};
      for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.empty() || a[0] == '-') continue;
        const std::string prev = i > 0 ? args[i - 1] : "";
        if (prev == "-c" || prev == "--coordinator" || prev == "--timeout-ms") continue;
        if (std::find(commands.begin(), commands.end(), a) == commands.end()) {
          err << "error: unknown command '" << a << "' (commands: " << absl::StrJoin(commands, ", ")
              << ")\n";
          return kCtlUsage;
        }
        break;
      }
    }
    int code = app.exit(e, out, err);
    return code == 0 ? kCtlOk : kCtlUsage;
  }
  // Ranges after parsing: CLI11's validators print unreadable ranges.
  constexpr int64_t kDayMs = 24 * 3600 * 1000;  // a longer wait is a typo
  for (const absl::Status& s : {CheckInRange("--timeout-ms", timeout_ms, 1, kDayMs),
                                CheckInRange("--interval-ms", interval_ms, 1, kDayMs),
                                CheckAtLeast("--count", count, 0)}) {
    if (!s.ok()) {
      err << "error: " << s.message() << "\n";
      return kCtlUsage;
    }
  }
  std::optional<int32_t> max_turns, stage;
  if (max_turns_pos->count() + max_turns_opt->count() > 0) max_turns = max_turns_value;
  if (stage_opt->count() > 0) stage = stage_value;
  if (horizon_cmd->parsed() && (max_turns.has_value() + stage.has_value() + release) != 1) {
    err << "error: set-horizon takes exactly one of MAX_TURNS, --stage N or --release\n";
    return kCtlUsage;
  }

  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = MakeChannelCredentials(security);
  if (!credentials.ok()) {
    err << "error: " << credentials.status().message() << "\n";
    return kCtlUsage;
  }
  grpc::ChannelArguments channel_args;
  ApplyClientSecurityArgs(security, &channel_args);
  auto channel = grpc::CreateCustomChannel(address, *credentials, channel_args);
  auto stub = pb::Coordinator::NewStub(channel);
  auto fail = [&](const char* what, const grpc::Status& status) {
    auto code = status.error_code();
    if (code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::DEADLINE_EXCEEDED) {
      err << "error: cannot reach the coordinator at " << address << " ("
          << status.error_message() << ").\n"
          << "Is agentgym-coordinator running there? Pass --coordinator host:port or set "
             "AGENTGYM_COORDINATOR.\n";
      return kCtlUnreachable;
    }
    err << "error: " << what << ": " << FromGrpcStatus(status).ToString() << "\n";
    // A refused bad value or name is the user's to fix (2); anything else
    // went wrong at run time (1).
    return ExitCodeFor(FromGrpcStatus(status)) == kExitUsage ? kCtlRequestFailed
                                                               : kCtlUnreachable;
  };
  auto context = [&](grpc::ClientContext& ctx) {
    SetDeadline(ctx, absl::Milliseconds(timeout_ms));
  };

  if (status_cmd->parsed() || components_cmd->parsed()) {
    grpc::ClientContext ctx;
    context(ctx);
    pb::RunStatus status;
    grpc::Status s = stub->GetStatus(&ctx, pb::GetStatusRequest(), &status);
    if (!s.ok()) return fail("status", s);
    if (json && status_cmd->parsed()) {
      out << Json(status) << "\n";
    } else if (json) {
      std::vector<std::string> items;
      for (const auto& c : status.components()) items.push_back(Json(c));
      out << "{\"components\":[" << absl::StrJoin(items, ",") << "]}\n";
    } else {
      out << (status_cmd->parsed() ? FormatStatus(status) : FormatComponents(status));
    }
    return kCtlOk;
  }
  if (watch_cmd->parsed()) {
    // The stream runs until stopped, so it has no overall deadline; instead
    // each update has one. The coordinator sends one at least every
    // --interval-ms, so a gap longer than that plus --timeout-ms means it
    // is gone: a watchdog cancels the call and we say so.
    grpc::ClientContext ctx;
    pb::WatchStatusRequest request;
    request.set_min_interval_ms(interval_ms);
    request.set_max_interval_ms(interval_ms);
    if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::milliseconds(timeout_ms))) {
      return fail("watch", grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                        absl::StrCat("no connection within ", timeout_ms, " ms")));
    }
    absl::Mutex watchdog_mu;
    absl::Time last_update = absl::Now();
    bool done = false, stalled = false;
    std::thread watchdog([&] {
      const absl::Duration limit = absl::Milliseconds(interval_ms + timeout_ms);
      absl::MutexLock lock(&watchdog_mu);
      auto finished = [&done]() { return done; };
      while (!done) {
        watchdog_mu.AwaitWithDeadline(absl::Condition(&finished), last_update + limit);
        if (!done && absl::Now() >= last_update + limit) {
          stalled = true;
          ctx.TryCancel();
          return;
        }
      }
    });
    auto reader = stub->WatchStatus(&ctx, request);
    pb::RunStatus status;
    int64_t seen = 0;
    while (reader->Read(&status)) {
      {
        absl::MutexLock lock(&watchdog_mu);
        last_update = absl::Now();
      }
      if (json) {
        out << Json(status) << "\n";
      } else {
        out << "---- " << absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                                           absl::FromUnixMillis(status.status_unix_ms()),
                                           absl::UTCTimeZone())
            << " ----\n"
            << FormatStatus(status) << "\n";
      }
      out.flush();
      ++seen;
      if (count > 0 && seen >= count) {
        ctx.TryCancel();
        break;
      }
    }
    grpc::Status s = reader->Finish();
    {
      absl::MutexLock lock(&watchdog_mu);
      done = true;
    }
    watchdog.join();
    if (count > 0 && seen >= count) return kCtlOk;
    if (stalled) {
      return fail("watch", grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                        absl::StrCat("no update for ", interval_ms + timeout_ms,
                                                     " ms")));
    }
    if (seen > 0 || s.ok()) {
      // The stream ended before we stopped it: the coordinator shut down
      // (or went away). Nothing to watch any more, and the caller must know.
      err << "error: the coordinator at " << address << " ended the watch ("
          << (s.ok() ? std::string("stream closed") : s.error_message())
          << "); it has shut down or restarted\n";
      return kCtlUnreachable;
    }
    return fail("watch", s);
  }
  if (horizon_cmd->parsed()) {
    grpc::ClientContext ctx;
    context(ctx);
    pb::SetHorizonRequest request;
    request.set_env(env);
    if (max_turns) request.set_max_turns(*max_turns);
    if (stage) request.set_stage(*stage);
    request.set_release(release);
    pb::SetHorizonResponse response;
    grpc::Status s = stub->SetHorizon(&ctx, request, &response);
    if (!s.ok()) return fail("set-horizon", s);
    if (json) {
      out << Json(response) << "\n";
    } else if (response.stage_changes().empty()) {
      out << "horizon unchanged: "
          << (release ? "no track to release (none is pinned)" : "already as asked") << "\n";
    } else {
      for (const auto& c : response.stage_changes()) {
        out << "track " << (c.env().empty() ? "(default)" : c.env()) << ": max turns "
            << c.from_max_turns() << " -> " << c.to_max_turns() << " (stage " << c.to_stage() + 1
            << ", " << c.reason() << ")\n";
      }
    }
    return kCtlOk;
  }
  if (pause_cmd->parsed() || resume_cmd->parsed()) {
    grpc::ClientContext ctx;
    context(ctx);
    bool was_paused = false;
    grpc::Status s;
    if (pause_cmd->parsed()) {
      pb::PauseRequest request;
      request.set_reason(reason);
      pb::PauseResponse response;
      s = stub->Pause(&ctx, request, &response);
      was_paused = response.was_paused();
    } else {
      pb::ResumeResponse response;
      s = stub->Resume(&ctx, pb::ResumeRequest(), &response);
      was_paused = response.was_paused();
    }
    if (!s.ok()) return fail(pause_cmd->parsed() ? "pause" : "resume", s);
    bool paused = pause_cmd->parsed();
    if (json) {
      out << "{\"paused\":" << (paused ? "true" : "false")
          << ",\"was_paused\":" << (was_paused ? "true" : "false") << "}\n";
    } else {
      out << (paused ? (was_paused ? "run was already paused\n" : "run paused\n")
                     : (was_paused ? "run resumed\n" : "run was not paused\n"));
    }
    return kCtlOk;
  }
  err << "error: no command\n";
  return kCtlUsage;
}

}  // namespace agentgym::scheduler
