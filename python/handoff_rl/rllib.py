"""RLlib: the scenarios as RLlib environments, an action-masking PPO module and a config helper.

RLlib runs environments in env runners, processes that Ray places on any node of a cluster, so
training scales out by raising ``num_env_runners``::

    from handoff_rl.rllib import ppo_config

    algo = ppo_config("handoff_rl/Small-v0", num_env_runners=2).build_algo()
    for _ in range(10):
        print(algo.train()["env_runners"]["episode_return_mean"])

The environments use ``obs_mode="dict"``: ``{"observations", "action_mask"}``.
:class:`ActionMaskingPPOModule` reads the mask and gives masked actions a logit of about
-3.4e38, so they are never sampled and add nothing to the loss.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.tune.registry import register_env

from handoff_rl import ENV_IDS
from handoff_rl.env import HandoffEnv

#: The logit given to masked actions (RLlib's own FLOAT_MIN).
MASKED_LOGIT = torch.finfo(torch.float32).min


def register() -> list[str]:
    """Registers every built-in scenario with Ray Tune under its Gymnasium id
    (``handoff_rl/Small-v0``, ...), as a Dict-observation environment whose ``env_config`` takes
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
        if not isinstance(space, gym.spaces.Dict) or set(space.spaces) != {
            "observations",
            "action_mask",
        }:
            raise ValueError(
                "ActionMaskingPPOModule needs a Dict observation space of "
                '"observations" and "action_mask" (HandoffEnv(obs_mode="dict"))'
            )
        kwargs["observation_space"] = space["observations"]
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
    out[Columns.OBS] = obs["observations"]
    return obs["action_mask"], out


def apply_mask(output: dict[str, Any], mask: Any) -> dict[str, Any]:
    """Sets the logits of masked actions to :data:`MASKED_LOGIT`."""
    logits = output[Columns.ACTION_DIST_INPUTS]
    output[Columns.ACTION_DIST_INPUTS] = torch.where(
        mask.bool(), logits, torch.full_like(logits, MASKED_LOGIT)
    )
    return output


def ppo_config(
    env: str = "handoff_rl/Small-v0",
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
    ``train_batch_size_per_learner``, ...)."""
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
