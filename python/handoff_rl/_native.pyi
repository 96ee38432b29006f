"""Type stubs of the Rust extension `handoff_rl._native` (python/src)."""

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import Unpack

from handoff_rl.env import ScenarioOptions

DEFAULT_SCENARIO: str
#: The simulator's behaviour version; Gymnasium ids end in ``-v{MODEL_VERSION}``.
MODEL_VERSION: int

class InvalidAction(ValueError):
    """An action that is out of range or masked out; the environment is unchanged."""

def scenario_names() -> list[str]:
    """The built-in scenarios."""

def policy_names() -> list[str]:
    """The built-in heuristics and the shipped tuned policies."""

Info = dict[str, Any]
Batch = tuple[
    npt.NDArray[np.float32],
    npt.NDArray[np.float64],
    npt.NDArray[np.bool_],
    npt.NDArray[np.bool_],
    npt.NDArray[np.int8],
    dict[str, npt.NDArray[Any]],
]

class Env:
    """One environment; not for use from two threads at once."""

    scenario_name: str
    observation_len: int
    n_actions: int
    #: Workers in the centre after `scale`: the agents ``worker_0`` ... of the multi-agent view.
    n_workers: int
    observation_low: npt.NDArray[np.float32]
    observation_high: npt.NDArray[np.float32]
    def __init__(
        self,
        scenario: str = ...,
        *,
        rule: str | None = None,
        **options: Unpack[ScenarioOptions],
    ) -> None: ...
    def scenario_toml(self) -> str: ...
    def reset(self, seed: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int8], Info]: ...
    def step(
        self, action: int
    ) -> tuple[npt.NDArray[np.float32], float, bool, bool, npt.NDArray[np.int8], Info]: ...
    def valid_actions(self) -> list[int]: ...
    def workers_joined(self, start: int) -> list[int]: ...
    def is_over(self) -> bool: ...
    def clone(self) -> Env: ...
    def fork(self, seed: int) -> Env: ...
    def __copy__(self) -> Env: ...
    def __deepcopy__(self, memo: dict[int, object]) -> Env: ...
    @classmethod
    def _from_state(cls, state: bytes) -> Env: ...
    def state_bytes(self) -> bytes: ...
    def __reduce__(self) -> tuple[Callable[[bytes], Env], tuple[bytes]]: ...
    def render_text(self) -> str: ...
    def render_rgb(self) -> npt.NDArray[np.uint8]: ...

class VectorEnv:
    """N environments stepped in Rust with next-step autoreset."""

    num_envs: int
    observation_len: int
    n_actions: int
    threads: int
    observation_low: npt.NDArray[np.float32]
    observation_high: npt.NDArray[np.float32]
    def __init__(
        self,
        scenario: str = ...,
        num_envs: int = 1,
        *,
        threads: int = 1,
        **options: Unpack[ScenarioOptions],
    ) -> None: ...
    def reset(self, seed: int) -> Batch: ...
    def step(self, actions: npt.NDArray[np.int64]) -> Batch: ...
    def reset_ended(self) -> Batch: ...
    @classmethod
    def _from_state(cls, state: bytes) -> VectorEnv: ...
    def state_bytes(self) -> bytes: ...
    def __reduce__(self) -> tuple[Callable[[bytes], VectorEnv], tuple[bytes]]: ...
    def render_text(self) -> list[str]: ...
    def render_rgb(self) -> list[npt.NDArray[np.uint8]]: ...
    @staticmethod
    def episode_seed(seed: int, index: int, episode: int) -> int: ...

def fit_logs(
    chats: str | os.PathLike[str],
    *,
    base: str = ...,
    arm: str | None = None,
    seeds: int = 4,
    policy: str | None = None,
    name: str | None = None,
    fit_service: int = 200,
) -> str:
    """The report of `handoff fit-logs --json`, the fitted scenario in `scenario_toml`."""

def evaluate(
    policy: Callable[[npt.NDArray[np.float32], npt.NDArray[np.int8]], int] | str,
    scenario: str = ...,
    *,
    baselines: list[str] | None = None,
    baseline: str | None = None,
    seeds: int = 10,
    first_seed: int = 1,
    name: str = "python",
    threads: int | None = None,
    resamples: int = 10000,
    **options: Unpack[ScenarioOptions],
) -> tuple[str, str]:
    """(JSON, Markdown) of the comparison, as `handoff eval` prints them."""
