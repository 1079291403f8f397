#include "learner/comm/nccl_communicator.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace agentgym::learner {
namespace {

// A port nothing listens on right now, for rank 0's store.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(NcclCommunicatorTest, OneRankCollectivesOrACleanErrorWithoutAGpu) {
  NcclOptions o;
  o.rendezvous = absl::StrCat("127.0.0.1:", FreePort());
  o.store_timeout = absl::Seconds(10);
  o.collective_timeout = absl::Seconds(30);
  auto comm = NcclCommunicator::Create(o);
  if (!comm.ok()) {
    // No GPU (or no driver) here: a status saying so, never a crash or a hang.
    EXPECT_EQ(comm.status().code(), absl::StatusCode::kUnavailable) << comm.status();
    GTEST_SKIP() << "no usable GPU: " << comm.status();
  }
  torch::Tensor t = torch::arange(6, torch::kFloat32);
  ASSERT_TRUE((*comm)->AllReduceSum(t).ok());
  EXPECT_TRUE(torch::equal(t, torch::arange(6, torch::kFloat32)));  // one rank: the sum is itself
  std::string bytes = "weights manifest";
  ASSERT_TRUE((*comm)->Broadcast(&bytes, 0).ok());
  EXPECT_EQ(bytes, "weights manifest");
  EXPECT_TRUE((*comm)->Barrier().ok());
}

TEST(NcclCommunicatorTest, BadOptionsAreInvalidArguments) {
  NcclOptions o;
  o.rendezvous = "127.0.0.1:29500";
  o.rank = 2;
  o.world_size = 2;
  EXPECT_EQ(NcclCommunicator::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.rank = 0;
  o.rendezvous = "no-port";
  EXPECT_EQ(NcclCommunicator::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace agentgym::learner
