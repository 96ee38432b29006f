"""Pickling: an environment saved mid-episode and restored continues exactly as the original,
and damaged or foreign bytes are refused with a ValueError saying what is wrong."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import SMALL

import handoff_rl
from handoff_rl import _native
from handoff_rl.pettingzoo import env as aec_env
from handoff_rl.pettingzoo import parallel_env

CENTRES = pytest.mark.parametrize(
    "kwargs",
    [SMALL, {"scenario": "taobao", "days": 1, "scale": 0.05}],
    ids=["small", "taobao-5pct"],
)


def random_valid(rng: np.random.Generator, mask: np.ndarray) -> int:
    return int(rng.choice(np.flatnonzero(mask)))


def same_steps(a, b, rng: np.random.Generator, mask: np.ndarray, steps: int) -> int:
    """Steps `a` and `b` with the same random valid actions; asserts equal outputs bit for bit
    and returns the steps taken."""
    for step in range(steps):
        action = random_valid(rng, mask)
        got, want = a.step(action), b.step(action)
        assert np.array_equal(got[0], want[0]), f"step {step}: observations differ"
        assert got[1:4] == want[1:4], f"step {step}: reward or flags differ"
        assert np.array_equal(got[4]["action_mask"], want[4]["action_mask"])
        assert got[4].get("rule_action") == want[4].get("rule_action")
        mask = got[4]["action_mask"]
        if got[2] or got[3]:
            return step + 1
    return steps


@CENTRES
def test_an_environment_pickled_mid_episode_continues_exactly_as_the_original(kwargs):
    env = handoff_rl.HandoffEnv(**kwargs, rule="c-mu-theta")
    _, info = env.reset(seed=8)
    rng = np.random.default_rng(1)
    for _ in range(150):
        _, _, _, _, info = env.step(random_valid(rng, info["action_mask"]))
    restored = pickle.loads(pickle.dumps(env))
    assert restored is not env and restored._native is not env._native
    assert np.array_equal(restored.action_masks(), env.action_masks())
    assert same_steps(env, restored, np.random.default_rng(2), info["action_mask"], 400) > 0
    # a reset without a seed draws the same seed in both (the generator pickles too)
    assert env.reset()[1]["seed"] == restored.reset()[1]["seed"]


def test_environments_before_a_reset_and_after_the_end_pickle_too():
    fresh = pickle.loads(pickle.dumps(handoff_rl.HandoffEnv(**SMALL)))
    _, info = fresh.reset(seed=3)
    ended = handoff_rl.HandoffEnv(**SMALL, max_steps=5)
    _, info = ended.reset(seed=3)
    for _ in range(5):
        *_, info = ended.step(int(np.flatnonzero(info["action_mask"])[0]))
    back = pickle.loads(pickle.dumps(ended))
    assert back._native.is_over()
    with pytest.raises(RuntimeError):
        back._native.step(0)


def test_a_vector_pickled_mid_episode_continues_exactly_as_the_original():
    envs = handoff_rl.HandoffVectorEnv(3, **SMALL, threads=2, max_steps=40)
    _, info = envs.reset(seed=4)
    rng = np.random.default_rng(5)

    def actions(masks):
        return np.array([random_valid(rng, row) for row in masks])

    # past an autoreset of every environment, so that episode counts and resets are saved
    for _ in range(97):
        _, _, _, _, info = envs.step(actions(info["action_mask"]))
    restored = pickle.loads(pickle.dumps(envs))
    assert restored.num_envs == 3
    for _ in range(120):
        a = actions(envs.action_masks())
        got, want = envs.step(a), restored.step(a)
        for x, y in zip(got[:4], want[:4], strict=True):
            assert np.array_equal(x, y)
        assert np.array_equal(got[4]["action_mask"], want[4]["action_mask"])
        assert np.array_equal(got[4]["steps"], want[4]["steps"])


def test_a_vector_that_was_never_reset_pickles():
    envs = pickle.loads(pickle.dumps(handoff_rl.HandoffVectorEnv(2, **SMALL)))
    obs, _ = envs.reset(seed=1)
    assert obs.shape[0] == 2


def test_pettingzoo_environments_pickle_mid_episode():
    aec = aec_env(**SMALL, rule="c-mu")
    aec.reset(seed=6)
    for _ in range(120):
        aec.step(aec.infos[aec.agent_selection]["rule_action"])
    back = pickle.loads(pickle.dumps(aec))
    for _ in range(200):
        assert back.agent_selection == aec.agent_selection
        mine, theirs = aec.last(), back.last()
        assert np.array_equal(mine[0]["observation"], theirs[0]["observation"])
        assert mine[1:4] == theirs[1:4]
        action = mine[4]["rule_action"]
        aec.step(action)
        back.step(action)
    par = parallel_env(**SMALL)
    _, infos = par.reset(seed=2)
    acting = next(iter(infos.values()))["active_agent"]
    par_back = pickle.loads(pickle.dumps(par))
    mask = par._centre.mask
    got = par.step({acting: int(np.flatnonzero(mask)[0])})
    want = par_back.step({acting: int(np.flatnonzero(mask)[0])})
    assert got[1] == want[1] and got[2] == want[2]


def state_of(env: handoff_rl.HandoffEnv) -> bytes:
    return env._native.state_bytes()


def test_every_truncation_of_a_state_is_refused_naming_what_is_wrong():
    env = handoff_rl.HandoffEnv(**SMALL)
    _, info = env.reset(seed=1)
    for _ in range(30):
        *_, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
    state = state_of(env)
    for length in list(range(0, 64)) + list(range(64, len(state), 97)) + [len(state) - 1]:
        with pytest.raises(ValueError, match="Env state: (truncated|damaged|these bytes)"):
            _native.Env._from_state(state[:length])


def test_flipped_bytes_foreign_bytes_and_other_classes_are_refused():
    env = handoff_rl.HandoffEnv(**SMALL)
    _, info = env.reset(seed=1)
    for _ in range(30):
        *_, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
    state = state_of(env)
    rng = np.random.default_rng(11)
    # every byte of the header and the checksum, and a thousand others at random
    positions = list(range(40)) + list(range(len(state) - 16, len(state)))
    positions += rng.integers(0, len(state), 1000).tolist()
    for i in positions:
        damaged = bytearray(state)
        damaged[i] ^= 1 << int(rng.integers(8))
        with pytest.raises(ValueError, match="Env state: "):
            _native.Env._from_state(bytes(damaged))
    for foreign in (b"", b"\x80\x04K\x01.", pickle.dumps({"state": 1}), b"x" * 10_000):
        with pytest.raises(ValueError, match="not a pickled handoff_rl environment"):
            _native.Env._from_state(foreign)
    vector_state = handoff_rl.HandoffVectorEnv(2, **SMALL)._native.state_bytes()
    with pytest.raises(ValueError, match="the state of a VectorEnv, not of a Env"):
        _native.Env._from_state(vector_state)
    with pytest.raises(ValueError, match="the state of a Env, not of a VectorEnv"):
        _native.VectorEnv._from_state(state)


def test_a_state_of_another_model_version_is_refused_naming_both_versions():
    import hashlib
    import json

    state = state_of(handoff_rl.HandoffEnv(**SMALL))
    header = b"handoff_rl environment state\n"
    body = json.loads(state[len(header) : -16])
    body["model_version"] = handoff_rl.MODEL_VERSION - 1
    forged = header + json.dumps(body).encode()
    forged += hashlib.sha256(forged).hexdigest()[:16].encode()
    with pytest.raises(
        ValueError,
        match=f"model version {handoff_rl.MODEL_VERSION - 1}.*model version "
        f"{handoff_rl.MODEL_VERSION}",
    ):
        _native.Env._from_state(forged)
    # a well-formed state whose actions do not replay is damaged, not an abort
    body["model_version"] = handoff_rl.MODEL_VERSION
    body["episode"] = {"seed": 1, "actions": [255] * 3}
    forged = header + json.dumps(body).encode()
    forged += hashlib.sha256(forged).hexdigest()[:16].encode()
    with pytest.raises(ValueError, match="action 0 of 3 does not replay"):
        _native.Env._from_state(forged)


def test_a_fork_keeps_the_present_draws_a_new_future_and_pickles():
    env = handoff_rl.HandoffEnv(**SMALL)
    _, info = env.reset(seed=4)
    rng = np.random.default_rng(3)
    for _ in range(200):
        *_, info = env.step(random_valid(rng, info["action_mask"]))
    fork, again = env.fork(7), env.fork(7)
    assert np.array_equal(fork.action_masks(), env.action_masks())

    def play(e):
        total, mask = 0.0, e.action_masks()
        for _ in range(2000):
            _, reward, terminated, truncated, info = e.step(int(np.flatnonzero(mask)[0]))
            total += reward
            mask = info["action_mask"]
            if terminated or truncated:
                break
        return total

    restored = pickle.loads(pickle.dumps(fork))
    exact, forked, same, other = play(env.clone()), play(fork), play(again), play(env.fork(8))
    assert forked == same and forked != exact and forked != other
    assert play(restored) == forked, "a pickled fork continues as the fork"
