"""`HandoffVectorEnv`: N handoff environments stepped in Rust, as a `gymnasium.vector.VectorEnv`."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from typing_extensions import Unpack

from handoff_rl import _native
from handoff_rl.env import (
    _SEED_LIMIT,
    RENDER_FPS,
    RENDER_MODES,
    InvalidActionMode,
    ObsMode,
    RenderMode,
    ScenarioOptions,
    built_by,
    check_invalid_action_mode,
    check_render_mode,
    observation_space,
    whole_numbers,
)


class HandoffVectorEnv(VectorEnv):
    """`num_envs` handoff environments behind one Rust call per step, the interpreter released
    while they run on `threads` threads (results do not depend on the number of threads).

    Gymnasium 1.x next-step autoreset: when an environment's episode ends, that step returns
    its final observation, reward and flags; at the next step its action is ignored and it
    returns the first observation of a new episode with reward 0. Sub-environment ``i`` of a
    vector reset with ``seed=s`` runs its ``k``-th episode on
    ``_native.VectorEnv.episode_seed(s, i, k)``. The info dict holds arrays (``time_s``,
    ``chats_completed``, ``episode_return``, ``steps``, each with its ``_key`` mask, and
    ``action_mask``, int8 ``[num_envs, n_actions]``); every step returns fresh arrays.

    Takes the keyword arguments of :class:`handoff_rl.HandoffEnv`, and `threads`. With a
    `render_mode`, :meth:`render` returns a tuple of every environment's frame; the vector
    pickles as :class:`handoff_rl.HandoffEnv` does, every environment's episode replayed.
    """

    metadata = {
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": RENDER_MODES,
        "render_fps": RENDER_FPS,
    }

    def __init__(
        self,
        num_envs: int = 1,
        scenario: str = _native.DEFAULT_SCENARIO,
        *,
        threads: int = 1,
        obs_mode: ObsMode = "box",
        invalid_action: InvalidActionMode = "first_valid",
        render_mode: RenderMode | None = None,
        **options: Unpack[ScenarioOptions],
    ) -> None:
        check_invalid_action_mode(invalid_action)
        check_render_mode(render_mode)
        self._native = built_by(
            "HandoffVectorEnv.__init__",
            lambda: _native.VectorEnv(scenario, num_envs, threads=threads, **options),
        )
        self.num_envs = num_envs
        self.single_observation_space = observation_space(self._native, obs_mode)
        self.single_action_space = spaces.Discrete(self._native.n_actions)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.obs_mode: ObsMode = obs_mode
        self.invalid_action: InvalidActionMode = invalid_action
        self.render_mode = render_mode
        self._masks = np.zeros((num_envs, self._native.n_actions), dtype=np.int8)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if isinstance(seed, (list, tuple)):
            raise ValueError(
                "seed: pass one base seed; environment i's episodes derive their seeds from it"
            )
        super().reset(seed=seed)
        base = seed if seed is not None else int(self.np_random.integers(_SEED_LIMIT))
        obs, _, _, _, info = self._batch(self._native.reset(base))
        return obs, info

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        given = whole_numbers(actions)
        if given is None:
            raise _native.InvalidAction(f"actions {actions!r}: every action must be a whole number")
        actions = given.ravel()
        if self.invalid_action == "first_valid" and actions.size == self.num_envs:
            actions = first_valid(actions, self._masks)
        return self._batch(self._native.step(actions))

    def render(self) -> tuple[Any, ...] | None:
        """Every environment's frame, as `render_mode` says (None without one)."""
        if self.render_mode == "ansi":
            return tuple(self._native.render_text())
        if self.render_mode == "rgb_array":
            return tuple(self._native.render_rgb())
        return None

    def action_masks(self) -> np.ndarray:
        """Which actions are valid now, booleans ``[num_envs, n_actions]``."""
        return self._masks.astype(bool)

    def _batch(self, batch: tuple) -> tuple:
        obs, rewards, terminated, truncated, masks, native_info = batch
        self._masks = masks
        has_info = native_info.pop("has_info")
        info: dict[str, Any] = {}
        for key, values in native_info.items():
            info[key] = values
            info["_" + key] = has_info
        info["action_mask"] = masks
        info["_action_mask"] = np.ones(self.num_envs, dtype=bool)
        if self.obs_mode == "dict":
            obs = {"observations": obs, "action_mask": masks}
        return obs, rewards, terminated, truncated, info


def first_valid(actions: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """`actions` with each invalid one replaced by the first valid action of its row."""
    rows = np.arange(actions.size)
    in_range = (actions >= 0) & (actions < masks.shape[1])
    valid = in_range & (masks[rows, np.clip(actions, 0, masks.shape[1] - 1)] != 0)
    return np.where(valid, actions, masks.argmax(axis=1))
