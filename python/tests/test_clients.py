"""The libraries users already have, each through its standard entry point on a registered id:
Stable-Baselines3's ``make_vec_env`` (both vector classes, and MaskablePPO on it), TorchRL's
``GymEnv`` (its spec check and a masked rollout) and Gymnasium's ``make_vec`` in both modes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import handoff_rl

SMALL_ID = handoff_rl.ENV_IDS["small"]
#: What every client passes to the constructor: a short day of a small centre.
SHORT = {"days": 1, "scale": 0.3, "max_steps": 200}


#: A user's script: Stable-Baselines3's usual entry point on a registered id, MaskablePPO on it.
SB3_SCRIPT = """
import sys

from sb3_contrib import MaskablePPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import handoff_rl

if __name__ == "__main__":
    cls = {{"dummy": DummyVecEnv, "subproc": SubprocVecEnv}}[sys.argv[1]]
    envs = make_vec_env("{env_id}", n_envs=2, vec_env_cls=cls, env_kwargs={kwargs}, seed=3)
    # make_vec_env asks for rgb_array rendering by default, and gets it
    assert envs.render_mode == "rgb_array", envs.render_mode
    model = MaskablePPO("MlpPolicy", envs, n_steps=128, batch_size=128, n_epochs=1, seed=1)
    model.learn(total_timesteps=512)
    envs.close()
    print("trained", model.num_timesteps)
"""


@pytest.mark.parametrize("vec_env", ["dummy", "subproc"])
def test_sb3_make_vec_env_builds_and_trains_maskable_ppo(vec_env, tmp_path):
    # as a script, as users run it: SubprocVecEnv's workers start from a fork server that
    # imports the script (and so handoff_rl, which registers the ids), not the test runner
    script = tmp_path / "train.py"
    script.write_text(SB3_SCRIPT.format(env_id=SMALL_ID, kwargs=SHORT))
    done = subprocess.run(
        [sys.executable, str(script), vec_env], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) >= 512


def test_a_fresh_process_finds_the_ids_through_the_module_prefix():
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    # the test runner's fork server has not imported handoff_rl: Gymnasium's "module:id"
    # form imports it there
    envs = make_vec_env(
        f"handoff_rl:{SMALL_ID}", n_envs=2, vec_env_cls=SubprocVecEnv, env_kwargs=SHORT
    )
    try:
        envs.reset()
        assert envs.get_attr("scenario_name") == ["small", "small"]
    finally:
        envs.close()


@pytest.mark.skipif(
    importlib.util.find_spec("torchrl") is None,
    reason="TorchRL is not installed (pip install 'handoff-rl[torchrl]')",
)
def test_torchrl_gym_env_passes_its_spec_check_and_rolls_out_masked():
    from torchrl.envs import GymEnv, TransformedEnv
    from torchrl.envs.transforms import ActionMask
    from torchrl.envs.utils import check_env_specs

    check_env_specs(GymEnv(SMALL_ID, **SHORT))
    env = TransformedEnv(GymEnv(SMALL_ID, obs_mode="dict", **SHORT), ActionMask())
    check_env_specs(env)
    env.set_seed(4)
    rollout = env.rollout(150)
    assert rollout.batch_size[0] == 150
    actions = rollout["action"].argmax(-1)
    masks = rollout["action_mask"]
    assert masks.gather(-1, actions.unsqueeze(-1)).all(), "every action sampled was valid"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_gymnasium_make_vec_in_both_modes(mode):
    envs = gym.make_vec(SMALL_ID, num_envs=2, vectorization_mode=mode, **SHORT)
    try:
        _, info = envs.reset(seed=5)
        for _ in range(30):
            actions = np.array([int(np.flatnonzero(m)[0]) for m in info["action_mask"]])
            _, rewards, _, _, info = envs.step(actions)
        assert rewards.shape == (2,)
    finally:
        envs.close()
