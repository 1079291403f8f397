"""Live sessions: id -> (env object, task, seed, turn), with a cap on their
number and an idle TTL after which evict_idle() reclaims them.

Thread-safe. A global lock guards the map only; each session has its own lock,
so steps of different sessions run in parallel and steps of one session are
serialized. Env code (reset/step/close) never runs under the global lock.
"""

import secrets
import threading
import time
from typing import Callable, Dict, List, Tuple

from agentgym_env.env import Env, Task


class RpcError(Exception):
    """An error that the service answers with gRPC status `code` (a name)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _quote(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


class Session:
    def __init__(self, env_name: str, env: Env, task: Task, seed: int, ttl_s: float):
        self.env_name = env_name
        self.env = env
        self.task = task
        self.seed = seed
        self.ttl_s = ttl_s
        self.last_used = time.monotonic()
        self.lock = threading.Lock()
        self.turn = 0
        self.ended = False
        self.closed = False
        # The last step, when it was sent with expected_turn: (a digest of its
        # action, its StepResult), for answering a repeat of it
        # (StepRequest.expected_turn). One per session, None otherwise.
        self.last_step = None

    def touch(self) -> None:
        self.last_used = time.monotonic()


class SessionStore:
    def __init__(self, max_sessions: int, default_ttl_s: float, max_ttl_s: float = 7200.0,
                 clock: Callable[[], float] = time.monotonic):
        self.max_sessions = max_sessions
        self.default_ttl_s = default_ttl_s
        self.max_ttl_s = max_ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: Dict[str, Session] = {}
        self._reserved = 0  # slots taken by creates still running env.reset()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def reserve(self) -> None:
        with self._lock:
            if len(self._sessions) + self._reserved >= self.max_sessions:
                raise RpcError("RESOURCE_EXHAUSTED",
                               f"the server holds its maximum of {self.max_sessions} sessions; "
                               "close some or wait for idle ones to be reclaimed")
            self._reserved += 1

    def unreserve(self) -> None:
        with self._lock:
            self._reserved -= 1

    def add(self, session: Session) -> str:
        """Adds a session whose slot was reserved; returns its new id."""
        session_id = "s-" + secrets.token_hex(12)
        session.last_used = self._clock()
        with self._lock:
            self._reserved -= 1
            self._sessions[session_id] = session
        return session_id

    def ttl_for(self, requested_ms: int) -> float:
        if requested_ms <= 0:
            return self.default_ttl_s
        return min(requested_ms / 1000.0, self.max_ttl_s)

    def find(self, session_id: str) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise RpcError("NOT_FOUND", f"no session '{_quote(session_id)}' (never created, "
                                        "closed, or reclaimed after idling)")
        session.last_used = self._clock()
        return session

    def remove(self, session_id: str) -> Session:
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            raise RpcError("NOT_FOUND", f"no session '{_quote(session_id)}'")
        return session

    def evict_idle(self) -> List[Session]:
        """Removes and returns the sessions idle for longer than their TTL."""
        now = self._clock()
        with self._lock:
            idle: List[Tuple[str, Session]] = [
                (sid, s) for sid, s in self._sessions.items() if now - s.last_used > s.ttl_s]
            for sid, _ in idle:
                del self._sessions[sid]
        return [s for _, s in idle]

    def drain(self) -> List[Session]:
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
        return sessions

