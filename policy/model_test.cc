#include "policy/model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "policy/generator.h"
#include "policy/model_config.h"
#include "policy/test_util.h"

namespace agentgym::policy {
namespace {

using ::agentgym::policy::testing::RandomModel;
using ::agentgym::policy::testing::SmallConfig;

// Full forward over `ids` [1, L] with a plain causal mask.
torch::Tensor FullLogits(CausalLm& m, const torch::Tensor& ids) {
  torch::Tensor valid = torch::ones_like(ids, torch::kBool);
  ForwardInput in{ids, PositionsFromValid(valid), CausalMaskFromValid(valid), {}};
  absl::StatusOr<ForwardOutput> out = m->Forward(in);
  EXPECT_TRUE(out.ok()) << out.status();
  return out->logits;
}

TEST(ModelConfigTest, ParsesQwen2ConfigJson) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(R"({
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 151936,
    "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
    "num_attention_heads": 14, "num_key_value_heads": 2, "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-06, "tie_word_embeddings": true, "max_position_embeddings": 32768,
    "hidden_act": "silu", "eos_token_id": 151643, "rope_scaling": null})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->HeadDim(), 64);
  EXPECT_TRUE(c->attention_bias);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_EQ(c->eos_token_id, 151643);
  // The released Qwen2.5-0.5B has 494,032,768 parameters.
  EXPECT_EQ(c->NumParameters(), 494032768);
  EXPECT_EQ(Qwen25Config0_5B().NumParameters(), 494032768);
}

TEST(ModelConfigTest, ParsesLlama3RopeScalingAndRoundTripsJson) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(R"({
    "model_type": "llama", "vocab_size": 100, "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
    "rope_theta": 500000.0, "eos_token_id": [7, 8],
    "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->attention_bias);
  EXPECT_EQ(c->eos_token_id, 7);
  ASSERT_TRUE(c->rope_scaling.has_value());
  EXPECT_DOUBLE_EQ(c->rope_scaling->factor, 32.0);
  absl::StatusOr<ModelConfig> again = ParseModelConfig(c->ToJson());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->ToJson(), c->ToJson());
}

TEST(ModelConfigTest, RejectsBadConfigsWithFieldName) {
  EXPECT_THAT(ParseModelConfig("{nope").status().message(), ::testing::HasSubstr("JSON"));
  EXPECT_THAT(ParseModelConfig(R"({"model_type":"qwen2","vocab_size":10})").status().message(),
              ::testing::HasSubstr("hidden_size"));
  absl::StatusOr<ModelConfig> gqa = ParseModelConfig(
      R"({"vocab_size":10,"hidden_size":12,"intermediate_size":8,"num_hidden_layers":1,
          "num_attention_heads":3,"num_key_value_heads":2})");
  EXPECT_THAT(gqa.status().message(), ::testing::HasSubstr("num_key_value_heads"));
  absl::StatusOr<ModelConfig> rope = ParseModelConfig(
      R"({"vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,
          "num_attention_heads":2,"rope_scaling":{"rope_type":"yarn","factor":2}})");
  EXPECT_THAT(rope.status().message(), ::testing::HasSubstr("yarn"));
}

TEST(ModelConfigTest, LlamaBiasesAddOProjAndMlpBiasesAndQwenSlidingWindowIsRefused) {
  absl::StatusOr<ModelConfig> c = ParseModelConfig(
      R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":12,"num_hidden_layers":1,
          "num_attention_heads":2,"num_key_value_heads":1,"head_dim":6,"attention_bias":true,"mlp_bias":true})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->OProjBias());
  absl::StatusOr<CausalLm> m = CreateModel(*c, torch::kCPU);
  ASSERT_TRUE(m.ok()) << m.status();
  std::map<std::string, std::vector<int64_t>> shapes;
  int64_t n = 0;
  for (const auto& p : (*m)->named_parameters()) {
    shapes[p.key()] = p.value().sizes().vec();
    n += p.value().numel();
  }
  EXPECT_EQ(shapes["model.layers.0.self_attn.q_proj.weight"], (std::vector<int64_t>{12, 8}));  // 2 heads x 6.
  EXPECT_EQ(shapes["model.layers.0.self_attn.o_proj.bias"], (std::vector<int64_t>{8}));
  EXPECT_EQ(shapes["model.layers.0.mlp.down_proj.bias"], (std::vector<int64_t>{8}));
  EXPECT_EQ(shapes["model.layers.0.mlp.gate_proj.bias"], (std::vector<int64_t>{12}));
  EXPECT_EQ(n, c->NumParameters());
  absl::StatusOr<ModelConfig> again = ParseModelConfig(c->ToJson());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->mlp_bias);
  // Qwen2 never biases o_proj; a sliding-window Qwen2 needs a mask we do not build.
  EXPECT_FALSE(Qwen25Config0_5B().OProjBias());
  absl::StatusOr<ModelConfig> sliding = ParseModelConfig(
      R"({"model_type":"qwen2","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,
          "num_attention_heads":2,"use_sliding_window":true,"sliding_window":4})");
  EXPECT_THAT(sliding.status().message(), ::testing::HasSubstr("use_sliding_window"));
}

