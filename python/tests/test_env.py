"""The single environment: Gymnasium's checker, seeds, masks and invalid actions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from conftest import SMALL
from gymnasium.utils.env_checker import check_env

import handoff_rl


def first_valid(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def run_episode(env: handoff_rl.HandoffEnv, seed: int, choose=first_valid) -> tuple[float, int]:
    _, info = env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        _, reward, terminated, truncated, info = env.step(choose(info["action_mask"]))
        total += reward
        steps += 1
        if terminated or truncated:
            return total, steps


def test_an_older_model_version_refuses_to_build_and_names_the_current_id():
    # as after a change of behaviour: today's version is registered under a newer number
    newer = handoff_rl.MODEL_VERSION + 1
    ids = handoff_rl.register_envs(version=newer, namespace="handoff_rl_next")
    assert ids["taobao"] == f"handoff_rl_next/Taobao-v{newer}"
    with pytest.raises(gym.error.DeprecatedEnv, match=ids["taobao"]):
        gym.make(f"handoff_rl_next/Taobao-v{handoff_rl.MODEL_VERSION}")


def test_gymnasium_env_checker_passes():
    env = gym.make("handoff_rl/Small-v0", days=1, scale=0.3, invalid_action="first_valid")
    check_env(env.unwrapped)


def test_every_builtin_scenario_is_registered():
    assert set(handoff_rl.ENV_IDS) == set(handoff_rl.scenario_names())
    version = handoff_rl.MODEL_VERSION
    assert handoff_rl.ENV_IDS["ai-outage"] == f"handoff_rl/AiOutage-v{version}"
    for env_id in handoff_rl.ENV_IDS.values():
        spec = gym.spec(env_id)
        assert spec.entry_point == "handoff_rl.env:HandoffEnv"
        assert spec.vector_entry_point == "handoff_rl.vector:HandoffVectorEnv"


def test_same_seed_same_episode_to_the_last_bit():
    env = handoff_rl.HandoffEnv(**SMALL)
    a = run_episode(env, 11)
    b = run_episode(handoff_rl.HandoffEnv(**SMALL), 11)
    c = run_episode(env, 12)
    assert a == b
    assert a != c


def test_observations_lie_in_the_space_and_masks_agree():
    env = handoff_rl.HandoffEnv(**SMALL)
    obs, info = env.reset(seed=3)
    for _ in range(300):
        assert env.observation_space.contains(obs)
        assert info["action_mask"].dtype == np.int8
        assert np.array_equal(env.action_masks(), info["action_mask"].astype(bool))
        assert list(np.flatnonzero(info["action_mask"])) == env.unwrapped._native.valid_actions()
        assert info["decision"] in ("route", "attend")  # the scenario's controlled kinds
        obs, _, terminated, truncated, info = env.step(first_valid(info["action_mask"]))
        assert not (terminated or truncated)


def test_reset_without_seed_follows_the_last_seed():
    env = handoff_rl.HandoffEnv(**SMALL)
    env.reset(seed=5)
    _, first = env.reset()
    env.reset(seed=5)
    _, again = env.reset()
    assert first["seed"] == again["seed"]


def test_invalid_action_raises_and_changes_nothing():
    env = handoff_rl.HandoffEnv(**SMALL)
    obs, info = env.reset(seed=1)
    masked = int(np.flatnonzero(info["action_mask"] == 0)[0])
    for bad in (masked, env.action_space.n, -1):
        with pytest.raises(handoff_rl.InvalidAction, match=str(bad)):
            env.step(bad)
    # the episode goes on exactly as one that never saw the bad actions
    after, _, _, _, _ = env.step(first_valid(info["action_mask"]))
    clean = handoff_rl.HandoffEnv(**SMALL)
    clean.reset(seed=1)
    expected, _, _, _, _ = clean.step(first_valid(info["action_mask"]))
    assert np.array_equal(after, expected)


def test_first_valid_option_maps_invalid_actions():
    env = handoff_rl.HandoffEnv(**SMALL, invalid_action="first_valid")
    ref = handoff_rl.HandoffEnv(**SMALL)
    _, info = env.reset(seed=2)
    ref.reset(seed=2)
    masked = int(np.flatnonzero(info["action_mask"] == 0)[0])
    got = env.step(masked)
    want = ref.step(first_valid(info["action_mask"]))
    assert np.array_equal(got[0], want[0]) and got[1] == want[1]


def test_dict_observations_carry_the_mask():
    env = handoff_rl.HandoffEnv(**SMALL, obs_mode="dict")
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    assert np.array_equal(obs["action_mask"], info["action_mask"])


def test_truncation_at_max_steps():
    env = handoff_rl.HandoffEnv(**SMALL, max_steps=7)
    total, steps = run_episode(env, 4)
    assert steps == 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scenario": "nowhere"}, "nowhere"),
        ({"control": ["routing"]}, "routing"),
        ({"control": []}, "at least one"),
        ({"reward": {"joy": 1.0}}, "joy"),
        ({"reward": {"retrial": 1e9}}, "reward.retrial"),
        ({"fallback": "c-mu@max_chats=99"}, "max_chats"),
        ({"scale": 0.0}, "scale"),
        ({"obs_mode": "image"}, "obs_mode"),
        ({"invalid_action": "ignore"}, "invalid_action"),
    ],
)
def test_bad_arguments_are_value_errors_that_name_them(kwargs, message):
    args = {**SMALL, **kwargs}
    with pytest.raises(ValueError, match=message):
        handoff_rl.HandoffEnv(**args)


def test_control_fallback_and_reward_take_effect():
    plain = run_episode(handoff_rl.HandoffEnv(**SMALL), 9)
    route_only = handoff_rl.HandoffEnv(**SMALL, control=["route"], fallback="c-mu")
    _, info = route_only.reset(seed=9)
    assert info["decision"] == "route"
    assert run_episode(route_only, 9) != plain
    doubled = run_episode(
        handoff_rl.HandoffEnv(
            **SMALL,
            reward={
                "satisfaction": 2.0,
                "duration_per_min": 0.04,
                "retrial": 1.0,
                "abandonment": 2.0,
            },
        ),
        9,
    )
    assert doubled[1] == plain[1]
    assert doubled[0] == pytest.approx(2 * plain[0], rel=1e-9)
