#include "scheduler/ctl.h"

#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "scheduler/coordinator_client.h"
#include "scheduler/coordinator_server.h"
#include "scheduler/testing/closed_port.h"
#include "tests/common/test_certificates.h"

namespace agentgym::scheduler {
namespace {

struct Result {
  int code;
  std::string out, err;
};

Result Ctl(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int code = RunCtl(args, out, err);
  return {code, out.str(), err.str()};
}

CoordinatorServerOptions Options() {
  CoordinatorServerOptions o;
  o.listen = "127.0.0.1:0";
  o.service.envs = {{"textcraft", 1.0, {{"t-0", "depth1"}, {"t-1", "depth1"}}},
                    {"babyai", 2.0, {{"b-0", "GoTo"}}}};
  o.service.curriculum.default_track = {{10, 20, 30}, {0, 100, 200}};
  o.service.curriculum.per_env["babyai"] = {{6, 13, 20}, {0, 100, 200}};
  o.service.verify_config_tasks = false;  // the env server below is a registration only
  return o;
}

// agentgym-ctl's code path against an in-process coordinator.
class CtlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = CoordinatorServer::Start(Options(), Clock::Real(), &metrics_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = server_->address();
    pb::RegisterRequest env;
    env.set_role(pb::ROLE_ENV_SERVER);
    env.set_address("127.0.0.1:5001");
    env.set_name("envs-1");
    env.mutable_capabilities()->add_envs("textcraft");
    pb::RegisterResponse resp;
    grpc::ServerContext ctx;
    ASSERT_TRUE(server_->service().Register(&ctx, &env, &resp).ok());
    env_id_ = resp.component_id();
  }
  std::vector<std::string> With(std::vector<std::string> args) {
    args.insert(args.begin(), {"--coordinator", address_});
    return args;
  }

