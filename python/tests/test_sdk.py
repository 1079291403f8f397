"""Unit tests of the Python SDK, in-process: the error model, env bugs,
sessions (cap, TTL, parallelism), batches and health."""

import threading
import unittest

import grpc

import agentgym_env
from agentgym_env import EnvError, Start, StepResult, TaskType
from agentgym_env import _stubs

pb = _stubs.env_pb2
hpb = _stubs.health_pb2


class EchoEnv(agentgym_env.Env):
    name = "echo"
    action_format = "any text; 'boom' raises, 'down' is UNAVAILABLE, 'bad' returns junk"
    max_turns = 3
    task_types = (TaskType("t", train_count=4, test_count=2),)
    closed = []
    steps = []  # every action step() was called with
    gate = threading.Event()

    def reset(self, task, seed):
        self.task = task
        return Start(f"echo for {task.id}", f"seed {seed}", {"seed": seed})

    def step(self, action):
        EchoEnv.steps.append(action)
        if action == "boom":
            raise KeyError("boom")
        if action == "down":
            raise EnvError("UNAVAILABLE", "simulator down")
        if action == "bad":
            return 42
        if action == "block":
            EchoEnv.gate.wait(10)
        if action == "win":
            return StepResult("won", reward=1.0, done=True, success=True)
        return (f"echo {action}", 0.0, False, False, {"len": len(action)})

    def close(self):
        EchoEnv.closed.append(self.task.id)


