#!/usr/bin/python3
"""Test driver: starts servers that print "listening on HOST:PORT" (port 0 =
a free loopback port), runs a command against them, then stops them with
SIGTERM and requires a clean exit. Exits with the command's status (or 1).

    run_with_server.py --server 'agentgym-env-server --listen 127.0.0.1:0' \
        -- agentgym-env-check --target {0}

{0}, {1}, ... in later --server commands and in the command are replaced by
the addresses of the servers started before them.
"""

import argparse
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time

_LISTENING = re.compile(r"listening on (\S+:\d+)")


def start(cmd, timeout_s):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            stop(proc, 0)
            raise RuntimeError(f"no 'listening on' line within {timeout_s}s from {cmd}")
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server exited ({proc.wait()}) before listening: {cmd}")
        sys.stdout.write("[server] " + line)
        m = _LISTENING.search(line)
        if m:
            return proc, m.group(1)


def stop(proc, timeout_s=15):
    """SIGTERM, then SIGKILL of the whole process group; returns the exit code."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return -9
    return proc.returncode


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", action="append", default=[], help="server command line")
    p.add_argument("--start-timeout-s", type=float, default=60)
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    servers, addresses = [], []
    try:
        for cmd in a.server:
            proc, address = start(shlex.split(cmd.format(*addresses)), a.start_timeout_s)
            servers.append(proc)
            addresses.append(address)
        rc = subprocess.call([c.format(*addresses) for c in command])
    finally:
        codes = [stop(proc) for proc in reversed(servers)]
    if any(code != 0 for code in codes):
        print(f"a server did not shut down cleanly on SIGTERM (exit codes {codes[::-1]})")
        return rc or 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
