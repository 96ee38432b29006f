"""RLlib: PPO with the masking module on a local Ray with two env runners."""

from __future__ import annotations

import numpy as np
import pytest
import ray
import torch
from conftest import SMALL
from ray.rllib.algorithms import Algorithm
from ray.rllib.algorithms.ppo import PPOConfig

import handoff_rl
from handoff_rl.rllib import ActionMaskingPPOModule, multi_agent_ppo_config, ppo_config


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


#: Two env runners on a short, small centre, small batches: two iterations in seconds.
QUICK = {
    "num_env_runners": 2,
    "env_config": {"days": 1, "scale": 0.3, "max_steps": 200},
    "seed": 1,
    "train_batch_size_per_learner": 400,
    "minibatch_size": 100,
    "num_epochs": 2,
}


def train_two_iterations(config: PPOConfig) -> tuple[Algorithm, dict]:
    """The algorithm `config` builds, failing on any env runner's error (an invalid action
    raises in the environment), after two iterations, and the last result."""
    config = config.fault_tolerance(
        restart_failed_env_runners=False, ignore_env_runner_failures=False
    )
    algo = config.build_algo()
    try:
        for _ in range(2):
            result = algo.train()
        assert result["env_runners"]["num_env_steps_sampled_lifetime"] >= 800
    except BaseException:
        algo.stop()
        raise
    return algo, result


def test_ppo_trains_two_iterations_on_two_env_runners_with_masking(local_ray):
    algo, result = train_two_iterations(ppo_config("handoff_rl/Small-v4", **QUICK))
    try:
        assert np.isfinite(result["env_runners"]["episode_return_mean"])
        module = algo.get_module()
        assert isinstance(module, ActionMaskingPPOModule)
        # the trained module gives masked actions no probability
        env = handoff_rl.HandoffEnv(**SMALL, obs_mode="dict")
        obs, _ = env.reset(seed=1)
        batch = {"obs": {k: torch.as_tensor(v)[None] for k, v in obs.items()}}
        logits = module.forward_inference(batch)["action_dist_inputs"][0]
        masked = torch.as_tensor(obs["action_mask"]) == 0
        assert (logits[masked] < -1e30).all()
        assert (logits[~masked] > -1e30).all()
    finally:
        algo.stop()


def test_module_refuses_a_box_observation_space():
    from gymnasium import spaces

    with pytest.raises(ValueError, match="Dict observation space"):
        ActionMaskingPPOModule(
            observation_space=spaces.Box(0, 1, (3,)), action_space=spaces.Discrete(2)
        )


def test_multi_agent_ppo_trains_a_router_and_a_shared_worker_policy(local_ray):
    # a masked action raises in the PettingZoo view, which fails the iteration
    algo, result = train_two_iterations(multi_agent_ppo_config("small", **QUICK))
    try:
        trained = result["learners"]
        assert {"router", "worker"} <= set(trained), sorted(trained)
        for policy in ("router", "worker"):
            assert isinstance(algo.get_module(policy), ActionMaskingPPOModule)
    finally:
        algo.stop()
