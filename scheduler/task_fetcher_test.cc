#include "scheduler/task_fetcher.h"

#include "agentgym/env/v1/env.grpc.pb.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "scheduler/testing/closed_port.h"

namespace agentgym::scheduler {
namespace {

namespace envpb = ::agentgym::env::v1;

// ListTasks only, 7 train tasks in pages of 3, the token being the offset;
// the first page also lists two tasks that are not train tasks.
class PagedEnv final : public envpb::Env::Service {
 public:
  grpc::Status ListTasks(grpc::ServerContext*, const envpb::ListTasksRequest* req,
                         envpb::ListTasksResponse* resp) override {
    if (req->env() != "textcraft") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown env '" + req->env() + "'");
    }
    if (req->split() != envpb::SPLIT_TRAIN) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "want the train split");
    }
    int offset = req->page_token().empty() ? 0 : std::stoi(req->page_token());
    for (int i = offset; i < std::min(offset + 3, 7); ++i) {
      envpb::TaskRef* t = resp->add_tasks();
      t->set_task_id("tc-" + std::to_string(i));
      t->set_task_type(i < 4 ? "depth1" : "depth2");
      t->set_split(envpb::SPLIT_TRAIN);
    }
    if (offset == 0) {
      // Neither is a train task: one says so, one is named as a test task.
      envpb::TaskRef* test = resp->add_tasks();
      test->set_task_id("depth1/test/0");
      test->set_split(envpb::SPLIT_TEST);
      envpb::TaskRef* mislabelled = resp->add_tasks();
      mislabelled->set_task_id("depth1/test/1");
      mislabelled->set_split(envpb::SPLIT_TRAIN);
    }
    if (offset + 3 < 7) resp->set_next_page_token(std::to_string(offset + 3));
    resp->set_total(7);
    return grpc::Status::OK;
  }
};

TEST(GrpcTaskFetcherTest, ReadsEveryPageOfTrainTasks) {
  PagedEnv service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  const std::string address = "127.0.0.1:" + std::to_string(port);

  auto fetcher = MakeGrpcTaskFetcher({}, absl::Seconds(5));
  ASSERT_TRUE(fetcher.ok()) << fetcher.status();
  auto tasks = (*fetcher)->ListTrainTasks(address, "textcraft");
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  ASSERT_EQ(tasks->size(), 7u);
  EXPECT_EQ((*tasks)[6].task_id, "tc-6");
  EXPECT_EQ((*tasks)[6].task_type, "depth2");

  auto unknown = (*fetcher)->ListTrainTasks(address, "babyai");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find(address), std::string::npos);

  auto capped = MakeGrpcTaskFetcher({}, absl::Seconds(5), /*max_tasks=*/4)
                    .value()
                    ->ListTrainTasks(address, "textcraft");
  EXPECT_EQ(capped.status().code(), absl::StatusCode::kInvalidArgument);
  server->Shutdown();
}

TEST(GrpcTaskFetcherTest, UnreachableServerIsUnavailable) {
  testutil::ClosedPort closed;
  auto tasks =
      MakeGrpcTaskFetcher({}, absl::Milliseconds(500)).value()->ListTrainTasks(closed.address(), "x");
  EXPECT_EQ(tasks.status().code(), absl::StatusCode::kUnavailable);
}

TEST(GrpcTaskFetcherTest, UnreadableCaIsRefusedUpFront) {
  ClientSecurityOptions security;
  security.tls_ca_file = "/nonexistent/ca.pem";
  auto fetcher = MakeGrpcTaskFetcher(security, absl::Seconds(1));
  ASSERT_EQ(fetcher.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(fetcher.status().message().find("/nonexistent/ca.pem"), std::string::npos) << fetcher.status();
}

}  // namespace
}  // namespace agentgym::scheduler
