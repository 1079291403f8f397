// The same action text gets the same treatment through the bridge as by the
// built-in env of that name (babyai, sciworld, webshop; textcraft's is in
// bridge_restart_test.cc), and a step the upstream could not execute is
// reported action_valid = false wherever its answer says so.

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "env_server/envs/babyai/babyai_env.h"
#include "env_server/envs/sciworld/sciworld_world.h"
#include "env_server/envs/searchqa/action_text.h"
#include "tests/plugin/bridge_fixture.h"

namespace agentgym::env::bridge {
namespace {

using testing_fixture::BridgeTest;
using testing_fixture::MustResolve;

std::unique_ptr<ActionParser> ParserFor(const std::string& env) {
  auto p = ActionParser::Create(MustResolve(env, {{"base_url", "http://h:1"}}).action);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

// Agent text in the shapes a model writes it.
const std::vector<std::string>& CommandTexts() {
  static const auto* texts = new std::vector<std::string>{
      "turn left",
      "Action: turn left",
      "action: turn left",
      "ACTION:turn left",
      "  Action:\n  turn   left .  ",
      "Action: Turn Left.",
      "Thought: I should turn.\nAction: turn left",
      "Action: Action: turn left",
      "turn left</s>",
      "Action:",
      "",
  };
  return *texts;
}

// babyai and sciworld: the upstream lower-cases and trims what it is sent
// (agentenv_babyai's BabyAI.step, ScienceWorld's parser); that must be the
// command the built-in env makes of the same text.
TEST_F(BridgeTest, BabyaiAndSciworldPresetsSendTheCommandTheBuiltInEnvsRun) {
  auto babyai_parser = ParserFor("babyai");
  auto sciworld_parser = ParserFor("sciworld");
  ASSERT_TRUE(babyai_parser && sciworld_parser);
  for (const std::string& text : CommandTexts()) {
    SCOPED_TRACE(text);
    ParsedAction to_babyai = babyai_parser->Parse(text);
    ASSERT_FALSE(to_babyai.rejected);
    EXPECT_EQ(absl::AsciiStrToLower(to_babyai.action), babyai::NormalizeAction(text));
    ParsedAction to_sciworld = sciworld_parser->Parse(text);
    ASSERT_FALSE(to_sciworld.rejected);
    EXPECT_EQ(absl::AsciiStrToLower(to_sciworld.action), sciworld::NormalizeCommand(text));
  }
}

// webshop: the built-in env takes the text after the last "Action:" (any
// case); WebShop itself parses `verb[argument]` from the start of what it is
// sent, so the bridge must have taken the prefix off.
TEST_F(BridgeTest, WebshopPresetSendsTheActionTheBuiltInEnvRuns) {
  auto parser = ParserFor("webshop");
  ASSERT_TRUE(parser);
  for (const std::string text :
       {"search[red shoes]", "Action: search[red shoes]", "action: click[Buy Now]",
        "Thought: cheap ones.\nAction: search[a]\naction: click[b]", "click[b]</s>",
        "no action here", "ACTION:"}) {
    SCOPED_TRACE(text);
    ParsedAction sent = parser->Parse(text);
    ASSERT_FALSE(sent.rejected);
    const searchqa::BracketAction built_in = searchqa::ParseBracketAction(text);
    const searchqa::BracketAction upstream = searchqa::ParseBracketAction(sent.action);
    EXPECT_EQ(upstream.ok, built_in.ok);
    EXPECT_EQ(upstream.verb, built_in.verb);
    EXPECT_EQ(upstream.argument, built_in.argument);
    if (built_in.ok) EXPECT_TRUE(absl::StartsWith(sent.action, built_in.verb)) << sent.action;
  }
}

// The upstreams' own words for an action they did not execute, from their
// sources (agentenv_babyai/environment.py; ScienceWorld's InputParser and
// AgentInterface.step), and observations of executed ones.
TEST_F(BridgeTest, InvalidObservationRulesKnowEachUpstreamsRefusals) {
  struct Case {
    const char* env;
    const char* observation;
    bool invalid;
  };
  const Case cases[] = {
      {"babyai",
       "The action is not recognized. Please check valid actions.\nAvailable actions: "
       "[\"turn left\", \"turn right\"]",
       true},
      {"babyai", "You cannot pickup red ball 1, as there is no path leading to it.", true},
      {"babyai", "You cannot drop the object, as you are not carrying anything.", true},
      {"babyai", "There is a barrier in front of you, you can't move forward.", true},
      {"babyai", "No change in state.\nAvailable actions: [\"turn left\"]", true},
      {"babyai",
       "You cannot see any objects within sight.The room has walls around you. You are not "
       "carrying anything.\nAvailable actions: [\"turn left\"]",
       false},
      {"babyai",
       "In front of you in this room, you can see several objects: There is a red ball 1 right "
       "in front of you 1 steps away.  The room has walls around you.",
       false},
      {"babyai", "You can take the following actions: turn left, turn right", false},
      {"sciworld", "No known action matches that input.", true},
      {"sciworld",
       "Ambiguous request: Please enter the number for the action you intended (or blank to "
       "cancel):\n0:\tpick up apple (in bowl, in kitchen)\n",
       true},
      {"sciworld", "This room is called the kitchen. In it, you see: \n\tthe agent", false},
      {"sciworld", "You move to the kitchen.", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.env) + ": " + c.observation);
    const std::string rule = MustResolve(c.env, {{"base_url", "http://h:1"}}).invalid_observation;
    ASSERT_FALSE(rule.empty());
    auto pattern = Pattern::Compile(rule);
    ASSERT_TRUE(pattern.ok()) << pattern.status();
    EXPECT_EQ((*pattern)->Matches(c.observation), c.invalid);
  }
  // WebShop answers an action it cannot run with the unchanged page: nothing
  // to match, so no rule.
  EXPECT_EQ(MustResolve("webshop", {{"base_url", "http://h:1"}}).invalid_observation, "");
}

TEST_F(BridgeTest, BabyaiAndSciworldActionsGetTheBuiltInEnvsTreatment) {
  Serve({MustResolve("babyai", {{"base_url", fake_->BaseUrl("babyai")}}),
         MustResolve("sciworld", {{"base_url", fake_->BaseUrl("sciworld")}})});
  for (const std::string env : {"babyai", "sciworld"}) {
    SCOPED_TRACE(env);
    const std::string refusal =
        env == "babyai" ? "The action is not recognized." : "No known action matches that input.";
    auto a = Create(env, /*index=*/2);  // secret 3
    ASSERT_TRUE(a.ok()) << a.status();
    // A lower-case prefix is a prefix, as for the built-in env.
    auto lower = client_->Step(a->session_id(), "action: pick 1");
    ASSERT_TRUE(lower.ok()) << lower.status();
    EXPECT_EQ(lower->observation(), "Go higher.");
    EXPECT_TRUE(lower->action_valid());
    EXPECT_EQ(lower->info().fields().at("sent_action").string_value(), "pick 1");
    // A "Thought:" line first: the built-in env refuses the whole text, and
    // so does the upstream it is sent to; the step is not valid.
    auto react = client_->Step(a->session_id(), "Thought: low.\nAction: pick 2");
    ASSERT_TRUE(react.ok()) << react.status();
    EXPECT_TRUE(absl::StartsWith(react->observation(), refusal)) << react->observation();
    EXPECT_FALSE(react->action_valid());
    EXPECT_EQ(react->info().fields().at("sent_action").string_value(),
              "Thought: low. Action: pick 2");
    auto won = client_->Step(a->session_id(), "Action:  pick 3.");
    ASSERT_TRUE(won.ok()) << won.status();
    EXPECT_TRUE(won->action_valid());
    EXPECT_TRUE(won->success());
  }
  auto b = Create("babyai", /*index=*/2);
  ASSERT_TRUE(b.ok()) << b.status();
  auto empty = client_->Step(b->session_id(), "Action:");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(absl::StartsWith(empty->observation(), "No change in state."))
      << empty->observation();
  EXPECT_FALSE(empty->action_valid());
}

TEST_F(BridgeTest, WebshopActionsGetTheBuiltInEnvsTreatment) {
  Serve({MustResolve("webshop", {{"base_url", fake_->BaseUrl("webshop")}})});
  auto a = Create("webshop", /*index=*/2);  // secret 3
  ASSERT_TRUE(a.ok()) << a.status();
  auto lower = client_->Step(a->session_id(), "Thought: low.\naction: pick 1");
  ASSERT_TRUE(lower.ok()) << lower.status();
  EXPECT_EQ(lower->observation(), "Go higher.");
  EXPECT_EQ(lower->info().fields().at("sent_action").string_value(), "pick 1");
  auto won = client_->Step(a->session_id(), "Action: pick 1\nACTION: pick 3");  // the last one
  ASSERT_TRUE(won.ok()) << won.status();
  EXPECT_EQ(won->info().fields().at("sent_action").string_value(), "pick 3");
  EXPECT_TRUE(won->success());
}

}  // namespace
}  // namespace agentgym::env::bridge
