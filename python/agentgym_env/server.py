"""Serving Python envs: EnvServer (start/stop from code and tests) and serve()
/ main() for env scripts.

    class MyEnv(agentgym_env.Env): ...
    if __name__ == "__main__":
        agentgym_env.main([MyEnv])   # --listen, --port-file, limits as flags
"""

import argparse
import logging
import math
import os
import signal
import sys
import threading
from concurrent import futures
from typing import Optional, Sequence, Tuple

import grpc

from agentgym_env import _stubs
from agentgym_env.health import HealthService
from agentgym_env.security import SecurityOptions, server_security
from agentgym_env.service import EnvService, close_session
from agentgym_env.sessions import SessionStore

log = logging.getLogger("agentgym_env")


def parse_listen(address: str) -> Tuple[str, int]:
    """Splits "host:port" (or "[v6]:port") into (host, port). ValueError unless
    there is a host and the port is a decimal number in 0..65535 (0 picks a
    free port): gRPC itself would silently wrap 99999 to 34463."""
    host, sep, digits = address.rpartition(":")
    bare = host[1:-1] if len(host) >= 2 and host[0] == "[" and host[-1] == "]" else host
    if not sep or not bare:
        raise ValueError(f"address '{address}' must look like host:port")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 5 and int(digits) <= 65535):
        raise ValueError(f"address '{address}' has a bad port (want 0..65535)")
    return host, int(digits)


_MAX_TTL_S = 1e9  # ~31 years; keeps the TTL in milliseconds within int64


def _check_positive(**values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0 (got {value!r})")


class EnvServer:
    """Serves `envs` (Env subclasses) over the Env contract plus gRPC health.

    A thread pool of `workers` runs RPCs (sessions step in parallel; one
    session's steps are serialized); a reaper thread reclaims sessions idle for
    longer than their TTL. stop() shuts down gracefully and joins the reaper.

    Every argument is checked in the constructor (ValueError; OSError when the
    address cannot be bound), which starts no thread; start() either serves or
    raises with nothing left running.

    `security` (agentgym_env.security) adds TLS, mutual TLS and a bearer token;
    without it the server is plaintext and, like the C++ servers, refuses a
    non-loopback address.
    """

    def __init__(self, envs: Sequence[type], listen: str = "127.0.0.1:0",
                 max_sessions: int = 4096, session_ttl_s: float = 600.0,
                 max_action_bytes: int = 64 * 1024, max_batch_items: int = 4096,
                 workers: int = 16, reap_interval_s: Optional[float] = None,
                 max_message_bytes: int = 64 << 20, security: Optional[SecurityOptions] = None):
        _check_positive(max_sessions=max_sessions, session_ttl_s=session_ttl_s,
                        max_action_bytes=max_action_bytes, max_batch_items=max_batch_items,
                        workers=workers, max_message_bytes=max_message_bytes)
        if reap_interval_s is not None:
            _check_positive(reap_interval_s=reap_interval_s)
        if session_ttl_s > _MAX_TTL_S:
            raise ValueError(f"session_ttl_s must be at most {_MAX_TTL_S:g} "
                             f"(got {session_ttl_s!r})")
        for name, value in (("max_sessions", max_sessions), ("max_action_bytes", max_action_bytes),
                            ("max_batch_items", max_batch_items), ("workers", workers),
                            ("max_message_bytes", max_message_bytes)):
            if not isinstance(value, int) or value >= 1 << 31:
                raise ValueError(f"{name} must be an integer below 2^31 (got {value!r})")
        self.host, _ = parse_listen(listen)
        credentials, interceptors = server_security(security or SecurityOptions(), self.host, listen)
        self.sessions = SessionStore(max_sessions, session_ttl_s)
        self.service = EnvService(envs, self.sessions, max_action_bytes, max_batch_items)
        # Built once here so that anything wrong with the description fails
        # before a thread starts.
        self._env_names = ", ".join(e.name for e in self.service.list_envs().envs)
        self.health = HealthService()
        self._reap_interval = reap_interval_s or min(1.0, session_ttl_s / 2)
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap_loop, name="agentgym-reaper")
        opts = [("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.so_reuseport", 0)]
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers,
                                                              thread_name_prefix="agentgym-rpc"),
                                   options=opts, interceptors=interceptors)
        _stubs.env_pb2_grpc.add_EnvServicer_to_server(self.service, self._server)
        _stubs.health_pb2_grpc.add_HealthServicer_to_server(self.health, self._server)
        try:
            self.port = (self._server.add_insecure_port(listen) if credentials is None
                         else self._server.add_secure_port(listen, credentials))
        except RuntimeError:  # grpcio raises this when the bind fails
            self.port = 0
        if self.port == 0:
            self._server.stop(None)
            raise OSError(f"cannot listen on '{listen}' (the address is not local, "
                          "or the port is taken)")
        self._started = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> "EnvServer":
        self._started = True
        try:
            self._server.start()
            self._reaper.start()
        except BaseException:
            self.stop(grace_s=0)
            raise
        log.info("serving envs [%s] on %s", self._env_names, self.address)
        return self

    def _reap_loop(self) -> None:
        while not self._stop.wait(self._reap_interval):
            idle = self.sessions.evict_idle()
            for session in idle:
                close_session(session)
            if idle:
                log.info("reclaimed %d idle sessions (%d open)", len(idle), len(self.sessions))

    def stop(self, grace_s: float = 5.0) -> None:
        if not self._started:
            return
        self._started = False
        self.health.stop()
        self._server.stop(grace_s).wait()
        self._stop.set()
        if self._reaper.is_alive():
            self._reaper.join()
        for session in self.sessions.drain():
            close_session(session)

    def wait(self) -> None:
        self._server.wait_for_termination()

    def __enter__(self) -> "EnvServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop(grace_s=0)


