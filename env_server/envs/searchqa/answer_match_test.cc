#include "env_server/envs/searchqa/answer_match.h"

#include "gtest/gtest.h"

namespace agentgym::env::searchqa {
namespace {

TEST(AnswerMatchTest, NormalisesLikeSquad) {
  EXPECT_EQ(NormalizeAnswer("  The Silent  Harbor! "), "silent harbor");
  EXPECT_EQ(NormalizeAnswer("An apple, a day"), "apple day");
  EXPECT_EQ(NormalizeAnswer("clip-in"), "clipin");
  EXPECT_EQ(NormalizeAnswer("Theatre"), "theatre");  // articles only as whole words
}

TEST(AnswerMatchTest, ExactMatchIgnoresCaseArticlesAndPunctuation) {
  EXPECT_TRUE(ExactMatch("the silent harbor.", "The Silent Harbor"));
  EXPECT_TRUE(ExactMatch("1952", " 1952 "));
  EXPECT_FALSE(ExactMatch("Silent Harbor Two", "The Silent Harbor"));
  EXPECT_FALSE(ExactMatch("", "x"));
}

TEST(AnswerMatchTest, TokenF1CountsOverlap) {
  EXPECT_DOUBLE_EQ(TokenF1("Varen Kolt", "Varen Kolt"), 1.0);
  // precision 1/1, recall 1/2 -> 2/3
  EXPECT_NEAR(TokenF1("Kolt", "Varen Kolt"), 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(TokenF1("nobody", "Varen Kolt"), 0.0);
  EXPECT_DOUBLE_EQ(TokenF1("the", "Varen Kolt"), 0.0);  // normalises to nothing
  // Repeated tokens count once each: precision 1/2, recall 1/1.
  EXPECT_NEAR(TokenF1("kolt kolt", "kolt"), 2.0 / 3.0, 1e-12);
}

}  // namespace
}  // namespace agentgym::env::searchqa
