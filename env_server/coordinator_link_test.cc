#include "env_server/coordinator_link.h"

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "scheduler/coordinator_service.h"
#include "scheduler/testing/closed_port.h"
#include "gtest/gtest.h"

namespace agentgym::env {
namespace {

namespace pb = ::agentgym::coordinator::v1;
constexpr absl::Duration kWait =
    absl::Seconds(20); // a failure bound, not a speed goal

// A coordinator service behind a gRPC server on 127.0.0.1 (leases on a fake
// clock, so they never lapse by themselves).
class Coordinator {
public:
  explicit Coordinator(int port = 0) {
    scheduler::CoordinatorOptions o;
    o.registry.lease = absl::Seconds(10);
    o.heartbeat_interval = absl::Milliseconds(20);
    o.envs = {{"maze",
               1.0,
               {{"open4/train/0", "open4"}, {"open4/train/1", "open4"}}}};
    o.curriculum.default_track = {{6}, {0}};
    auto service = scheduler::CoordinatorService::Create(std::move(o), &clock_,
                                                         &metrics_, nullptr);
    EXPECT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
  }
  ~Coordinator() {
    service_->Shutdown();
    server_->Shutdown(std::chrono::system_clock::now());
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  // The component with `id` in the coordinator's status, if registered.
  std::optional<pb::ComponentStatus> Find(const std::string &id) {
    const pb::RunStatus status = service_->Status();
    for (const auto &c : status.components()) {
      if (c.component_id() == id)
        return c;
    }
    return std::nullopt;
  }

private:
  FakeClock clock_;
  metrics::Registry metrics_;
  std::unique_ptr<scheduler::CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

CoordinatorLinkOptions Options(const std::string &coordinator) {
  CoordinatorLinkOptions o;
  o.coordinator = coordinator;
  o.advertise = "127.0.0.1:6001";
  o.envs = {"maze", "wordle"};
  o.max_sessions = 77;
  o.heartbeat_interval = absl::Milliseconds(20);
  o.retry_interval = absl::Milliseconds(20);
  o.attempt_window = absl::Milliseconds(200);
  o.open_sessions = [] { return int64_t{5}; };
  return o;
}

TEST(CoordinatorLinkTest, RegistersAsEnvServerAndDeregistersOnClose) {
  Coordinator coordinator;
  auto link = CoordinatorLink::Start(Options(coordinator.address()));
  ASSERT_TRUE(link.ok()) << link.status();
  ASSERT_TRUE((*link)->WaitForRegistered(kWait));
  const std::string id = (*link)->component_id();
  ASSERT_FALSE(id.empty());
  auto status = coordinator.Find(id);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->role(), pb::ROLE_ENV_SERVER);
  EXPECT_EQ(status->address(), "127.0.0.1:6001");
  EXPECT_EQ(status->name(), "env-server@127.0.0.1:6001");
  ASSERT_EQ(status->capabilities().envs_size(), 2);
  EXPECT_EQ(status->capabilities().envs(0), "maze");
  EXPECT_EQ(status->capabilities().envs(1), "wordle");
  EXPECT_EQ(status->capabilities().max_sessions(), 77);

  (*link)->Close();
  EXPECT_FALSE(coordinator.Find(id).has_value());
}

TEST(CoordinatorLinkTest, WaitsForACoordinatorThatStartsLater) {
  auto closed = std::make_unique<testutil::ClosedPort>();
  const int port = closed->port();
  ASSERT_GT(port, 0);
  absl::Notification registered;
  auto options = Options(closed->address());
  options.on_registered = [&](const std::string &, int64_t n) {
    if (n == 1)
      registered.Notify();
  };
  auto link =
      CoordinatorLink::Start(options); // returns at once: nobody answers
  ASSERT_TRUE(link.ok()) << link.status();
  EXPECT_FALSE((*link)->registered());
  EXPECT_TRUE((*link)->status().ok());

  closed.reset();
  Coordinator coordinator(port);
  ASSERT_EQ(coordinator.port(), port);
  ASSERT_TRUE(registered.WaitForNotificationWithTimeout(kWait));
  ASSERT_TRUE((*link)->WaitForRegistered(kWait));
  EXPECT_TRUE(coordinator.Find((*link)->component_id()).has_value());
}

TEST(CoordinatorLinkTest, RegistersAgainWithARestartedCoordinator) {
  auto coordinator = std::make_unique<Coordinator>();
  const int port = coordinator->port();
  absl::Notification again;
  auto options = Options(coordinator->address());
  options.on_registered = [&](const std::string &, int64_t n) {
    if (n == 2 && !again.HasBeenNotified())
      again.Notify();
  };
  auto link = CoordinatorLink::Start(options);
  ASSERT_TRUE(link.ok());
  ASSERT_TRUE((*link)->WaitForRegistered(kWait));
  const std::string id = (*link)->component_id();

  coordinator.reset();
  coordinator = std::make_unique<Coordinator>(port);
  ASSERT_EQ(coordinator->port(), port);
  ASSERT_TRUE(again.WaitForNotificationWithTimeout(kWait));
  EXPECT_EQ((*link)->component_id(), id);
  auto status = coordinator->Find(id);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->role(), pb::ROLE_ENV_SERVER);
}

TEST(CoordinatorLinkTest, CloseWithoutACoordinatorReturnsPromptly) {
  testutil::ClosedPort closed;
  auto link = CoordinatorLink::Start(Options(closed.address()));
  ASSERT_TRUE(link.ok());
  (*link)
      ->Close(); // joins the retrying thread; a hang fails by the test timeout
  EXPECT_FALSE((*link)->registered());
}

TEST(CoordinatorLinkTest, RefusesBadAddresses) {
  auto o = Options("127.0.0.1:1");
  o.advertise = "";
  EXPECT_EQ(CoordinatorLink::Start(o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o.advertise = "127.0.0.1:0";
  EXPECT_EQ(CoordinatorLink::Start(o).status().code(),
            absl::StatusCode::kInvalidArgument);
  o = Options("");
  EXPECT_EQ(CoordinatorLink::Start(o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CoordinatorLinkTest, RefusesUnreadableSecurityFilesUpFront) {
  // A bad CA is the operator's to fix: Start says so instead of retrying
  // the registration forever.
  auto o = Options("127.0.0.1:1");
  o.security.tls_ca_file = "/nonexistent/agentgym-ca.pem";
  absl::Status s = CoordinatorLink::Start(o).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("/nonexistent/agentgym-ca.pem"), std::string::npos) << s;
  // A token without TLS would go out in the clear: refused too.
  o = Options("127.0.0.1:1");
  o.security.token_file = "/dev/null";
  EXPECT_EQ(CoordinatorLink::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PeerClientSecurityTest, PresentsTheServersOwnCertificateAndTokenOnlyOverTls) {
  ServerSecurityOptions own;
  own.tls_cert_file = "node.pem";
  own.tls_key_file = "node.key";
  own.token_file = "token";
  ClientSecurityOptions plain = PeerClientSecurity(own, "", "");
  EXPECT_FALSE(plain.tls());
  EXPECT_TRUE(plain.token_file.empty());
  EXPECT_TRUE(plain.tls_cert_file.empty());
  ClientSecurityOptions tls = PeerClientSecurity(own, "ca.pem", "coordinator");
  EXPECT_EQ(tls.tls_ca_file, "ca.pem");
  EXPECT_EQ(tls.tls_cert_file, "node.pem");
  EXPECT_EQ(tls.tls_key_file, "node.key");
  EXPECT_EQ(tls.token_file, "token");
  EXPECT_EQ(tls.tls_server_name, "coordinator");
}

} // namespace
} // namespace agentgym::env
