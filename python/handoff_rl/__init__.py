"""handoff_rl: handoff's Rust simulator of AI/human customer-service dispatch for Gymnasium,
Stable-Baselines3 and RLlib.

Importing the package registers one Gymnasium id per built-in scenario, for ``gymnasium.make``
and ``gymnasium.make_vec``. An id's version is the simulator's model version
(:data:`MODEL_VERSION`), which goes up whenever the dynamics, observations or rewards change, so
that a number reported with an id means one thing; an older version refuses to build and names
the current id (``docs/versions.md`` lists what changed in each)::

    import gymnasium as gym
    import handoff_rl

    env = gym.make("handoff_rl/Small-v4")
    envs = gym.make_vec("handoff_rl/Small-v4", num_envs=8, threads=2)

- :class:`HandoffEnv`: one environment (``gymnasium.Env``), masks in ``info["action_mask"]``
  and :meth:`HandoffEnv.action_masks`.
- :class:`HandoffVectorEnv`: N environments stepped natively (``gymnasium.vector.VectorEnv``).
- :func:`evaluate`: a policy against the heuristics on common random numbers, as
  ``handoff eval``.
- :func:`fit_logs`: a centre's chat log turned into a scenario, as ``handoff fit-logs``.
- :mod:`handoff_rl.sb3` and :mod:`handoff_rl.rllib`: adapters for Stable-Baselines3 and RLlib.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import gymnasium

from handoff_rl import _native
from handoff_rl._native import (
    DEFAULT_SCENARIO,
    MODEL_VERSION,
    InvalidAction,
    policy_names,
    scenario_names,
)
from handoff_rl.env import HandoffEnv
from handoff_rl.evaluation import EvalResult, evaluate
from handoff_rl.logs import fit_logs
from handoff_rl.vector import HandoffVectorEnv

try:
    __version__ = version("handoff-rl")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_SCENARIO",
    "ENV_IDS",
    "EvalResult",
    "HandoffEnv",
    "HandoffVectorEnv",
    "InvalidAction",
    "MODEL_VERSION",
    "env_id",
    "evaluate",
    "fit_logs",
    "policy_names",
    "scenario_names",
]


def env_id(scenario: str, version: int = MODEL_VERSION, namespace: str = "handoff_rl") -> str:
    """The Gymnasium id of a built-in scenario: ``ai-outage`` is ``handoff_rl/AiOutage-v4`` on
    model version 4."""
    name = "".join(part.capitalize() for part in scenario.split("-"))
    return f"{namespace}/{name}-v{version}"


def register_envs(version: int = MODEL_VERSION, namespace: str = "handoff_rl") -> dict[str, str]:
    """Registers every built-in scenario with Gymnasium as ``NAMESPACE/Name-vVERSION`` and
    returns the ids by scenario. Importing the package calls it with today's model version;
    Gymnasium then refuses an older version of an id with ``DeprecatedEnv``, naming this one."""
    ids = {name: env_id(name, version, namespace) for name in _native.scenario_names()}
    for scenario, id_ in ids.items():
        if id_ not in gymnasium.registry:
            gymnasium.register(
                id=id_,
                entry_point="handoff_rl.env:HandoffEnv",
                vector_entry_point="handoff_rl.vector:HandoffVectorEnv",
                kwargs={"scenario": scenario},
            )
    return ids


#: Gymnasium id of each built-in scenario, on today's model.
ENV_IDS: dict[str, str] = register_envs()