TEST(ModelConfigTest, PresetsMatchTheReleasedQwen25Shapes) {
  // Parameter counts of the released checkpoints (embeddings included).
  EXPECT_EQ(Qwen25Config1_5B().NumParameters(), 1543714304);
  EXPECT_EQ(Qwen25Config7B().NumParameters(), 7615616512);
  for (const char* name : {"tiny", "qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-7b"}) {
    absl::StatusOr<ModelConfig> c = PresetConfig(name);
    ASSERT_TRUE(c.ok()) << name;
    EXPECT_TRUE(c->Validate().ok()) << name;
  }
}

TEST(ModelConfigTest, FuzzedConfigsNeverCrashAndHugeShapesAreRefused) {
  EXPECT_THAT(ParseModelConfig(R"({"vocab_size":10,"hidden_size":8,"intermediate_size":8,
      "num_hidden_layers":1000000000,"num_attention_heads":2})").status().message(),
              ::testing::HasSubstr("num_hidden_layers"));
  const std::string good = Qwen25Config0_5B().ToJson();
  std::mt19937_64 rng(3);
  int parsed = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string text = good;
    if (i % 3 == 0) {
      text = text.substr(0, rng() % text.size());
    } else {
      for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
        const char alphabet[] = "0123456789-.e\"{}[],:tfnul ";
        text[rng() % text.size()] = alphabet[rng() % (sizeof(alphabet) - 1)];
      }
    }
    absl::StatusOr<ModelConfig> c = ParseModelConfig(text);
    if (c.ok()) {
      ++parsed;
      EXPECT_TRUE(c->Validate().ok());
    } else {
      EXPECT_FALSE(c.status().message().empty());
    }
  }
  EXPECT_LT(parsed, 2000);
}

TEST(ModelTest, Bf16ForwardTracksF32) {
  ModelConfig c = SmallConfig();
  CausalLm f32 = RandomModel(c, /*seed=*/5);
  CausalLm bf16 = RandomModel(c, /*seed=*/5, torch::kBFloat16);
  torch::NoGradGuard no_grad;
  torch::Tensor ids = torch::randint(0, 61, {2, 9}, torch::kLong);
  torch::Tensor a = FullLogits(f32, ids), b = FullLogits(bf16, ids);
  ASSERT_EQ(b.scalar_type(), torch::kFloat32);  // Logits always come back in float32.
  const float rel = ((a - b).norm() / a.norm()).item<float>();
  EXPECT_LT(rel, 0.05) << "relative L2 error of bf16 logits";
  EXPECT_GT(rel, 0.0f);  // It really ran in bf16.
  absl::StatusOr<std::vector<TurnResult>> gen = GenerateBatch(bf16, {{1, 2, 3}}, {{.max_new_tokens = 4}});
  ASSERT_TRUE(gen.ok()) << gen.status();
  EXPECT_EQ((*gen)[0].tokens.size(), 4u);
}