def serve(envs: Sequence[type], port: int = 0, host: str = "127.0.0.1",
          port_file: Optional[str] = None, **options) -> None:
    """Serves until SIGTERM/SIGINT. Prints "listening on HOST:PORT" once ready
    (port 0 picks a free port) and writes the port to `port_file` if given."""
    server = EnvServer(envs, listen=f"{host}:{port}", **options)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    server.start()
    try:  # whatever fails from here on (e.g. the port file) stops the server
        if port_file:  # a temporary, then renamed: a reader never sees it partial
            with open(port_file + ".tmp", "w") as f:
                f.write(f"{server.port}\n")
            os.replace(port_file + ".tmp", port_file)
        print(f"listening on {server.address}", flush=True)
        done.wait()
        log.info("signal received: shutting down")
    finally:
        server.stop()


def main(envs: Sequence[type], argv: Optional[Sequence[str]] = None) -> int:
    """A command line for an env script: flags mirror agentgym-env-server's."""
    p = argparse.ArgumentParser(description="Serve " + ", ".join(e.name for e in envs) +
                                " over the agentgym Env gRPC contract")
    p.add_argument("--listen", default="127.0.0.1:50051",
                   help="host:port to serve on; port 0 picks a free port")
    p.add_argument("--port-file", help="write the bound port here once serving")
    p.add_argument("--max-sessions", type=int, default=4096)
    p.add_argument("--session-ttl-s", type=float, default=600.0)
    p.add_argument("--max-action-bytes", type=int, default=64 * 1024)
    p.add_argument("--workers", type=int, default=16, help="RPC threads")
    p.add_argument("--log-level", default="info")
    p.add_argument("--tls-cert", help="serve TLS with this PEM certificate (with --tls-key)")
    p.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    p.add_argument("--tls-client-ca",
                   help="mutual TLS: clients must present a certificate signed by this PEM CA")
    p.add_argument("--token-file", help="calls must carry 'authorization: Bearer <first line of "
                                        "this file>' (needs TLS)")
    p.add_argument("--allow-insecure-remote", action="store_true",
                   help="listen beyond loopback without TLS and a token (logs a warning)")
    a = p.parse_args(argv)
    if not isinstance(logging.getLevelName(a.log_level.upper()), int):
        p.error(f"--log-level '{a.log_level}' must be debug, info, warning, error or critical")
    logging.basicConfig(level=a.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        host, port = parse_listen(a.listen)
    except ValueError as e:
        p.error(f"--listen: {e}")
    try:
        serve(envs, port=port, host=host, port_file=a.port_file,
              max_sessions=a.max_sessions, session_ttl_s=a.session_ttl_s,
              max_action_bytes=a.max_action_bytes, workers=a.workers,
              security=SecurityOptions(a.tls_cert, a.tls_key, a.tls_client_ca, a.token_file,
                                       a.allow_insecure_remote))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
