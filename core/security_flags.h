#ifndef AGENTGYM_CORE_SECURITY_FLAGS_H_
#define AGENTGYM_CORE_SECURITY_FLAGS_H_

// The same TLS and token flags on every agentgym server and client binary
// (see core/grpc_security.h for what they do).

#include "CLI/CLI.hpp"
#include "core/grpc_security.h"

namespace agentgym {

inline void AddServerSecurityFlags(CLI::App& app, ServerSecurityOptions* s) {
  app.add_option("--tls-cert", s->tls_cert_file, "serve TLS with this PEM certificate (with --tls-key)");
  app.add_option("--tls-key", s->tls_key_file, "the PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", s->tls_client_ca_file,
                 "mutual TLS: clients must present a certificate signed by this PEM CA");
  app.add_option("--token-file", s->token_file,
                 "calls must carry 'authorization: Bearer <first line of this file>' (needs TLS)");
  app.add_flag("--allow-insecure-remote", s->allow_insecure_remote,
               "listen beyond loopback without TLS and a token (logs a warning)");
}

inline void AddClientSecurityFlags(CLI::App& app, ClientSecurityOptions* c) {
  app.add_option("--tls-ca", c->tls_ca_file, "connect with TLS, trusting this PEM CA");
  app.add_option("--tls-cert", c->tls_cert_file, "mutual TLS: this PEM client certificate (with --tls-key)");
  app.add_option("--tls-key", c->tls_key_file, "the PEM private key of --tls-cert");
  app.add_option("--token-file", c->token_file, "send the first line of this file as a bearer token (needs TLS)");
  app.add_option("--tls-server-name", c->tls_server_name,
                 "the name the server's certificate carries, when it is not the address dialled");
}

// A server binary that also dials out (to the coordinator) takes the CA of
// its peers; it presents its own --tls-cert/--tls-key and --token-file
// there (PeerClientSecurity).
struct PeerSecurityFlags {
  std::string tls_ca;
  std::string tls_server_name;

  ClientSecurityOptions For(const ServerSecurityOptions& own) const {
    return PeerClientSecurity(own, tls_ca, tls_server_name);
  }
};

inline void AddPeerSecurityFlags(CLI::App& app, PeerSecurityFlags* p) {
  app.add_option("--peer-tls-ca", p->tls_ca,
                 "dial other services (env servers and learners: the coordinator; the coordinator: "
                 "env servers) over TLS trusting this PEM CA, presenting --tls-cert/--tls-key and "
                 "--token-file");
  app.add_option("--peer-tls-server-name", p->tls_server_name,
                 "the name the peers' certificates carry, when it is not the address dialled");
}

}  // namespace agentgym

#endif  // AGENTGYM_CORE_SECURITY_FLAGS_H_
