"""Stable-Baselines3: `HandoffVecEnv`, the native vector environment as an SB3 `VecEnv`.

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

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from handoff_rl import _native
from handoff_rl.env import _SEED_LIMIT, observation_space


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
        control: list[str] | None = None,
        fallback: str | None = None,
        reward: dict[str, float] | None = None,
        days: int | None = None,
        scale: float = 1.0,
        max_steps: int | None = None,
    ) -> None:
        self._native = _native.VectorEnv(
            scenario,
            num_envs,
            threads=threads,
            control=control,
            fallback=fallback,
            reward=reward,
            days=days,
            scale=scale,
            max_steps=max_steps,
        )
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
