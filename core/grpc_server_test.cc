#include "core/grpc_server.h"

#include <memory>
#include <string>

#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "gtest/gtest.h"

namespace agentgym {
namespace {

// A server needs a service to start; this one answers nothing (UNIMPLEMENTED).
// Declared before the server, so the server goes first.
struct Listener {
  std::unique_ptr<grpc::CallbackGenericService> service =
      std::make_unique<grpc::CallbackGenericService>();
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

std::unique_ptr<Listener> Listen(const std::string& address) {
  auto listener = std::make_unique<Listener>();
  grpc::ServerBuilder builder;
  ApplyServerDefaults(builder);
  builder.RegisterCallbackGenericService(listener->service.get());
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &listener->port);
  listener->server = builder.BuildAndStart();
  return listener;
}

TEST(ApplyServerDefaultsTest, ASecondServerCannotShareAPort) {
  auto first = Listen("127.0.0.1:0");
  ASSERT_NE(first->server, nullptr);
  ASSERT_GT(first->port, 0);
  auto second = Listen("127.0.0.1:" + std::to_string(first->port));
  EXPECT_TRUE(second->server == nullptr || second->port == 0)
      << "a second server bound the taken port " << first->port;
  if (second->server) second->server->Shutdown();
  first->server->Shutdown();
}

}  // namespace
}  // namespace agentgym
