"""handoff_rl: handoff's Rust simulator of AI/human customer-service dispatch for Gymnasium,
Stable-Baselines3 and RLlib.

Importing the package registers one Gymnasium id per built-in scenario, for ``gymnasium.make``
and ``gymnasium.make_vec``::

    import gymnasium as gym
    import handoff_rl

    env = gym.make("handoff_rl/Small-v0")
    envs = gym.make_vec("handoff_rl/Small-v0", num_envs=8, threads=2)

- :class:`HandoffEnv`: one environment (``gymnasium.Env``), masks in ``info["action_mask"]``
  and :meth:`HandoffEnv.action_masks`.
- :class:`HandoffVectorEnv`: N environments stepped natively (``gymnasium.vector.VectorEnv``).
- :func:`evaluate`: a policy against the heuristics on common random numbers, as
  ``handoff eval``.
- :mod:`handoff_rl.sb3` and :mod:`handoff_rl.rllib`: adapters for Stable-Baselines3 and RLlib.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import gymnasium

from handoff_rl import _native
from handoff_rl._native import DEFAULT_SCENARIO, InvalidAction, policy_names, scenario_names
from handoff_rl.env import HandoffEnv
from handoff_rl.evaluation import EvalResult, evaluate
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
    "env_id",
    "evaluate",
    "policy_names",
    "scenario_names",
]


def env_id(scenario: str) -> str:
    """The Gymnasium id of a built-in scenario: ``ai-outage`` is ``handoff_rl/AiOutage-v0``."""
    return "handoff_rl/" + "".join(part.capitalize() for part in scenario.split("-")) + "-v0"


#: Gymnasium id of each built-in scenario.
ENV_IDS: dict[str, str] = {name: env_id(name) for name in _native.scenario_names()}

for _scenario, _id in ENV_IDS.items():
    if _id not in gymnasium.registry:
        gymnasium.register(
            id=_id,
            entry_point="handoff_rl.env:HandoffEnv",
            vector_entry_point="handoff_rl.vector:HandoffVectorEnv",
            kwargs={"scenario": _scenario},
        )
