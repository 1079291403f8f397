#include "scheduler/task_fetcher.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "agentgym/env/v1/env.grpc.pb.h"
#include "core/grpc_status.h"
#include "core/logging.h"
#include "grpcpp/create_channel.h"

namespace agentgym::scheduler {
namespace {

namespace envpb = ::agentgym::env::v1;

class GrpcTaskFetcher : public TaskFetcher {
 public:
  GrpcTaskFetcher(std::shared_ptr<grpc::ChannelCredentials> credentials, grpc::ChannelArguments channel_args,
                  absl::Duration timeout, size_t max_tasks)
      : credentials_(std::move(credentials)), channel_args_(std::move(channel_args)), timeout_(timeout),
        max_tasks_(max_tasks) {}

  absl::StatusOr<std::vector<EnvTask>> ListTrainTasks(const std::string& address,
                                                      const std::string& env) override {
    auto stub = envpb::Env::NewStub(grpc::CreateCustomChannel(address, credentials_, channel_args_));
    std::vector<EnvTask> tasks;
    int64_t mislabelled = 0;
    envpb::ListTasksRequest request;
    request.set_env(env);
    request.set_split(envpb::SPLIT_TRAIN);
    request.set_page_size(1000);
    for (;;) {
      grpc::ClientContext context;
      SetDeadline(context, timeout_);
      envpb::ListTasksResponse response;
      absl::Status status = FromGrpcStatus(stub->ListTasks(&context, request, &response));
      if (!status.ok()) {
        return absl::Status(status.code(), absl::StrCat("ListTasks(", env, ") on ", address,
                                                        ": ", status.message()));
      }
      for (const auto& t : response.tasks()) {
        if (t.split() != envpb::SPLIT_TRAIN && t.split() != envpb::SPLIT_UNSPECIFIED) continue;
        if (IsTestSplitTaskId(t.task_id())) {
          // Marked train, named test: trust neither; never train on it.
          ++mislabelled;
          continue;
        }
        tasks.push_back(EnvTask{t.task_id(), t.task_type(), std::max<int32_t>(0, t.min_turns())});
      }
      if (tasks.size() > max_tasks_) {
        return absl::InvalidArgumentError(absl::StrCat("env '", env, "' on ", address,
                                                       " lists more than ", max_tasks_,
                                                       " train tasks"));
      }
      if (response.next_page_token().empty()) break;
      if (response.next_page_token() == request.page_token()) {
        return absl::InternalError(absl::StrCat("ListTasks(", env, ") on ", address,
                                                " returned the same page token twice"));
      }
      request.set_page_token(response.next_page_token());
    }
    if (mislabelled > 0) {
      GetLogger("coordinator")
          ->warn("ListTasks({}) on {} listed {} tasks with test-split ids as train tasks; they "
                 "are left out",
                 env, address, mislabelled);
    }
    return tasks;
  }

 private:
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const grpc::ChannelArguments channel_args_;  // the TLS name override, if any
  const absl::Duration timeout_;
  const size_t max_tasks_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TaskFetcher>> MakeGrpcTaskFetcher(const ClientSecurityOptions& security,
                                                                 absl::Duration timeout, size_t max_tasks) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = MakeChannelCredentials(security);
  if (!credentials.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("toward the env servers: ", credentials.status().message()));
  }
  grpc::ChannelArguments channel_args;
  ApplyClientSecurityArgs(security, &channel_args);
  return std::unique_ptr<TaskFetcher>(
      new GrpcTaskFetcher(*std::move(credentials), std::move(channel_args), timeout, max_tasks));
}

}  // namespace agentgym::scheduler
