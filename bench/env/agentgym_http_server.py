"""An AgentGym-style HTTP/JSON env server (FastAPI + uvicorn), the baseline of
the env benchmark.

It mirrors how AgentGym's env servers are built (one FastAPI app per env,
`POST /create`, `POST /step`, `POST /reset`, `POST /close`, JSON bodies keyed by
`id`, uvicorn) and runs the *same* env logic as agentgym-env-server through a
ctypes binding to libagentgym_env_capi.so, so the comparison is between the
serving stacks only.

    /usr/bin/python3 agentgym_http_server.py --lib build/bench/env/libagentgym_env_capi.so \
        --env babyai --port 0 --port-file /tmp/port
"""

import argparse
import ctypes
import itertools
import json
import socket
import threading

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel


class CreateQuery(BaseModel):
    data_idx: str = ""
    seed: int = 0


class StepQuery(BaseModel):
    id: int
    action: str


class CloseQuery(BaseModel):
    id: int


def build_app(lib_path: str, env_name: str) -> FastAPI:
    lib = ctypes.CDLL(lib_path)
    lib.agentgym_capi_create.restype = ctypes.c_void_p
    lib.agentgym_capi_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                         ctypes.c_ulonglong, ctypes.POINTER(ctypes.c_void_p)]
    lib.agentgym_capi_step.restype = ctypes.c_void_p
    lib.agentgym_capi_step.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.agentgym_capi_close.argtypes = [ctypes.c_void_p]
    lib.agentgym_capi_free.argtypes = [ctypes.c_void_p]

    def take(ptr):
        try:
            return json.loads(ctypes.string_at(ptr).decode())
        finally:
            lib.agentgym_capi_free(ptr)

    app = FastAPI()
    sessions = {}
    lock = threading.Lock()
    ids = itertools.count()

    @app.post("/create")
    def create(q: CreateQuery):
        handle = ctypes.c_void_p()
        reply = take(lib.agentgym_capi_create(env_name.encode(), q.data_idx.encode(),
                                               q.seed, ctypes.byref(handle)))
        if "error" in reply:
            return reply  # AgentGym style: errors in a 200 body
        with lock:
            sid = next(ids)
            sessions[sid] = handle.value
        reply["id"] = sid
        return reply

    @app.post("/step")
    def step(q: StepQuery):
        with lock:
            handle = sessions.get(q.id)
        if handle is None:
            return {"error": f"no session {q.id}"}
        return take(lib.agentgym_capi_step(handle, q.action.encode()))

    @app.post("/close")
    def close(q: CloseQuery):
        with lock:
            handle = sessions.pop(q.id, None)
        if handle is None:
            return {"error": f"no session {q.id}"}
        lib.agentgym_capi_close(handle)
        return {"closed": True}

    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", required=True)
    parser.add_argument("--env", default="babyai")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", default="")
    args = parser.parse_args()
    app = build_app(args.lib, args.env)
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that
    # say so (as the ones uvicorn binds itself do); without it every
    # keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(f"{sock.getsockname()[1]}\n")
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
