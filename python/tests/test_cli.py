"""The SDK's command line through the real process (the example env run by
this interpreter, Debian's /usr/bin/python3 under ctest): bad input gets a
clear message and an exit code != 0, never a traceback, a hang or a silently
different port; a failure after the server started stops it."""

import os
import socket
import subprocess
import sys
import unittest

import agentgym_env

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples",
                       "number_guess_env.py")
# Far above what a failing start-up takes; only a hung process reaches it.
HANG_S = 60


def run_example(*args):
    try:
        return subprocess.run([sys.executable, EXAMPLE, "--log-level", "warning", *args],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=HANG_S)
    except subprocess.TimeoutExpired as e:  # run() has killed it
        raise AssertionError(f"{args} hung instead of exiting; it printed: "
                             f"{e.stdout!r} {e.stderr!r}") from None


class CliTest(unittest.TestCase):
    def assertRefused(self, *args, says):
        proc = run_example(*args)
        self.assertNotEqual(proc.returncode, 0, f"{args} was accepted: {proc.stdout}")
        self.assertNotIn("Traceback", proc.stderr)
        self.assertNotIn("listening on", proc.stdout)
        self.assertIn(says, proc.stderr)
        return proc

    def test_non_finite_and_out_of_range_numbers_are_refused(self):
        for value in ("nan", "inf", "-1", "0", "1e300"):
            with self.subTest(value=value):
                self.assertRefused("--listen", "127.0.0.1:0", "--session-ttl-s", value,
                                   says="session_ttl_s must be")
        self.assertRefused("--listen", "127.0.0.1:0", "--max-sessions", "0",
                           says="max_sessions must be")
        self.assertRefused("--listen", "127.0.0.1:0", "--workers", "-3", says="workers must be")

    def test_ports_outside_0_to_65535_are_refused(self):
        for listen in ("127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:",
                       ":50051", "127.0.0.1"):
            with self.subTest(listen=listen):
                self.assertRefused("--listen", listen, says="--listen")

    def test_an_address_that_cannot_be_bound_is_a_clear_error(self):
        # 1.2.3.4 is on no interface here: bind() fails with EADDRNOTAVAIL
        # (no packet is sent).
        # Without TLS and a token a non-loopback address is refused first;
        # --allow-insecure-remote gets as far as the bind.
        self.assertRefused("--listen", "1.2.3.4:5", says="refusing to listen on 1.2.3.4:5")
        self.assertRefused("--listen", "1.2.3.4:5", "--allow-insecure-remote",
                           says="error: cannot listen on '1.2.3.4:5'")
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            address = f"127.0.0.1:{taken.getsockname()[1]}"
            self.assertRefused("--listen", address, says=f"error: cannot listen on '{address}'")

    def test_a_failure_after_start_stops_the_server(self):
        # The port file is written once serving; a bad path must stop the
        # started server (RPC and reaper threads) so that the process exits.
        self.assertRefused("--listen", "127.0.0.1:0", "--port-file", "/nonexistent-dir/port",
                           says="error:")

    def test_a_bad_log_level_is_refused(self):
        self.assertRefused("--listen", "127.0.0.1:0", "--log-level", "loud",
                           says="--log-level 'loud'")


class ServerArgumentsTest(unittest.TestCase):
    """EnvServer checks everything before it starts a thread."""

    def test_bad_arguments_raise_value_error(self):
        env = type("E", (agentgym_env.Env,), {"name": "e", "reset": lambda *a: ("i", "o"),
                                               "step": lambda *a: ("o", 0.0, True, False)})
        for kwargs in ({"session_ttl_s": float("nan")}, {"reap_interval_s": float("inf")},
                       {"max_action_bytes": 0}, {"max_batch_items": -1},
                       {"max_message_bytes": 1 << 40}, {"listen": "127.0.0.1:70000"},
                       {"listen": "nohost"}, {"workers": 2.5}):
            with self.subTest(**{k: str(v) for k, v in kwargs.items()}):
                with self.assertRaises(ValueError):
                    agentgym_env.EnvServer([env], **kwargs)

    def test_parse_listen(self):
        parse = agentgym_env.server.parse_listen
        self.assertEqual(parse("127.0.0.1:0"), ("127.0.0.1", 0))
        self.assertEqual(parse("[::1]:65535"), ("[::1]", 65535))
        for bad in ("[]:1", "h:１２", "h:123456", "h:+1", "h: 1"):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                parse(bad)


if __name__ == "__main__":
    unittest.main()
