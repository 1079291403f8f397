"""agentgym_env: write an environment in Python and serve it over the
agentgym Env gRPC contract (proto/agentgym/env/v1/env.proto).

See docs/writing-an-env.md. Check a server with agentgym-env-check."""

from agentgym_env.env import Env, EnvError, Start, StepResult, Task, TaskType
from agentgym_env.security import SecurityOptions
from agentgym_env.server import EnvServer, main, serve

__all__ = ["Env", "EnvError", "EnvServer", "SecurityOptions", "Start", "StepResult", "Task",
           "TaskType", "main", "serve"]
