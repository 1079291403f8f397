#include "core/protobuf_log.h"

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"

namespace agentgym {
namespace {

TEST(RateLimitedLogTest, AdmitsOneLineOfAKindPerInterval) {
  RateLimitedLog log(absl::Seconds(10));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  int64_t suppressed = -1;
  EXPECT_TRUE(log.Admit("a", t0, &suppressed));
  EXPECT_EQ(suppressed, 0);
  for (int i = 0; i < 99; ++i) EXPECT_FALSE(log.Admit("a", t0 + absl::Seconds(1), &suppressed));
  EXPECT_TRUE(log.Admit("b", t0 + absl::Seconds(1), &suppressed));  // another kind
  EXPECT_TRUE(log.Admit("a", t0 + absl::Seconds(11), &suppressed));
  EXPECT_EQ(suppressed, 99);
}

TEST(ProtobufLogTest, InvalidUtf8InRequestsIsLoggedOncePerInterval) {
  absl::Mutex mu;
  std::vector<std::string> lines;
  InstallProtobufLogHandler(absl::Minutes(10), [&](const std::string& line) {
    absl::MutexLock lock(&mu);
    lines.push_back(line);
  });
  // A StringValue whose string (field 1) is not UTF-8: proto3 refuses it,
  // and protobuf logs why on every parse.
  const std::string bad("\x0a\x02\xff\xfe", 4);
  for (int i = 0; i < 100; ++i) {
    google::protobuf::StringValue v;
    EXPECT_FALSE(v.ParseFromString(bad));
  }
  absl::MutexLock lock(&mu);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("UTF-8"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace agentgym
