"""The Env gRPC service over Python envs, with the C++ server's error model
(proto/agentgym/env/v1/env.proto): NOT_FOUND, INVALID_ARGUMENT,
RESOURCE_EXHAUSTED, FAILED_PRECONDITION, INTERNAL for env bugs."""

import hashlib
import logging
import math
import random
from typing import Dict, List, Sequence

import grpc

from agentgym_env import _stubs
from agentgym_env.env import Env, EnvError, Start, StepResult, Task, TaskType, describe
from agentgym_env.sessions import RpcError, Session, SessionStore, _quote

pb = _stubs.env_pb2
log = logging.getLogger("agentgym_env")

_SPLITS = {pb.SPLIT_UNSPECIFIED: "train", pb.SPLIT_TRAIN: "train", pb.SPLIT_TEST: "test"}
_SPLIT_PROTO = {"train": pb.SPLIT_TRAIN, "test": pb.SPLIT_TEST}
VERSION = "agentgym-env-python/0.1"


def _count(t: TaskType, split: str) -> int:
    return t.train_count if split == "train" else t.test_count


def _split_of(value: int) -> str:
    if value not in _SPLITS:
        raise RpcError("INVALID_ARGUMENT",
                       f"unknown split value {value} (0 unspecified, 1 train, 2 test)")
    return _SPLITS[value]