TEST(ModelTest, CreateModelIsSeededAndTheSameInAnyDtype) {
  const ModelConfig c = SmallConfig();
  CausalLm a = *CreateModel(c, torch::kCPU, torch::kFloat32, /*seed=*/3);
  CausalLm b = *CreateModel(c, torch::kCPU, torch::kFloat32, /*seed=*/3);
  CausalLm other = *CreateModel(c, torch::kCPU, torch::kFloat32, /*seed=*/4);
  CausalLm half = *CreateModel(c, torch::kCPU, torch::kBFloat16, /*seed=*/3);
  auto pa = a->named_parameters(), pb = b->named_parameters(), po = other->named_parameters();
  auto ph = half->named_parameters();
  for (const auto& item : pa) {
    const std::string& name = item.key();
    EXPECT_TRUE(torch::equal(item.value(), pb[name])) << name;
    EXPECT_EQ(ph[name].scalar_type(), torch::kBFloat16) << name;
    EXPECT_TRUE(torch::equal(item.value().to(torch::kBFloat16), ph[name])) << name;
    if (name.find("norm") != std::string::npos) {
      EXPECT_EQ(item.value().min().item<float>(), 1.0f) << name;
    } else if (item.value().dim() == 1 || name.rfind("value_head.", 0) == 0) {
      // Biases, and the value head (a fresh critic predicts exactly 0).
      EXPECT_EQ(item.value().abs().max().item<float>(), 0.0f) << name;
    } else {
      EXPECT_FALSE(torch::equal(item.value(), po[name])) << name;
      EXPECT_NEAR(item.value().std().item<float>(), 0.02, 0.005) << name;
    }
  }
  // For loading: same names and shapes, value head zero like ours.
  CausalLm loadable = *CreateModelForLoading(c, torch::kCPU, torch::kBFloat16);
  auto pl = loadable->named_parameters();
  ASSERT_EQ(pl.size(), pa.size());
  for (const auto& item : pa) EXPECT_EQ(pl[item.key()].sizes(), item.value().sizes()) << item.key();
  EXPECT_EQ(pl["value_head.bias"].abs().max().item<float>(), 0.0f);
  EXPECT_EQ(pl["value_head.weight"].abs().max().item<float>(), 0.0f);
}

TEST(ModelConfigTest, TinyPresetIsBetweenOneAndThreeMillionParameters) {
  const ModelConfig tiny = TinyConfig();
  EXPECT_GE(tiny.NumParameters(), 1000000);
  EXPECT_LE(tiny.NumParameters(), 3000000);
  absl::StatusOr<CausalLm> m = CreateModel(tiny, torch::kCPU);
  ASSERT_TRUE(m.ok());
  int64_t n = 0;
  for (const auto& p : (*m)->parameters()) n += p.numel();
  EXPECT_EQ(n, tiny.NumParameters());
  EXPECT_FALSE(PresetConfig("gpt5").ok());
}

TEST(ModelTest, ParameterNamesFollowHfLayout) {
  CausalLm m = RandomModel(SmallConfig());
  std::vector<std::string> names;
  for (const auto& p : m->named_parameters()) names.push_back(p.key());
  EXPECT_THAT(names, ::testing::IsSupersetOf({"model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight",
                                              "model.layers.0.self_attn.k_proj.bias", "model.layers.0.mlp.gate_proj.weight",
                                              "model.layers.1.post_attention_layernorm.weight", "model.norm.weight",
                                              "lm_head.weight", "value_head.weight", "value_head.bias"}));
  CausalLm tied = RandomModel(SmallConfig(/*tied=*/true, /*value_head=*/false));
  for (const auto& p : tied->named_parameters()) {
    EXPECT_EQ(p.key().find("lm_head"), std::string::npos);
    EXPECT_EQ(p.key().find("value_head"), std::string::npos);
  }
}

TEST(ModelTest, KvCachedDecodeMatchesFullRecompute) {
  CausalLm m = RandomModel(SmallConfig(/*tied=*/true));
  torch::NoGradGuard no_grad;
  torch::Tensor ids = torch::randint(0, 61, {1, 12}, torch::kLong);
  torch::Tensor full = FullLogits(m, ids);
  // Prefill 5 tokens, then feed the rest one at a time with the cache.
  const int64_t prefill = 5;
  torch::Tensor head = ids.narrow(1, 0, prefill);
  torch::Tensor valid = torch::ones_like(head, torch::kBool);
  ForwardOutput out = m->ForwardUnchecked({head, PositionsFromValid(valid), CausalMaskFromValid(valid), {}});
  EXPECT_TRUE(torch::allclose(out.logits, full.narrow(1, 0, prefill), 1e-5, 1e-5));
  std::vector<LayerKv> cache = out.present;
  for (int64_t t = prefill; t < ids.size(1); ++t) {
    ForwardInput in{ids.narrow(1, t, 1), torch::full({1, 1}, t, torch::kLong),
                    torch::ones({1, 1, t + 1}, torch::kBool), cache};
    ForwardOutput step = m->ForwardUnchecked(in);
    EXPECT_TRUE(torch::allclose(step.logits[0][0], full[0][t], 1e-5, 1e-5)) << "position " << t;
    EXPECT_TRUE(torch::allclose(step.values[0][0], m->ForwardUnchecked({ids.narrow(1, 0, t + 1),
        torch::arange(t + 1).view({1, -1}), torch::ones({1, t + 1, t + 1}, torch::kBool).tril(), {}}).values[0][t],
        1e-5, 1e-5));
    for (size_t l = 0; l < cache.size(); ++l) {
      cache[l].k = torch::cat({cache[l].k, step.present[l].k}, 2);
      cache[l].v = torch::cat({cache[l].v, step.present[l].v}, 2);
    }
  }
  // The in-place cache: buffers with room, written by the forward itself.
  std::vector<LayerKv> buffers;
  for (const LayerKv& kv : out.present) {
    LayerKv b{torch::zeros({1, kv.k.size(1), 32, kv.k.size(3)}), torch::zeros({1, kv.v.size(1), 32, kv.v.size(3)})};
    b.k.narrow(2, 0, prefill).copy_(kv.k);
    b.v.narrow(2, 0, prefill).copy_(kv.v);
    buffers.push_back(b);
  }
  for (int64_t t = prefill; t < ids.size(1); ++t) {
    ForwardInput in{ids.narrow(1, t, 1), torch::full({1, 1}, t, torch::kLong), torch::ones({1, 1, t + 1}, torch::kBool),
                    {}, &buffers, t};
    ForwardOutput step = m->ForwardUnchecked(in);
    EXPECT_TRUE(torch::allclose(step.logits[0][0], full[0][t], 1e-5, 1e-5)) << "in place, position " << t;
    EXPECT_TRUE(torch::equal(buffers[0].k.narrow(2, t, 1), step.present[0].k));
  }
  ForwardInput too_long{ids.narrow(1, 0, 1), torch::zeros({1, 1}, torch::kLong), torch::ones({1, 1, 33}, torch::kBool),
                        {}, &buffers, 32};
  EXPECT_THAT(m->Forward(too_long).status().message(), ::testing::HasSubstr("cache buffers"));
}

