// Checks that need many sessions or time: concurrent sessions, concurrent
// steps of one session, the session cap and the idle TTL.

#include <algorithm>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "env_server/conformance/checks.h"

namespace agentgym::env::conformance {
namespace {

constexpr uint64_t kSeed = 4242;

void CheckConcurrentSessions(Context& ctx, Verdict& v) {
  const int n = ctx.options->concurrent_sessions;
  absl::Mutex mu;
  std::vector<std::string> errors, ids, traces;
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&] {
      std::string error, id, trace;
      auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
      if (!created.ok()) {
        error = absl::StrCat("Create: ", created.status().ToString());
      } else {
        id = created->session_id();
        auto played = PlayEpisode(ctx, id, 3);
        if (!played.ok()) {
          error = absl::StrCat("Step: ", played.status().ToString());
        } else {
          for (const auto& r : *played) absl::StrAppend(&trace, Summarize(r), r.observation());
        }
        if (auto s = ctx.client->Close(id); !s.ok()) error = absl::StrCat("Close: ", s.ToString());
      }
      absl::MutexLock lock(&mu);
      if (!error.empty()) errors.push_back(error);
      if (!id.empty()) ids.push_back(id);
      traces.push_back(trace);
    });
  }
  for (auto& t : threads) t.join();
  if (!errors.empty()) {
    v.Fail(absl::StrCat(errors.size(), " of ", n, " concurrent sessions failed, e.g. ", errors[0]));
    return;
  }
  if (std::set<std::string>(ids.begin(), ids.end()).size() != ids.size()) {
    v.Fail("concurrent Creates returned duplicate session ids");
  }
  if (std::set<std::string>(traces.begin(), traces.end()).size() != 1) {
    v.Fail("concurrent sessions of the same task and seed played differently");
  }
  v.Note(absl::StrCat(n, " sessions in parallel"));
}

void CheckConcurrentSteps(Context& ctx, Verdict& v) {
  auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
  if (!v.ExpectOk(created.status(), "Create")) return;
  SessionCloser closer(ctx.client, created->session_id());
  absl::Mutex mu;
  std::vector<int> turns;
  std::vector<std::string> errors;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 3; ++k) {
        auto r = ctx.client->Step(created->session_id(), ctx.options->actions[0]);
        absl::MutexLock lock(&mu);
        if (r.ok()) {
          turns.push_back(r->turn());
        } else if (r.status().code() != absl::StatusCode::kFailedPrecondition) {
          errors.push_back(r.status().ToString());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (!errors.empty()) {
    v.Fail(absl::StrCat("concurrent steps of one session failed: ", errors[0]));
    return;
  }
  std::sort(turns.begin(), turns.end());
  for (size_t i = 0; i < turns.size(); ++i) {
    if (turns[i] != static_cast<int>(i + 1)) {
      v.Fail("concurrent steps of one session were not serialized (turn numbers repeat or skip)");
      return;
    }
  }
  v.Note(absl::StrCat(turns.size(), " steps, turns 1..", turns.size()));
}

void CheckMaxSessions(Context& ctx, Verdict& v) {
  const int64_t cap = ctx.server.max_sessions();
  if (cap > ctx.options->max_sessions_probe) {
    v.Skip(absl::StrCat("max_sessions ", cap, " is above the probe limit ",
                        ctx.options->max_sessions_probe));
    return;
  }
  std::vector<std::unique_ptr<SessionCloser>> open;
  absl::Status last;
  for (int64_t i = 0; i <= cap; ++i) {
    auto created = ctx.client->Create(CreateForTask(ctx, kSeed));
    if (!created.ok()) {
      last = created.status();
      break;
    }
    open.push_back(std::make_unique<SessionCloser>(ctx.client, created->session_id()));
  }
  if (!v.ExpectCode(last, absl::StatusCode::kResourceExhausted,
                    absl::StrCat("Create number ", open.size() + 1, " with max_sessions ", cap))) {
    return;
  }
  open.clear();  // closes them all
  auto after = ctx.client->Create(CreateForTask(ctx, kSeed));
  if (v.ExpectOk(after.status(), "Create after closing sessions")) {
    (void)ctx.client->Close(after->session_id());
  }
  v.Note(absl::StrCat("RESOURCE_EXHAUSTED after ", cap, " sessions"));
}

void CheckTtl(Context& ctx, Verdict& v) {
  if (!ctx.options->check_ttl) {
    v.Skip("disabled (--skip-ttl)");
    return;
  }
  const absl::Duration ttl = absl::Seconds(1);
  const absl::Time start = absl::Now();
  std::vector<std::string> probes;
  for (int i = 0; i < 6; ++i) {
    v1::CreateRequest req = CreateForTask(ctx, kSeed);
    req.set_idle_ttl_ms(absl::ToInt64Milliseconds(ttl));
    auto created = ctx.client->Create(req);
    if (!v.ExpectOk(created.status(), "Create with idle_ttl_ms 1000")) return;
    probes.push_back(created->session_id());
  }
  auto keeper = ctx.client->Create(CreateForTask(ctx, kSeed));
  if (!v.ExpectOk(keeper.status(), "Create with the default TTL")) return;
  SessionCloser close_keeper(ctx.client, keeper->session_id());
  // Each probe touches only its own session, so the next one is still idle.
  absl::Duration wait = ttl + absl::Milliseconds(500);
  for (const std::string& id : probes) {
    absl::Duration until = std::min(wait, ctx.options->ttl_max_wait);
    absl::SleepFor(start + until - absl::Now());
    v1::ResetRequest touch;
    touch.set_session_id(id);
    absl::Status s = ctx.client->Reset(touch).status();
    if (s.code() == absl::StatusCode::kNotFound) {
      absl::Duration idle = absl::Now() - start;
      if (idle < ttl) v.Fail("a session was reclaimed before its idle TTL");
      v1::ResetRequest keep;
      keep.set_session_id(keeper->session_id());
      if (absl::Milliseconds(ctx.server.session_idle_ttl_ms()) > idle + absl::Seconds(1)) {
        v.ExpectOk(ctx.client->Reset(keep).status(),
                   "a session with the default TTL, idle for less than it");
      }
      v.Note(absl::StrCat("reclaimed after ", absl::FormatDuration(idle), " idle (TTL 1s)"));
      return;
    }
    if (!v.ExpectOk(s, "Reset of an idle session")) return;
    (void)ctx.client->Close(id);
    if (until >= ctx.options->ttl_max_wait) break;
    wait *= 2;
  }
  v.Fail(absl::StrCat("a session with idle_ttl_ms 1000 was still open after ",
                      absl::FormatDuration(absl::Now() - start)));
}

}  // namespace

std::vector<NamedCheck> ConcurrencyChecks() {
  return {{"concurrent.sessions", CheckConcurrentSessions},
          {"concurrent.steps_one_session", CheckConcurrentSteps}};
}

std::vector<NamedCheck> ServerChecks() {
  return {{"max_sessions", CheckMaxSessions}, {"ttl", CheckTtl}};
}

}  // namespace agentgym::env::conformance
