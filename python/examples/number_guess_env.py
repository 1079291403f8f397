#!/usr/bin/python3
"""An example env written with the Python SDK: guess a secret number with
"guess N"; the env answers "higher" or "lower".

    PYTHONPATH=python:build/python_gen /usr/bin/python3 python/examples/number_guess_env.py \
        --listen 127.0.0.1:50061
    build/env_server/conformance/agentgym-env-check --target 127.0.0.1:50061
"""

import random
import re

import agentgym_env
from agentgym_env import Start, StepResult, Task, TaskType

_GUESS = re.compile(r"(?:^|Action:\s*)guess\s+(-?\d{1,9})\s*$", re.IGNORECASE | re.MULTILINE)
_LIMITS = {"range10": (10, 5), "range100": (100, 8)}  # type -> (largest number, turns)


class NumberGuessEnv(agentgym_env.Env):
    name = "number_guess"
    description = "find a secret number from higher/lower hints"
    action_format = "guess <integer>"
    recommended_max_turns = 8
    task_types = (
        TaskType("range10", "a number in 1..10, 5 turns", train_count=40, test_count=10,
                 recommended_max_turns=5),
        TaskType("range100", "a number in 1..100, 8 turns", train_count=40, test_count=10,
                 recommended_max_turns=8),
    )

    def reset(self, task: Task, seed: int) -> Start:
        self.hi, self.turns_left = _LIMITS[task.type]
        # Deterministic in (task, seed): the same pair always hides the same number.
        self.secret = random.Random(f"{task.id}/{seed}").randint(1, self.hi)
        return Start(instruction=f"Find the secret number between 1 and {self.hi}.",
                     observation=f"You have {self.turns_left} guesses. Say: guess <number>.")

    def step(self, action: str) -> StepResult:
        self.turns_left -= 1
        match = _GUESS.search(action)
        out_of_turns = self.turns_left <= 0
        if match is None:
            return StepResult("Invalid action: say 'guess <number>'.", action_valid=False,
                              truncated=out_of_turns, info={"turns_left": self.turns_left})
        guess = int(match.group(1))
        if guess == self.secret:
            return StepResult(f"{guess} is right!", reward=1.0, done=True, success=True)
        hint = "higher" if guess < self.secret else "lower"
        return StepResult(f"{guess} is wrong; go {hint}.", truncated=out_of_turns,
                          info={"turns_left": self.turns_left})


if __name__ == "__main__":
    raise SystemExit(agentgym_env.main([NumberGuessEnv]))