class EnvService(_stubs.env_pb2_grpc.EnvServicer):
    """Thread-safe: the env table is immutable and the store locks itself."""

    def __init__(self, envs: Sequence[type], sessions: SessionStore, max_action_bytes: int,
                 max_batch_items: int, max_page_size: int = 10000):
        self._envs: Dict[str, type] = {}
        for env_cls in envs:
            describe(env_cls)
            if env_cls.name in self._envs:
                raise ValueError(f"two envs are named '{env_cls.name}'")
            self._envs[env_cls.name] = env_cls
        self.sessions = sessions
        self.max_action_bytes = max_action_bytes
        self.max_batch_items = max_batch_items
        self.max_page_size = max_page_size

    # ---- logic (raises RpcError) ----

    def _env(self, name: str) -> type:
        if name not in self._envs:
            raise RpcError("NOT_FOUND", f"this server has no env '{_quote(name)}' (it serves: "
                                        f"{', '.join(sorted(self._envs))})")
        return self._envs[name]

    def _parse_task(self, env_cls: type, task_id: str) -> Task:
        parts = task_id.split("/")
        types = {t.name: t for t in env_cls.task_types}
        if len(parts) == 3 and parts[0] in types and parts[1] in ("train", "test") \
                and parts[2].isdigit() and not (len(parts[2]) > 1 and parts[2][0] == "0"):
            index = int(parts[2])
            if index < _count(types[parts[0]], parts[1]):
                return Task(task_id, parts[0], parts[1], index)
        raise RpcError("NOT_FOUND", f"env '{env_cls.name}' has no task '{_quote(task_id)}' "
                                    "(ids look like <type>/<train|test>/<index>)")

    def _sample_task(self, env_cls: type, split: str, type_name: str, seed: int) -> Task:
        rng = random.Random(f"{env_cls.name}/{seed}")
        types: List[TaskType] = list(env_cls.task_types)
        if type_name:
            types = [t for t in types if t.name == type_name]
            if not types:
                raise RpcError("NOT_FOUND", f"env '{env_cls.name}' has no task type "
                                            f"'{_quote(type_name)}'")
        total = sum(_count(t, split) for t in types)
        if total == 0:
            raise RpcError("FAILED_PRECONDITION", f"env '{env_cls.name}' has no {split} tasks"
                           + (f" of type '{type_name}'" if type_name else ""))
        pick = rng.randrange(total)
        for t in types:
            if pick < _count(t, split):
                return Task(f"{t.name}/{split}/{pick}", t.name, split, pick)
            pick -= _count(t, split)
        raise RpcError("INTERNAL", "task sampling fell off the end")

    def list_envs(self) -> "pb.ListEnvsResponse":
        resp = pb.ListEnvsResponse(max_sessions=self.sessions.max_sessions,
                                   max_action_bytes=self.max_action_bytes,
                                   max_batch_items=self.max_batch_items,
                                   session_idle_ttl_ms=int(self.sessions.default_ttl_s * 1000),
                                   server_version=VERSION)
        for name in sorted(self._envs):
            e = self._envs[name]
            info = resp.envs.add(name=e.name, description=e.description,
                                 action_format=e.action_format, mirrors=e.mirrors,
                                 recommended_max_turns=e.recommended_max_turns)
            for t in e.task_types:
                info.task_types.add(name=t.name, description=t.description,
                                    train_count=t.train_count, test_count=t.test_count,
                                    recommended_max_turns=t.recommended_max_turns)
        return resp

    def list_tasks(self, req) -> "pb.ListTasksResponse":
        env_cls = self._env(req.env)
        if req.page_size < 0:
            raise RpcError("INVALID_ARGUMENT", "page_size must be >= 0")
        split = _split_of(req.split)
        types = list(env_cls.task_types)
        if req.task_type:
            types = [t for t in types if t.name == req.task_type]
            if not types:
                raise RpcError("NOT_FOUND", f"env '{env_cls.name}' has no task type "
                                            f"'{_quote(req.task_type)}'")
        offset = 0
        if req.page_token:
            if not req.page_token.isdigit():
                raise RpcError("INVALID_ARGUMENT",
                               "bad page_token (use the one a previous page returned)")
            offset = int(req.page_token)
        page_size = 1000 if req.page_size == 0 else min(req.page_size, self.max_page_size)
        resp = pb.ListTasksResponse()
        position = 0
        for t in types:
            count = _count(t, split)
            i = max(0, offset - position)
            while i < count and len(resp.tasks) < page_size:
                resp.tasks.add(task_id=f"{t.name}/{split}/{i}", task_type=t.name,
                               split=_SPLIT_PROTO[split])
                i += 1
            position += count
        resp.total = position
        if offset + len(resp.tasks) < position:
            resp.next_page_token = str(offset + len(resp.tasks))
        return resp

    def create(self, req) -> "pb.CreateResponse":
        env_cls = self._env(req.env)
        if req.idle_ttl_ms < 0:
            raise RpcError("INVALID_ARGUMENT", "idle_ttl_ms must be >= 0")
        if req.WhichOneof("task") == "task_id":
            task = self._parse_task(env_cls, req.task_id)
        else:
            task = self._sample_task(env_cls, _split_of(req.sample.split), req.sample.task_type,
                                     req.seed)
        self.sessions.reserve()
        try:
            env = _call_env(env_cls.name, "__init__", env_cls)
            start = _call_env(env_cls.name, "reset", lambda: _to_start(env.reset(task, req.seed)))
        except BaseException:
            self.sessions.unreserve()
            raise
        session = Session(env_cls.name, env, task, req.seed, self.sessions.ttl_for(req.idle_ttl_ms))
        session_id = self.sessions.add(session)
        resp = pb.CreateResponse(session_id=session_id, instruction=start.instruction,
                                 observation=start.observation)
        resp.task.task_id, resp.task.task_type = task.id, task.type
        resp.task.split = _SPLIT_PROTO[task.split]
        t = next(t for t in env_cls.task_types if t.name == task.type)
        resp.recommended_max_turns = t.recommended_max_turns
        _fill_struct(resp.info, start.info, env_cls.name)
        return resp

    def step(self, req) -> "pb.StepResult":
        """One step, with StepRequest.expected_turn as the C++ server treats it
        (env_server/session_store.cc): expected_turn > 0 applies the step only
        when the session is at turn expected_turn - 1; a repeat of the
        session's last step (same turn and action, both sent checked) answers
        that step's result again with `replayed` set and applies nothing;
        anything else is FAILED_PRECONDITION with nothing applied."""
        if len(req.action) > self.max_action_bytes:
            raise RpcError("INVALID_ARGUMENT", f"the action is {len(req.action)} bytes; the "
                                               f"limit is {self.max_action_bytes}")
        try:
            action = req.action.decode("utf-8")  # strict: no overlongs or surrogates
        except UnicodeDecodeError:
            raise RpcError("INVALID_ARGUMENT", "the action is not valid UTF-8 text") from None
        expected = req.expected_turn
        if expected < 0:
            raise RpcError("INVALID_ARGUMENT",
                           f"expected_turn is {expected}; it must be >= 0 (0: unchecked)")
        # 128 bits tell a repeat from another action of the same client.
        digest = hashlib.blake2b(req.action, digest_size=16).digest() if expected > 0 else None
        session = self.sessions.find(req.session_id)
        with session.lock:
            if session.closed:
                raise RpcError("NOT_FOUND", f"no session '{_quote(req.session_id)}'")
            if expected > 0:
                # Before `ended`: the repeat of an episode's last step is
                # answered like any other.
                last = session.last_step
                if session.turn == expected and last is not None and last[0] == digest:
                    replay = pb.StepResult()
                    replay.CopyFrom(last[1])
                    replay.replayed = True
                    return replay
                if session.turn != expected - 1:
                    raise RpcError(
                        "FAILED_PRECONDITION",
                        f"session '{_quote(req.session_id)}' is at turn {session.turn}, so a "
                        f"step sent as turn {expected} (expected_turn) is out of order"
                        + (" (that turn was reached by another step)"
                           if session.turn == expected else "") + "; it was not applied")
            if session.ended:
                raise RpcError("FAILED_PRECONDITION", f"session '{_quote(req.session_id)}' has "
                               f"ended after {session.turn} turns; Reset or Close it")
            out = _call_env(session.env_name, "step",
                            lambda: _to_step(session.env.step(action)))
            limit = type(session.env).max_turns
            if limit > 0 and session.turn + 1 >= limit and not out.done:
                out.truncated = True
            result = _step_proto(out, session.turn + 1, session.env_name)  # may raise: no turn
            session.turn += 1
            session.ended = out.done or out.truncated
            if expected > 0:
                kept = pb.StepResult()
                kept.CopyFrom(result)
                session.last_step = (digest, kept)
            else:
                session.last_step = None
            return result

    def reset(self, req) -> "pb.ResetResponse":
        session = self.sessions.find(req.session_id)
        with session.lock:
            if session.closed:
                raise RpcError("NOT_FOUND", f"no session '{_quote(req.session_id)}'")
            if req.has_seed:
                session.seed = req.seed
            start = _call_env(session.env_name, "reset",
                              lambda: _to_start(session.env.reset(session.task, session.seed)))
            session.turn, session.ended, session.last_step = 0, False, None
            return pb.ResetResponse(instruction=start.instruction, observation=start.observation)

    def close(self, session_id: str) -> None:
        close_session(self.sessions.remove(session_id))

    def check_batch(self, items: int) -> None:
        if items > self.max_batch_items:
            raise RpcError("INVALID_ARGUMENT", f"the batch has {items} items; the limit is "
                                               f"{self.max_batch_items}")

    # ---- gRPC edge ----

    def ListEnvs(self, request, context):
        return _edge(context, self.list_envs)

    def ListTasks(self, request, context):
        return _edge(context, lambda: self.list_tasks(request))

    def Create(self, request, context):
        return _edge(context, lambda: self.create(request))

    def Step(self, request, context):
        return _edge(context, lambda: pb.StepResponse(result=self.step(request)))

    def Reset(self, request, context):
        return _edge(context, lambda: self.reset(request))

    def Close(self, request, context):
        return _edge(context, lambda: (self.close(request.session_id), pb.CloseResponse())[1])

    def BatchCreate(self, request, context):
        def run():
            self.check_batch(len(request.items))
            resp = pb.BatchCreateResponse()
            for item in request.items:
                out = resp.items.add()
                _item(out, lambda: out.created.CopyFrom(self.create(item)))
            return resp
        return _edge(context, run)

    def BatchStep(self, request, context):
        def run():
            self.check_batch(len(request.items))
            resp = pb.BatchStepResponse()
            for item in request.items:
                out = resp.items.add()
                _item(out, lambda: out.result.CopyFrom(self.step(item)))
            return resp
        return _edge(context, run)

    def BatchClose(self, request, context):
        def run():
            self.check_batch(len(request.session_ids))
            resp = pb.BatchCloseResponse()
            for session_id in request.session_ids:
                err = resp.errors.add()
                try:
                    self.close(session_id)
                except RpcError as e:
                    err.code, err.message = grpc.StatusCode[e.code].value[0], e.message
            return resp
        return _edge(context, run)


