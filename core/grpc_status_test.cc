#include "core/grpc_status.h"

#include "gtest/gtest.h"

namespace agentgym {
namespace {

TEST(GrpcStatusTest, RoundTripsCodeAndMessage) {
  absl::Status in = absl::NotFoundError("no env 'x'");
  grpc::Status g = ToGrpcStatus(in);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(g.error_message(), "no env 'x'");
  EXPECT_EQ(FromGrpcStatus(g), in);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

}  // namespace
}  // namespace agentgym
