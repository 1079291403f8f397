// CoordinatorService: learner progress, the curriculum's control RPCs
// (SetHorizon, Pause/Resume, checkpoint state) and the state file.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/grpc_status.h"
#include "google/protobuf/util/json_util.h"
#include "scheduler/coordinator_internal.h"
#include "scheduler/coordinator_service.h"
#include "scheduler/request_limits.h"

namespace agentgym::scheduler {

void CoordinatorService::RecordStageChangesLocked(const std::vector<pb::StageChange>& changes) {
  for (const pb::StageChange& c : changes) {
    Log()->info("horizon track {}: stage {} -> {} (max turns {} -> {}) at step {} ({})",
                TrackName(c.env()), c.from_stage(), c.to_stage(), c.from_max_turns(),
                c.to_max_turns(), c.step(), c.reason());
    metrics_->GetCounter("agentgym_curriculum_stage_changes_total", "Horizon stage changes",
                         {{"env", TrackName(c.env())}, {"reason", c.reason()}})
        ->Increment();
    if (jsonl_ != nullptr) {
      nlohmann::json event = {{"event", "stage_change"},  {"env", TrackName(c.env())},
                              {"from_stage", c.from_stage()}, {"to_stage", c.to_stage()},
                              {"from_max_turns", c.from_max_turns()},
                              {"to_max_turns", c.to_max_turns()},
                              {"step", c.step()},          {"unix_ms", c.unix_ms()},
                              {"reason", c.reason()}};
      absl::Status written = jsonl_->WriteObject(event);
      if (!written.ok()) Log()->warn("{}", written.ToString());
    }
  }
  if (!changes.empty()) BumpLocked();
}

absl::Status CoordinatorService::WriteStateLocked() {
  pb::CoordinatorState state;
  *state.mutable_curriculum() = curriculum_.State();
  state.set_paused(paused_);
  *state.mutable_retired_actors() = accounting_.retired();
  state.set_saved_unix_ms(absl::ToUnixMillis(clock_->Now()));
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  if (auto printed = google::protobuf::util::MessageToJsonString(state, &json, print);
      !printed.ok()) {
    return absl::InternalError(absl::StrCat("coordinator state as JSON: ", printed.ToString()));
  }
  // Write a sibling file and rename it over the old one, so a crash mid-write
  // leaves the previous state intact.
  const std::string tmp = options_.state_file + ".tmp";
  {
    errno = 0;
    std::ofstream out(tmp, std::ios::out | std::ios::trunc);
    if (!out) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot write coordinator state file '", tmp, "': ", std::strerror(errno)));
    }
    out << json;
    out.flush();
    if (!out) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot write coordinator state file '", tmp, "'"));
    }
  }
  if (std::rename(tmp.c_str(), options_.state_file.c_str()) != 0) {
    const int error = errno;
    std::remove(tmp.c_str());
    return absl::FailedPreconditionError(absl::StrCat("cannot rename '", tmp, "' to '",
                                                      options_.state_file,
                                                      "': ", std::strerror(error)));
  }
  return absl::OkStatus();
}

void CoordinatorService::SaveStateLocked() {
  if (options_.state_file.empty()) return;
  absl::Status written = WriteStateLocked();
  if (written.ok()) {
    if (state_save_failing_) {
      Log()->info("coordinator state file '{}' is written again", options_.state_file);
      state_save_failing_ = false;
    }
    return;
  }
  metrics_->GetCounter("agentgym_state_file_write_errors_total",
                       "Failed writes of the coordinator state file")
      ->Increment();
  // Warn once per run of failures (the file was writable at start, so this
  // is e.g. a full disk): the log is not flooded on every report.
  if (!state_save_failing_) {
    Log()->warn("{} (the curriculum keeps running; a restart would load the last state "
                "written; warning once until a write succeeds, failures counted in "
                "agentgym_state_file_write_errors_total)",
                std::string(written.message()));
    state_save_failing_ = true;
  } else {
    Log()->debug("{}", std::string(written.message()));
  }
}

