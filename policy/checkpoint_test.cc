#include "policy/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "policy/test_util.h"

namespace agentgym::policy {
namespace {

using ::agentgym::policy::testing::RandomModel;
using ::agentgym::policy::testing::SmallConfig;
using ::testing::HasSubstr;

void ExpectSameWeights(CausalLm& a, CausalLm& b) {
  auto wa = NamedWeights(a), wb = NamedWeights(b);
  ASSERT_EQ(wa.size(), wb.size());
  for (auto& [name, t] : wa) {
    ASSERT_TRUE(wb.count(name)) << name;
    EXPECT_EQ(t.scalar_type(), wb[name].scalar_type()) << name;
    EXPECT_TRUE(torch::equal(t, wb[name])) << name;
  }
}

TEST(CheckpointTest, SaveLoadRoundTripIsExactInF32AndBf16) {
  for (torch::ScalarType dtype : {torch::kFloat32, torch::kBFloat16}) {
    CausalLm m = RandomModel(SmallConfig(), 3, dtype);
    const std::string dir = testing::TempDir("ckpt") + c10::toString(dtype);
    ASSERT_TRUE(SavePretrained(dir, m).ok());
    absl::StatusOr<CausalLm> loaded = LoadPretrained(dir, torch::kCPU, dtype);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE((*loaded)->config().value_head);
    ExpectSameWeights(m, *loaded);
  }
}

TEST(CheckpointTest, F32ModelSavedAsBf16LoadsAsRoundedWeights) {
  CausalLm m = RandomModel(SmallConfig(/*tied=*/true, /*value_head=*/false));
  const std::string dir = testing::TempDir("ckpt_bf16");
  ASSERT_TRUE(SavePretrained(dir, m, {torch::kBFloat16}).ok());
  absl::StatusOr<CausalLm> loaded = LoadPretrained(dir, torch::kCPU, torch::kFloat32);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (auto& [name, t] : NamedWeights(m)) {
    EXPECT_TRUE(torch::equal(t.to(torch::kBFloat16).to(torch::kFloat32), NamedWeights(*loaded)[name])) << name;
  }
}

TEST(CheckpointTest, ShardedCheckpointLoads) {
  CausalLm m = RandomModel(SmallConfig());
  const std::string dir = testing::TempDir("ckpt_sharded");
  ASSERT_TRUE(SavePretrained(dir, m, {std::nullopt, /*max_shard_bytes=*/8192}).ok());
  EXPECT_TRUE(std::filesystem::exists(dir + "/model.safetensors.index.json"));
  absl::StatusOr<CausalLm> loaded = LoadPretrained(dir, torch::kCPU);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ExpectSameWeights(m, *loaded);
}

TEST(CheckpointTest, MissingOrMisshapenTensorsAreNamed) {
  CausalLm m = RandomModel(SmallConfig());
  const std::string dir = testing::TempDir("ckpt_bad");
  std::map<std::string, torch::Tensor> w = NamedWeights(m);
  w.erase("model.layers.1.mlp.up_proj.weight");
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(WriteSafetensors(dir + "/model.safetensors", w).ok());
  absl::StatusOr<CausalLm> missing = LoadPretrained(dir, torch::kCPU, torch::kFloat32, m->config());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("model.layers.1.mlp.up_proj.weight"));

  w = NamedWeights(m);
  w["model.norm.weight"] = torch::ones({31});
  ASSERT_TRUE(WriteSafetensors(dir + "/model.safetensors", w).ok());
  absl::StatusOr<CausalLm> shape = LoadPretrained(dir, torch::kCPU, torch::kFloat32, m->config());
  EXPECT_EQ(shape.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(shape.status().message(), HasSubstr("model.norm.weight"));
  EXPECT_THAT(shape.status().message(), HasSubstr("[31]"));

  // No config.json at all.
  EXPECT_EQ(LoadPretrained(dir, torch::kCPU).status().code(), absl::StatusCode::kNotFound);
}

TEST(CheckpointTest, CheckpointWithoutValueHeadLoadsIntoValueModel) {
  CausalLm plain = RandomModel(SmallConfig(false, /*value_head=*/false));
  const std::string dir = testing::TempDir("ckpt_novalue");
  ASSERT_TRUE(SavePretrained(dir, plain).ok());
  ModelConfig with_value = plain->config();
  with_value.value_head = true;
  absl::StatusOr<CausalLm> loaded = LoadPretrained(dir, torch::kCPU, torch::kFloat32, with_value);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(torch::equal(NamedWeights(*loaded)["lm_head.weight"], NamedWeights(plain)["lm_head.weight"]));
  EXPECT_TRUE((*loaded)->value_head);
}

}  // namespace
}  // namespace agentgym::policy