TEST(ModelTest, PaddedBatchMatchesEachSequenceAlone) {
  CausalLm m = RandomModel(SmallConfig());
  torch::NoGradGuard no_grad;
  torch::Tensor a = torch::randint(0, 61, {1, 7}, torch::kLong);
  torch::Tensor b = torch::randint(0, 61, {1, 4}, torch::kLong);
  torch::Tensor la = FullLogits(m, a), lb = FullLogits(m, b);
  for (bool left : {false, true}) {
    // b padded to length 7 with junk ids on the left or the right.
    torch::Tensor pad = torch::full({1, 3}, 13, torch::kLong);
    torch::Tensor ids = torch::cat({a, left ? torch::cat({pad, b}, 1) : torch::cat({b, pad}, 1)}, 0);
    torch::Tensor valid = ids.new_ones(ids.sizes(), torch::kBool);
    if (left) valid[1].narrow(0, 0, 3).fill_(false); else valid[1].narrow(0, 4, 3).fill_(false);
    ForwardOutput out = m->ForwardUnchecked({ids, PositionsFromValid(valid), CausalMaskFromValid(valid), {}});
    EXPECT_TRUE(torch::allclose(out.logits[0], la[0], 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(out.logits[1].narrow(0, left ? 3 : 0, 4), lb[0], 1e-5, 1e-5)) << "left=" << left;
    EXPECT_FALSE(out.logits.isnan().any().item<bool>());
  }
}

TEST(ModelTest, ForwardReportsBadInputsAsStatus) {
  CausalLm m = RandomModel(SmallConfig());
  torch::Tensor ids = torch::full({1, 3}, 99, torch::kLong);  // Outside vocab 61.
  torch::Tensor valid = torch::ones({1, 3}, torch::kBool);
  absl::StatusOr<ForwardOutput> out = m->Forward({ids, PositionsFromValid(valid), CausalMaskFromValid(valid), {}});
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(out.status().message(), ::testing::HasSubstr("vocab"));
  absl::StatusOr<ForwardOutput> bad_mask =
      m->Forward({ids.fill_(1), PositionsFromValid(valid), torch::ones({1, 3, 2}, torch::kBool), {}});
  EXPECT_THAT(bad_mask.status().message(), ::testing::HasSubstr("mask"));
}

TEST(ModelTest, Llama3ScalingKeepsHighAndDividesLowFrequencies) {
  ModelConfig c = SmallConfig();
  c.head_dim = 64;
  c.rope_theta = 500000.0;
  torch::Tensor plain = RopeInverseFrequencies(c);
  c.rope_scaling = Llama3RopeScaling{8.0, 1.0, 4.0, 8192};
  torch::Tensor scaled = RopeInverseFrequencies(c);
  EXPECT_FLOAT_EQ(scaled[0].item<float>(), plain[0].item<float>());  // Wavelength 2*pi: kept.
  EXPECT_NEAR(scaled[31].item<float>(), plain[31].item<float>() / 8.0f, 1e-12);  // Longest: divided.
}

}  // namespace
}  // namespace agentgym::policy
