"""RLlib: the scenarios as RLlib environments, an action-masking PPO module and a config helper.

RLlib runs environments in env runners, processes that Ray places on any node of a cluster, so
training scales out by raising ``num_env_runners``::

    from handoff_rl.rllib import ppo_config

    algo = ppo_config("handoff_rl/Small-v4", num_env_runners=2).build_algo()
    for _ in range(10):
        print(algo.train()["env_runners"]["episode_return_mean"])

The environments use ``obs_mode="dict"``: ``{"observations", "action_mask"}``.
:class:`ActionMaskingPPOModule` reads the mask and gives masked actions a logit of about
-3.4e38, so they are never sampled and add nothing to the loss.

:func:`multi_agent_ppo_config` trains the PettingZoo view (:mod:`handoff_rl.pettingzoo`) with
two policies: one for the ``router`` and one shared by every worker (parameter sharing).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.env.wrappers.pettingzoo_env import PettingZooEnv
from ray.tune.registry import register_env

from handoff_rl import ENV_IDS
from handoff_rl.env import HandoffEnv

#: The logit given to masked actions (RLlib's own FLOAT_MIN).
MASKED_LOGIT = torch.finfo(torch.float32).min

#: The Ray Tune name of the PettingZoo view (its ``env_config`` takes the keyword arguments of
#: :func:`handoff_rl.pettingzoo.env`, the scenario included).
MULTI_AGENT_ENV = "handoff_rl/multi-agent"

#: The names a Dict observation gives its observation vector: RLlib's and PettingZoo's.
OBSERVATION_KEYS = ("observations", "observation")


def register() -> list[str]:
    """Registers every built-in scenario with Ray Tune under its Gymnasium id
    (``handoff_rl/Small-v4``, ...), as a Dict-observation environment whose ``env_config`` takes
    the keyword arguments of :class:`handoff_rl.HandoffEnv`. Returns the ids."""
    for scenario, env_id in ENV_IDS.items():
        register_env(env_id, lambda config, s=scenario: make_env(s, config))
    return list(ENV_IDS.values())


def make_env(scenario: str, config: dict[str, Any] | None = None) -> HandoffEnv:
    """A :class:`handoff_rl.HandoffEnv` on `scenario` with Dict observations for RLlib."""
    kwargs = dict(config or {})
    kwargs.setdefault("scenario", scenario)
    kwargs["obs_mode"] = "dict"
    return HandoffEnv(**kwargs)


class ActionMaskingPPOModule(DefaultPPOTorchRLModule):
    """RLlib's default PPO network on the ``observations`` part of a Dict observation, with the
    ``action_mask`` part applied to the action logits (masked actions: :data:`MASKED_LOGIT`).

    The value function reads the observations only. Built on RLlib's current
    ``DefaultPPOTorchRLModule`` (RLlib's own masking example subclasses a deprecated class).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        space = kwargs.get("observation_space")
        keys = set(space.spaces) if isinstance(space, gym.spaces.Dict) else set()
        if keys not in ({key, "action_mask"} for key in OBSERVATION_KEYS):
            raise ValueError(
                "ActionMaskingPPOModule needs a Dict observation space of "
                '"observations" (or PettingZoo\'s "observation") and "action_mask" '
                '(HandoffEnv(obs_mode="dict"), handoff_rl.pettingzoo)'
            )
        kwargs["observation_space"] = space[observation_key(space.spaces)]
        super().__init__(*args, **kwargs)
        # RLlib checks batches against the space the environment produces
        self.observation_space = space

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        mask, batch = split_mask(batch)
        return apply_mask(super()._forward(batch, **kwargs), mask)

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        mask, batch = split_mask(batch)
        return apply_mask(super()._forward_train(batch, **kwargs), mask)

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> Any:
        if embeddings is None:
            _, batch = split_mask(batch)
        return super().compute_values(batch, embeddings)


def split_mask(batch: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The action mask and a shallow copy of `batch` whose observations are the Box part
    (the batch RLlib passes is left as it is: the learner reuses it)."""
    obs = batch[Columns.OBS]
    out = dict(batch)
    out[Columns.OBS] = obs[observation_key(obs)]
    return obs["action_mask"], out


def observation_key(observation: Any) -> str:
    """Which of :data:`OBSERVATION_KEYS` a Dict observation (or its space) uses."""
    return next(key for key in OBSERVATION_KEYS if key in observation)


def apply_mask(output: dict[str, Any], mask: Any) -> dict[str, Any]:
    """Sets the logits of masked actions to :data:`MASKED_LOGIT`."""
    logits = output[Columns.ACTION_DIST_INPUTS]
    output[Columns.ACTION_DIST_INPUTS] = torch.where(
        mask.bool(), logits, torch.full_like(logits, MASKED_LOGIT)
    )
    return output


def ppo_config(
    env: str = ENV_IDS["small"],
    *,
    num_env_runners: int = 2,
    num_envs_per_env_runner: int = 1,
    env_config: dict[str, Any] | None = None,
    hidden: tuple[int, ...] = (64, 64),
    seed: int | None = None,
    **training: Any,
) -> PPOConfig:
    """A PPO configuration on a registered handoff environment with the masking module:
    `num_env_runners` processes (spread over a Ray cluster when ``ray.init`` joined one) of
    `num_envs_per_env_runner` environments each. `env_config` takes the keyword arguments of
    :class:`handoff_rl.HandoffEnv`; `training` goes to ``PPOConfig.training`` (``lr``,
    ``train_batch_size_per_learner``, ...). `env` defaults to ``small`` at today's model
    version."""
    register()
    config = (
        PPOConfig()
        .environment(env=env, env_config=env_config or {})
        .env_runners(
            num_env_runners=num_env_runners, num_envs_per_env_runner=num_envs_per_env_runner
        )
        .rl_module(
            rl_module_spec=RLModuleSpec(
                module_class=ActionMaskingPPOModule,
                model_config={"fcnet_hiddens": list(hidden)},
            )
        )
        .debugging(seed=seed)
    )
    if training:
        config = config.training(**training)
    return config


def _multi_agent_env(config: dict[str, Any]) -> PettingZooEnv:
    """RLlib's ``PettingZooEnv`` around the AEC view, told of every possible agent: RLlib reads
    the agents and their spaces once, after a reset, when only the router and the workers on
    duty at the start are live; the others join as their first shift begins."""
    from handoff_rl import pettingzoo

    env = PettingZooEnv(pettingzoo.env(**config))
    env.possible_agents = list(env.env.possible_agents)
    env.observation_spaces = {a: env.env.observation_space(a) for a in env.possible_agents}
    env.action_spaces = {a: env.env.action_space(a) for a in env.possible_agents}
    return env


def multi_agent_ppo_config(
    scenario: str = "small",
    *,
    num_env_runners: int = 2,
    env_config: dict[str, Any] | None = None,
    hidden: tuple[int, ...] = (64, 64),
    seed: int | None = None,
    **training: Any,
) -> PPOConfig:
    """PPO on the PettingZoo view of `scenario` with two policies, ``router`` for the router
    and ``worker`` shared by every worker, each an :class:`ActionMaskingPPOModule`. The
    environment is RLlib's ``PettingZooEnv`` around :func:`handoff_rl.pettingzoo.env`;
    `env_config` takes its keyword arguments; `training` goes to ``PPOConfig.training``."""
    from handoff_rl import pettingzoo

    register_env(MULTI_AGENT_ENV, _multi_agent_env)
    module = RLModuleSpec(
        module_class=ActionMaskingPPOModule, model_config={"fcnet_hiddens": list(hidden)}
    )
    config = (
        PPOConfig()
        .environment(
            env=MULTI_AGENT_ENV,
            env_config={"scenario": scenario, **(env_config or {})},
            # RLlib's check steps actions drawn without the mask, which the PettingZoo view
            # refuses (PettingZoo's own api_test, which reads the mask, passes: tested)
            disable_env_checking=True,
        )
        .env_runners(num_env_runners=num_env_runners)
        .multi_agent(
            policies={"router", "worker"},
            policy_mapping_fn=lambda agent_id, episode, **kwargs: (
                "router" if agent_id == pettingzoo.ROUTER else "worker"
            ),
        )
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(rl_module_specs={"router": module, "worker": module})
        )
        .debugging(seed=seed)
    )
    if training:
        config = config.training(**training)
    return config
