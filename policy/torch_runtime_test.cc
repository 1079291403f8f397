#include "policy/torch_runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace agentgym::policy {
namespace {

TEST(TorchRuntimeTest, SetsIntraOpThreadsAndRejectsZero) {
  EXPECT_EQ(ConfigureTorchRuntime({.intra_op_threads = 0}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(ConfigureTorchRuntime({.intra_op_threads = 2}).ok());
  EXPECT_EQ(at::get_num_threads(), 2);
  ASSERT_TRUE(ConfigureTorchRuntime({.intra_op_threads = 1}).ok());
  EXPECT_EQ(at::get_num_threads(), 1);
  // OpenBLAS, when it is the loaded BLAS, follows the same setting.
  if (LoadedBlasLibrary().find("openblas") != std::string::npos) {
    EXPECT_EQ(SetOpenBlasThreads(1), 1);
  }
}

TEST(TorchRuntimeTest, ReportsTheBlasLibraryLibTorchLoaded) {
  // libtorch_cpu links libblas.so.3 (Debian's alternatives choose which one).
  EXPECT_THAT(LoadedBlasLibrary(), ::testing::HasSubstr("blas"));
}

TEST(TorchRuntimeTest, ParsesDevices) {
  EXPECT_TRUE(ParseDevice("cpu").ok());
  EXPECT_FALSE(ParseDevice("tpu:9").ok());
  if (!torch::cuda::is_available()) {
    EXPECT_THAT(ParseDevice("cuda").status().message(), ::testing::HasSubstr("not available"));
  }
}

}  // namespace
}  // namespace agentgym::policy
