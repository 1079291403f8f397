"""The env author's side of the SDK: subclass Env, describe it, implement
reset() and step(). One Env object serves one session at a time (the SDK
creates one per session and serializes its calls), so an env needs no locking.
"""

import dataclasses
from typing import Any, Dict, List, Optional, Sequence


@dataclasses.dataclass(frozen=True)
class TaskType:
    """One kind of task; its tasks are numbered 0..count-1 in each split."""

    name: str  # [a-z0-9_-]+, unique within the env
    description: str = ""
    train_count: int = 1
    test_count: int = 0
    recommended_max_turns: int = 0


@dataclasses.dataclass(frozen=True)
class Task:
    """The task a session plays; id is "<type>/<split>/<index>"."""

    id: str
    type: str
    split: str  # "train" | "test"
    index: int


@dataclasses.dataclass
class Start:
    """What reset() returns: the goal, stated once, and the first observation."""

    instruction: str
    observation: str
    info: Optional[Dict[str, Any]] = None


@dataclasses.dataclass
class StepResult:
    """What step() returns. An action the game rejects is a normal result with
    action_valid=False and an observation that says why, never an exception."""

    observation: str
    reward: float = 0.0
    done: bool = False  # ended by the env's rules (win or loss)
    success: bool = False  # the task was achieved; never inferred from reward
    info: Optional[Dict[str, Any]] = None
    truncated: bool = False  # the env's own turn limit was reached
    score: Optional[float] = None  # progress in [0, 1]; default 1 on success else 0
    action_valid: bool = True


class EnvError(Exception):
    """Raise from reset()/step() to answer with a specific gRPC status, e.g.
    EnvError("UNAVAILABLE", "the simulator is down"). Any other exception is
    answered INTERNAL with its message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Env:
    """Base class of a Python environment.

    Class attributes describe the env (what ListEnvs reports); override
    task_types to list tasks (default: one "default" type with one train task).
    max_turns > 0 makes the SDK mark the episode truncated after that many
    turns if the env has not ended it.
    """

    name: str = ""
    description: str = ""
    action_format: str = ""
    mirrors: str = ""
    recommended_max_turns: int = 0
    max_turns: int = 0
    task_types: Sequence[TaskType] = (TaskType("default", "the only task", 1, 0),)

    def reset(self, task: Task, seed: int):
        """Starts an episode of `task`, deterministically in (task, seed).
        Returns Start, or (instruction, observation[, info])."""
        raise NotImplementedError

    def step(self, action: str):
        """Applies the agent's action text (valid UTF-8, possibly empty).
        Returns StepResult, or (observation, reward, done, success[, info])."""
        raise NotImplementedError

    def close(self) -> None:
        """Releases what the episode holds; called once when the session ends."""


def describe(env_cls) -> Dict[str, Any]:
    """Validates an Env class's description; raises ValueError naming the problem."""
    if not env_cls.name:
        raise ValueError(f"{env_cls.__name__}.name must be set")
    names: List[str] = [t.name for t in env_cls.task_types]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"{env_cls.__name__}.task_types must be non-empty with unique names")
    for t in env_cls.task_types:
        if not t.name or "/" in t.name or t.train_count < 0 or t.test_count < 0:
            raise ValueError(f"{env_cls.__name__}: bad task type {t!r}")
    return {"name": env_cls.name}
