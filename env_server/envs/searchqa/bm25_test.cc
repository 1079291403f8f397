#include "env_server/envs/searchqa/bm25.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace agentgym::env::searchqa {
namespace {

using ::testing::ElementsAre;

TEST(TokenizeTest, LowercasesStripsPunctuationAndStopwords) {
  EXPECT_THAT(Tokenize("The Silent-Harbor, (1952)!", /*remove_stopwords=*/true),
              ElementsAre("silent", "harbor", "1952"));
  EXPECT_THAT(Tokenize("Who is THE author?", /*remove_stopwords=*/false),
              ElementsAre("who", "is", "the", "author"));
  EXPECT_THAT(Tokenize("caf\xc3\xa9 au lait", true), ElementsAre("caf\xc3\xa9", "au", "lait"));
  EXPECT_TRUE(Tokenize("?!  ..", true).empty());
}

TEST(Bm25IndexTest, ScoresMatchTheOkapiFormula) {
  Bm25Options options;
  options.remove_stopwords = false;
  Bm25Index index(options);
  index.AddDocument("apple banana");
  index.AddDocument("apple apple cherry date");
  index.AddDocument("elderberry");
  index.Finalize();
  auto hits = index.Search("cherry", 3);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].doc, 1);
  // N=3, df=1, |d|=4, avgdl=7/3, tf=1.
  const double idf = std::log(1 + (3 - 1 + 0.5) / (1 + 0.5));
  const double norm = 0.9 * (1 - 0.4 + 0.4 * 4 / (7.0 / 3));
  EXPECT_NEAR(hits[0].score, idf * 1 * 1.9 / (1 + norm), 1e-12);
}

TEST(Bm25IndexTest, RareTermsOutrankCommonOnesAndTiesBreakByDoc) {
  Bm25Index index;
  index.AddDocument("river city");
  index.AddDocument("river town");
  index.AddDocument("river valley");
  index.AddDocument("river");
  index.Finalize();
  auto hits = index.Search("river valley", 10);
  ASSERT_EQ(hits.size(), 4u);
  EXPECT_EQ(hits[0].doc, 2);
  // Docs 0 and 1 score the same; the lower index comes first.
  auto tied = index.Search("river", 2);
  ASSERT_EQ(tied.size(), 2u);
  EXPECT_EQ(tied[0].doc, 3);  // the shortest document wins on length norm
  EXPECT_EQ(tied[1].doc, 0);
}

TEST(Bm25IndexTest, ReturnsNothingForUnknownOrEmptyQueries) {
  Bm25Index index;
  index.AddDocument("alpha beta");
  index.Finalize();
  EXPECT_TRUE(index.Search("gamma", 3).empty());
  EXPECT_TRUE(index.Search("", 3).empty());
  EXPECT_TRUE(index.Search("the of and", 3).empty());  // stopwords only
  EXPECT_TRUE(index.Search("alpha", 0).empty());
}

TEST(Bm25IndexTest, LengthNormalisationFollowsB) {
  Bm25Options no_norm;
  no_norm.b = 0.0;
  Bm25Index flat(no_norm);
  flat.AddDocument("term");
  flat.AddDocument("term filler filler filler filler filler");
  flat.Finalize();
  auto hits = flat.Search("term", 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_DOUBLE_EQ(hits[0].score, hits[1].score);

  Bm25Options full;
  full.b = 1.0;
  Bm25Index normed(full);
  normed.AddDocument("term filler filler filler filler filler");
  normed.AddDocument("term");
  normed.Finalize();
  hits = normed.Search("term", 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].doc, 1);
  EXPECT_GT(hits[0].score, hits[1].score);
}

}  // namespace
}  // namespace agentgym::env::searchqa