class SdkTest(unittest.TestCase):
    def setUp(self):
        EchoEnv.closed.clear()
        EchoEnv.steps.clear()
        EchoEnv.gate.clear()
        self.server = agentgym_env.EnvServer([EchoEnv], max_sessions=3, session_ttl_s=600,
                                             max_action_bytes=16, max_batch_items=4,
                                             reap_interval_s=0.05).start()
        self.channel = grpc.insecure_channel(self.server.address)
        self.stub = _stubs.env_pb2_grpc.EnvStub(self.channel)

    def tearDown(self):
        EchoEnv.gate.set()
        self.channel.close()
        self.server.stop(grace_s=0)

    def create(self, **kw):
        return self.stub.Create(pb.CreateRequest(env="echo", task_id="t/train/1", **kw), timeout=10)

    def step(self, session_id, action):
        return self.stub.Step(pb.StepRequest(session_id=session_id, action=action), timeout=10)

    def assertCode(self, code, fn, *args):
        with self.assertRaises(grpc.RpcError) as ctx:
            fn(*args)
        self.assertEqual(ctx.exception.code(), code, ctx.exception.details())
        self.assertTrue(ctx.exception.details())

    def test_full_episode_and_turn_limit(self):
        c = self.create(seed=5)
        self.assertEqual((c.instruction, c.observation), ("echo for t/train/1", "seed 5"))
        self.assertEqual(c.info["seed"], 5)
        r1 = self.step(c.session_id, b"hi").result
        self.assertEqual((r1.observation, r1.turn, r1.info["len"]), ("echo hi", 1, 2))
        self.step(c.session_id, b"")  # empty text is a normal step
        r3 = self.step(c.session_id, b"x").result
        self.assertTrue(r3.truncated)  # max_turns = 3
        self.assertCode(grpc.StatusCode.FAILED_PRECONDITION, self.step, c.session_id, b"x")
        self.stub.Reset(pb.ResetRequest(session_id=c.session_id), timeout=10)
        win = self.step(c.session_id, b"win").result
        self.assertTrue(win.done and win.success and win.score == 1.0 and win.turn == 1)

    def test_error_model(self):
        c = self.create()
        self.assertCode(grpc.StatusCode.NOT_FOUND, self.step, "nope", b"x")
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.step, c.session_id, b"\xc0\xaf")
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.step, c.session_id, b"\xed\xa0\x80")
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.step, c.session_id, b"x" * 17)
        self.assertCode(grpc.StatusCode.INTERNAL, self.step, c.session_id, b"boom")
        self.assertCode(grpc.StatusCode.UNAVAILABLE, self.step, c.session_id, b"down")
        self.assertCode(grpc.StatusCode.INTERNAL, self.step, c.session_id, b"bad")
        self.assertEqual(self.step(c.session_id, b"ok").result.turn, 1)  # errors spend no turn
        for req in (pb.CreateRequest(env="nope"), pb.CreateRequest(env="echo", task_id="t/train/4"),
                    pb.CreateRequest(env="echo", task_id="t/train/01"),
                    pb.CreateRequest(env="echo", sample=pb.TaskSample(task_type="zz"))):
            self.assertCode(grpc.StatusCode.NOT_FOUND, self.stub.Create, req)
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.stub.Create,
                        pb.CreateRequest(env="echo", idle_ttl_ms=-1))
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.stub.ListTasks,
                        pb.ListTasksRequest(env="echo", split=9))

    def test_session_cap_and_close_calls_env_close(self):
        ids = [self.create().session_id for _ in range(3)]
        self.assertCode(grpc.StatusCode.RESOURCE_EXHAUSTED, self.create)
        self.stub.Close(pb.CloseRequest(session_id=ids[0]), timeout=10)
        self.assertEqual(EchoEnv.closed, ["t/train/1"])
        self.create()  # a slot is free again

    def test_idle_sessions_are_reclaimed_and_closed(self):
        c = self.create(idle_ttl_ms=1)
        keep = self.create()
        tick = threading.Event()  # never set: a timed wait between checks
        for _ in range(500):  # the reaper runs every 50 ms; give it up to 10 s
            if EchoEnv.closed:
                break
            tick.wait(0.02)
        self.assertEqual(EchoEnv.closed, ["t/train/1"])
        self.assertCode(grpc.StatusCode.NOT_FOUND, self.step, c.session_id, b"x")
        self.assertEqual(self.step(keep.session_id, b"x").result.turn, 1)

    def test_a_blocked_session_does_not_block_others(self):
        a, b = self.create(), self.create()
        blocked = self.stub.Step.future(pb.StepRequest(session_id=a.session_id, action=b"block"),
                                        timeout=10)
        self.assertEqual(self.step(b.session_id, b"free").result.observation, "echo free")
        self.assertFalse(blocked.done())
        EchoEnv.gate.set()
        self.assertEqual(blocked.result().result.observation, "echo block")

    def test_batches(self):
        resp = self.stub.BatchCreate(pb.BatchCreateRequest(items=[
            pb.CreateRequest(env="echo", task_id="t/test/1"), pb.CreateRequest(env="zz")]),
            timeout=10)
        self.assertEqual(resp.items[1].error.code, grpc.StatusCode.NOT_FOUND.value[0])
        sid = resp.items[0].created.session_id
        steps = self.stub.BatchStep(pb.BatchStepRequest(items=[
            pb.StepRequest(session_id=sid, action=b"a"), pb.StepRequest(session_id="x"),
            pb.StepRequest(session_id=sid, action=b"\xff")]), timeout=10)
        self.assertEqual([i.error.code for i in steps.items], [0, 5, 3])
        self.assertEqual(steps.items[0].result.observation, "echo a")
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.stub.BatchClose,
                        pb.BatchCloseRequest(session_ids=["x"] * 5))
        closed = self.stub.BatchClose(pb.BatchCloseRequest(session_ids=[sid, sid]), timeout=10)
        self.assertEqual([e.code for e in closed.errors], [0, 5])

    def turn(self, session_id, action, expected):
        req = pb.StepRequest(session_id=session_id, action=action, expected_turn=expected)
        return self.stub.Step(req, timeout=10).result

    def test_expected_turn_applies_each_step_once(self):
        sid = self.create().session_id
        first = self.turn(sid, b"a", 1)
        self.assertEqual((first.turn, first.replayed), (1, False))
        again = self.turn(sid, b"a", 1)  # a retry: answered again, not applied
        self.assertTrue(again.replayed)
        self.assertEqual((again.observation, again.turn), ("echo a", 1))
        self.assertEqual(EchoEnv.steps, ["a"])
        # Another action for a turn already taken, a skipped turn, a negative one.
        self.assertCode(grpc.StatusCode.FAILED_PRECONDITION, self.turn, sid, b"b", 1)
        self.assertCode(grpc.StatusCode.FAILED_PRECONDITION, self.turn, sid, b"b", 3)
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.turn, sid, b"b", -1)
        self.assertEqual(EchoEnv.steps, ["a"])
        # The batched path follows the same rule, item by item.
        batch = self.stub.BatchStep(pb.BatchStepRequest(items=[
            pb.StepRequest(session_id=sid, action=b"b", expected_turn=2),
            pb.StepRequest(session_id=sid, action=b"b", expected_turn=2),
            pb.StepRequest(session_id=sid, action=b"c", expected_turn=2)]), timeout=10)
        self.assertEqual([i.error.code for i in batch.items],
                         [0, 0, grpc.StatusCode.FAILED_PRECONDITION.value[0]])
        self.assertEqual([i.result.replayed for i in batch.items[:2]], [False, True])
        # The repeat of an episode's last step is answered after it ended.
        last = self.turn(sid, b"z", 3)
        self.assertTrue(last.truncated)
        self.assertTrue(self.turn(sid, b"z", 3).replayed)
        self.assertCode(grpc.StatusCode.FAILED_PRECONDITION, self.turn, sid, b"y", 4)
        # An unchecked step forgets the last result; a reset starts again at turn 1.
        self.stub.Reset(pb.ResetRequest(session_id=sid), timeout=10)
        self.assertFalse(self.turn(sid, b"z", 1).replayed)
        self.step(sid, b"u")
        self.assertCode(grpc.StatusCode.FAILED_PRECONDITION, self.turn, sid, b"u", 2)
        self.assertEqual(EchoEnv.steps, ["a", "b", "z", "z", "u"])

    def test_health(self):
        health = _stubs.health_pb2_grpc.HealthStub(self.channel)
        self.assertEqual(health.Check(hpb.HealthCheckRequest(), timeout=10).status,
                         hpb.HealthCheckResponse.SERVING)
        watch = health.Watch(hpb.HealthCheckRequest(service="agentgym.env.v1.Env"), timeout=10)
        self.assertEqual(next(watch).status, hpb.HealthCheckResponse.SERVING)
        self.server.health.set_serving(False)
        self.assertEqual(next(watch).status, hpb.HealthCheckResponse.NOT_SERVING)
        watch.cancel()

    def test_bad_env_classes_are_refused(self):
        class NoName(agentgym_env.Env):
            pass

        with self.assertRaises(ValueError):
            agentgym_env.EnvServer([NoName])
        with self.assertRaises(ValueError):
            agentgym_env.EnvServer([EchoEnv, EchoEnv])


if __name__ == "__main__":
    unittest.main()
