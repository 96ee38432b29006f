"""`HandoffEnv`: one handoff environment as a `gymnasium.Env`."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from typing_extensions import TypedDict, Unpack

from handoff_rl import _native

ObsMode = Literal["box", "dict"]
InvalidActionMode = Literal["raise", "first_valid"]
RenderMode = Literal["ansi", "rgb_array"]

#: The render modes: a text frame of the centre, or a picture of it as uint8 [height, width, 3].
RENDER_MODES: list[str] = ["ansi", "rgb_array"]

#: Frames per second a recording of an episode plays at (a frame is a decision).
RENDER_FPS = 4

T = TypeVar("T")


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


def built_by(owner: str, make: Callable[[], T]) -> T:
    """``make()``, a native constructor; its ``TypeError`` for a keyword argument it does not
    take is raised in Python's words for `owner` (``HandoffEnv.__init__() got an unexpected
    keyword argument 'frameskip'``), which libraries that retry without an argument recognise."""
    try:
        return make()
    except TypeError as e:
        raise TypeError(f"{owner}() {e}") from None


def check_render_mode(render_mode: str | None) -> None:
    """Raises ValueError unless `render_mode` is None or one of :data:`RENDER_MODES`."""
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(
            f"render_mode: {render_mode!r} is not a render mode of handoff "
            f"(allowed: None, {', '.join(RENDER_MODES)})"
        )


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

    ``render_mode="ansi"`` makes :meth:`render` return a text frame of the centre (the time, the
    decision waiting and its valid actions, the queue, each worker's chats and the AI chats they
    supervise), ``"rgb_array"`` a picture of it, uint8 ``[height, width, 3]``, the same size for
    every frame (so that ``RecordVideo`` records an episode; ``docs/environment.md`` has the
    legend). An environment pickles, mid-episode too: the bytes hold the scenario and the
    episode's seed and actions, and the unpickled environment replays them, so it continues
    exactly as this one would.

    Args:
        scenario: a built-in scenario (``handoff_rl.scenario_names()``) or a TOML file.
        obs_mode: ``"box"`` or ``"dict"``.
        invalid_action: ``"first_valid"`` (default) or ``"raise"``.
        rule: a policy, named as ``fallback`` is, whose choice ``info["rule_action"]`` reports.
        render_mode: None, ``"ansi"`` or ``"rgb_array"``.
        options: the scenario's keyword arguments, :class:`ScenarioOptions`: ``control``,
            ``fallback``, ``reward``, ``days``, ``scale``, ``max_steps``.
    """

    metadata = {"render_modes": RENDER_MODES, "render_fps": RENDER_FPS}

    def __init__(
        self,
        scenario: str = _native.DEFAULT_SCENARIO,
        *,
        obs_mode: ObsMode = "box",
        invalid_action: InvalidActionMode = "first_valid",
        rule: str | None = None,
        render_mode: RenderMode | None = None,
        **options: Unpack[ScenarioOptions],
    ) -> None:
        check_invalid_action_mode(invalid_action)
        check_render_mode(render_mode)
        self._native = built_by(
            "HandoffEnv.__init__", lambda: _native.Env(scenario, rule=rule, **options)
        )
        self.observation_space = observation_space(self._native, obs_mode)
        self.action_space = spaces.Discrete(self._native.n_actions)
        self.obs_mode: ObsMode = obs_mode
        self.invalid_action: InvalidActionMode = invalid_action
        self.render_mode = render_mode
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

    def render(self) -> str | np.ndarray | None:
        """The centre now, as `render_mode` says: text (``"ansi"``) or a picture
        (``"rgb_array"``); with no render mode, None and a warning, as Gymnasium's own
        environments do."""
        if self.render_mode == "ansi":
            return self._native.render_text()
        if self.render_mode == "rgb_array":
            return self._native.render_rgb()
        env_id = self.spec.id if self.spec else "..."
        gym.logger.warn(
            "You are calling render method without specifying any render mode. Set render_mode "
            f'at initialization, e.g. gym.make("{env_id}", render_mode="rgb_array")'
        )
        return None

    def clone(self) -> HandoffEnv:
        """A copy that continues exactly as this environment would (the same as
        ``copy.deepcopy``): stepping the copy leaves this one untouched."""
        return copy.deepcopy(self)

    def fork(self, seed: int) -> HandoffEnv:
        """A copy with the same observable present (observation, mask, every chat's state and
        wait, the workers) and a future drawn afresh from `seed`, consistent with what has been
        seen: later arrivals, and what cannot be seen of the chats in flight (the rounds an issue
        still needs, whether the AI can solve it, the customer's patience beyond their waits so
        far, every later reply's time and outcome). A :meth:`clone` knows the episode's future;
        a fork does not, so options compared on forks are compared as a dispatcher could compare
        them. The same state and seed give the same fork; it pickles like the environment."""
        return copy.deepcopy(self, {id(self._native): self._native.fork(seed)})

    def action_masks(self) -> np.ndarray:
        """Which actions are valid now, as booleans (what sb3-contrib's MaskablePPO reads)."""
        return self._mask.astype(bool)

    def _observe(self, obs: np.ndarray, mask: np.ndarray, info: dict[str, Any]) -> Any:
        self._mask = mask
        info["action_mask"] = mask
        if self.obs_mode == "dict":
            return {"observations": obs, "action_mask": mask}
        return obs