absl::Status CoordinatorService::LoadStateLocked() {
  if (options_.state_file.empty()) return absl::OkStatus();
  std::error_code exists_error;
  if (!std::filesystem::exists(options_.state_file, exists_error) && !exists_error) {
    Log()->info("no coordinator state file at '{}': starting at stage 0", options_.state_file);
    return absl::OkStatus();
  }
  errno = 0;
  std::ifstream in(options_.state_file);
  if (!in || exists_error) {
    // There may be a state there: never start afresh (and overwrite it).
    return absl::UnavailableError(absl::StrCat(
        "cannot read coordinator state file '", options_.state_file, "': ",
        exists_error ? exists_error.message() : std::string(std::strerror(errno))));
  }
  std::stringstream text;
  text << in.rdbuf();
  pb::CoordinatorState state;
  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = true;
  auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &state, parse);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("coordinator state file '",
                                                   options_.state_file, "' is not valid: ",
                                                   parsed.ToString()));
  }
  auto changes = curriculum_.Restore(state.curriculum());
  if (!changes.ok()) {
    return absl::Status(changes.status().code(),
                        absl::StrCat("coordinator state file '", options_.state_file,
                                     "' does not fit this config (", changes.status().message(),
                                     "); move it away to start the curriculum afresh"));
  }
  paused_ = state.paused();
  accounting_.RestoreRetired(state.retired_actors());
  Log()->info("loaded coordinator state from '{}' (step {}, {})", options_.state_file,
              state.curriculum().step(), paused_ ? "paused" : "running");
  RecordStageChangesLocked(*changes);
  return absl::OkStatus();
}

