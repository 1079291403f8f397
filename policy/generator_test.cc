#include "policy/generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "policy/test_util.h"

namespace agentgym::policy {
namespace {

using ::agentgym::policy::testing::RandomModel;
using ::agentgym::policy::testing::SmallConfig;
using ::testing::ElementsAreArray;

std::vector<int64_t> Range(int64_t start, int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back((start + 7 * i) % 61);
  return v;
}

// Log-softmax of the full-recompute logits over `context`, [L, V].
torch::Tensor FullLogProbs(CausalLm& m, const std::vector<int64_t>& context) {
  torch::NoGradGuard no_grad;
  torch::Tensor ids = torch::tensor(context, torch::kLong).view({1, -1});
  torch::Tensor valid = torch::ones_like(ids, torch::kBool);
  return torch::log_softmax(
      m->ForwardUnchecked({ids, PositionsFromValid(valid), CausalMaskFromValid(valid), {}}).logits[0], -1);
}

TurnResult GenerateAlone(CausalLm m, const std::vector<int64_t>& prompt, const SamplingParams& p) {
  absl::StatusOr<std::vector<TurnResult>> r = GenerateBatch(m, {prompt}, {p});
  EXPECT_TRUE(r.ok()) << r.status();
  return (*r)[0];
}

void ExpectSameTurn(const TurnResult& a, const TurnResult& b) {
  EXPECT_THAT(a.tokens, ElementsAreArray(b.tokens));
  ASSERT_EQ(a.logprobs.size(), b.logprobs.size());
  for (size_t i = 0; i < a.logprobs.size(); ++i) EXPECT_NEAR(a.logprobs[i], b.logprobs[i], 1e-4) << i;
  EXPECT_EQ(a.finish_reason, b.finish_reason);
}

TEST(GeneratorTest, GreedyDecodeWithCacheMatchesFullRecompute) {
  CausalLm m = RandomModel(SmallConfig());
  const std::vector<int64_t> prompt = Range(3, 6);
  TurnResult r = GenerateAlone(m, prompt, {.temperature = 0.0f, .max_new_tokens = 12});
  ASSERT_EQ(r.tokens.size(), 12u);
  EXPECT_EQ(r.finish_reason, FinishReason::kMaxNewTokens);
  std::vector<int64_t> context = prompt;
  context.insert(context.end(), r.tokens.begin(), r.tokens.end());
  torch::Tensor logp = FullLogProbs(m, context);
  for (size_t i = 0; i < r.tokens.size(); ++i) {
    const int64_t row = prompt.size() - 1 + i;
    EXPECT_EQ(logp[row].argmax().item<int64_t>(), r.tokens[i]) << i;
    EXPECT_NEAR(logp[row][r.tokens[i]].item<float>(), r.logprobs[i], 1e-4) << i;
  }
}

TEST(GeneratorTest, BatchedGenerationEqualsEachSequenceAlone) {
  CausalLm m = RandomModel(SmallConfig(/*tied=*/true));
  const std::vector<std::vector<int64_t>> prompts = {Range(1, 3), Range(5, 9), Range(2, 1), Range(9, 5)};
  std::vector<SamplingParams> params;
  for (int i = 0; i < 4; ++i) {
    params.push_back({.temperature = 0.9f, .top_k = i == 2 ? 10 : 0, .top_p = i == 3 ? 0.9f : 1.0f,
                      .max_new_tokens = 5 + 3 * i, .seed = static_cast<uint64_t>(100 + i)});
  }
  absl::StatusOr<std::vector<TurnResult>> batched = GenerateBatch(m, prompts, params);
  ASSERT_TRUE(batched.ok()) << batched.status();
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    ExpectSameTurn((*batched)[i], GenerateAlone(m, prompts[i], params[i]));
  }
}

TEST(GeneratorTest, ExtendAfterGenerateEqualsRecomputeFromScratch) {
  CausalLm m = RandomModel(SmallConfig());
  auto gen = *Generator::Create(m, {});
  const SamplingParams p{.temperature = 0.8f, .max_new_tokens = 4, .seed = 9};
  const int64_t id = *gen->AddSequence(Range(4, 5), p);
  ASSERT_TRUE(gen->RunUntilAllStopped().ok());
  const std::vector<int64_t> observation = Range(11, 6);
  ASSERT_TRUE(gen->Extend(id, observation, SamplingParams{.temperature = 0.0f, .max_new_tokens = 7}).ok());
  const int64_t cached_before = gen->CachedTokens();
  ASSERT_TRUE(gen->RunUntilAllStopped().ok());
  TurnResult second = *gen->Result(id);
  // The prefix was not recomputed: only the new turn's tokens entered the cache.
  EXPECT_EQ(gen->CachedTokens() - cached_before, 1 + 6 + 7 - 1);
  std::vector<int64_t> context = *gen->Tokens(id);
  context.resize(context.size() - second.tokens.size());
  ExpectSameTurn(second, GenerateAlone(m, context, {.temperature = 0.0f, .max_new_tokens = 7}));
}

TEST(GeneratorTest, SequencesJoinAndLeaveARunningBatch) {
  CausalLm m = RandomModel(SmallConfig());
  auto gen = *Generator::Create(m, {.max_batch_size = 2});
  const SamplingParams pa{.temperature = 1.0f, .max_new_tokens = 10, .seed = 1};
  const SamplingParams pb{.temperature = 1.0f, .max_new_tokens = 6, .seed = 2};
  const SamplingParams pc{.temperature = 1.0f, .max_new_tokens = 3, .seed = 3};
  const int64_t a = *gen->AddSequence(Range(1, 4), pa);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(gen->Step()->size(), 1u);
  const int64_t b = *gen->AddSequence(Range(2, 7), pb);
  const int64_t doomed = *gen->AddSequence(Range(3, 2), pb);
  const int64_t c = *gen->AddSequence(Range(5, 3), pc);
  std::vector<StepEvent> events = *gen->Step();
  EXPECT_EQ(events.size(), 2u);  // max_batch_size caps a step.
  ASSERT_TRUE(gen->Remove(doomed).ok());
  EXPECT_EQ(gen->Remove(doomed).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(gen->RunUntilAllStopped().ok());
  EXPECT_EQ(gen->NumRunning(), 0);
  ExpectSameTurn(*gen->Result(a), GenerateAlone(m, Range(1, 4), pa));
  ExpectSameTurn(*gen->Result(b), GenerateAlone(m, Range(2, 7), pb));
  ExpectSameTurn(*gen->Result(c), GenerateAlone(m, Range(5, 3), pc));
}

TEST(GeneratorTest, LongBatchedDecodesMatchRecomputeAcrossBufferRegrowth) {
  // 150 decode steps outgrow the decode batch's first buffers (longest prefix
  // + 64 columns); rows of different prompt lengths leave holes in them.
  CausalLm m = RandomModel(SmallConfig());
  const std::vector<std::vector<int64_t>> prompts = {Range(1, 3), Range(2, 40), Range(3, 11)};
  const SamplingParams p{.temperature = 0.0f, .max_new_tokens = 150};
  absl::StatusOr<std::vector<TurnResult>> batched = GenerateBatch(m, prompts, {p});
  ASSERT_TRUE(batched.ok()) << batched.status();
  for (size_t i = 0; i < prompts.size(); ++i) {
    SCOPED_TRACE(i);
    const TurnResult& r = (*batched)[i];
    ASSERT_EQ(r.tokens.size(), 150u);
    std::vector<int64_t> context = prompts[i];
    context.insert(context.end(), r.tokens.begin(), r.tokens.end());
    torch::Tensor logp = FullLogProbs(m, context);
    for (size_t j = 0; j < r.tokens.size(); ++j) {
      const int64_t row = prompts[i].size() - 1 + j;
      ASSERT_NEAR(logp[row][r.tokens[j]].item<float>(), r.logprobs[j], 1e-3) << j;
      ASSERT_NEAR(logp[row].max().item<float>(), r.logprobs[j], 1e-3) << j;  // Greedy took an argmax.
    }
  }
}

TEST(GeneratorTest, RemovingAndExtendingBatchMembersKeepsOtherRowsExact) {
  CausalLm m = RandomModel(SmallConfig());
  auto gen = *Generator::Create(m, {});
  const SamplingParams p{.temperature = 1.0f, .max_new_tokens = 12, .seed = 4};
  const SamplingParams short_p{.temperature = 1.0f, .max_new_tokens = 3, .seed = 5};
  const int64_t a = *gen->AddSequence(Range(1, 5), p);
  const int64_t b = *gen->AddSequence(Range(2, 2), short_p);
  const int64_t c = *gen->AddSequence(Range(3, 8), p);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(gen->Step().ok());  // b has stopped; a and c decode.
  ASSERT_FALSE(gen->Result(b)->running);
  ASSERT_TRUE(gen->Remove(c).ok());  // c is a row of the decode batch.
  ASSERT_TRUE(gen->Extend(b, Range(9, 4), SamplingParams{.temperature = 0.0f, .max_new_tokens = 6}).ok());
  ASSERT_TRUE(gen->RunUntilAllStopped().ok());
  ExpectSameTurn(*gen->Result(a), GenerateAlone(m, Range(1, 5), p));
  std::vector<int64_t> context = *gen->Tokens(b);
  const TurnResult second = *gen->Result(b);
  context.resize(context.size() - second.tokens.size());
  ExpectSameTurn(second, GenerateAlone(m, context, {.temperature = 0.0f, .max_new_tokens = 6}));
  EXPECT_EQ(gen->CachedTokens(), static_cast<int64_t>(gen->Tokens(a)->size() + gen->Tokens(b)->size()) - 2);
}

TEST(GeneratorTest, StopsAtStopTokensAndStopStrings) {
  CausalLm m = RandomModel(SmallConfig());
  const std::vector<int64_t> prompt = Range(8, 4);
  const TurnResult free_run = GenerateAlone(m, prompt, {.temperature = 0.0f, .max_new_tokens = 8});
  const int64_t target = free_run.tokens[3];
  const size_t first = std::find(free_run.tokens.begin(), free_run.tokens.end(), target) - free_run.tokens.begin();
  TurnResult by_token = GenerateAlone(m, prompt, {.temperature = 0.0f, .max_new_tokens = 8, .stop_token_ids = {target}});
  EXPECT_EQ(by_token.finish_reason, FinishReason::kStopToken);
  EXPECT_EQ(by_token.tokens.size(), first + 1);

  GeneratorOptions opts;
  opts.decode = [](const std::vector<int64_t>& ids) {
    std::string s;
    for (int64_t id : ids) absl::StrAppend(&s, "<", id, ">");
    return s;
  };
  const std::string stop = absl::StrCat("<", target, ">");
  absl::StatusOr<std::vector<TurnResult>> by_string =
      GenerateBatch(m, {prompt}, {{.temperature = 0.0f, .max_new_tokens = 8, .stop_strings = {stop}}}, opts);
  ASSERT_TRUE(by_string.ok()) << by_string.status();
  EXPECT_EQ((*by_string)[0].finish_reason, FinishReason::kStopString);
  EXPECT_EQ((*by_string)[0].tokens.size(), first + 1);

  // One byte per token: a stop string spanning three tokens, first seen when
  // its last byte arrives.
  GeneratorOptions bytes;
  bytes.decode = [](const std::vector<int64_t>& ids) {
    std::string s;
    for (int64_t id : ids) s.push_back(static_cast<char>('A' + id % 26));
    return s;
  };
  const TurnResult long_run = GenerateAlone(m, prompt, {.temperature = 1.0f, .max_new_tokens = 40, .seed = 3});
  const std::string text = bytes.decode(long_run.tokens);
  const std::string spanning = text.substr(20, 3);
  const size_t expect_len = text.find(spanning) + spanning.size();
  absl::StatusOr<std::vector<TurnResult>> by_span = GenerateBatch(
      m, {prompt}, {{.temperature = 1.0f, .max_new_tokens = 40, .stop_strings = {"@@", spanning}, .seed = 3}}, bytes);
  ASSERT_TRUE(by_span.ok()) << by_span.status();
  EXPECT_EQ((*by_span)[0].finish_reason, FinishReason::kStopString);
  EXPECT_EQ((*by_span)[0].tokens.size(), expect_len);
}

TEST(GeneratorTest, StopsAtContextLimit) {
  CausalLm m = RandomModel(SmallConfig());
  auto gen = *Generator::Create(m, {.max_seq_len = 10});
  const int64_t id = *gen->AddSequence(Range(0, 7), {.max_new_tokens = 50});
  ASSERT_TRUE(gen->RunUntilAllStopped().ok());
  EXPECT_EQ(gen->Result(id)->finish_reason, FinishReason::kMaxLength);
  EXPECT_EQ(gen->Tokens(id)->size(), 10u);
  EXPECT_EQ(gen->Extend(id, {1}).code(), absl::StatusCode::kOutOfRange);
}

TEST(GeneratorTest, RejectsBadRequests) {
  CausalLm m = RandomModel(SmallConfig());
  auto gen = *Generator::Create(m, {});
  EXPECT_EQ(gen->AddSequence({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(gen->AddSequence({1, 61}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(gen->AddSequence({1}, {.top_p = 0.0f}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(gen->AddSequence({1}, {.stop_strings = {"x"}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(gen->AddSequence(std::vector<int64_t>(256, 1), {}).status().code(), absl::StatusCode::kOutOfRange);
  const int64_t id = *gen->AddSequence({1, 2}, {.max_new_tokens = 3});
  EXPECT_EQ(gen->Extend(id, {3}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(gen->Extend(id + 1, {3}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(gen->Result(id + 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(Generator::Create(m, {.max_seq_len = 100000}).ok());
}

}  // namespace
}  // namespace agentgym::policy