  metrics::Registry metrics_;
  std::unique_ptr<CoordinatorServer> server_;
  std::string address_;
  std::string env_id_;
};

TEST_F(CtlTest, StatusPrintsAlignedTables) {
  Result r = Ctl(With({"status"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  EXPECT_NE(r.out.find("step 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HORIZON    MODE   STAGE  MAX_TURNS  SCHEDULE  SINCE_STEP  PINNED"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("(default)  fixed  1/3    10         10,20,30  0           no"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("babyai     fixed  1/3    6          6,13,20"), std::string::npos);
  EXPECT_NE(r.out.find("env_server 1 up"), std::string::npos) << r.out;
}

TEST_F(CtlTest, ComponentsAndJson) {
  Result r = Ctl(With({"components"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  EXPECT_NE(r.out.find("ID"), std::string::npos);
  EXPECT_NE(r.out.find(env_id_), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("envs=textcraft"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("up"), std::string::npos);

  Result c = Ctl(With({"--json", "components"}));
  ASSERT_EQ(c.code, kCtlOk) << c.err;
  auto components = nlohmann::json::parse(c.out);
  ASSERT_EQ(components.size(), 1u) << c.out;  // only the components
  ASSERT_EQ(components["components"].size(), 1u);
  EXPECT_EQ(components["components"][0]["component_id"], env_id_);

  Result j = Ctl(With({"--json", "status"}));
  ASSERT_EQ(j.code, kCtlOk) << j.err;
  auto json = nlohmann::json::parse(j.out);
  EXPECT_EQ(json["components"][0]["component_id"], env_id_);
  EXPECT_EQ(json["components"][0]["health"], "HEALTH_UP");
  EXPECT_EQ(json["horizon"]["tracks"].size(), 2u);
}

TEST_F(CtlTest, SetHorizonPauseAndResume) {
  Result r = Ctl(With({"set-horizon", "--env", "babyai", "9"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  EXPECT_EQ(r.out, "track babyai: max turns 6 -> 9 (stage 1, manual)\n");
  r = Ctl(With({"status"}));
  EXPECT_NE(r.out.find("babyai     fixed  1/3    9          6,13,20   0           yes"),
            std::string::npos)
      << r.out;
  // Only the pinned track is released: no "(default) 10 -> 10" line.
  r = Ctl(With({"set-horizon", "--release"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  EXPECT_EQ(r.out, "track babyai: max turns 9 -> 6 (stage 1, release)\n");
  auto revision = [&] {
    return nlohmann::json::parse(Ctl(With({"--json", "status"})).out)["horizon"]["revision"];
  };
  const auto before = revision();
  r = Ctl(With({"set-horizon", "--release"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  EXPECT_EQ(r.out, "horizon unchanged: no track to release (none is pinned)\n");
  EXPECT_EQ(revision(), before);

  r = Ctl(With({"pause", "--reason", "maintenance"}));
  ASSERT_EQ(r.code, kCtlOk);
  EXPECT_EQ(r.out, "run paused\n");
  EXPECT_NE(Ctl(With({"status"})).out.find("PAUSED"), std::string::npos);
  EXPECT_EQ(Ctl(With({"pause"})).out, "run was already paused\n");
  EXPECT_EQ(Ctl(With({"resume"})).out, "run resumed\n");
  EXPECT_EQ(Ctl(With({"--json", "resume"})).out, "{\"paused\":false,\"was_paused\":false}\n");
}

TEST_F(CtlTest, BadRequestsPrintTheCoordinatorsReason) {
  Result r = Ctl(With({"set-horizon", "--max-turns=-3"}));
  EXPECT_EQ(r.code, kCtlRequestFailed);
  EXPECT_NE(r.err.find("INVALID_ARGUMENT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("got -3"), std::string::npos) << r.err;
  r = Ctl(With({"set-horizon", "--env", "nethack", "5"}));
  EXPECT_EQ(r.code, kCtlRequestFailed);
  EXPECT_NE(r.err.find("no horizon track for env 'nethack'"), std::string::npos) << r.err;
  r = Ctl(With({"set-horizon", "--stage", "9"}));
  EXPECT_EQ(r.code, kCtlRequestFailed);
  EXPECT_NE(r.err.find("OUT_OF_RANGE"), std::string::npos) << r.err;
  r = Ctl(With({"set-horizon"}));
  EXPECT_EQ(r.code, kCtlUsage);
  EXPECT_EQ(Ctl(With({"frobnicate"})).code, kCtlUsage);
  r = Ctl(With({"--timeout-ms", "0", "status"}));
  EXPECT_EQ(r.code, kCtlUsage);
  EXPECT_NE(r.err.find("--timeout-ms must be in 1..86400000; got 0"), std::string::npos) << r.err;
  // CLI11 2.1 reads this as 2^63 - 1, which the range check refuses.
  r = Ctl(With({"--timeout-ms", "99999999999999999999", "status"}));
  EXPECT_EQ(r.code, kCtlUsage);
  EXPECT_NE(r.err.find("--timeout-ms"), std::string::npos) << r.err;
  r = Ctl(With({"watch", "--interval-ms", "-5"}));
  EXPECT_EQ(r.code, kCtlUsage);
  EXPECT_NE(r.err.find("--interval-ms must be in 1..86400000; got -5"), std::string::npos) << r.err;
}

TEST_F(CtlTest, WatchStreamsUpdates) {
  Result r = Ctl(With({"watch", "--count", "2", "--interval-ms", "20"}));
  ASSERT_EQ(r.code, kCtlOk) << r.err;
  size_t first = r.out.find("---- ");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(r.out.find("---- ", first + 1), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HORIZON"), std::string::npos);
}

// An ostream buffer that notifies once something was flushed to it.
class NotifyingBuffer : public std::stringbuf {
 public:
  absl::Notification flushed;

 protected:
  int sync() override {
    if (!flushed.HasBeenNotified()) flushed.Notify();
    return std::stringbuf::sync();
  }
};

// A watch the coordinator ends by shutting down is an error (exit 2), not a
// success: scripts that watch a run must learn that it is gone.
TEST_F(CtlTest, WatchFailsWhenTheCoordinatorShutsDown) {
  NotifyingBuffer out_buffer;
  std::ostream out(&out_buffer);
  std::ostringstream err;
  int code = -1;
  std::thread watcher([&] {
    code = RunCtl(With({"watch", "--interval-ms", "60000"}), out, err);
  });
  // The first update arrived: the stream is up. Then the coordinator stops.
  ASSERT_TRUE(out_buffer.flushed.WaitForNotificationWithTimeout(absl::Seconds(20)));
  server_->Shutdown();
  watcher.join();
  EXPECT_EQ(code, kCtlUnreachable);
  EXPECT_NE(err.str().find("the coordinator at " + address_ + " ended the watch"),
            std::string::npos)
      << err.str();
  EXPECT_NE(err.str().find("shutting down"), std::string::npos) << err.str();
}

TEST(CtlUnreachableTest, SaysItCannotReachTheCoordinator) {
  testutil::ClosedPort closed;
  Result r = Ctl({"--coordinator", closed.address(), "--timeout-ms", "2000", "status"});
  EXPECT_EQ(r.code, kCtlUnreachable);
  EXPECT_NE(r.err.find("cannot reach the coordinator at " + closed.address()), std::string::npos)
      << r.err;
  r = Ctl({"--coordinator", closed.address(), "--timeout-ms", "500", "watch"});
  EXPECT_EQ(r.code, kCtlUnreachable);
}

// Options() served with TLS (the test CA's server certificate) and a token.
CoordinatorServerOptions TlsWithTokenOptions(const agentgym::testing::TestCertificates& certs) {
  CoordinatorServerOptions o = Options();
  o.security.tls_cert_file = certs["server.pem"];
  o.security.tls_key_file = certs["server.key"];
  o.security.token_file = certs["token"];
  return o;
}

// A coordinator serving TLS with a token: agentgym-ctl gets in only with the
// CA and the token, and says why otherwise.
TEST(CtlSecurityTest, TlsAndTokenFlags) {
  const agentgym::testing::TestCertificates& certs = agentgym::testing::TestCertificates::Get();
  if (!certs.ok()) GTEST_SKIP() << "openssl could not make test certificates";
  metrics::Registry metrics;
  auto server = CoordinatorServer::Start(TlsWithTokenOptions(certs), Clock::Real(), &metrics);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string address = (*server)->address();
  Result ok = Ctl({"--coordinator", address, "--tls-ca", certs["ca.pem"], "--token-file", certs["token"], "status"});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("textcraft"), std::string::npos) << ok.out;
  Result no_token = Ctl({"--coordinator", address, "--tls-ca", certs["ca.pem"], "status"});
  EXPECT_NE(no_token.code, 0);
  EXPECT_NE(no_token.err.find("bearer token"), std::string::npos) << no_token.err;
  Result wrong = Ctl({"--coordinator", address, "--tls-ca", certs["ca.pem"], "--token-file", certs["wrong-token"],
                      "status"});
  EXPECT_NE(wrong.code, 0);
  EXPECT_EQ(wrong.err.find("wrong-token"), std::string::npos) << wrong.err;
  Result plaintext = Ctl({"--coordinator", address, "--timeout-ms", "2000", "status"});
  EXPECT_NE(plaintext.code, 0);
  Result token_only = Ctl({"--coordinator", address, "--token-file", certs["token"], "status"});
  EXPECT_EQ(token_only.code, 2) << token_only.err;
  EXPECT_NE(token_only.err.find("needs TLS"), std::string::npos) << token_only.err;
  (*server)->Shutdown();

  // Beyond loopback without TLS and a token: refused with the reason.
  CoordinatorServerOptions open = Options();
  open.listen = "0.0.0.0:0";
  auto refused = CoordinatorServer::Start(open, Clock::Real(), &metrics);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
}

// The components' coordinator client (actor, learner, env server) against
// the same TLS + token coordinator.
TEST(CtlSecurityTest, CoordinatorClientRegistersOnlyWithTheToken) {
  const agentgym::testing::TestCertificates& certs = agentgym::testing::TestCertificates::Get();
  if (!certs.ok()) GTEST_SKIP() << "openssl could not make test certificates";
  metrics::Registry metrics;
  auto server = CoordinatorServer::Start(TlsWithTokenOptions(certs), Clock::Real(), &metrics);
  ASSERT_TRUE(server.ok()) << server.status();
  CoordinatorClientOptions co;
  co.coordinator = (*server)->address();
  co.registration.set_role(pb::ROLE_ACTOR);
  co.connect_timeout = absl::Seconds(5);
  co.security.tls_ca_file = certs["ca.pem"];
  co.security.token_file = certs["token"];
  auto client = CoordinatorClient::Connect(co);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_FALSE((*client)->component_id().empty());
  (*client)->Close();
  co.security.token_file = certs["wrong-token"];
  auto refused = CoordinatorClient::Connect(co);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  co.security.tls_ca_file.clear();  // a token without TLS: refused before any call
  EXPECT_EQ(CoordinatorClient::Connect(co).status().code(), absl::StatusCode::kInvalidArgument);
  (*server)->Shutdown();
}

}  // namespace
}  // namespace agentgym::scheduler
