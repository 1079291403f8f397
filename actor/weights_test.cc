#include "actor/weights.h"

#include <gtest/gtest.h>

#include "actor/testing/fake_learner.h"
#include "policy/checkpoint.h"

namespace agentgym::actor {
namespace {

policy::CausalLm Model(uint64_t seed) {
  policy::ModelConfig c;
  c.vocab_size = 40;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.max_position_embeddings = 64;
  auto m = policy::CreateModel(c, torch::kCPU, torch::kFloat32, seed);
  EXPECT_TRUE(m.ok());
  return *m;
}

std::map<std::string, torch::Tensor> Weights(policy::CausalLm& m) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, t] : policy::NamedWeights(m)) out[name] = t.detach().clone();
  return out;
}

bool SameWeights(policy::CausalLm& a, policy::CausalLm& b) {
  auto wa = policy::NamedWeights(a);
  auto wb = policy::NamedWeights(b);
  for (auto& [name, t] : wa) {
    if (!torch::equal(t, wb.at(name))) return false;
  }
  return true;
}

struct PullRig {
  testing::FakeLearner learner;
  testing::FakeLearnerServer server;
  policy::CausalLm model = Model(1);
  policy::CausalLm target = Model(2);
  WeightSlot slot;
  std::unique_ptr<WeightPuller> puller;

  PullRig() {
    auto s = testing::StartFakeLearner(&learner);
    EXPECT_TRUE(s.ok());
    server = std::move(*s);
    learner.SetWeights(3, Weights(target));
    WeightPullerOptions o;
    const std::string address = server.address();
    o.learner_address = [address] { return address; };
    o.initial_backoff = absl::Milliseconds(10);
    o.max_backoff = absl::Milliseconds(50);
    o.chunk_bytes = 512;  // several chunks
    auto p = WeightPuller::Create(o, ModelTensorSpecs(model), &slot, 0);
    EXPECT_TRUE(p.ok());
    puller = std::move(*p);
  }

  std::optional<WeightUpdate> WaitForUpdate() {
    if (!slot.WaitForPending(absl::Seconds(30))) return std::nullopt;
    return slot.Take();
  }
};

TEST(WeightsTest, PullsVerifiesAndAppliesANewVersion) {
  PullRig rig;
  ASSERT_FALSE(SameWeights(rig.model, rig.target));
  rig.puller->Want(3);
  std::optional<WeightUpdate> u = rig.WaitForUpdate();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->version, 3);
  ASSERT_TRUE(ApplyWeights(*u, rig.model).ok());
  EXPECT_TRUE(SameWeights(rig.model, rig.target));
  EXPECT_EQ(rig.puller->pulled_version(), 3);
}

TEST(WeightsTest, BadOrBrokenPullsKeepOldWeightsAndAreRetried) {
  PullRig rig;
  rig.learner.SetCorruptShapes(true);
  rig.puller->Want(3);
  EXPECT_TRUE(rig.puller->WaitForFailures(2, absl::Seconds(30)));
  EXPECT_FALSE(rig.slot.Take().has_value());
  EXPECT_EQ(rig.puller->pulled_version(), 0);
  rig.learner.SetCorruptShapes(false);
  rig.learner.SetBreakMidStream(true);
  const int64_t before = rig.puller->failures();
  EXPECT_TRUE(rig.puller->WaitForFailures(before + 2, absl::Seconds(30)));
  EXPECT_FALSE(rig.slot.Take().has_value());
  rig.learner.SetBreakMidStream(false);
  std::optional<WeightUpdate> u = rig.WaitForUpdate();
  ASSERT_TRUE(u.has_value());
  ASSERT_TRUE(ApplyWeights(*u, rig.model).ok());
  EXPECT_TRUE(SameWeights(rig.model, rig.target));
}

TEST(WeightsTest, DecodeAndApplyRefuseMismatches) {
  policy::CausalLm model = Model(1);
  auto specs = ModelTensorSpecs(model);
  lpb::WeightsManifest m;
  m.set_version(2);
  std::string blob;
  for (auto& [name, t] : policy::NamedWeights(model)) {
    torch::Tensor c = t.detach().contiguous();
    auto* e = m.add_tensors();
    e->set_name(name);
    e->set_dtype("F32");
    for (int64_t d : c.sizes()) e->add_shape(d);
    e->set_offset(blob.size());
    e->set_length(c.numel() * 4);
    blob.append(static_cast<const char*>(c.data_ptr()), c.numel() * 4);
  }
  m.set_total_bytes(blob.size());
  auto ok = DecodeWeights(m, blob, specs);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->tensors.size(), specs.size());
  // Short blob.
  EXPECT_FALSE(DecodeWeights(m, blob.substr(1), specs).ok());
  // A tensor missing from the manifest.
  lpb::WeightsManifest missing = m;
  missing.mutable_tensors()->RemoveLast();
  EXPECT_EQ(DecodeWeights(missing, blob, specs).status().code(), absl::StatusCode::kInvalidArgument);
  // A length that does not match the shape.
  lpb::WeightsManifest bad_len = m;
  bad_len.mutable_tensors(0)->set_length(4);
  EXPECT_EQ(DecodeWeights(bad_len, blob, specs).status().code(), absl::StatusCode::kInvalidArgument);
  // ApplyWeights refuses a wrong shape and leaves the model alone.
  WeightUpdate u = *ok;
  u.tensors.begin()->second = torch::zeros({3});
  auto before = Weights(model);
  EXPECT_EQ(ApplyWeights(u, model).code(), absl::StatusCode::kInvalidArgument);
  for (auto& [name, t] : policy::NamedWeights(model)) EXPECT_TRUE(torch::equal(t, before.at(name)));
}

}  // namespace
}  // namespace agentgym::actor
