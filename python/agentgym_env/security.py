"""TLS, mutual TLS and a bearer token for Python env servers, with the same
rules and messages as the C++ servers (core/grpc_security.h):

- a certificate needs its key; a client CA or a token needs TLS (a bearer
  token sent in the clear is readable by anyone on the path);
- a non-loopback address needs TLS and a token, unless allow_insecure_remote
  (then a warning is logged);
- a call without "authorization: Bearer <token>", or with another token, gets
  UNAUTHENTICATED; the refusal is logged without the token.

Files are read once, when the server is built; ValueError names a file that
cannot be read or is empty.
"""

import hmac
import logging
from dataclasses import dataclass
from typing import List, Optional, Tuple

import grpc

log = logging.getLogger("agentgym_env.security")


@dataclass
class SecurityOptions:
    tls_cert_file: Optional[str] = None      # PEM; with tls_key_file: TLS
    tls_key_file: Optional[str] = None
    tls_client_ca_file: Optional[str] = None  # set: clients need a certificate it signed
    token_file: Optional[str] = None          # set: calls need this bearer token
    allow_insecure_remote: bool = False       # listen beyond loopback without TLS + token

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert_file)


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ValueError(f"cannot read the {what} {path}: {e.strerror}") from None
    if not data.strip():
        raise ValueError(f"the {what} {path} is empty")
    return data


def read_token_file(path: str) -> str:
    """The file's first line without trailing whitespace."""
    token = _read(path, "token file").decode("utf-8", "replace").splitlines()[0].rstrip()
    if not token:
        raise ValueError(f"the token file {path} is empty")
    return token


def is_loopback_listen(host: str) -> bool:
    h = host.lower()
    return h in ("localhost", "::1", "[::1]") or h.startswith("127.")


class BearerTokenInterceptor(grpc.ServerInterceptor):
    """Refuses every call whose "authorization" metadata is not
    "Bearer <token>" (compared in constant time)."""

    def __init__(self, token: str):
        self._expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation, details):
        got = None
        for key, value in details.invocation_metadata or ():
            if key == "authorization":
                got = value.encode() if isinstance(value, str) else value
                break
        if got is not None and hmac.compare_digest(got, self._expected):
            return continuation(details)
        if got is None:
            why, message = "no authorization metadata", "this server needs a bearer token (--token-file)"
        else:
            why = "a wrong bearer token" if got.startswith(b"Bearer ") else \
                "an authorization that is not a bearer token"
            message = "wrong bearer token"
        log.warning("refused a call to %s with %s (UNAUTHENTICATED)", details.method, why)
        return _refusal(continuation(details), message)


def _refusal(handler, message: str):
    """A handler of the same streaming kind as `handler` that aborts."""
    def abort(_request_or_iterator, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    if handler is None or (not handler.request_streaming and not handler.response_streaming):
        return grpc.unary_unary_rpc_method_handler(abort)
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(abort)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(abort)
    return grpc.unary_stream_rpc_method_handler(abort)


def server_security(options: SecurityOptions, listen_host: str, listen: str
                    ) -> Tuple[Optional[grpc.ServerCredentials], List[grpc.ServerInterceptor]]:
    """Checks `options` for a server on `listen` and returns its credentials
    (None: plaintext) and interceptors. ValueError as the C++ servers say it."""
    o = options
    if bool(o.tls_cert_file) != bool(o.tls_key_file):
        raise ValueError("TLS needs both a certificate (--tls-cert) and its key (--tls-key)")
    if not o.tls and o.tls_client_ca_file:
        raise ValueError("a client CA (--tls-client-ca) needs TLS: give --tls-cert and --tls-key")
    if not o.tls and o.token_file:
        raise ValueError("a token (--token-file) needs TLS (--tls-cert, --tls-key): a bearer token "
                         "sent in the clear is readable by anyone on the path")
    if not is_loopback_listen(listen_host) and not (o.tls and o.token_file):
        if not o.allow_insecure_remote:
            raise ValueError(
                f"refusing to listen on {listen} without TLS and a token: anyone who can reach "
                "the port could use the service. Listen on 127.0.0.1, give --tls-cert/--tls-key "
                "and --token-file, or pass --allow-insecure-remote on a network you trust")
        log.warning("listening on %s without %s: anyone who can reach the port can use this "
                    "service", listen, "a token" if o.tls else "TLS and a token")
    interceptors: List[grpc.ServerInterceptor] = []
    if o.token_file:
        interceptors.append(BearerTokenInterceptor(read_token_file(o.token_file)))
    if not o.tls:
        return None, interceptors
    pair = (_read(o.tls_key_file, "TLS key"), _read(o.tls_cert_file, "TLS certificate"))
    client_ca = _read(o.tls_client_ca_file, "client CA") if o.tls_client_ca_file else None
    credentials = grpc.ssl_server_credentials([pair], root_certificates=client_ca,
                                              require_client_auth=client_ca is not None)
    return credentials, interceptors
