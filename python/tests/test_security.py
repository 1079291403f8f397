"""TLS, mutual TLS and the bearer token on a Python env server, with
certificates openssl makes here (skipped without openssl): the right token
is served, a missing or wrong one is UNAUTHENTICATED, a plaintext client
against a TLS server fails cleanly, mutual TLS needs the client certificate,
and every unsafe or broken setup is refused before anything listens."""

import os
import shutil
import subprocess
import tempfile
import unittest

import grpc

import agentgym_env
from agentgym_env import SecurityOptions, Start, StepResult, TaskType
from agentgym_env import _stubs

pb = _stubs.env_pb2
TOKEN = "s3cret-token-for-the-test"


class TinyEnv(agentgym_env.Env):
    name = "tiny"
    action_format = "anything"
    max_turns = 2
    task_types = (TaskType("t", train_count=2, test_count=1),)

    def reset(self, task, seed):
        return Start("tiny", "go")

    def step(self, action):
        return StepResult("ok", reward=1.0, done=True, success=True)


def make_certificates(d):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=60)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "node.key",
        "-out", "node.csr")
    with open(os.path.join(d, "node.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                "extendedKeyUsage=serverAuth,clientAuth\n")
    run("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "node.ext", "-out", "node.pem")
    with open(os.path.join(d, "token"), "w") as f:
        f.write(TOKEN + "\n")


def read(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


@unittest.skipUnless(shutil.which("openssl"), "no openssl to make the test certificates")
class SecurityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="agentgym-py-tls-")
        make_certificates(cls.dir)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def options(self, **kw):
        o = SecurityOptions(tls_cert_file=self.path("node.pem"), tls_key_file=self.path("node.key"),
                            token_file=self.path("token"))
        for k, v in kw.items():
            setattr(o, k, v)
        return o

    def list_envs(self, server, token=TOKEN, client_cert=False, tls=True):
        if tls:
            creds = grpc.ssl_channel_credentials(
                read(self.dir, "ca.pem"),
                private_key=read(self.dir, "node.key") if client_cert else None,
                certificate_chain=read(self.dir, "node.pem") if client_cert else None)
            channel = grpc.secure_channel(server.address, creds)
        else:
            channel = grpc.insecure_channel(server.address)
        with channel:
            stub = _stubs.env_pb2_grpc.EnvStub(channel)
            metadata = [("authorization", f"Bearer {token}")] if token else None
            return stub.ListEnvs(pb.ListEnvsRequest(), timeout=10, metadata=metadata)

    def code_of(self, call):
        with self.assertRaises(grpc.RpcError) as caught:
            call()
        return caught.exception.code(), caught.exception.details()

    def test_token_is_needed_and_checked(self):
        with agentgym_env.EnvServer([TinyEnv], security=self.options()) as server:
            self.assertEqual([e.name for e in self.list_envs(server).envs], ["tiny"])
            code, details = self.code_of(lambda: self.list_envs(server, token=None))
            self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
            self.assertIn("needs a bearer token", details)
            code, details = self.code_of(lambda: self.list_envs(server, token="wrong"))
            self.assertEqual(code, grpc.StatusCode.UNAUTHENTICATED)
            self.assertEqual(details, "wrong bearer token")

    def test_refusal_is_logged_without_the_token(self):
        with agentgym_env.EnvServer([TinyEnv], security=self.options()) as server:
            with self.assertLogs("agentgym_env.security", level="WARNING") as logs:
                self.code_of(lambda: self.list_envs(server, token="not-" + TOKEN))
            text = "\n".join(logs.output)
            self.assertIn("a wrong bearer token", text)
            self.assertNotIn(TOKEN, text)

    def test_plaintext_client_against_tls_server_fails_cleanly(self):
        with agentgym_env.EnvServer([TinyEnv], security=self.options()) as server:
            code, _ = self.code_of(lambda: self.list_envs(server, tls=False))
            self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)

    def test_mutual_tls_needs_the_client_certificate(self):
        o = self.options(tls_client_ca_file=self.path("ca.pem"))
        with agentgym_env.EnvServer([TinyEnv], security=o) as server:
            self.assertEqual(len(self.list_envs(server, client_cert=True).envs), 1)
            code, _ = self.code_of(lambda: self.list_envs(server, client_cert=False))
            self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)

    def test_unsafe_or_broken_setups_are_refused_before_listening(self):
        cases = [
            (SecurityOptions(tls_cert_file=self.path("node.pem")), "127.0.0.1:0", "--tls-key"),
            (SecurityOptions(token_file=self.path("token")), "127.0.0.1:0", "needs TLS"),
            (SecurityOptions(tls_client_ca_file=self.path("ca.pem")), "127.0.0.1:0", "needs TLS"),
            (SecurityOptions(), "0.0.0.0:0", "refusing to listen on 0.0.0.0:0"),
            (SecurityOptions(tls_cert_file=self.path("node.pem"), tls_key_file=self.path("node.key")),
             "0.0.0.0:0", "without TLS and a token"),
            (self.options(token_file=self.path("missing-token")), "127.0.0.1:0", "missing-token"),
            (self.options(tls_cert_file=os.devnull), "127.0.0.1:0", "is empty"),
        ]
        for security, listen, says in cases:
            with self.subTest(listen=listen, says=says):
                with self.assertRaises(ValueError) as caught:
                    agentgym_env.EnvServer([TinyEnv], listen=listen, security=security)
                self.assertIn(says, str(caught.exception))

    def test_command_line_takes_the_flags(self):
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples",
                               "number_guess_env.py")
        import sys
        proc = subprocess.run([sys.executable, example, "--listen", "127.0.0.1:0",
                               "--token-file", self.path("token")],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertNotIn("Traceback", proc.stderr)
        self.assertIn("needs TLS", proc.stderr)


if __name__ == "__main__":
    unittest.main()
