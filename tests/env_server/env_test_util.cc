#include "tests/env_server/env_test_util.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/grpc_status.h"
#include "env_server/env_registry.h"
#include "env_server/task_ids.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"

namespace agentgym::testing {

namespace v1 = env::v1;

std::unique_ptr<env::EnvClient> MakeClient(const std::string& target, absl::Duration timeout,
                                           int max_attempts) {
  env::EnvClientOptions options;
  options.target = target;
  options.timeout = timeout;
  options.max_attempts = max_attempts;
  auto client = env::EnvClient::Create(options);
  return client.ok() ? *std::move(client) : nullptr;
}

absl::StatusOr<bool> IsServing(const std::string& target, const std::string& service) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(context, absl::Seconds(10));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  grpc::Status status = stub->Check(&context, req, &resp);
  if (!status.ok()) return FromGrpcStatus(status);
  return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

absl::StatusOr<ScriptedEpisode> PlayScripted(env::EnvClient& client, const std::string& env_name,
                                             const std::string& task_type, env::Split split,
                                             uint64_t seed, const env::EnvOptions& options) {
  auto local_env = env::EnvRegistry::Global().Create(env_name, options);
  if (!local_env.ok()) return local_env.status();

  v1::CreateRequest create;
  create.set_env(env_name);
  create.set_seed(seed);
  create.mutable_sample()->set_task_type(task_type);
  create.mutable_sample()->set_split(split == env::Split::kTest ? v1::SPLIT_TEST
                                                                : v1::SPLIT_TRAIN);
  auto session = client.Create(create);
  if (!session.ok()) return session.status();

  ScriptedEpisode result;
  result.task_id = session->task().task_id();
  result.recommended_max_turns = session->recommended_max_turns();
  auto fail = [&](const std::string& what) {
    (void)client.Close(session->session_id());
    return absl::InternalError(absl::StrCat(env_name, " ", result.task_id, " seed ", seed,
                                            " turn ", result.turns, ": ", what));
  };
  auto key = env::ParseTaskId(result.task_id, (*local_env)->Describe());
  if (!key.ok()) return fail(std::string(key.status().message()));
  if (key->type != task_type || key->split != split) return fail("sampled the wrong kind of task");
  env::EpisodeStart start;
  auto local = (*local_env)->NewEpisode(*key, seed, &start);
  if (!local.ok()) return fail(std::string(local.status().message()));
  if (start.instruction != session->instruction() || start.observation != session->observation()) {
    return fail("the server's instruction or first observation differs from the local episode");
  }
  if (result.recommended_max_turns <= 0) return fail("no recommended_max_turns");

  while (result.turns < result.recommended_max_turns) {
    std::optional<std::string> action = (*local)->OracleAction();
    if (!action) return fail("the oracle has no action");
    auto expected = (*local)->Step(*action);
    if (!expected.ok()) return fail(std::string(expected.status().message()));
    auto got = client.Step(session->session_id(), *action);
    if (!got.ok()) return fail(absl::StrCat("step '", *action, "': ", got.status().ToString()));
    ++result.turns;
    if (got->turn() != result.turns) return fail("the server counts turns differently");
    if (got->observation() != expected->observation || got->reward() != expected->reward ||
        got->done() != expected->done || got->success() != expected->success) {
      return fail(absl::StrCat("after '", *action, "' the server said '", got->observation(),
                               "' but the local episode '", expected->observation, "'"));
    }
    if (got->done() || got->truncated()) {
      result.success = got->success();
      break;
    }
  }
  if (auto s = client.Close(session->session_id()); !s.ok()) return s;
  return result;
}

}  // namespace agentgym::testing
