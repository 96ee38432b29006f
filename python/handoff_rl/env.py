"""`HandoffEnv`: one handoff environment as a `gymnasium.Env`."""

from __future__ import annotations

import copy
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from typing_extensions import TypedDict, Unpack

from handoff_rl import _native

ObsMode = Literal["box", "dict"]
InvalidActionMode = Literal["raise", "first_valid"]


class ScenarioOptions(TypedDict, total=False):
    """The keyword arguments that change the scenario, taken by every environment and by
    :func:`handoff_rl.evaluate`. They are read in Rust (``ScenarioArgs`` in
    ``python/src/options.rs``, where they are declared): an unknown name or a value of the wrong
    type raises ``ValueError`` naming it."""

    control: list[str]
    """Decision kinds the agent makes: route, attend, assign (default: the scenario's)."""
    fallback: str
    """The policy for the other decisions: a built-in or shipped tuned policy, with overrides
    as in ``"c-mu@max_chats=2"``, or a policy file (default: the scenario's)."""
    reward: dict[str, float]
    """Reward weights to override: satisfaction, duration_per_min, retrial, abandonment."""
    days: int
    """Simulated days per episode (default: the scenario's)."""
    scale: float
    """Workers and arrivals scaled by this factor, in (0, 10] (same load per worker; 1)."""
    max_steps: int
    """Truncate episodes after this many agent steps (0: never; not taken by ``evaluate``)."""


#: Largest seed a reset draws when none is given (seeds are 64-bit in Rust).
_SEED_LIMIT = 2**63


def observation_space(native: _native.Env | _native.VectorEnv, obs_mode: ObsMode) -> spaces.Space:
    """The observation space of one environment: a Box, or a Dict of the Box and the mask."""
    box = spaces.Box(low=native.observation_low, high=native.observation_high, dtype=np.float32)
    if obs_mode == "box":
        return box
    if obs_mode == "dict":
        mask = spaces.Box(low=0, high=1, shape=(native.n_actions,), dtype=np.int8)
        return spaces.Dict({"observations": box, "action_mask": mask})
    raise ValueError(f'obs_mode: "{obs_mode}" is not an observation mode (allowed: box, dict)')


def whole_numbers(actions: Any) -> np.ndarray | None:
    """`actions` as int64, or None when a value is not a whole number (2.5, "1"): the caller
    refuses it rather than truncating it."""
    values = np.asarray(actions)
    kind = values.dtype.kind
    if kind not in "iuf" or (kind == "f" and (values != np.floor(values)).any()):
        return None
    return values.astype(np.int64)


def whole_action(action: Any) -> int:
    """One action as an int; a number that is not whole (2.5) or a sequence raises InvalidAction
    rather than being truncated."""
    value = whole_numbers(action)
    if value is None or value.shape != ():
        raise _native.InvalidAction(f"action {action!r} is not a whole number")
    return int(value)


def check_invalid_action_mode(mode: str) -> None:
    """Raises ValueError unless `mode` is a way of treating invalid actions."""
    if mode not in ("raise", "first_valid"):
        raise ValueError(f'invalid_action: "{mode}" is not a mode (allowed: raise, first_valid)')


class HandoffEnv(gym.Env):
    """A handoff environment: dispatch decisions in a customer-service centre shared by an AI
    and human workers, simulated in Rust.

    Each step is one decision of a kind the agent controls (`control`: route, attend, assign);
    the others are made by `fallback`. The observation is a float32 vector (or, with
    ``obs_mode="dict"``, ``{"observations", "action_mask"}`` as RLlib, TorchRL and PettingZoo
    expect); the action is a candidate slot. `info["action_mask"]` (int8) and
    :meth:`action_masks` say which actions are valid (sb3-contrib's MaskablePPO calls the
    latter). A masked or out-of-range action is mapped to the first valid action and reported
    in ``info["invalid_action"]`` (the action given), so that checkers which sample actions
    blindly (Gymnasium's and Stable-Baselines3's ``check_env``) run with default arguments;
    ``invalid_action="raise"`` raises :class:`handoff_rl.InvalidAction` instead and leaves the
    environment as it was. An action that is not a whole number (2.5) always raises.

    ``clone()`` (or ``copy.deepcopy``) returns a copy that continues exactly as this environment
    would: compare options by rolling each out on a copy. With ``rule`` set, ``info["rule_action"]``
    is that policy's choice at the decision now waiting (a start for learners that imitate or
    improve on a rule).

    ``reset(seed=s)`` starts the same episode as the Rust ``HandoffEnv::reset(s)``; a reset
    without a seed draws one from the generator the last seed set.

    Args:
        scenario: a built-in scenario (``handoff_rl.scenario_names()``) or a TOML file.
        obs_mode: ``"box"`` or ``"dict"``.
        invalid_action: ``"first_valid"`` (default) or ``"raise"``.
        rule: a policy, named as ``fallback`` is, whose choice ``info["rule_action"]`` reports.
        options: the scenario's keyword arguments, :class:`ScenarioOptions`: ``control``,
            ``fallback``, ``reward``, ``days``, ``scale``, ``max_steps``.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        scenario: str = _native.DEFAULT_SCENARIO,
        *,
        obs_mode: ObsMode = "box",
        invalid_action: InvalidActionMode = "first_valid",
        rule: str | None = None,
        render_mode: str | None = None,
        **options: Unpack[ScenarioOptions],
    ) -> None:
        check_invalid_action_mode(invalid_action)
        if render_mode is not None:
            raise ValueError("render_mode: handoff has no rendering (use None)")
        self._native = _native.Env(scenario, rule=rule, **options)
        self.observation_space = observation_space(self._native, obs_mode)
        self.action_space = spaces.Discrete(self._native.n_actions)
        self.obs_mode: ObsMode = obs_mode
        self.invalid_action: InvalidActionMode = invalid_action
        self.render_mode = None
        self._mask = np.zeros(self._native.n_actions, dtype=np.int8)

    @property
    def scenario_name(self) -> str:
        """The scenario's name."""
        return self._native.scenario_name

    def scenario_toml(self) -> str:
        """The scenario as TOML, every value in force (for the record of an experiment)."""
        return self._native.scenario_toml()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        episode_seed = seed if seed is not None else int(self.np_random.integers(_SEED_LIMIT))
        obs, mask, info = self._native.reset(episode_seed)
        info["seed"] = episode_seed
        return self._observe(obs, mask, info), info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        action = whole_action(action)
        given = None
        if self.invalid_action == "first_valid" and not (
            0 <= action < self._mask.size and self._mask[action]
        ):
            valid = np.flatnonzero(self._mask)
            if valid.size:
                given, action = action, int(valid[0])
        obs, reward, terminated, truncated, mask, info = self._native.step(action)
        if given is not None:
            info["invalid_action"] = given
        return self._observe(obs, mask, info), reward, terminated, truncated, info

    def clone(self) -> HandoffEnv:
        """A copy that continues exactly as this environment would (the same as
        ``copy.deepcopy``): stepping the copy leaves this one untouched."""
        return copy.deepcopy(self)

    def action_masks(self) -> np.ndarray:
        """Which actions are valid now, as booleans (what sb3-contrib's MaskablePPO reads)."""
        return self._mask.astype(bool)

    def _observe(self, obs: np.ndarray, mask: np.ndarray, info: dict[str, Any]) -> Any:
        self._mask = mask
        info["action_mask"] = mask
        if self.obs_mode == "dict":
            return {"observations": obs, "action_mask": mask}
        return obs
