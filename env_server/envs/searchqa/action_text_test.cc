#include "env_server/envs/searchqa/action_text.h"

#include "gtest/gtest.h"

namespace agentgym::env::searchqa {
namespace {

TEST(ParseBracketActionTest, AcceptsPlainPrefixedAndReActForms) {
  for (const char* text : {"search[capital of Valdoria]", "  Action: search[capital of Valdoria] ",
                           "Thought: I should look.\nAction: SEARCH[ capital of Valdoria ]"}) {
    BracketAction a = ParseBracketAction(text);
    ASSERT_TRUE(a.ok) << text << ": " << a.error;
    EXPECT_EQ(a.verb, "search");
    EXPECT_EQ(a.argument, "capital of Valdoria");
  }
}

TEST(ParseBracketActionTest, KeepsBracketsInsideTheArgument) {
  BracketAction a = ParseBracketAction("click[< Prev]");
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.argument, "< Prev");
  a = ParseBracketAction("answer[x [y] z]");
  ASSERT_TRUE(a.ok);
  EXPECT_EQ(a.argument, "x [y] z");
}

TEST(ParseBracketActionTest, ExplainsMalformedActions) {
  EXPECT_FALSE(ParseBracketAction("").ok);
  EXPECT_FALSE(ParseBracketAction("Action:").ok);
  EXPECT_NE(ParseBracketAction("search query").error.find("'['"), std::string::npos);
  EXPECT_NE(ParseBracketAction("search[query").error.find("']'"), std::string::npos);
  EXPECT_FALSE(ParseBracketAction("[query]").ok);
  EXPECT_FALSE(ParseBracketAction("search[a] search[b] extra").ok);
  EXPECT_FALSE(ParseBracketAction("]]]][[[[").ok);
}

}  // namespace
}  // namespace agentgym::env::searchqa
