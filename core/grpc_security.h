#ifndef AGENTGYM_CORE_GRPC_SECURITY_H_
#define AGENTGYM_CORE_GRPC_SECURITY_H_

// TLS and bearer-token auth for agentgym's gRPC servers and clients, in one
// place so every service and every client behaves the same.
//
// Server side: TLS with the server's certificate (and, with a client CA,
// mutual TLS: clients must present a certificate that CA signed), and a
// bearer token: every call must carry "authorization: Bearer <token>" in its
// metadata, else it fails with UNAUTHENTICATED, logged without the token.
// The token rides only on TLS (gRPC never sends call credentials over a
// plaintext channel, and a token sent in the clear is anyone's), so a token
// without TLS is a configuration error. Tokens come from files, never from a
// command line that other users can read with `ps`.
//
// Exposure: a server without TLS and a token listens on loopback only;
// binding any other address needs allow_insecure_remote, and logs a warning.
//
// Thread-safety: the functions are pure apart from reading the files; the
// credentials they return are gRPC's and thread-safe.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace agentgym {

struct ServerSecurityOptions {
  std::string tls_cert_file;       // PEM; with tls_key_file: TLS
  std::string tls_key_file;        // PEM
  std::string tls_client_ca_file;  // PEM; set: mutual TLS (clients need a cert it signed)
  std::string token_file;          // set: calls need "authorization: Bearer <its first line>"
  bool allow_insecure_remote = false;  // listen beyond loopback without TLS + token

  bool tls() const { return !tls_cert_file.empty(); }
};

struct ClientSecurityOptions {
  std::string tls_ca_file;    // PEM roots that signed the server's cert; set: TLS
  std::string tls_cert_file;  // PEM client cert, for mutual TLS
  std::string tls_key_file;
  std::string token_file;     // the bearer token to send (needs TLS)
  // The name the server's certificate must carry, when the address dialled
  // is not it (e.g. dialling 127.0.0.1 with a cert for "coordinator").
  std::string tls_server_name;

  bool tls() const { return !tls_ca_file.empty(); }
};

// What a server binary presents when it dials another service (an env
// server or learner registering with the coordinator): TLS trusting
// `peer_ca`, this server's own certificate as the client certificate (for a
// peer that asks for mutual TLS; such a certificate needs the clientAuth
// usage too) and this server's token. One CA and one token for the whole
// cluster is the model. Empty `peer_ca`: plaintext, nothing presented.
ClientSecurityOptions PeerClientSecurity(const ServerSecurityOptions& own, const std::string& peer_ca,
                                         const std::string& peer_server_name);

// The token's first line, trailing whitespace removed. NOT_FOUND when the
// file cannot be read, INVALID_ARGUMENT when it is empty.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

// Whether `listen` (host:port) binds loopback only (127.0.0.0/8, ::1,
// localhost).
bool IsLoopbackListen(const std::string& listen);

// Credentials for ServerBuilder::AddListeningPort(listen, ...).
// INVALID_ARGUMENT: half a TLS pair, a client CA or token without TLS, a
// non-loopback `listen` without TLS and a token (unless
// allow_insecure_remote), an unreadable or empty file (named).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerSecurityOptions& options, const std::string& listen);

// Credentials for grpc::CreateCustomChannel. Plaintext when nothing is set.
// INVALID_ARGUMENT for half a client cert pair, a token without TLS, or an
// unreadable or empty file (named).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientSecurityOptions& options);

// A channel to `target` with MakeChannelCredentials(options) and `args`
// (plus the server-name override). The credential errors above.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateSecureChannel(const std::string& target,
                                                                   const ClientSecurityOptions& options,
                                                                   grpc::ChannelArguments args = {});

// The channel argument that makes the client check the server's certificate
// against `tls_server_name` (empty: none needed).
void ApplyClientSecurityArgs(const ClientSecurityOptions& options, grpc::ChannelArguments* args);

}  // namespace agentgym

#endif  // AGENTGYM_CORE_GRPC_SECURITY_H_
