// Checks of one session's life: create, step to the end, reset, close, the
// error codes of the contract, and determinism for a fixed seed.

#include <cmath>

#include "absl/strings/str_cat.h"
#include "env_server/conformance/checks.h"

namespace agentgym::env::conformance {
namespace {

constexpr uint64_t kSeed = 20240917;

void CheckCreate(Context& ctx, Verdict& v) {
  if (ctx.first_task_id.empty()) {
    v.Skip("the env lists no train task to create by id");
  } else {
    auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
    if (!v.ExpectOk(created.status(), "Create by task_id")) return;
    SessionCloser closer(ctx.client, created->session_id());
    if (created->session_id().empty()) v.Fail("Create returned an empty session_id");
    if (created->task().task_id() != ctx.first_task_id) {
      v.Fail(absl::StrCat("Create for task '", ctx.first_task_id, "' reports task '",
                          created->task().task_id(), "'"));
    }
  }
  v1::CreateRequest sample;
  sample.set_env(ctx.env.name());
  sample.mutable_sample()->set_split(v1::SPLIT_TRAIN);
  sample.set_seed(kSeed);
  auto a = ctx.client->Create(sample);
  if (!v.ExpectOk(a.status(), "Create by sample")) return;
  SessionCloser close_a(ctx.client, a->session_id());
  auto b = ctx.client->Create(sample);
  if (!v.ExpectOk(b.status(), "second Create by the same sample")) return;
  SessionCloser close_b(ctx.client, b->session_id());
  if (a->session_id() == b->session_id()) v.Fail("two Creates returned the same session_id");
  if (a->task().task_id().empty()) v.Fail("Create by sample does not report the task chosen");
  if (a->task().task_id() != b->task().task_id()) {
    v.Fail(absl::StrCat("the same (sample, seed) chose tasks '", a->task().task_id(), "' and '",
                        b->task().task_id(), "'"));
  }
  v.Note(absl::StrCat("sampled task ", a->task().task_id()));
}

void CheckCreateErrors(Context& ctx, Verdict& v) {
  v1::CreateRequest req = CreateForTask(ctx, kSeed);
  req.set_env("no-such-env-conformance");
  v.ExpectCode(ctx.client->Create(req).status(), absl::StatusCode::kNotFound,
               "Create of an unknown env");
  req = CreateForTask(ctx, kSeed);
  req.set_task_id("no-such-task/train/999999999");
  v.ExpectCode(ctx.client->Create(req).status(), absl::StatusCode::kNotFound,
               "Create of an unknown task id");
  req = CreateForTask(ctx, kSeed);
  req.set_idle_ttl_ms(-5);
  v.ExpectCode(ctx.client->Create(req).status(), absl::StatusCode::kInvalidArgument,
               "Create with idle_ttl_ms -5");
}

void CheckEpisode(Context& ctx, Verdict& v) {
  auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
  if (!v.ExpectOk(created.status(), "Create")) return;
  SessionCloser closer(ctx.client, created->session_id());
  auto played = PlayEpisode(ctx, created->session_id(), ctx.options->max_episode_turns);
  if (!v.ExpectOk(played.status(), "Step")) return;
  for (size_t i = 0; i < played->size(); ++i) {
    const v1::StepResult& r = (*played)[i];
    if (r.turn() != static_cast<int>(i + 1)) {
      v.Fail(absl::StrCat("step ", i + 1, " reports turn ", r.turn()));
    }
    if (!std::isfinite(r.reward())) v.Fail(absl::StrCat("step ", i + 1, " has a non-finite reward"));
    if (!(r.score() >= 0.0 && r.score() <= 1.0)) {
      v.Fail(absl::StrCat("step ", i + 1, " has score ", r.score(), " outside [0, 1]"));
    }
    if (r.success() && !r.done()) v.Fail(absl::StrCat("step ", i + 1, " has success without done"));
  }
  const v1::StepResult& last = played->back();
  if (!last.done() && !last.truncated()) {
    v.Skip(absl::StrCat("the episode did not end within ", played->size(),
                        " turns of the scripted actions (pass --action to script one that ends)"));
    return;
  }
  v.ExpectCode(ctx.client->Step(created->session_id(), ctx.options->actions[0]).status(),
               absl::StatusCode::kFailedPrecondition, "Step after the episode ended");
  v.Note(absl::StrCat("ended after ", played->size(), " turns: ", Summarize(last)));
}

void CheckReset(Context& ctx, Verdict& v) {
  auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
  if (!v.ExpectOk(created.status(), "Create")) return;
  SessionCloser closer(ctx.client, created->session_id());
  auto played = PlayEpisode(ctx, created->session_id(), 2);
  if (!v.ExpectOk(played.status(), "Step")) return;
  v1::ResetRequest reset;
  reset.set_session_id(created->session_id());
  auto again = ctx.client->Reset(reset);
  if (!v.ExpectOk(again.status(), "Reset (same seed)")) return;
  if (again->instruction() != created->instruction() ||
      again->observation() != created->observation()) {
    v.Fail("Reset with the session's seed did not restore the instruction and first observation");
  }
  auto step = ctx.client->Step(created->session_id(), ctx.options->actions[0]);
  if (!v.ExpectOk(step.status(), "Step after Reset")) return;
  if (step->turn() != 1) v.Fail(absl::StrCat("the first step after Reset reports turn ", step->turn()));
  reset.set_has_seed(true);
  reset.set_seed(kSeed + 1);
  v.ExpectOk(ctx.client->Reset(reset).status(), "Reset with a new seed");
}

void CheckClose(Context& ctx, Verdict& v) {
  auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
  if (!v.ExpectOk(created.status(), "Create")) return;
  const std::string id = created->session_id();
  if (!v.ExpectOk(ctx.client->Close(id), "Close")) return;
  v.ExpectCode(ctx.client->Step(id, ctx.options->actions[0]).status(),
               absl::StatusCode::kNotFound, "Step after Close");
  v1::ResetRequest reset;
  reset.set_session_id(id);
  v.ExpectCode(ctx.client->Reset(reset).status(), absl::StatusCode::kNotFound,
               "Reset after Close");
  v.ExpectCode(ctx.client->Close(id), absl::StatusCode::kNotFound, "second Close");
}

void CheckBadSessionIds(Context& ctx, Verdict& v) {
  for (const std::string& id : {std::string("no-such-session-conformance"),
                                std::string(4096, 'x')}) {
    const std::string label = absl::StrCat("session id of ", id.size(), " bytes");
    v.ExpectCode(ctx.client->Step(id, ctx.options->actions[0]).status(),
                 absl::StatusCode::kNotFound, "Step with a " + label);
    v1::ResetRequest reset;
    reset.set_session_id(id);
    v.ExpectCode(ctx.client->Reset(reset).status(), absl::StatusCode::kNotFound,
                 "Reset with a " + label);
    v.ExpectCode(ctx.client->Close(id), absl::StatusCode::kNotFound, "Close with a " + label);
  }
  auto empty = ctx.client->Step("", ctx.options->actions[0]).status();
  if (empty.code() != absl::StatusCode::kNotFound &&
      empty.code() != absl::StatusCode::kInvalidArgument) {
    v.Fail(absl::StrCat("Step with an empty session id: want NOT_FOUND or INVALID_ARGUMENT, got ",
                        CodeName(empty.code())));
  }
}

void CheckDeterminism(Context& ctx, Verdict& v) {
  const int turns = std::min(ctx.options->max_episode_turns, 12);
  std::vector<std::string> runs;
  for (int run = 0; run < 2; ++run) {
    auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
    if (!v.ExpectOk(created.status(), "Create")) return;
    SessionCloser closer(ctx.client, created->session_id());
    std::string trace = absl::StrCat(created->task().task_id(), "|", created->instruction(), "|",
                                     created->observation());
    auto played = PlayEpisode(ctx, created->session_id(), turns);
    if (!v.ExpectOk(played.status(), "Step")) return;
    for (const auto& r : *played) absl::StrAppend(&trace, "\n", Summarize(r), r.observation());
    runs.push_back(std::move(trace));
  }
  if (runs[0] != runs[1]) {
    v.Fail("two sessions of the same task and seed, given the same actions, differ");
  }
}

}  // namespace

std::vector<NamedCheck> SessionChecks() {
  return {{"create", CheckCreate},
          {"create.errors", CheckCreateErrors},
          {"episode", CheckEpisode},
          {"reset", CheckReset},
          {"close", CheckClose},
          {"bad_session_ids", CheckBadSessionIds},
          {"determinism", CheckDeterminism}};
}

}  // namespace agentgym::env::conformance
