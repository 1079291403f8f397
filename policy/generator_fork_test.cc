// Prefix sharing: Generator::Prefill + Fork.
#include <gtest/gtest.h>

#include "policy/generator.h"
#include "policy/test_util.h"

namespace agentgym::policy {
namespace {

SamplingParams Params(uint64_t seed, int64_t max_new = 12) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.max_new_tokens = max_new;
  p.seed = seed;
  return p;
}

std::vector<int64_t> Prompt() { return {3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 3}; }

TEST(GeneratorForkTest, ForkedSequencesSampleLikeUnsharedOnes) {
  CausalLm model = testing::RandomModel(testing::SmallConfig());
  // Reference: each seed on its own prompt, no sharing.
  std::vector<TurnResult> want;
  for (uint64_t seed : {11u, 12u, 13u}) {
    auto r = GenerateBatch(model, {Prompt()}, {Params(seed)});
    ASSERT_TRUE(r.ok()) << r.status();
    want.push_back((*r)[0]);
  }
  auto gen = Generator::Create(model, {});
  ASSERT_TRUE(gen.ok());
  auto leader = (*gen)->AddSequence(Prompt(), Params(11));
  ASSERT_TRUE(leader.ok());
  ASSERT_TRUE((*gen)->Prefill(*leader).ok());
  EXPECT_EQ((*gen)->CachedTokens(), static_cast<int64_t>(Prompt().size()) - 1);
  auto forks = (*gen)->Fork(*leader, {Params(12), Params(13)});
  ASSERT_TRUE(forks.ok()) << forks.status();
  ASSERT_EQ(forks->size(), 2u);
  ASSERT_TRUE((*gen)->RunUntilAllStopped().ok());
  std::vector<int64_t> ids = {*leader, (*forks)[0], (*forks)[1]};
  for (size_t i = 0; i < ids.size(); ++i) {
    auto got = (*gen)->Result(ids[i]);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->tokens, want[i].tokens) << "member " << i;
    ASSERT_EQ(got->logprobs.size(), want[i].logprobs.size());
    for (size_t t = 0; t < got->logprobs.size(); ++t) EXPECT_NEAR(got->logprobs[t], want[i].logprobs[t], 1e-4);
  }
}

TEST(GeneratorForkTest, ForkedSequencesContinueAfterExtend) {
  CausalLm model = testing::RandomModel(testing::SmallConfig());
  auto gen = Generator::Create(model, {});
  ASSERT_TRUE(gen.ok());
  auto a = (*gen)->AddSequence(Prompt(), Params(5, 4));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*gen)->Prefill(*a).ok());
  auto b = (*gen)->Fork(*a, {Params(6, 4)});
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE((*gen)->RunUntilAllStopped().ok());
  ASSERT_TRUE((*gen)->Extend(*a, {1, 2, 3}).ok());
  ASSERT_TRUE((*gen)->Extend((*b)[0], {1, 2, 3}).ok());
  ASSERT_TRUE((*gen)->RunUntilAllStopped().ok());

  // The same conversation replayed without sharing.
  for (int64_t id : {*a, (*b)[0]}) {
    auto tokens = (*gen)->Tokens(id);
    ASSERT_TRUE(tokens.ok());
    // A fresh, unshared run of the same two turns with the same seed.
    auto fresh = Generator::Create(model, {});
    ASSERT_TRUE(fresh.ok());
    auto f = (*fresh)->AddSequence(Prompt(), Params(id == *a ? 5 : 6, 4));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*fresh)->RunUntilAllStopped().ok());
    ASSERT_TRUE((*fresh)->Extend(*f, {1, 2, 3}).ok());
    ASSERT_TRUE((*fresh)->RunUntilAllStopped().ok());
    auto ft = (*fresh)->Tokens(*f);
    ASSERT_TRUE(ft.ok());
    EXPECT_EQ(*ft, *tokens);
  }
}

TEST(GeneratorForkTest, RefusesMidTurnAndUnknownSequences) {
  CausalLm model = testing::RandomModel(testing::SmallConfig());
  auto gen = Generator::Create(model, {});
  ASSERT_TRUE(gen.ok());
  EXPECT_EQ((*gen)->Prefill(42).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*gen)->Fork(42, {Params(1)}).status().code(), absl::StatusCode::kNotFound);
  auto a = (*gen)->AddSequence(Prompt(), Params(1, 3));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*gen)->Step().ok());
  EXPECT_EQ((*gen)->Prefill(*a).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*gen)->Fork(*a, {Params(2)}).status().code(), absl::StatusCode::kFailedPrecondition);
  SamplingParams bad = Params(3);
  bad.top_p = 0.0f;
  auto b = (*gen)->AddSequence(Prompt(), Params(1, 3));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*gen)->Fork(*b, {bad}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agentgym::policy
