// Checks of StepRequest.expected_turn, which makes a retried step apply once:
// a repeat of a session's last step is answered again (replayed) without being
// applied, and a step sent for another turn is refused with nothing applied.
// Clients retry steps only because servers honour this, so a server that
// ignores it can apply one agent action twice.

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "env_server/conformance/checks.h"
#include "google/protobuf/util/message_differencer.h"

namespace agentgym::env::conformance {
namespace {

constexpr uint64_t kSeed = 4242;

v1::StepRequest StepAt(const std::string& session, const std::string& action, int32_t turn) {
  v1::StepRequest req;
  req.set_session_id(session);
  req.set_action(action);
  req.set_expected_turn(turn);
  return req;
}

// Fails unless the server itself refused the step sent out of turn. The
// client also answers FAILED_PRECONDITION when a server *applied* such a step
// (its reply has another turn than the step was sent as); that is the fault
// these checks look for, so it must not pass as a refusal.
bool AppliedOutOfTurn(absl::string_view client_message) {
  return absl::StrContains(client_message, kIgnoredExpectedTurn);
}

void ExpectRefused(const absl::Status& status, const std::string& what, Verdict& v) {
  if (status.code() == absl::StatusCode::kFailedPrecondition &&
      AppliedOutOfTurn(status.message())) {
    v.Fail(absl::StrCat(what, ": the server applied it instead of refusing it (",
                        status.message(), ")"));
    return;
  }
  v.ExpectCode(status, absl::StatusCode::kFailedPrecondition, what);
}

// Fails unless `again` is `first` answered again: equal but for `replayed`.
void ExpectReplayOf(const v1::StepResult& first, const v1::StepResult& again,
                    const std::string& what, Verdict& v) {
  if (first.replayed()) v.Fail(absl::StrCat(what, ": the first send is marked replayed"));
  if (!again.replayed()) {
    v.Fail(absl::StrCat(what, ": the repeat is not marked replayed (",
                        Summarize(again), "), so it was applied a second time"));
    return;
  }
  v1::StepResult unmarked = again;
  unmarked.set_replayed(false);
  if (!google::protobuf::util::MessageDifferencer::Equals(first, unmarked)) {
    v.Fail(absl::StrCat(what, ": the replayed result (", Summarize(again),
                        ") differs from the step's result (", Summarize(first), ")"));
  }
}

void CheckTurns(Context& ctx, Verdict& v) {
  auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
  if (!v.ExpectOk(created.status(), "Create")) return;
  const std::string& id = created->session_id();
  SessionCloser closer(ctx.client, id);
  const std::string& action = ctx.options->actions[0];

  v.ExpectCode(ctx.client->Step(StepAt(id, action, -1)).status(),
               absl::StatusCode::kInvalidArgument, "Step with expected_turn -1");
  ExpectRefused(ctx.client->Step(StepAt(id, action, 2)).status(),
                "Step sent as turn 2 to a session at turn 0", v);
  auto first = ctx.client->Step(StepAt(id, action, 1));
  if (!v.ExpectOk(first.status(), "Step sent as turn 1")) return;
  if (first->turn() != 1) {
    v.Fail(absl::StrCat("a step sent as turn 1 reports turn ", first->turn(),
                        ": a refused step must not spend a turn"));
    return;
  }
  auto again = ctx.client->Step(StepAt(id, action, 1));
  if (!v.ExpectOk(again.status(), "the repeat of the step sent as turn 1")) return;
  ExpectReplayOf(*first, *again, "the repeat of turn 1", v);
  ExpectRefused(ctx.client->Step(StepAt(id, action + " (another action)", 1)).status(),
                "another action sent as turn 1 after turn 1 was taken", v);
  ExpectRefused(ctx.client->Step(StepAt(id, action, 3)).status(),
                "Step sent as turn 3 to a session at turn 1", v);
  if (first->done() || first->truncated()) {
    v.Note("the episode ended at turn 1; turn 2 not checked");
    return;
  }
  auto second = ctx.client->Step(StepAt(id, action, 2));
  if (v.ExpectOk(second.status(), "Step sent as turn 2 after the refused ones") &&
      second->turn() != 2) {
    v.Fail(absl::StrCat("the step sent as turn 2 reports turn ", second->turn(),
                        ": refused or replayed steps were applied"));
  }
}

void CheckBatchTurns(Context& ctx, Verdict& v) {
  auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
  if (!v.ExpectOk(created.status(), "Create")) return;
  const std::string& id = created->session_id();
  SessionCloser closer(ctx.client, id);
  const std::string& action = ctx.options->actions[0];

  v1::BatchStepRequest batch;
  *batch.add_items() = StepAt(id, action, 1);
  auto first = ctx.client->BatchStep(batch);
  // A retry of the whole batch, and an item for a turn already taken.
  *batch.add_items() = StepAt(id, action + " (another action)", 1);
  auto again = ctx.client->BatchStep(batch);
  if (!v.ExpectOk(first.status(), "BatchStep") || !v.ExpectOk(again.status(), "BatchStep")) {
    return;
  }
  if (first->items_size() != 1 || again->items_size() != 2) {
    v.Fail(absl::StrCat("BatchSteps of 1 and 2 items answered ", first->items_size(), " and ",
                        again->items_size()));
    return;
  }
  if (first->items(0).error().code() != 0) {
    v.Fail(absl::StrCat("the item sent as turn 1 failed: ", first->items(0).error().message()));
    return;
  }
  if (again->items(0).error().code() != 0) {
    v.Fail(absl::StrCat("the repeat of the item sent as turn 1 failed: ",
                        again->items(0).error().message()));
    return;
  }
  ExpectReplayOf(first->items(0).result(), again->items(0).result(),
                 "the repeated batch item for turn 1", v);
  const int code = again->items(1).error().code();
  if (AppliedOutOfTurn(again->items(1).error().message())) {
    v.Fail(absl::StrCat("a batch item with another action for turn 1, already taken, was "
                        "applied instead of refused (",
                        again->items(1).error().message(), ")"));
  } else if (code != static_cast<int>(absl::StatusCode::kFailedPrecondition)) {
    v.Fail(absl::StrCat("a batch item with another action for turn 1, already taken: want code 9 "
                        "(FAILED_PRECONDITION), got ",
                        code, code == 0 ? " (it was applied)" : ""));
  }
}

}  // namespace

std::vector<NamedCheck> TurnChecks() {
  return {{"turns", CheckTurns}, {"batch.turns", CheckBatchTurns}};
}

}  // namespace agentgym::env::conformance