def close_session(session: Session) -> None:
    """Closes the env of a session already removed from the store."""
    with session.lock:  # waits for a step in flight
        if session.closed:
            return
        session.closed = True
        try:
            session.env.close()
        except Exception:  # an env bug must not fail the Close RPC
            log.exception("env '%s': close() raised", session.env_name)


def _edge(context, fn):
    try:
        return fn()
    except RpcError as e:
        context.abort(grpc.StatusCode[e.code], e.message)


def _item(out, fn) -> None:
    try:
        fn()
    except RpcError as e:
        out.error.code, out.error.message = grpc.StatusCode[e.code].value[0], e.message


def _call_env(env_name: str, what: str, fn):
    try:
        return fn()
    except RpcError:
        raise
    except EnvError as e:
        if e.code not in grpc.StatusCode.__members__ or e.code == "OK":
            raise RpcError("INTERNAL", f"env '{env_name}' raised EnvError with unknown code "
                                       f"'{e.code}': {e.message}") from None
        raise RpcError(e.code, f"env '{env_name}': {e.message}") from None
    except Exception as e:
        log.exception("env '%s': %s() raised", env_name, what)
        raise RpcError("INTERNAL", f"env '{env_name}' {what}() raised "
                                   f"{type(e).__name__}: {_quote(str(e), 300)}") from None


