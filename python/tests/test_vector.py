"""The vector environment: Gymnasium's next-step autoreset, seeds, threads and fresh arrays."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from conftest import SMALL

import handoff_rl
from handoff_rl import _native


def first_valid_rows(masks: np.ndarray) -> np.ndarray:
    return masks.argmax(axis=1).astype(np.int64)


def test_make_vec_uses_the_native_vector_with_next_step_autoreset():
    envs = gym.make_vec("handoff_rl/Small-v4", num_envs=3, days=1, scale=0.3, max_steps=4)
    assert isinstance(envs.unwrapped, handoff_rl.HandoffVectorEnv)
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs, info = envs.reset(seed=7)
    assert obs.shape == (3, envs.single_observation_space.shape[0])
    for step in range(1, 5):
        obs, rewards, terminated, truncated, info = envs.step(first_valid_rows(info["action_mask"]))
        assert not terminated.any()
        assert list(truncated) == [step == 4] * 3
    # the step after the end: actions ignored, new episodes, reward 0, no flags
    obs, rewards, terminated, truncated, info = envs.step(np.full(3, 10_000))
    assert not (terminated.any() or truncated.any())
    assert np.array_equal(rewards, np.zeros(3))
    assert not info["_time_s"].any()
    for i in range(3):
        single = handoff_rl.HandoffEnv(**SMALL)
        first, _ = single.reset(seed=_native.VectorEnv.episode_seed(7, i, 1))
        assert np.array_equal(obs[i], first)


def test_sub_environments_replay_the_single_environment_bit_for_bit():
    envs = handoff_rl.HandoffVectorEnv(2, **SMALL, max_steps=300)
    obs, info = envs.reset(seed=21)
    returns = np.zeros(2)
    actions_taken: list[np.ndarray] = []
    for _ in range(300):
        actions = first_valid_rows(info["action_mask"])
        actions_taken.append(actions)
        obs, rewards, terminated, truncated, info = envs.step(actions)
        returns += rewards
    assert truncated.all()
    for i in range(2):
        single = handoff_rl.HandoffEnv(**SMALL, max_steps=300)
        _, single_info = single.reset(seed=_native.VectorEnv.episode_seed(21, i, 0))
        total = 0.0
        for actions in actions_taken:
            assert int(actions[i]) == int(np.flatnonzero(single_info["action_mask"])[0])
            single_obs, reward, _, _, single_info = single.step(int(actions[i]))
            total += reward
        assert total == returns[i]
        assert np.array_equal(single_obs, obs[i])


def rollout(threads: int) -> list[np.ndarray]:
    envs = handoff_rl.HandoffVectorEnv(4, **SMALL, threads=threads, max_steps=50)
    obs, info = envs.reset(seed=3)
    out = [obs]
    for _ in range(120):
        obs, rewards, terminated, truncated, info = envs.step(first_valid_rows(info["action_mask"]))
        out += [obs, rewards, terminated, truncated, info["action_mask"]]
    return out


def test_results_do_not_depend_on_threads():
    one, two = rollout(1), rollout(2)
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))


def test_every_step_returns_fresh_arrays():
    envs = handoff_rl.HandoffVectorEnv(2, **SMALL)
    obs, info = envs.reset(seed=1)
    kept = obs.copy()
    nxt, rewards, _, _, info2 = envs.step(first_valid_rows(info["action_mask"]))
    assert not np.shares_memory(obs, nxt)
    assert not np.shares_memory(info["action_mask"], info2["action_mask"])
    assert np.array_equal(obs, kept)


def test_invalid_action_names_the_environment_and_steps_nothing():
    envs = handoff_rl.HandoffVectorEnv(3, **SMALL, invalid_action="raise")
    obs, info = envs.reset(seed=1)
    actions = first_valid_rows(info["action_mask"])
    bad = actions.copy()
    bad[2] = int(np.flatnonzero(info["action_mask"][2] == 0)[0])
    with pytest.raises(handoff_rl.InvalidAction, match="environment 2"):
        envs.step(bad)
    with pytest.raises(handoff_rl.InvalidAction, match="2 actions for 3"):
        envs.step(actions[:2])
    after, *_ = envs.step(actions)
    clean = handoff_rl.HandoffVectorEnv(3, **SMALL)
    clean.reset(seed=1)
    expected, *_ = clean.step(actions)
    assert np.array_equal(after, expected)


def test_dict_mode_and_list_seeds():
    envs = handoff_rl.HandoffVectorEnv(2, **SMALL, obs_mode="dict")
    obs, info = envs.reset(seed=1)
    assert envs.observation_space.contains(obs)
    with pytest.raises(ValueError, match="one base seed"):
        envs.reset(seed=[1, 2])
