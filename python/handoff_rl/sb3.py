"""Stable-Baselines3: `HandoffVecEnv`, the native vector environment as an SB3 `VecEnv`, and
`kickstart`, which starts an SB3 model at a rule by imitating it.

SB3 resets an environment in the step that ends its episode (the returned observation is the
new episode's first; the final one is in ``infos[i]["terminal_observation"]``), where Gymnasium
1.x resets at the next step. This adapter steps the native vector and resets the environments
that ended at once, so SB3 and sb3-contrib (MaskablePPO reads :meth:`HandoffVecEnv.action_masks`
through ``env_method``) run at native speed::

    from sb3_contrib import MaskablePPO
    from handoff_rl.sb3 import HandoffVecEnv

    env = HandoffVecEnv("small", num_envs=8, threads=2)
    model = MaskablePPO("MlpPolicy", env, seed=1).learn(100_000)
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn
from typing_extensions import Unpack

from handoff_rl import _native
from handoff_rl.env import _SEED_LIMIT, ScenarioOptions, observation_space


class HandoffVecEnv(VecEnv):
    """`num_envs` handoff environments stepped natively on `threads` threads, with SB3's
    same-step autoreset. Takes the keyword arguments of :class:`handoff_rl.HandoffEnv` (but not
    `obs_mode`: SB3 reads the Box observation and asks for masks).

    ``seed(s)`` before ``reset()`` makes the run reproducible: the vector's base seed is `s`,
    and environment ``i``'s ``k``-th episode runs on
    ``_native.VectorEnv.episode_seed(s, i, k)`` as in :class:`handoff_rl.HandoffVectorEnv`.
    Each info carries ``episode`` (``r``, ``l``) when an episode ends, as SB3's Monitor writes it,
    so ``rollout/ep_rew_mean`` is logged without a wrapper.
    """

    def __init__(
        self,
        scenario: str = _native.DEFAULT_SCENARIO,
        num_envs: int = 1,
        *,
        threads: int = 1,
        **options: Unpack[ScenarioOptions],
    ) -> None:
        self._native = _native.VectorEnv(scenario, num_envs, threads=threads, **options)
        self.render_mode = None
        actions = spaces.Discrete(self._native.n_actions)
        super().__init__(num_envs, observation_space(self._native, "box"), actions)
        self._masks = np.zeros((num_envs, self._native.n_actions), dtype=np.int8)
        self._actions = np.zeros(num_envs, dtype=np.int64)
        self._rng = np.random.default_rng()

    def reset(self) -> np.ndarray:
        seed = self._seeds[0]
        if seed is None:
            seed = int(self._rng.integers(_SEED_LIMIT))
        else:
            self._rng = np.random.default_rng(seed)
        obs, _, _, _, self._masks, _ = self._native.reset(seed)
        self._reset_seeds()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terminated, truncated, masks, info = self._native.step(self._actions)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            for i in np.flatnonzero(dones):
                infos[i] = {
                    "terminal_observation": obs[i].copy(),
                    "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                    "episode": {
                        "r": float(info["episode_return"][i]),
                        "l": int(info["steps"][i]),
                    },
                }
            new_obs, _, _, _, new_masks, _ = self._native.reset_ended()
            obs[dones] = new_obs[dones]
            masks[dones] = new_masks[dones]
        self._masks = masks
        return obs, rewards.astype(np.float32), dones, infos

    def action_masks(self) -> np.ndarray:
        """Which actions are valid now, booleans ``[num_envs, n_actions]``."""
        return self._masks.astype(bool)

    def close(self) -> None:
        pass

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise AttributeError(f"HandoffVecEnv: setting {attr_name} is not supported")

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        if method_name != "action_masks":
            raise AttributeError(f"HandoffVecEnv: no environment method {method_name}")
        masks = self.action_masks()
        return [masks[i] for i in self._get_indices(indices)]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]


def kickstart(
    model: Any,
    env: gym.Env,
    *,
    steps: int = 20_000,
    epochs: int = 20,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> Any:
    """Starts an SB3 model at a rule: behaviour cloning of ``info["rule_action"]``.

    Runs `env` (made with ``rule=...``) for `steps` decisions following its rule, then trains
    the model's policy for `epochs` passes at `learning_rate` to choose the rule's action
    (cross-entropy, with the action masks for sb3-contrib's MaskablePPO) and its value head to
    predict the rule's discounted return (``model.gamma``), so that a later ``model.learn``
    starts from the rule with a critic that knows it, instead of from a random network. A lower
    learning rate for ``model.learn`` than SB3's default keeps PPO from walking away from the
    rule (docs/python.md). Returns `model`.

    Raises:
        ValueError: `env` reports no ``rule_action`` (it was made without ``rule=``), or a count
            is not positive.
    """
    for name, value in (("steps", steps), ("epochs", epochs), ("batch_size", batch_size)):
        if value < 1:
            raise ValueError(f"kickstart: {name} must be at least 1, got {value}")
    observations, actions, masks, rewards, ends = [], [], [], [], []
    obs, info = env.reset(seed=seed)
    if "rule_action" not in info:
        raise ValueError("kickstart: the environment has no rule (make it with rule=...)")
    for _ in range(steps):
        action = int(info["rule_action"])
        observations.append(obs)
        actions.append(action)
        masks.append(info["action_mask"].astype(bool))
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        ends.append(terminated or truncated)
        if terminated or truncated:
            obs, info = env.reset()
    returns = np.zeros(steps, dtype=np.float32)
    following = 0.0
    for t in reversed(range(steps)):
        following = rewards[t] + (0.0 if ends[t] else model.gamma * following)
        returns[t] = following

    policy = model.policy
    device = policy.device
    obs_t = th.as_tensor(np.asarray(observations, dtype=np.float32), device=device)
    act_t = th.as_tensor(np.asarray(actions), device=device)
    mask_t = np.asarray(masks)
    ret_t = th.as_tensor(returns, device=device)
    masked = "action_masks" in inspect.signature(policy.evaluate_actions).parameters
    order = np.random.default_rng(seed)
    for group in policy.optimizer.param_groups:
        group["lr"] = learning_rate  # the model's own rate is set again by every model.learn
    policy.set_training_mode(True)
    for _ in range(epochs):
        for batch in np.array_split(order.permutation(steps), max(1, steps // batch_size)):
            extra = {"action_masks": mask_t[batch]} if masked else {}
            index = th.as_tensor(batch, device=device)
            values, log_prob, _ = policy.evaluate_actions(obs_t[index], act_t[index], **extra)
            loss = -log_prob.mean() + model.vf_coef * th.nn.functional.mse_loss(
                values.flatten(), ret_t[index]
            )
            policy.optimizer.zero_grad()
            loss.backward()
            policy.optimizer.step()
    policy.set_training_mode(False)
    return model
