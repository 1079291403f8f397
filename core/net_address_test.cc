#include "core/net_address.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "gtest/gtest.h"

namespace agentgym {
namespace {

TEST(ParseHostPortTest, SplitsHostsAndPorts) {
  auto v4 = ParseHostPort("127.0.0.1:50051");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 50051);
  auto v6 = ParseHostPort("[::1]:0");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_EQ(ParseHostPort("localhost:65535")->port, 65535);
}

TEST(ParseHostPortTest, RejectsPortsGrpcWouldWrapOrMisread) {
  for (const char* bad : {"127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:",
                          "127.0.0.1:+80", "127.0.0.1: 80", "127.0.0.1:80x", ":80", "noport",
                          "127.0.0.1:000000080"}) {
    auto parsed = ParseHostPort(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    if (!parsed.ok()) {
      EXPECT_NE(parsed.status().message().find(bad), std::string::npos);
    }
  }
  EXPECT_FALSE(ParseHostPort("127.0.0.1:0", /*min_port=*/1).ok());
}

TEST(WritePortFileTest, WritesThePortAndLeavesNoTemporaryBehind) {
  const std::string dir = ::testing::TempDir();
  const std::string path = dir + "/net_address_test.port";
  ASSERT_TRUE(WritePortFile(path, 43210).ok());
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "43210\n");
  EXPECT_FALSE(std::ifstream(path + ".tmp").good());
  std::remove(path.c_str());
  absl::Status s = WritePortFile(dir + "/no-such-dir/x.port", 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("no-such-dir/x.port"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace agentgym
