"""Stable-Baselines3: the VecEnv adapter's same-step autoreset, and MaskablePPO that never sends
a masked action."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from conftest import SMALL
from sb3_contrib import MaskablePPO

import handoff_rl
from handoff_rl import _native
from handoff_rl.sb3 import HandoffVecEnv, kickstart


class GuardedVecEnv(HandoffVecEnv):
    """Counts the actions that reach the environment and fails on a masked one."""

    steps = 0

    def step_async(self, actions: np.ndarray) -> None:
        masks = self.action_masks()
        actions = np.asarray(actions).reshape(self.num_envs)
        assert masks[np.arange(self.num_envs), actions].all(), "a masked action reached the env"
        self.steps += self.num_envs
        super().step_async(actions)


def test_same_step_autoreset_keeps_the_final_observation():
    env = HandoffVecEnv(num_envs=2, **SMALL, max_steps=3)
    env.seed(5)
    env.reset()
    for step in range(1, 4):
        actions = env.action_masks().argmax(axis=1)
        obs, rewards, dones, infos = env.step(actions)
        assert list(dones) == [step == 3] * 2
    for i in range(2):
        single = handoff_rl.HandoffEnv(**SMALL, max_steps=3)
        _, info = single.reset(seed=_native.VectorEnv.episode_seed(5, i, 0))
        for _ in range(3):
            final, *_, info = single.step(int(np.flatnonzero(info["action_mask"])[0]))
        assert np.array_equal(infos[i]["terminal_observation"], final)
        assert infos[i]["TimeLimit.truncated"] is True
        assert infos[i]["episode"]["l"] == 3
        first, _ = single.reset(seed=_native.VectorEnv.episode_seed(5, i, 1))
        assert np.array_equal(obs[i], first)


def test_maskable_ppo_on_the_vec_env_never_sends_a_masked_action():
    env = GuardedVecEnv(num_envs=4, **SMALL, threads=2, max_steps=256)
    model = MaskablePPO("MlpPolicy", env, n_steps=256, batch_size=256, n_epochs=2, seed=1)
    model.learn(total_timesteps=2048)
    assert env.steps >= 2048
    assert model.ep_info_buffer, "episodes ended and were logged"


def test_maskable_ppo_on_gym_make():
    env = gym.make("handoff_rl/Small-v4", days=1, scale=0.3, max_steps=200)
    model = MaskablePPO("MlpPolicy", env, n_steps=200, batch_size=100, n_epochs=1, seed=1)
    model.learn(total_timesteps=400)

    def policy(obs, mask):
        return model.predict(obs, action_masks=mask.astype(bool), deterministic=True)[0]

    result = handoff_rl.evaluate(policy, **SMALL, baselines=["c-mu"], seeds=1, name="ppo")
    # the evaluation runs the trained model on the episode the environment gives for seed 1
    single = handoff_rl.HandoffEnv(**SMALL)
    obs, info = single.reset(seed=1)
    earned, terminated, truncated = 0.0, False, False
    while not (terminated or truncated):
        obs, reward, terminated, truncated, info = single.step(policy(obs, info["action_mask"]))
        earned += reward
    assert result.policy("ppo")["return_mean"] == pytest.approx(earned, rel=1e-12, abs=0)


def rule_agreement(model: MaskablePPO, env: handoff_rl.HandoffEnv, seed: int, steps: int) -> float:
    """The share of `steps` decisions, following the rule from `seed`, where the model's
    deterministic choice is the rule's."""
    obs, info = env.reset(seed=seed)
    same = 0
    for _ in range(steps):
        choice, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
        same += int(choice) == info["rule_action"]
        obs, _, terminated, truncated, info = env.step(info["rule_action"])
        if terminated or truncated:
            obs, info = env.reset()
    return same / steps


def test_kickstart_starts_the_model_at_the_rule():
    env = handoff_rl.HandoffEnv(**SMALL, rule="surge-c-mu-theta")
    model = MaskablePPO("MlpPolicy", env, seed=1)
    before = rule_agreement(model, env, seed=99, steps=2_000)
    kickstart(model, env, steps=5_000, seed=3)
    after = rule_agreement(model, env, seed=99, steps=2_000)
    # on decisions it never saw, the imitation makes the rule's choice almost always (0.96 when
    # written); the untrained network makes it about one time in ten
    assert after >= 0.9 and after > before + 0.5, (before, after)


def test_kickstart_needs_a_rule_and_positive_counts():
    with pytest.raises(ValueError, match="rule="):
        kickstart(
            MaskablePPO("MlpPolicy", handoff_rl.HandoffEnv(**SMALL)), handoff_rl.HandoffEnv(**SMALL)
        )
    env = handoff_rl.HandoffEnv(**SMALL, rule="c-mu")
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        kickstart(MaskablePPO("MlpPolicy", env), env, epochs=0)
