#include "policy/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "policy/test_util.h"

namespace agentgym::policy {
namespace {

using ::testing::HasSubstr;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), bytes.size());
}

// A file image with `header` as its JSON and `data_bytes` zero bytes of data.
std::string Image(const std::string& header, size_t data_bytes) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return s + header + std::string(data_bytes, '\0');
}

absl::Status ParseImage(const std::string& bytes) {
  auto owner = std::make_shared<std::string>(bytes);
  auto file = SafetensorsFile::FromBuffer(owner, reinterpret_cast<const uint8_t*>(owner->data()), owner->size(),
                                          "mem.safetensors");
  if (!file.ok()) return file.status();
  for (const auto& [name, info] : (*file)->tensors()) {
    absl::StatusOr<torch::Tensor> t = (*file)->Get(name);
    if (!t.ok()) return t.status();
    if (t->numel() > 0) (void)t->to(torch::kFloat64).sum().item<double>();  // Touch every byte.
  }
  return absl::OkStatus();
}

class SafetensorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir("st");
    std::filesystem::create_directories(dir_);
  }
  std::string dir_;
};

TEST_F(SafetensorsTest, RoundTripsEveryDtypeExactly) {
  std::map<std::string, torch::Tensor> in = {
      {"a.f32", torch::randn({3, 5})},
      {"b.bf16", torch::randn({4, 2}).to(torch::kBFloat16)},
      {"c.f16", torch::randn({7}).to(torch::kFloat16)},
      {"d.i64", torch::arange(6, torch::kLong).view({2, 3})},
      {"e.empty", torch::zeros({0, 4})},
      // A 0-dim tensor (shape []). Not `.view({})`: `{}` binds to view(ScalarType)
      // and reinterprets the bytes as uint8.
      {"f.scalar", torch::scalar_tensor(3.5f)}};
  ASSERT_EQ(in["f.scalar"].dim(), 0);
  const std::string path = dir_ + "/x.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, in, {{"format", "pt"}}).ok());
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
  ASSERT_EQ((*f)->tensors().size(), in.size());
  for (const auto& [name, t] : in) {
    absl::StatusOr<torch::Tensor> got = (*f)->Get(name);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(got->sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(*got, t)) << name;
  }
  // The data section is 8-byte aligned, so tensors map without copies.
  EXPECT_EQ(reinterpret_cast<uintptr_t>((*f)->Get("a.f32")->data_ptr()) % 8, 0u);
  EXPECT_THAT((*f)->Get("nope").status().message(), HasSubstr("\"nope\""));
}

TEST_F(SafetensorsTest, TensorsOutliveTheFileObjectAndWritesDoNotReachDisk) {
  const std::string path = dir_ + "/y.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"w", torch::ones({16})}}).ok());
  torch::Tensor t;
  {
    auto f = SafetensorsFile::Open(path);
    ASSERT_TRUE(f.ok());
    t = *(*f)->Get("w");
  }
  t.mul_(3);  // Copy-on-write mapping: fine in memory, file untouched.
  EXPECT_EQ(t.sum().item<float>(), 48.0f);
  EXPECT_EQ((*(*SafetensorsFile::Open(path))->Get("w")).sum().item<float>(), 16.0f);
}

TEST_F(SafetensorsTest, MalformedFilesGetClearErrors) {
  struct Case {
    std::string bytes;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"abc", "shorter than the 8-byte"},
      {Image("{}", 0).substr(0, 9), "exceeds file size"},
      {Image("{not json", 0), "not a JSON object"},
      {Image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4), "outside data section"},
      {Image(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 3 elements"},
      {Image(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8), "unsupported dtype \"Q4\""},
      {Image(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8), "non-negative"},
      {Image(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), "outside data section"},
      {Image(R"({"w":{"dtype":"F32","shape":[2]}})", 8), "data_offsets"},
      {Image(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8), "overflows"},
  };
  for (const Case& c : cases) {
    absl::Status s = ParseImage(c.bytes);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << c.expect;
    EXPECT_THAT(s.message(), HasSubstr(c.expect));
    if (c.expect != "shorter than the 8-byte" && c.expect != "exceeds file size" && c.expect != "not a JSON object") {
      EXPECT_THAT(s.message(), HasSubstr("tensor \"w\""));
    }
  }
  EXPECT_EQ(SafetensorsFile::Open(dir_ + "/missing.safetensors").status().code(), absl::StatusCode::kNotFound);
  // A file truncated on disk names the file.
  const std::string path = dir_ + "/t.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"w", torch::ones({64})}}).ok());
  std::string bytes = ReadAll(path);
  WriteAll(path, bytes.substr(0, bytes.size() - 10));
  EXPECT_THAT(SafetensorsFile::Open(path).status().message(), HasSubstr(path));
}

TEST_F(SafetensorsTest, FuzzedHeadersNeverCrash) {
  const std::string path = dir_ + "/f.safetensors";
  ASSERT_TRUE(WriteSafetensors(path, {{"a", torch::randn({3, 4})}, {"b", torch::arange(5)}}).ok());
  const std::string good = ReadAll(path);
  std::mt19937_64 rng(7);
  int ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = good;
    switch (i % 4) {
      case 0: bytes = bytes.substr(0, rng() % bytes.size()); break;  // Truncation.
      case 1:  // Random byte flips, mostly in the header.
        for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) bytes[rng() % std::min<size_t>(bytes.size(), 160)] = rng();
        break;
      case 2: {  // Random bytes with a plausible length prefix.
        std::string junk(rng() % 200, '\0');
        for (char& ch : junk) ch = static_cast<char>(rng());
        bytes = Image(junk, rng() % 64);
        break;
      }
      case 3: {  // Digits replaced inside the JSON (offsets and shapes).
        for (char& ch : bytes) if (ch >= '0' && ch <= '9' && rng() % 5 == 0) ch = '0' + rng() % 10;
        break;
      }
    }
    absl::Status s = ParseImage(bytes);
    ok += s.ok();
    if (!s.ok()) {
      EXPECT_FALSE(s.message().empty());
    }
  }
  EXPECT_LT(ok, 3000);  // Most mutations must be caught.
}

TEST_F(SafetensorsTest, ShardedStoreLoadsAllTensorsAndChecksTheIndex) {
  std::map<std::string, torch::Tensor> in;
  for (int i = 0; i < 6; ++i) in["t" + std::to_string(i)] = torch::randn({64});  // 256 bytes each.
  ASSERT_TRUE(WriteShardedSafetensors(dir_, in, /*max_shard_bytes=*/600).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/model-00003-of-00003.safetensors"));
  absl::StatusOr<std::unique_ptr<TensorStore>> store = TensorStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Names().size(), 6u);
  for (const auto& [name, t] : in) EXPECT_TRUE(torch::equal(*(*store)->Get(name), t)) << name;
  // An index naming a tensor its shard lacks is corrupt.
  std::string index = ReadAll(dir_ + "/model.safetensors.index.json");
  index.replace(index.find("\"t0\""), 4, "\"zz\"");
  WriteAll(dir_ + "/model.safetensors.index.json", index);
  EXPECT_THAT(TensorStore::Open(dir_).status().message(), HasSubstr("\"zz\""));
  std::filesystem::remove(dir_ + "/model-00002-of-00003.safetensors");
  EXPECT_EQ(TensorStore::Open(dir_).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace agentgym::policy
