#include "core/grpc_security.h"

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/logging.h"
#include "core/net_address.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/support/channel_arguments.h"
#include "openssl/crypto.h"

namespace agentgym {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read the ", what, " ", path));
  std::stringstream s;
  s << in.rdbuf();
  if (s.str().empty()) return absl::InvalidArgumentError(absl::StrCat("the ", what, " ", path, " is empty"));
  return s.str();
}

// Checks "authorization: Bearer <token>" on every call. Runs on gRPC's
// threads; the token is compared in constant time.
class BearerTokenProcessor : public grpc::AuthMetadataProcessor {
 public:
  explicit BearerTokenProcessor(std::string token) : expected_(absl::StrCat("Bearer ", token)) {}

  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext*, OutputMetadata* consumed,
                       OutputMetadata*) override {
    auto it = auth_metadata.find("authorization");
    if (it == auth_metadata.end()) {
      Log("no authorization metadata");
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "this server needs a bearer token (--token-file)");
    }
    const std::string got(it->second.data(), it->second.size());
    if (got.size() != expected_.size() || CRYPTO_memcmp(got.data(), expected_.data(), got.size()) != 0) {
      Log(absl::StartsWith(got, "Bearer ") ? "a wrong bearer token" : "an authorization that is not a bearer token");
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong bearer token");
    }
    consumed->insert({std::string(it->first.data(), it->first.size()), got});
    return grpc::Status::OK;
  }

 private:
  static void Log(const std::string& what) {
    GetLogger("security")->warn("refused a call with {} (UNAUTHENTICATED)", what);
  }
  const std::string expected_;
};

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the token file ", path));
  std::string token;
  std::getline(in, token);
  absl::StripTrailingAsciiWhitespace(&token);
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat("the token file ", path, " is empty"));
  return token;
}

bool IsLoopbackListen(const std::string& listen) {
  absl::StatusOr<HostPort> hp = ParseHostPort(listen);
  if (!hp.ok()) return false;
  const std::string host = absl::AsciiStrToLower(hp->host);
  return host == "localhost" || host == "::1" || host == "[::1]" || absl::StartsWith(host, "127.");
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerSecurityOptions& o, const std::string& listen) {
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return absl::InvalidArgumentError("TLS needs both a certificate (--tls-cert) and its key (--tls-key)");
  }
  if (!o.tls() && !o.tls_client_ca_file.empty()) {
    return absl::InvalidArgumentError("a client CA (--tls-client-ca) needs TLS: give --tls-cert and --tls-key");
  }
  if (!o.tls() && !o.token_file.empty()) {
    return absl::InvalidArgumentError(
        "a token (--token-file) needs TLS (--tls-cert, --tls-key): a bearer token sent in the clear is readable "
        "by anyone on the path");
  }
  if (!IsLoopbackListen(listen) && !(o.tls() && !o.token_file.empty())) {
    if (!o.allow_insecure_remote) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing to listen on ", listen, " without TLS and a token: anyone who can reach the port could use "
          "the service. Listen on 127.0.0.1, give --tls-cert/--tls-key and --token-file, or pass "
          "--allow-insecure-remote on a network you trust"));
    }
    GetLogger("security")->warn("listening on {} without {}: anyone who can reach the port can use this service",
                                listen, o.tls() ? "a token" : "TLS and a token");
  }
  if (!o.tls()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(o.tls_client_ca_file.empty()
                                            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  auto cert = ReadPem(o.tls_cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(o.tls_key_file, "TLS key");
  if (!key.ok()) return key.status();
  pair.cert_chain = *cert;
  pair.private_key = *key;
  ssl.pem_key_cert_pairs.push_back(pair);
  if (!o.tls_client_ca_file.empty()) {
    auto ca = ReadPem(o.tls_client_ca_file, "client CA");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
  }
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::SslServerCredentials(ssl);
  if (!o.token_file.empty()) {
    auto token = ReadTokenFile(o.token_file);
    if (!token.ok()) return absl::InvalidArgumentError(token.status().message());
    creds->SetAuthMetadataProcessor(std::make_shared<BearerTokenProcessor>(*token));
  }
  return creds;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const ClientSecurityOptions& o) {
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return absl::InvalidArgumentError("a client certificate needs both --tls-cert and --tls-key");
  }
  if (!o.tls() && (!o.tls_cert_file.empty() || !o.token_file.empty())) {
    return absl::InvalidArgumentError(
        "a client certificate or a token (--token-file) needs TLS: give the CA that signed the server's "
        "certificate (--tls-ca)");
  }
  if (!o.tls()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  auto ca = ReadPem(o.tls_ca_file, "TLS CA");
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *ca;
  if (!o.tls_cert_file.empty()) {
    auto cert = ReadPem(o.tls_cert_file, "client certificate");
    if (!cert.ok()) return cert.status();
    auto key = ReadPem(o.tls_key_file, "client key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *cert;
    ssl.pem_private_key = *key;
  }
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::SslCredentials(ssl);
  if (!o.token_file.empty()) {
    auto token = ReadTokenFile(o.token_file);
    if (!token.ok()) return absl::InvalidArgumentError(token.status().message());
    creds = grpc::CompositeChannelCredentials(creds, grpc::AccessTokenCredentials(*token));
  }
  return creds;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateSecureChannel(const std::string& target,
                                                                   const ClientSecurityOptions& options,
                                                                   grpc::ChannelArguments args) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = MakeChannelCredentials(options);
  if (!credentials.ok()) return credentials.status();
  ApplyClientSecurityArgs(options, &args);
  return grpc::CreateCustomChannel(target, *credentials, args);
}

ClientSecurityOptions PeerClientSecurity(const ServerSecurityOptions& own, const std::string& peer_ca,
                                         const std::string& peer_server_name) {
  ClientSecurityOptions c;
  if (peer_ca.empty()) return c;
  c.tls_ca_file = peer_ca;
  c.tls_server_name = peer_server_name;
  c.tls_cert_file = own.tls_cert_file;
  c.tls_key_file = own.tls_key_file;
  c.token_file = own.token_file;
  return c;
}

void ApplyClientSecurityArgs(const ClientSecurityOptions& o, grpc::ChannelArguments* args) {
  if (o.tls() && !o.tls_server_name.empty()) args->SetSslTargetNameOverride(o.tls_server_name);
}

}  // namespace agentgym
