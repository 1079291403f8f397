// TLS, mutual TLS and bearer tokens on the env server and its client
// (core/grpc_security.h), with certificates made in the test by openssl
// (tests/common/test_certificates.h).
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "env_server/client/env_client.h"
#include "env_server/env_server.h"
#include "env_server/testing/counter_env.h"
#include "gtest/gtest.h"
#include "tests/common/test_certificates.h"

namespace agentgym::env {
namespace {

const agentgym::testing::TestCertificates& Certs() { return agentgym::testing::TestCertificates::Get(); }

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Certs().ok()) GTEST_SKIP() << "openssl could not make test certificates";
  }

  absl::StatusOr<std::unique_ptr<EnvServer>> Serve(ServerSecurityOptions security,
                                                   const std::string& listen = "127.0.0.1:0") {
    EnvServerOptions options;
    options.listen = listen;
    options.security = std::move(security);
    std::map<std::string, std::unique_ptr<Environment>> envs;
    envs.emplace("counter", testing::MakeCounterEnv());
    return EnvServer::StartWithEnvs(options, std::move(envs));
  }

  // ListEnvs through a client with these settings; the status it got.
  absl::Status Call(const EnvServer& server, ClientSecurityOptions security) {
    EnvClientOptions o;
    o.target = absl::StrCat("127.0.0.1:", server.port());
    o.security = std::move(security);
    o.timeout = absl::Seconds(5);
    o.max_attempts = 1;
    auto client = EnvClient::Create(o);
    if (!client.ok()) return client.status();
    return (*client)->ListEnvs().status();
  }

  static ServerSecurityOptions TlsWithToken() {
    ServerSecurityOptions s;
    s.tls_cert_file = Certs()["server.pem"];
    s.tls_key_file = Certs()["server.key"];
    s.token_file = Certs()["token"];
    return s;
  }
  static ClientSecurityOptions ClientTls(const std::string& token = "") {
    ClientSecurityOptions c;
    c.tls_ca_file = Certs()["ca.pem"];
    if (!token.empty()) c.token_file = Certs()[token];
    return c;
  }
};

TEST_F(SecurityTest, TheRightTokenIsAcceptedAMissingOrWrongOneIsUnauthenticated) {
  auto server = Serve(TlsWithToken());
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(Call(**server, ClientTls("token")).ok()) << Call(**server, ClientTls("token"));
  absl::Status missing = Call(**server, ClientTls());
  EXPECT_EQ(missing.code(), absl::StatusCode::kUnauthenticated) << missing;
  absl::Status wrong = Call(**server, ClientTls("wrong-token"));
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated) << wrong;
  EXPECT_FALSE(absl::StrContains(wrong.message(), "wrong-token")) << wrong;  // never echoed
  // A plaintext client cannot talk to a TLS server: a clean UNAVAILABLE, no hang.
  absl::Status plain = Call(**server, ClientSecurityOptions{});
  EXPECT_EQ(plain.code(), absl::StatusCode::kUnavailable) << plain;
}

TEST_F(SecurityTest, MutualTlsNeedsAClientCertificateFromTheConfiguredCa) {
  ServerSecurityOptions s = TlsWithToken();
  s.tls_client_ca_file = Certs()["ca.pem"];
  auto server = Serve(s);
  ASSERT_TRUE(server.ok()) << server.status();
  ClientSecurityOptions c = ClientTls("token");
  EXPECT_EQ(Call(**server, c).code(), absl::StatusCode::kUnavailable);  // no client certificate
  c.tls_cert_file = Certs()["stranger.pem"];
  c.tls_key_file = Certs()["stranger.key"];
  EXPECT_EQ(Call(**server, c).code(), absl::StatusCode::kUnavailable);  // signed by another CA
  c.tls_cert_file = Certs()["client.pem"];
  c.tls_key_file = Certs()["client.key"];
  EXPECT_TRUE(Call(**server, c).ok()) << Call(**server, c);
}

TEST_F(SecurityTest, TlsWithoutATokenAndTheServerNameOverride) {
  ServerSecurityOptions s = TlsWithToken();
  s.token_file.clear();
  auto server = Serve(s);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE(Call(**server, ClientTls()).ok());
  ClientSecurityOptions c = ClientTls();
  c.tls_server_name = "not-the-server";  // the certificate does not name it
  EXPECT_EQ(Call(**server, c).code(), absl::StatusCode::kUnavailable);
}

TEST_F(SecurityTest, InsecureSetupsAreRefusedWithTheReason) {
  // Beyond loopback without TLS and a token: refused unless asked for.
  auto open = Serve(ServerSecurityOptions{}, "0.0.0.0:0");
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(open.status().message(), "--allow-insecure-remote")) << open.status();
  ServerSecurityOptions allowed;
  allowed.allow_insecure_remote = true;
  EXPECT_TRUE(Serve(allowed, "0.0.0.0:0").ok());
  EXPECT_TRUE(Serve(TlsWithToken(), "0.0.0.0:0").ok());

  ServerSecurityOptions token_only;
  token_only.token_file = Certs()["token"];
  EXPECT_TRUE(absl::StrContains(Serve(token_only).status().message(), "needs TLS"));
  ServerSecurityOptions half;
  half.tls_cert_file = Certs()["server.pem"];
  EXPECT_EQ(Serve(half).status().code(), absl::StatusCode::kInvalidArgument);
  ServerSecurityOptions empty_token = TlsWithToken();
  empty_token.token_file = Certs()["empty-token"];
  EXPECT_TRUE(absl::StrContains(Serve(empty_token).status().message(), "is empty"));
  ServerSecurityOptions missing = TlsWithToken();
  missing.tls_key_file = "/nonexistent/key.pem";
  EXPECT_TRUE(absl::StrContains(Serve(missing).status().message(), "/nonexistent/key.pem"));

  EnvClientOptions o;
  o.target = "127.0.0.1:1";
  o.security.token_file = Certs()["token"];  // a token without TLS
  EXPECT_EQ(EnvClient::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(LoopbackTest, OnlyLoopbackAddressesCount) {
  EXPECT_TRUE(IsLoopbackListen("127.0.0.1:0"));
  EXPECT_TRUE(IsLoopbackListen("127.1.2.3:50051"));
  EXPECT_TRUE(IsLoopbackListen("localhost:7070"));
  EXPECT_TRUE(IsLoopbackListen("[::1]:7070"));
  EXPECT_FALSE(IsLoopbackListen("0.0.0.0:7070"));
  EXPECT_FALSE(IsLoopbackListen("[::]:7070"));
  EXPECT_FALSE(IsLoopbackListen("10.0.0.5:7070"));
  EXPECT_FALSE(IsLoopbackListen("garbage"));
}

}  // namespace
}  // namespace agentgym::env
