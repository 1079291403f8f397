// Checks of the action text: the contract's INVALID_ARGUMENT cases (oversized,
// not UTF-8) and odd but well-formed text (empty included) that must be a
// normal step, answered in-game.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "env_server/conformance/checks.h"

namespace agentgym::env::conformance {
namespace {

constexpr uint64_t kSeed = 7;

// Creates a session, steps it once with `action`, closes it.
absl::Status StepFresh(Context& ctx, const std::string& action, Verdict& v,
                       v1::StepResult* out = nullptr) {
  auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
  if (!v.ExpectOk(created.status(), "Create")) return created.status();
  SessionCloser closer(ctx.client, created->session_id());
  auto r = ctx.client->Step(created->session_id(), action);
  if (r.ok() && out != nullptr) *out = *r;
  if (!r.ok()) return r.status();
  // The session must still work after the probe.
  auto next = ctx.client->Step(created->session_id(), ctx.options->actions[0]);
  if (!next.ok() && next.status().code() != absl::StatusCode::kFailedPrecondition) {
    v.Fail(absl::StrCat("the session broke after the probe: ", next.status().ToString()));
  }
  return absl::OkStatus();
}

// A rejected action must leave the session usable, with the turn not counted.
void ExpectRejected(Context& ctx, const std::string& action, const std::string& what,
                    Verdict& v) {
  auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
  if (!v.ExpectOk(created.status(), "Create")) return;
  SessionCloser closer(ctx.client, created->session_id());
  if (!v.ExpectCode(ctx.client->Step(created->session_id(), action).status(),
                    absl::StatusCode::kInvalidArgument, what)) {
    return;
  }
  auto next = ctx.client->Step(created->session_id(), ctx.options->actions[0]);
  if (!v.ExpectOk(next.status(), "Step after a rejected action")) return;
  if (next->turn() != 1) {
    v.Fail(absl::StrCat(what, " was rejected but counted as a turn (next turn is ",
                        next->turn(), ")"));
  }
}


void CheckOversized(Context& ctx, Verdict& v) {
  const int64_t limit = ctx.server.max_action_bytes();
  if (limit > (16 << 20)) {
    v.Skip(absl::StrCat("max_action_bytes ", limit, " is too large to probe"));
    return;
  }
  ExpectRejected(ctx, std::string(limit + 1, 'a'),
                 absl::StrCat("an action of max_action_bytes+1 (", limit + 1, ") bytes"), v);
  if (v.failed()) return;
  absl::Status at_limit = StepFresh(ctx, std::string(limit, 'a'), v);
  v.ExpectOk(at_limit, absl::StrCat("an action of exactly max_action_bytes (", limit, ")"));
}

void CheckNonUtf8(Context& ctx, Verdict& v) {
  const std::pair<const char*, std::string> cases[] = {
      {"a 0xFF byte", "go \xff north"},
      {"an overlong encoding", "\xc0\xaf"},
      {"a UTF-16 surrogate", "\xed\xa0\x80"},
      {"a truncated sequence", "look \xe2\x82"},
      {"a code point above U+10FFFF", "\xf4\x90\x80\x80"},
  };
  for (const auto& [what, action] : cases) {
    ExpectRejected(ctx, action, absl::StrCat("an action with ", what), v);
    if (v.failed()) return;
  }
}

void CheckOddText(Context& ctx, Verdict& v) {
  const std::pair<const char*, std::string> cases[] = {
      {"no text (empty)", ""},
      {"a NUL byte", std::string("look\0around", 11)},
      {"emoji and CJK", "\xf0\x9f\x98\x80 \xe4\xbd\xa0\xe5\xa5\xbd"},
      {"an empty Action: line", "Thought: hmm\nAction:"},
      {"control characters", "\x01\x02\x1b[31m\t\r\n"},
      {"a long line", std::string(std::min<int64_t>(4000, ctx.server.max_action_bytes()), 'z')},
  };
  for (const auto& [what, action] : cases) {
    v1::StepResult r;
    absl::Status s = StepFresh(ctx, action, v, &r);
    if (!v.ExpectOk(s, absl::StrCat("an action with ", what, " (valid UTF-8) must be a normal "
                                    "step, at most action_valid=false"))) {
      return;
    }
    if (r.turn() != 1) v.Fail(absl::StrCat("the step with ", what, " reports turn ", r.turn()));
  }
}

}  // namespace

std::vector<NamedCheck> ActionChecks() {
  return {{"actions.oversized", CheckOversized},
          {"actions.non_utf8", CheckNonUtf8},
          {"actions.odd_text", CheckOddText}};
}

}  // namespace agentgym::env::conformance
