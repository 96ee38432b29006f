"""`evaluate`: the numbers of `handoff eval`, and a Python policy on the environment's episodes."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from conftest import SMALL
from test_env import run_episode

import handoff_rl


def test_named_policies_give_handoff_evals_json_exactly(handoff_bin):
    result = handoff_rl.evaluate(
        "c-mu", **SMALL, baselines=["study-treatment", "surge-c-mu"], seeds=3, resamples=1000
    )
    args = [handoff_bin, "eval", "--scenario", "small", "--days", "1", "--scale", "0.3"]
    args += ["--seeds", "3", "--resamples", "1000"]
    args += ["--policy", "c-mu", "--policy", "study-treatment", "--policy", "surge-c-mu"]

    def cli(*extra: str) -> str:
        return subprocess.run(args + list(extra), check=True, capture_output=True, text=True).stdout

    text = cli("--json")
    assert result.json == text
    assert result.report == json.loads(text)
    markdown = cli()
    assert result.markdown == markdown


def first_valid(obs: np.ndarray, mask: np.ndarray) -> int:
    assert obs.dtype == np.float32 and mask.dtype == np.int8
    return int(np.flatnonzero(mask)[0])


def test_a_callable_scores_what_it_earns_in_the_environment():
    result = handoff_rl.evaluate(first_valid, **SMALL, baselines=["c-mu"], seeds=1, name="first")
    earned, _ = run_episode(handoff_rl.HandoffEnv(**SMALL), 1)
    # the same decisions and chats; the environment adds rewards step by step and the
    # evaluation chat by chat, so the sums may differ in the last bit
    assert result.policy("first")["return_mean"] == pytest.approx(earned, rel=1e-12, abs=0)
    assert result.report["baseline"] == "c-mu"
    assert "| first |" in result.markdown


def test_threads_change_nothing():
    runs = [
        handoff_rl.evaluate(
            first_valid,
            **SMALL,
            baselines=["c-mu", "least-loaded"],
            seeds=2,
            threads=t,
            resamples=500,
        ).json
        for t in (1, 2)
    ]
    assert runs[0] == runs[1]


def test_a_policys_errors_and_invalid_actions_are_raised():
    def broken(obs, mask):
        raise RuntimeError("no model loaded")

    with pytest.raises(RuntimeError, match="no model loaded"):
        handoff_rl.evaluate(broken, **SMALL, baselines=["c-mu"], seeds=1)

    def masked(obs, mask):
        return int(np.flatnonzero(mask == 0)[0])

    with pytest.raises(handoff_rl.InvalidAction, match="not valid"):
        handoff_rl.evaluate(masked, **SMALL, baselines=["c-mu"], seeds=1)
    with pytest.raises(ValueError, match="callable"):
        handoff_rl.evaluate(42, **SMALL)
    with pytest.raises(ValueError, match="nonesuch"):
        handoff_rl.evaluate("nonesuch", **SMALL, baselines=["c-mu"], seeds=1)


@pytest.mark.parametrize("threads", [0, 1025])
def test_a_thread_count_outside_the_command_lines_range_is_refused_naming_it(threads):
    # the range is the command line's --threads (1 to 1024), checked in one place
    message = f"threads: {threads} is outside 1..=1024"
    with pytest.raises(ValueError, match=message):
        handoff_rl.evaluate("random", **SMALL, baselines=["c-mu"], seeds=1, threads=threads)
    with pytest.raises(ValueError, match=message):
        handoff_rl.HandoffVectorEnv(2, "small", threads=threads, days=1)


def test_a_vector_of_no_environments_is_refused_naming_the_range():
    with pytest.raises(ValueError, match=r"num_envs: 0 is outside 1\.\.=4096"):
        handoff_rl.HandoffVectorEnv(0, "small", days=1)