grpc::Status CoordinatorService::ReportProgress(grpc::ServerContextBase* context,
                                                const pb::ReportProgressRequest* req,
                                                pb::ReportProgressResponse* resp) {
  if (absl::Status bounded = CheckReportProgressRequest(*req); !bounded.ok()) {
    return ToGrpcStatus(bounded);
  }
  absl::Status valid = ProgressWindow::Validate(*req);
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::MutexLock lock(&mu_);
  auto caller = CallerLocked(req->component_id(), pb::ROLE_LEARNER, "report_progress");
  if (!caller.ok()) return Reply(context, caller.status());
  // Stats of an env the run does not train would sit in the window and the
  // status for good (and a misspelt name would hide the real env's numbers).
  for (const pb::EnvStats& e : req->env_stats()) {
    if (!sampler_.Knows(e.env())) {
      return Invalid(absl::StrCat("report_progress: env_stats names env '", Quote(e.env()),
                                  "', which is not in the run (configured: ",
                                  absl::StrJoin(sampler_.EnvNames(), ", "), ")"));
    }
  }
  if (req->step() < progress_.step()) {
    Log()->warn("training step went back from {} to {}: the learner resumed from a checkpoint",
                progress_.step(), req->step());
  }
  // A learner that retries a report (its call timed out after we got it)
  // sends the same step again: it replaces the first in the window, and the
  // curriculum sees the step once.
  const bool repeat = progress_.has_report() && req->step() == progress_.step();
  progress_.Add(*req, clock_->Now());
  max_groups_ahead_ = req->max_groups_ahead();
  learner_buffered_groups_ = req->buffered_groups();
  std::vector<pb::StageChange> changes;
  if (!repeat) {
    Curriculum::StepSuccess success;
    for (const pb::EnvStats& e : req->env_stats()) {
      auto& s = success[e.env()];
      s.first += e.episodes();
      s.second += e.successes();
    }
    Curriculum::StepHealth health;
    if (req->has_mixed_group_fraction()) health.mixed_group_fraction = req->mixed_group_fraction();
    if (req->has_policy_entropy()) health.policy_entropy = req->policy_entropy();
    const bool failed_before = !curriculum_.guard_failure().empty();
    changes = curriculum_.OnProgress(req->step(), success, health);
    for (const pb::StageChange& c : changes) {
      if (c.reason() == "guard") Log()->warn("curriculum guard: {}", curriculum_.guard_status().last_intervention());
    }
    if (!failed_before && !curriculum_.guard_failure().empty()) {
      Log()->error("curriculum guard: {}", curriculum_.guard_failure());
    }
    RecordStageChangesLocked(changes);
    SaveStateLocked();  // the adaptive window moves on every report
  }
  BumpLocked();
  pb::RunStatus status = StatusLocked();
  UpdateMetricsLocked(status);
  if (jsonl_ != nullptr && !repeat) {
    nlohmann::json extra = {{"policy_version", status.policy_version()},
                            {"horizon_revision", status.horizon().revision()}};
    for (const auto& t : status.horizon().tracks()) {
      extra["horizon"][TrackName(t.env())] = {{"stage", t.stage()}, {"max_turns", t.max_turns()}};
    }
    absl::Status written = jsonl_->Write(req->step(), *metrics_, extra);
    if (!written.ok()) Log()->warn("{}", written.ToString());
  }
  *resp->mutable_directives() = DirectivesLocked();
  for (auto& c : changes) *resp->add_stage_changes() = std::move(c);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::SetHorizon(grpc::ServerContextBase*,
                                            const pb::SetHorizonRequest* req,
                                            pb::SetHorizonResponse* resp) {
  if (absl::Status bounded = CheckSetHorizonRequest(*req); !bounded.ok()) {
    return ToGrpcStatus(bounded);
  }
  std::optional<int32_t> stage, max_turns;
  if (req->target_case() == pb::SetHorizonRequest::kStage) stage = req->stage();
  if (req->target_case() == pb::SetHorizonRequest::kMaxTurns) max_turns = req->max_turns();
  absl::MutexLock lock(&mu_);
  auto changes = curriculum_.SetHorizon(req->env(), stage, max_turns, req->release());
  if (!changes.ok()) return ToGrpcStatus(changes.status());
  if (!changes->empty()) {  // already as asked: nothing to record, save or push
    RecordStageChangesLocked(*changes);
    SaveStateLocked();
    UpdateMetricsLocked(StatusLocked());
  }
  *resp->mutable_horizon() = curriculum_.HorizonProto();
  for (auto& c : *changes) *resp->add_stage_changes() = std::move(c);
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Pause(grpc::ServerContextBase*, const pb::PauseRequest* req,
                                       pb::PauseResponse* resp) {
  if (absl::Status bounded = CheckPauseRequest(*req); !bounded.ok()) return ToGrpcStatus(bounded);
  absl::MutexLock lock(&mu_);
  resp->set_was_paused(paused_);
  if (!paused_) {
    Log()->info("run paused{}{}", req->reason().empty() ? "" : ": ", Quote(req->reason()));
    paused_ = true;
    BumpLocked();
    SaveStateLocked();
    UpdateMetricsLocked(StatusLocked());
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::Resume(grpc::ServerContextBase*, const pb::ResumeRequest*,
                                        pb::ResumeResponse* resp) {
  absl::MutexLock lock(&mu_);
  resp->set_was_paused(paused_);
  if (paused_) {
    Log()->info("run resumed");
    paused_ = false;
    BumpLocked();
    SaveStateLocked();
    UpdateMetricsLocked(StatusLocked());
  }
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::GetCurriculumState(grpc::ServerContextBase*,
                                                    const pb::GetCurriculumStateRequest*,
                                                    pb::CurriculumState* resp) {
  absl::MutexLock lock(&mu_);
  *resp = curriculum_.State();
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::RestoreCurriculumState(
    grpc::ServerContextBase*, const pb::RestoreCurriculumStateRequest* req,
    pb::RestoreCurriculumStateResponse* resp) {
  if (!req->has_state()) return Invalid("restore_curriculum_state: state is required");
  absl::MutexLock lock(&mu_);
  auto changes = curriculum_.Restore(req->state());
  if (!changes.ok()) return ToGrpcStatus(changes.status());
  Log()->info("curriculum restored at step {}", req->state().step());
  RecordStageChangesLocked(*changes);
  SaveStateLocked();
  UpdateMetricsLocked(StatusLocked());
  *resp->mutable_horizon() = curriculum_.HorizonProto();
  return grpc::Status::OK;
}

}  // namespace agentgym::scheduler