def _to_start(value) -> Start:
    if isinstance(value, Start):
        start = value
    elif isinstance(value, tuple) and len(value) in (2, 3):
        start = Start(*value)
    else:
        raise RpcError("INTERNAL", "reset() must return Start or (instruction, observation"
                                   f"[, info]), not {type(value).__name__}")
    if not isinstance(start.instruction, str) or not isinstance(start.observation, str):
        raise RpcError("INTERNAL", "reset(): instruction and observation must be str")
    return start


def _to_step(value) -> StepResult:
    if isinstance(value, StepResult):
        out = value
    elif isinstance(value, tuple) and len(value) in (4, 5):
        out = StepResult(value[0], float(value[1]), bool(value[2]), bool(value[3]),
                         value[4] if len(value) == 5 else None)
    else:
        raise RpcError("INTERNAL", "step() must return StepResult or (observation, reward, "
                                   f"done, success[, info]), not {type(value).__name__}")
    if not isinstance(out.observation, str):
        raise RpcError("INTERNAL", "step(): observation must be str")
    if out.score is None:
        out.score = 1.0 if out.success else 0.0
    if not math.isfinite(out.reward) or not 0.0 <= out.score <= 1.0:
        raise RpcError("INTERNAL", f"step(): reward must be finite and score in [0, 1] "
                                   f"(got reward={out.reward}, score={out.score})")
    if out.success and not out.done:
        raise RpcError("INTERNAL", "step(): success=True requires done=True")
    return out


def _step_proto(out: StepResult, turn: int, env_name: str) -> "pb.StepResult":
    r = pb.StepResult(observation=out.observation, reward=out.reward, done=out.done,
                      truncated=out.truncated, success=out.success, score=out.score,
                      action_valid=out.action_valid, turn=turn)
    _fill_struct(r.info, out.info, env_name)
    return r


def _fill_struct(struct, info, env_name: str) -> None:
    if not info:
        return
    try:
        struct.update(info)
    except (ValueError, TypeError, AttributeError) as e:
        raise RpcError("INTERNAL", f"env '{env_name}': info is not JSON-like: {e}") from None
