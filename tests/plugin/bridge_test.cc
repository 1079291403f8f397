// The AgentGym HTTP bridge against an in-process AgentGym-compatible fake:
// every known env's quirks from the shipped table, full episodes, action
// parsing, error bodies and HTTP failures, a dead and a slow upstream.

#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "tests/plugin/bridge_fixture.h"

namespace agentgym::env::bridge {
namespace {

using json = nlohmann::json;
using agentgym::testing::FakeAgentGymServer;
using testing_fixture::BridgeTest;
using testing_fixture::kFlavors;
using testing_fixture::MustResolve;

TEST_F(BridgeTest, ShippedTableDescribesEveryKnownEnvsQuirks) {
  std::map<std::string, UpstreamConfig> c;
  for (const char* f : kFlavors) c[f] = MustResolve(f, {{"base_url", "http://127.0.0.1:9"}});
  EXPECT_EQ(c["textcraft"].session_key, "id");
  EXPECT_EQ(c["textcraft"].reset_task_key, "data_idx");
  EXPECT_EQ(c["webarena"].session_key, "env_idx");
  EXPECT_EQ(c["webarena"].reset_task_key, "idx");
  EXPECT_EQ(c["webarena"].done_field, "terminated");
  EXPECT_EQ(c["webarena"].reset_body, json({{"seed", 0}}));
  EXPECT_EQ(c["searchqa"].create_task_key, "id");
  EXPECT_EQ(c["searchqa"].create_id_field, "");
  EXPECT_EQ(c["sciworld"].score_field, "score");
  EXPECT_DOUBLE_EQ(c["sciworld"].score_scale, 0.01);
  EXPECT_EQ(c["webshop"].observation_field, "state");
  EXPECT_TRUE(c["webshop"].reset_fetch_observation);
  // What each upstream says for an action it could not execute, where it says so.
  EXPECT_FALSE(c["textcraft"].invalid_observation.empty());
  EXPECT_FALSE(c["babyai"].invalid_observation.empty());
  EXPECT_FALSE(c["sciworld"].invalid_observation.empty());
  // Success is each server's own signal, never a threshold on partial credit.
  using Test = UpstreamConfig::SuccessTest;
  for (const char* f : kFlavors) {
    SCOPED_TRACE(f);
    const UpstreamConfig& u = c[f];
    if (std::string(f) == "babyai") {
      EXPECT_EQ(u.success_field, "reward");
      EXPECT_EQ(u.success_test, Test::kAbove);
      EXPECT_DOUBLE_EQ(u.success_value, 0);
      EXPECT_FALSE(u.success_when_done);
      EXPECT_TRUE(u.success_ends_episode);
    } else if (std::string(f) == "sciworld") {
      EXPECT_EQ(u.success_field, "score");
      EXPECT_EQ(u.success_test, Test::kEquals);
      EXPECT_DOUBLE_EQ(u.success_value, 100);
      EXPECT_TRUE(u.success_when_done);
    } else {
      EXPECT_EQ(u.success_field, "reward");
      EXPECT_EQ(u.success_test, Test::kEquals);
      EXPECT_DOUBLE_EQ(u.success_value, 1);
      EXPECT_TRUE(u.success_when_done);
    }
  }
  EXPECT_EQ(c["babyai"].reward_field, "reward");  // its `score` is a running sum
  EXPECT_EQ(c["webshop"].score_field, "reward");
}

TEST_F(BridgeTest, OverridesMergeOverThePresetAndBadConfigsAreRefused) {
  UpstreamConfig c = MustResolve("mine", {{"preset", "webarena"},
                                          {"base_url", "http://h:1"},
                                          {"step", {{"done_field", "finished"}}}});
  EXPECT_EQ(c.done_field, "finished");
  EXPECT_EQ(c.observation_field, "observation");  // the rest of `step` is kept
  EXPECT_EQ(c.session_key, "env_idx");
  EXPECT_EQ(ResolveUpstream("x", {{"preset", "nope"}, {"base_url", "http://h:1"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveUpstream("textcraft", json::object()).status().code(),
            absl::StatusCode::kInvalidArgument);  // no base_url
  EXPECT_EQ(ResolveUpstream("textcraft", {{"base_url", "http://h:1"}, {"pool_size", "many"}})
                .status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveUpstream("textcraft", {{"base_url", "http://h:1"},
                                          {"errors", {{"default_code", "NOPE"}}}})
                .status().code(),
            absl::StatusCode::kInvalidArgument);
  for (const char* test : {"at_least", "min", ""}) {
    auto threshold = ResolveUpstream("webshop", {{"base_url", "http://h:1"},
                                                 {"success", {{"test", test}}}});
    EXPECT_EQ(threshold.status().code(), absl::StatusCode::kInvalidArgument) << test;
  }
  auto never_ends = ResolveUpstream("babyai", {{"base_url", "http://h:1"},
                                               {"success", {{"ends_episode", false}}}});
  EXPECT_EQ(never_ends.status().code(), absl::StatusCode::kInvalidArgument);
  // An unknown env name must say what it is.
  auto misspelt = ResolveUpstream("textcraf", {{"base_url", "http://h:1"}});
  EXPECT_EQ(misspelt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(misspelt.status().message().find("preset"), std::string::npos) << misspelt.status();
  UpstreamConfig custom = MustResolve("custom", {{"preset", "none"}, {"base_url", "http://h:1"}});
  EXPECT_EQ(custom.preset, "");
  EXPECT_EQ(custom.session_key, "id");  // the bare defaults
  EXPECT_EQ(ResolveUpstream("x", {{"preset", 3}, {"base_url", "http://h:1"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  UpstreamConfig bad_regex = MustResolve("textcraft", {{"base_url", "http://h:1"},
                                                       {"action", {{"pattern", "("}}}});
  EXPECT_EQ(BridgeEnvironment::Create(bad_regex).status().code(),
            absl::StatusCode::kInvalidArgument);
  YAML::Node yaml = YAML::Load("textcraft: {base_url: 'http://h:1', max_turns: 5}\n");
  auto parsed = ParseBridgeConfig(yaml);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].max_turns, 5);
  EXPECT_FALSE(ParseBridgeConfig(YAML::Load("[]")).ok());
}

TEST_F(BridgeTest, UnknownKeysAnywhereAreRefusedWithTheirPath) {
  const std::vector<std::pair<json, std::string>> typos = {
      {{{"base_urll", "http://h:1"}}, "base_urll"},
      {{{"step", {{"score_fiel", "score"}}}}, "step.score_fiel"},
      {{{"success", {{"feild", "reward"}}}}, "success.feild"},
      {{{"timeouts_ms", {{"requests", 5}}}}, "timeouts_ms.requests"},
      {{{"action", {{"patern", "x"}}}}, "action.patern"},
      {{{"tasks", json::array({{{"type", "a"}, {"trian", {0, 5}}}})}}, "tasks[0].trian"},
      {{{"errors", {{"rules", json::array({{{"match", "x"}, {"cod", "NOT_FOUND"}}})}}}},
       "errors.rules[0].cod"},
  };
  for (const auto& [typo, path] : typos) {
    json over = {{"base_url", "http://h:1"}};
    for (const auto& [k, v] : typo.items()) over[k] = v;
    auto c = ResolveUpstream("textcraft", over);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_NE(c.status().message().find(path), std::string::npos) << c.status();
  }
  // The same holds through ParseBridgeConfig (YAML), and for the user's own
  // keys only where they are free-form: fields sent upstream and aliases.
  auto yaml = ParseBridgeConfig(YAML::Load(
      "textcraft: {base_url: 'http://h:1', step: {score_fiel: score}}\n"));
  EXPECT_EQ(yaml.status().code(), absl::StatusCode::kInvalidArgument);
  UpstreamConfig free_form = MustResolve(
      "textcraft", {{"base_url", "http://h:1"},
                    {"create", {{"body", {{"any_field", 1}}}}},
                    {"reset", {{"body", {{"split", "dev"}}}}},
                    {"action", {{"aliases", {{"peek", "inventory"}}}}}});
  EXPECT_EQ(free_form.create_body["any_field"], 1);
  EXPECT_EQ(free_form.action.aliases.at("peek"), "inventory");
  // Wrong types are errors, not crashes.
  for (const json& bad : {json{{"tasks", json::array({{{"type", "a"}, {"description", 5}}})}},
                          json{{"tasks", json::array({{{"type", "a"},
                                                       {"recommended_max_turns", 1e12}}})}},
                          json{{"max_turns", 1e300}}, json{{"pool_size", 0}},
                          json{{"timeouts_ms", {{"request", 1e300}}}}}) {
    json over = bad;
    over["base_url"] = "http://h:1";
    EXPECT_EQ(ResolveUpstream("textcraft", over).status().code(),
              absl::StatusCode::kInvalidArgument) << bad.dump();
  }
}

TEST_F(BridgeTest, ParsesTheAgentsTextLikeAgentGymsClients) {
  auto parser_for = [](const std::string& env) {
    auto p = ActionParser::Create(MustResolve(env, {{"base_url", "http://h:1"}}).action);
    EXPECT_TRUE(p.ok());
    return *std::move(p);
  };
  auto textcraft = parser_for("textcraft");
  EXPECT_EQ(textcraft->Parse("Thought: I need sticks.\n\nAction: craft 4 stick using 2 planks!\n")
                .action, "craft 4 stick using 2 planks");
  EXPECT_EQ(textcraft->Parse("Action: LOOK").action, "inventory");
  EXPECT_TRUE(textcraft->Parse("Action: get 1 log\nAction: get 2 log").rejected);
  // Without an "Action:" line the whole text is the action, as the built-in
  // textcraft env takes it (a plain `get 1 diamond`).
  EXPECT_EQ(textcraft->Parse("get 1 diamond").action, "get 1 diamond");
  EXPECT_EQ(textcraft->Parse("action: get 1 log").action, "get 1 log");
  // babyai, sciworld and webshop as their built-in envs: bridge_actions_test.cc.
  auto babyai = parser_for("babyai");
  EXPECT_EQ(babyai->Parse("Action:\n turn left .").action, "turn left");
  EXPECT_EQ(babyai->Parse("just text").action, "just text");
  auto webshop = parser_for("webshop");
  EXPECT_EQ(webshop->Parse("Action: search[a]\naction: click[b]").action, "click[b]");
  auto webarena = parser_for("webarena");  // its server parses the text itself
  EXPECT_EQ(webarena->Parse("In summary ```click [3]```").action, "In summary ```click [3]```");
  EXPECT_EQ(textcraft->Parse(std::string(60000, '(')).action, "");  // bounded, no crash
}

TEST_F(BridgeTest, PlaysAFullEpisodeThroughEveryFlavor) {
  ServeAllFlavors();
  for (const char* f : kFlavors) {
    SCOPED_TRACE(f);
    const std::string env = f;
    const bool raw = env == "webarena" || env == "searchqa";
    // babyai and sciworld take an optional leading "Action:" only, as their
    // built-in envs do; textcraft and webshop a "Thought:" line before it.
    const bool thought = env == "textcraft" || env == "webshop";
    auto say = [&](const std::string& thinking, const std::string& action) {
      return raw ? action : thought ? thinking + "\nAction: " + action : "Action: " + action;
    };
    auto created = Create(env, /*index=*/2);  // the secret is 3
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_NE(created->observation().find("Pick a number"), std::string::npos);
    if (env == "sciworld") {
      EXPECT_NE(created->observation().find("Task: find"), std::string::npos);
    }
    auto wrong = client_->Step(created->session_id(), say("Thought: low.", "pick 1"));
    ASSERT_TRUE(wrong.ok()) << wrong.status();
    EXPECT_EQ(wrong->observation(), "Go higher.");
    EXPECT_FALSE(wrong->done());
    auto right = client_->Step(created->session_id(), say("Thought: 3.", "pick 3"));
    ASSERT_TRUE(right.ok()) << right.status();
    EXPECT_EQ(right->observation(), "Correct!");
    EXPECT_TRUE(right->done());
    EXPECT_TRUE(right->success());
    // BabyAI rewards a success on step 2 of 10 with 1 - 0.9 * 2 / 10.
    EXPECT_DOUBLE_EQ(right->score(), env == "babyai" ? 0.82 : 1.0);
    EXPECT_EQ(right->turn(), 2);
    EXPECT_EQ(client_->Step(created->session_id(), "pick 3").status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(client_->Close(created->session_id()).ok());
  }
  server_.reset();  // the envs send their pending closes before they go
  EXPECT_EQ(fake_->open_envs(), 0);
  EXPECT_EQ(fake_->closed_envs(), 6);
}

TEST_F(BridgeTest, MapsErrorBodiesAndHttpFailuresToStatuses) {
  Serve({MustResolve("textcraft", {{"base_url", fake_->BaseUrl("textcraft")}}),
         MustResolve("wrong_key", {{"preset", "textcraft"}, {"base_url", fake_->BaseUrl("textcraft")},
                                   {"session_key", "env"}}),
         MustResolve("wrong_task_key", {{"preset", "textcraft"},
                                        {"base_url", fake_->BaseUrl("textcraft")},
                                        {"reset", {{"task_key", "task"}}}}),
         MustResolve("wrong_path", {{"preset", "textcraft"}, {"base_url", fake_->BaseUrl("nowhere")}})});
  auto created = Create("textcraft");
  ASSERT_TRUE(created.ok()) << created.status();
  auto crash = client_->Step(created->session_id(), "Action: crash");
  EXPECT_EQ(crash.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(crash.status().message().find("simulator crashed"), std::string::npos);
  EXPECT_EQ(client_->Step(created->session_id(), "Action: http500").status().code(),
            absl::StatusCode::kInternal);
  auto ok = client_->Step(created->session_id(), "Action: pick 1");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->turn(), 1);  // failed steps are not turns
  auto lost = Create("wrong_key");  // {"error": "env not found"} at reset
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kNotFound) << lost.status();
  auto rejected = Create("wrong_task_key");  // HTTP 422
  EXPECT_EQ(rejected.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(rejected.status().message().find("task_key"), std::string::npos);
  auto no_route = Create("wrong_path");  // HTTP 404
  EXPECT_EQ(no_route.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(no_route.status().message().find("path"), std::string::npos);
}

TEST_F(BridgeTest, AFullUpstreamIsResourceExhausted) {
  ServeAllFlavors();
  std::vector<std::string> ids;
  absl::Status last;
  for (int i = 0; i <= 100; ++i) {
    auto c = Create("babyai");
    if (!c.ok()) {
      last = c.status();
      break;
    }
    ids.push_back(c->session_id());
  }
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted) << last;
}

TEST_F(BridgeTest, ADeadUpstreamIsUnavailableAndOthersKeepWorking) {
  auto dead = FakeAgentGymServer::Start();
  ASSERT_TRUE(dead.ok());
  const std::string dead_url = (*dead)->BaseUrl("textcraft");
  (*dead)->Stop();  // its port is now closed
  Serve({MustResolve("textcraft", {{"base_url", fake_->BaseUrl("textcraft")}}),
         MustResolve("dead", {{"preset", "textcraft"}, {"base_url", dead_url}})});
  auto created = Create("dead");
  EXPECT_EQ(created.status().code(), absl::StatusCode::kUnavailable) << created.status();
  auto alive = Create("textcraft");
  ASSERT_TRUE(alive.ok()) << alive.status();
  EXPECT_TRUE(client_->Step(alive->session_id(), "Action: pick 2").ok());
}

TEST_F(BridgeTest, ASlowUpstreamTimesOutAndNeverBlocksOtherSessions) {
  Serve({MustResolve("textcraft", {{"base_url", fake_->BaseUrl("textcraft")}}),
         MustResolve("babyai", {{"base_url", fake_->BaseUrl("babyai")}}),
         MustResolve("impatient", {{"preset", "textcraft"}, {"base_url", fake_->BaseUrl("textcraft")},
                                   {"timeouts_ms", {{"request", 300}}}})});
  auto slow = Create("textcraft");
  auto same_upstream = Create("textcraft");
  auto other_upstream = Create("babyai");
  ASSERT_TRUE(slow.ok() && same_upstream.ok() && other_upstream.ok());
  absl::Notification slow_done;
  absl::StatusOr<v1::StepResult> slow_result;
  client_->StepAsync(slow->session_id(), "Action: slow", [&](absl::StatusOr<v1::StepResult> r) {
    slow_result = std::move(r);
    slow_done.Notify();
  });
  absl::Notification never;
  for (int i = 0; i < 1000 && fake_->slow_waiting() == 0; ++i) {
    never.WaitForNotificationWithTimeout(absl::Milliseconds(10));  // bounded wait for the fake
  }
  ASSERT_EQ(fake_->slow_waiting(), 1);
  // While that step hangs upstream, other sessions step normally.
  EXPECT_TRUE(client_->Step(same_upstream->session_id(), "Action: pick 1").ok());
  EXPECT_TRUE(client_->Step(other_upstream->session_id(), "Action: pick 1").ok());
  EXPECT_FALSE(slow_done.HasBeenNotified());
  // A bridge env with a short deadline gives up on a hanging upstream.
  auto impatient = Create("impatient");
  ASSERT_TRUE(impatient.ok());
  auto timed_out = client_->Step(impatient->session_id(), "Action: slow");
  EXPECT_EQ(timed_out.status().code(), absl::StatusCode::kDeadlineExceeded) << timed_out.status();
  fake_->ReleaseSlow();
  ASSERT_TRUE(slow_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(slow_result.ok()) << slow_result.status();
}

TEST_F(BridgeTest, AbortIfBusyEndsAStepStuckUpstreamAndRefusesLaterCalls) {
  Serve({MustResolve("textcraft", {{"base_url", fake_->BaseUrl("textcraft")},
                                   {"timeouts_ms", {{"request", 600000}}}}),
         MustResolve("babyai", {{"base_url", fake_->BaseUrl("babyai")}})});
  auto stuck = Create("textcraft");
  auto other = Create("textcraft");
  ASSERT_TRUE(stuck.ok() && other.ok());
  absl::Notification stuck_done;
  absl::StatusOr<v1::StepResult> stuck_result;
  client_->StepAsync(stuck->session_id(), "Action: slow", [&](absl::StatusOr<v1::StepResult> r) {
    stuck_result = std::move(r);
    stuck_done.Notify();
  });
  AwaitSlowSteps(1);
  EXPECT_FALSE(bridges_["babyai"]->AbortIfBusy());  // nothing in flight: left alone
  EXPECT_TRUE(bridges_["textcraft"]->AbortIfBusy());
  // The step ends now, not when its 10-minute upstream timeout would.
  ASSERT_TRUE(stuck_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(stuck_result.status().code(), absl::StatusCode::kUnavailable) << stuck_result.status();
  EXPECT_NE(stuck_result.status().message().find("shutting down"), std::string::npos);
  EXPECT_EQ(fake_->slow_waiting(), 1);  // the upstream itself is still stuck
  auto later = client_->Step(other->session_id(), "Action: pick 1");
  EXPECT_EQ(later.status().code(), absl::StatusCode::kUnavailable) << later.status();
  auto babyai = Create("babyai");  // other upstreams keep working
  ASSERT_TRUE(babyai.ok()) << babyai.status();
  EXPECT_TRUE(client_->Step(babyai->session_id(), "Action: pick 1").ok());
}

// Plays `actions` as one episode and returns its last step.
struct Played {
  v1::StepResult last;
  int steps = 0;
};

TEST_F(BridgeTest, SuccessIsEachServersOwnSignalNeverPartialCredit) {
  ServeAllFlavors();
  // Task index 2: the secret is 3; "pick 9" is far off, "pick 4" a near miss.
  auto play = [&](const std::string& env, const std::vector<std::string>& picks) {
    Played p;
    auto created = Create(env, /*index=*/2);
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return p;
    const bool raw = env == "webarena" || env == "searchqa";  // no Action: parsing
    for (const auto& pick : picks) {
      auto r = client_->Step(created->session_id(), raw ? pick : "Action: " + pick);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      p.last = *r;
      ++p.steps;
      EXPECT_TRUE(!r->success() || r->done()) << "success without done";
      if (r->done() || r->truncated()) break;
    }
    EXPECT_TRUE(client_->Close(created->session_id()).ok());
    return p;
  };
  const std::vector<std::string> nine_misses(9, "pick 9");
  auto with = [](std::vector<std::string> v, const std::string& last) {
    v.push_back(last);
    return v;
  };

  // BabyAI: a success on the last of its 10 steps earns 1 - 0.9 * 10 / 10 =
  // 0.0999...; AgentGym's server even reports done = false for it. It is a
  // success, and it ends the episode.
  Played late = play("babyai", with(nine_misses, "pick 3"));
  EXPECT_EQ(late.steps, 10);
  EXPECT_TRUE(late.last.done());
  EXPECT_TRUE(late.last.success());
  EXPECT_NEAR(late.last.score(), 0.1, 1e-9);
  EXPECT_NEAR(late.last.reward(), 0.1, 1e-9);
  Played lost = play("babyai", with(nine_misses, "pick 9"));
  EXPECT_TRUE(lost.last.done());
  EXPECT_FALSE(lost.last.success());
  EXPECT_DOUBLE_EQ(lost.last.score(), 0.0);

  // Partial credit is a score, not a success.
  Played sciworld = play("sciworld", with(nine_misses, "pick 4"));  // progress 30 of 100
  EXPECT_TRUE(sciworld.last.done());
  EXPECT_FALSE(sciworld.last.success());
  EXPECT_DOUBLE_EQ(sciworld.last.score(), 0.3);
  Played webshop = play("webshop", {"pick 4"});  // bought a partly matching item
  EXPECT_EQ(webshop.steps, 1);
  EXPECT_TRUE(webshop.last.done());
  EXPECT_FALSE(webshop.last.success());
  EXPECT_DOUBLE_EQ(webshop.last.score(), 0.5);
  EXPECT_DOUBLE_EQ(webshop.last.reward(), 0.5);
  Played searchqa = play("searchqa", {"pick 4", "pick 3"});  // a format score, then EM
  EXPECT_EQ(searchqa.steps, 2);
  EXPECT_TRUE(searchqa.last.success());
  Played format_only = play("searchqa", {"pick 4"});
  EXPECT_FALSE(format_only.last.done());
  EXPECT_FALSE(format_only.last.success());
  for (const char* env : {"textcraft", "webarena"}) {
    Played timed_out = play(env, with(nine_misses, "pick 9"));
    EXPECT_TRUE(timed_out.last.done()) << env;
    EXPECT_FALSE(timed_out.last.success()) << env;
  }
}

TEST_F(BridgeTest, StuckStepsBeyondPoolSizeDoNotBlockHealthySessionsOfTheSameEnv) {
  Serve({MustResolve("textcraft", {{"base_url", fake_->BaseUrl("textcraft")},
                                   {"pool_size", 1},
                                   {"max_connections", 8},
                                   {"timeouts_ms", {{"request", 600000}}}})});
  auto a = Create("textcraft");
  auto b = Create("textcraft");
  auto healthy = Create("textcraft");
  ASSERT_TRUE(a.ok() && b.ok() && healthy.ok());
  absl::Notification a_done, b_done;
  absl::StatusOr<v1::StepResult> a_result, b_result;
  client_->StepAsync(a->session_id(), "Action: slow", [&](absl::StatusOr<v1::StepResult> r) {
    a_result = std::move(r);
    a_done.Notify();
  });
  client_->StepAsync(b->session_id(), "Action: slow", [&](absl::StatusOr<v1::StepResult> r) {
    b_result = std::move(r);
    b_done.Notify();
  });
  AwaitSlowSteps(2);  // both reached the upstream: the pool grew past pool_size
  EXPECT_EQ(bridges_["textcraft"]->pool_stats().in_use, 2);
  // Two stuck steps hold twice pool_size; a healthy session still steps.
  auto ok = client_->Step(healthy->session_id(), "Action: pick 1");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->observation(), "Go higher.");
  EXPECT_FALSE(a_done.HasBeenNotified() || b_done.HasBeenNotified());
  fake_->ReleaseSlow();
  ASSERT_TRUE(a_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  ASSERT_TRUE(b_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_TRUE(a_result.ok() && b_result.ok()) << a_result.status() << b_result.status();
  // The extra connections closed after their requests; pool_size stay open.
  auto stats = bridges_["textcraft"]->pool_stats();
  EXPECT_EQ(stats.in_use, 0);
  EXPECT_EQ(stats.idle, 1);
  EXPECT_EQ(stats.open, 1);
}

TEST_F(BridgeTest, RequestsBeyondMaxConnectionsWaitForOneUntilTheirDeadline) {
  auto client = UpstreamClient::Create(MustResolve(
      "textcraft", {{"base_url", fake_->BaseUrl("textcraft")}, {"pool_size", 1},
                    {"max_connections", 1}}));
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<json> stuck;
  std::thread holder([&] {
    stuck = (*client)->Post("/step", {{"id", 0}, {"action", "slow"}}, absl::Minutes(10));
  });
  AwaitSlowSteps(1);
  auto waited =
      (*client)->Post("/step", {{"id", 0}, {"action", "pick 1"}}, absl::Milliseconds(300));
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kDeadlineExceeded) << waited.status();
  EXPECT_NE(waited.status().message().find("max_connections"), std::string::npos);
  fake_->ReleaseSlow();
  holder.join();
  EXPECT_EQ(stuck.status().code(), absl::StatusCode::kNotFound);  // env 0 was never created
  EXPECT_EQ(ResolveUpstream("textcraft", {{"base_url", "http://h:1"}, {"pool_size", 9},
                                          {"max_connections", 8}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(BridgeTest, ConnectionsIdleLongerThanTheIdleTimeoutAreNotReused) {
  // Servers drop idle keep-alive connections (uvicorn after 5 s); one reused
  // as it is dropped fails a request that may have been applied.
  auto client = UpstreamClient::Create(MustResolve(
      "textcraft", {{"base_url", fake_->BaseUrl("textcraft")},
                    {"timeouts_ms", {{"idle", 150}}}}));
  ASSERT_TRUE(client.ok()) << client.status();
  auto post = [&] { return (*client)->Post("/create", json::object(), absl::Seconds(10)); };
  const int before = fake_->connections_seen();
  ASSERT_TRUE(post().ok());
  ASSERT_TRUE(post().ok());  // at once: the same connection
  EXPECT_EQ(fake_->connections_seen(), before + 1);
  absl::SleepFor(absl::Milliseconds(400));
  ASSERT_TRUE(post().ok());
  EXPECT_EQ(fake_->connections_seen(), before + 2);
  auto stats = (*client)->Stats();
  EXPECT_EQ(stats.open, 1);  // the idle one was closed, not kept beside the new one
  EXPECT_EQ(stats.idle, 1);
  EXPECT_EQ(ResolveUpstream("textcraft", {{"base_url", "http://h:1"},
                                          {"timeouts_ms", {{"idle", 0}}}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agentgym::env::bridge
