"""Imports the protobuf/gRPC modules generated at build time (CMake runs protoc
with grpc_python_plugin into <build>/python_gen). Put that folder on
PYTHONPATH, or point AGENTGYM_PYTHON_STUBS at it."""

import os
import sys

_dir = os.environ.get("AGENTGYM_PYTHON_STUBS")
if _dir and _dir not in sys.path:
    sys.path.insert(0, _dir)

try:
    from agentgym.env.v1 import env_pb2, env_pb2_grpc  # noqa: F401
    from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: F401
except ImportError as e:  # pragma: no cover - a set-up error, reported clearly
    raise ImportError(
        "agentgym_env: the generated Env stubs were not found (" + str(e) + "). Build the "
        "project (target agentgym_python_stubs) and add <build>/python_gen to PYTHONPATH, "
        "or set AGENTGYM_PYTHON_STUBS to that folder.") from e
