#include "env_server/conformance/env_check.h"

#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "env_server/conformance/checks.h"

namespace agentgym::env::conformance {

// ---- Verdict and shared helpers ----

void Verdict::Fail(std::string reason) {
  if (failed_) return;
  failed_ = true;
  reason_ = std::move(reason);
}

void Verdict::Skip(std::string reason) {
  if (failed_ || skipped_) return;
  skipped_ = true;
  reason_ = std::move(reason);
}

void Verdict::Note(std::string detail) { notes_.push_back(std::move(detail)); }

bool Verdict::ExpectCode(const absl::Status& status, absl::StatusCode want,
                         const std::string& what) {
  if (status.code() == want) return true;
  Fail(absl::StrCat(what, ": want ", CodeName(want), ", got ", CodeName(status.code()),
                    status.ok() ? "" : absl::StrCat(" (", status.message().substr(0, 160), ")")));
  return false;
}

bool Verdict::ExpectOk(const absl::Status& status, const std::string& what) {
  return ExpectCode(status, absl::StatusCode::kOk, what);
}

CheckResult Verdict::Finish(std::string name) const {
  CheckResult r;
  r.name = std::move(name);
  r.outcome = failed_ ? Outcome::kFail : skipped_ ? Outcome::kSkip : Outcome::kPass;
  r.detail = failed_ || skipped_ ? reason_ : absl::StrJoin(notes_, "; ");
  return r;
}

std::string CodeName(absl::StatusCode code) { return absl::StatusCodeToString(code); }

v1::CreateRequest CreateForTask(const Context& ctx, uint64_t seed) {
  v1::CreateRequest req;
  req.set_env(ctx.env.name());
  if (!ctx.first_task_id.empty()) {
    req.set_task_id(ctx.first_task_id);
  } else {
    req.mutable_sample()->set_split(v1::SPLIT_TRAIN);
  }
  req.set_seed(seed);
  return req;
}

std::string Summarize(const v1::StepResult& r) {
  return absl::StrCat("turn=", r.turn(), " reward=", r.reward(), " done=", r.done(),
                      " truncated=", r.truncated(), " success=", r.success(),
                      " score=", r.score(), " valid=", r.action_valid(),
                      " obs=\"", r.observation().substr(0, 60), "\"");
}

absl::StatusOr<std::vector<v1::StepResult>> PlayEpisode(Context& ctx, const std::string& session,
                                                        int max_turns) {
  std::vector<v1::StepResult> results;
  const auto& actions = ctx.options->actions;
  for (int t = 0; t < max_turns; ++t) {
    auto r = ctx.client->Step(session, actions[t % actions.size()]);
    if (!r.ok()) return r.status();
    results.push_back(*std::move(r));
    if (results.back().done() || results.back().truncated()) break;
  }
  return results;
}

namespace {

// ---- discovery ----

void CheckListTasks(Context& ctx, Verdict& v) {
  int64_t want_train = 0, want_test = 0;
  for (const auto& t : ctx.env.task_types()) {
    want_train += t.train_count();
    want_test += t.test_count();
  }
  for (v1::Split split : {v1::SPLIT_TRAIN, v1::SPLIT_TEST}) {
    const int64_t want = split == v1::SPLIT_TRAIN ? want_train : want_test;
    v1::ListTasksRequest req;
    req.set_env(ctx.env.name());
    req.set_split(split);
    req.set_page_size(3);
    std::set<std::string> ids;
    int64_t total = -1;
    for (int page = 0; page < 4; ++page) {  // walk a few small pages
      auto resp = ctx.client->ListTasks(req);
      if (!v.ExpectOk(resp.status(), "ListTasks")) return;
      total = resp->total();
      if (resp->tasks_size() > 3) v.Fail("ListTasks returned more tasks than page_size");
      for (const auto& t : resp->tasks()) {
        if (t.task_id().empty()) v.Fail("ListTasks returned a task with an empty task_id");
        if (!ids.insert(t.task_id()).second) {
          v.Fail(absl::StrCat("task id '", t.task_id(), "' listed twice across pages"));
        }
        if (t.split() != split) v.Fail(absl::StrCat("task '", t.task_id(), "' has the wrong split"));
      }
      if (resp->next_page_token().empty()) {
        if (static_cast<int64_t>(ids.size()) != total) {
          v.Fail(absl::StrCat("pages ended after ", ids.size(), " tasks but total is ", total));
        }
        break;
      }
      req.set_page_token(resp->next_page_token());
    }
    if (total != want) {
      v.Fail(absl::StrCat("ListTasks total ", total, " != sum of task_types counts ", want,
                          " (split ", v1::Split_Name(split), ")"));
    }
    if (split == v1::SPLIT_TRAIN && ids.empty() && want > 0) v.Fail("no train task listed");
  }
  v.Note(absl::StrCat(want_train, " train / ", want_test, " test tasks"));
}

void CheckListTasksErrors(Context& ctx, Verdict& v) {
  v1::ListTasksRequest req;
  req.set_env("no-such-env-conformance");
  v.ExpectCode(ctx.client->ListTasks(req).status(), absl::StatusCode::kNotFound,
               "ListTasks of an unknown env");
  req.set_env(ctx.env.name());
  req.set_task_type("no-such-type-conformance");
  v.ExpectCode(ctx.client->ListTasks(req).status(), absl::StatusCode::kNotFound,
               "ListTasks of an unknown task type");
  req.clear_task_type();
  req.set_split(static_cast<v1::Split>(7));
  v.ExpectCode(ctx.client->ListTasks(req).status(), absl::StatusCode::kInvalidArgument,
               "ListTasks with split value 7");
  req.set_split(v1::SPLIT_TRAIN);
  req.set_page_token("not-a-token-conformance");
  v.ExpectCode(ctx.client->ListTasks(req).status(), absl::StatusCode::kInvalidArgument,
               "ListTasks with a bad page_token");
  // Tokens are the canonical digits a page returned; look-alikes are refused.
  for (const char* token : {"-0", "+5", " 5"}) {
    req.set_page_token(token);
    v.ExpectCode(ctx.client->ListTasks(req).status(), absl::StatusCode::kInvalidArgument,
                 absl::StrCat("ListTasks with page_token '", token, "'"));
  }
  req.clear_page_token();
  req.set_page_size(-1);
  v.ExpectCode(ctx.client->ListTasks(req).status(), absl::StatusCode::kInvalidArgument,
               "ListTasks with page_size -1");
}

std::vector<NamedCheck> DiscoveryChecks() {
  return {{"list_tasks", CheckListTasks}, {"list_tasks.errors", CheckListTasksErrors}};
}

CheckResult Run(const std::string& name, Context& ctx, const CheckFn& fn) {
  Verdict v;
  fn(ctx, v);
  return v.Finish(name);
}

}  // namespace

std::vector<CheckResult> RunConformance(const CheckOptions& options) {
  std::vector<CheckResult> results;
  EnvClientOptions client_options;
  client_options.target = options.target;
  client_options.timeout = options.rpc_timeout;
  client_options.max_attempts = 2;
  // The checks look at the server's own answers, concurrent steps of one
  // session included, which the client's turn checks would refuse.
  client_options.check_turns = false;
  auto client = EnvClient::Create(client_options);
  Verdict discovery;
  if (!client.ok()) {
    discovery.Fail(std::string(client.status().message()));
    results.push_back(discovery.Finish("discovery.list_envs"));
    return results;
  }
  Context base{&options, client->get(), {}, {}, {}};
  auto listed = (*client)->ListEnvs();
  if (!discovery.ExpectOk(listed.status(), "ListEnvs")) {
    results.push_back(discovery.Finish("discovery.list_envs"));
    return results;
  }
  base.server = *listed;
  std::vector<v1::EnvInfo> envs;
  std::set<std::string> names;
  for (const auto& e : listed->envs()) {
    if (e.name().empty()) discovery.Fail("an env has an empty name");
    if (!names.insert(e.name()).second) discovery.Fail(absl::StrCat("env '", e.name(), "' listed twice"));
    if (options.env.empty() || e.name() == options.env) envs.push_back(e);
  }
  if (listed->envs_size() == 0) discovery.Fail("ListEnvs lists no env");
  if (!options.env.empty() && envs.empty()) {
    discovery.Fail(absl::StrCat("the server does not list env '", options.env, "'"));
  }
  discovery.Note(absl::StrCat(listed->envs_size(), " envs: ", absl::StrJoin(names, ", ")));
  results.push_back(discovery.Finish("discovery.list_envs"));

  Verdict limits;
  const auto& s = *listed;
  if (s.max_sessions() <= 0 || s.max_action_bytes() <= 0 || s.max_batch_items() <= 0 ||
      s.session_idle_ttl_ms() <= 0) {
    limits.Fail("max_sessions, max_action_bytes, max_batch_items and session_idle_ttl_ms "
                "must all be > 0 so clients can size requests");
  }
  limits.Note(absl::StrCat("max_sessions=", s.max_sessions(), " max_action_bytes=",
                           s.max_action_bytes(), " max_batch_items=", s.max_batch_items(),
                           " ttl_ms=", s.session_idle_ttl_ms(), " version=",
                           s.server_version()));
  results.push_back(limits.Finish("discovery.limits"));
  if (limits.failed()) return results;

  std::vector<std::vector<NamedCheck>> groups = {DiscoveryChecks(), SessionChecks(),
                                                 ActionChecks(), BatchChecks(),
                                                 TurnChecks(), ConcurrencyChecks()};
  for (size_t i = 0; i < envs.size(); ++i) {
    Context ctx = base;
    ctx.env = envs[i];
    v1::ListTasksRequest first;
    first.set_env(ctx.env.name());
    first.set_page_size(1);
    if (auto t = ctx.client->ListTasks(first); t.ok() && t->tasks_size() > 0) {
      ctx.first_task_id = t->tasks(0).task_id();
    }
    for (const auto& group : groups) {
      for (const auto& check : group) {
        results.push_back(Run(absl::StrCat(ctx.env.name(), "/", check.name), ctx, check.fn));
      }
    }
    if (i == 0) {
      for (const auto& check : ServerChecks()) {
        results.push_back(Run(absl::StrCat("server/", check.name), ctx, check.fn));
      }
    }
  }
  return results;
}

std::string FormatReport(const std::vector<CheckResult>& results, bool strict) {
  size_t width = 5;
  for (const auto& r : results) width = std::max(width, r.name.size());
  std::string out = absl::StrCat(std::string("CHECK") + std::string(width - 5, ' '),
                                 "  RESULT  DETAIL\n");
  int pass = 0, fail = 0, skip = 0;
  for (const auto& r : results) {
    const char* word = r.outcome == Outcome::kPass ? "PASS" : r.outcome == Outcome::kFail ? "FAIL" : "SKIP";
    (r.outcome == Outcome::kPass ? pass : r.outcome == Outcome::kFail ? fail : skip)++;
    absl::StrAppend(&out, r.name, std::string(width - r.name.size(), ' '), "  ", word,
                    std::string(6 - std::string(word).size(), ' '), "  ", r.detail, "\n");
  }
  // The verdict is Passed()'s, so the line says what the exit code says.
  const std::string counts =
      absl::StrCat("(", pass, " checks passed, ", fail, " failing, ", skip, " skipped)");
  if (Passed(results, strict)) {
    absl::StrAppend(&out, "conformance PASSED ", counts, "\n");
  } else if (results.empty()) {
    absl::StrAppend(&out, "conformance FAILED: no checks ran\n");
  } else if (fail == 0) {
    absl::StrAppend(&out, "conformance FAILED under --strict: ", skip, " skipped ", counts, "\n");
  } else {
    absl::StrAppend(&out, "conformance FAILED ", counts, "\n");
  }
  return out;
}

bool Passed(const std::vector<CheckResult>& results, bool strict) {
  for (const auto& r : results) {
    if (r.outcome == Outcome::kFail || (strict && r.outcome == Outcome::kSkip)) return false;
  }
  return !results.empty();
}

}  // namespace agentgym::env::conformance
