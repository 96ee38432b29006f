"""Rendering: every registered id draws its centre as text (``"ansi"``) and as a picture
(``"rgb_array"``), Gymnasium's and PettingZoo's checkers pass with each mode, and a recording
wrapper records an episode."""

from __future__ import annotations

import importlib.util

import gymnasium as gym
import numpy as np
import pytest
from conftest import SMALL
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import api_test, parallel_api_test

import handoff_rl
from handoff_rl.pettingzoo import env as aec_env
from handoff_rl.pettingzoo import parallel_env


def first_valid(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


@pytest.mark.parametrize("env_id", sorted(handoff_rl.ENV_IDS.values()))
def test_every_registered_id_renders_text_and_pictures(env_id):
    for mode in ("ansi", "rgb_array"):
        env = gym.make(env_id, render_mode=mode, days=1, scale=0.05)
        assert env.metadata["render_modes"] == ["ansi", "rgb_array"]
        assert env.metadata["render_fps"] > 0
        _, info = env.reset(seed=1)
        frames = [env.render()]
        for _ in range(50):
            _, _, terminated, truncated, info = env.step(first_valid(info["action_mask"]))
            if terminated or truncated:
                break
            frames.append(env.render())
        if mode == "ansi":
            assert all(isinstance(f, str) for f in frames)
            assert info["decision"] + " decision of " + info["agent"] in frames[-1]
        else:
            shape = frames[0].shape
            assert len(shape) == 3 and shape[2] == 3 and frames[0].dtype == np.uint8
            assert all(f.shape == shape for f in frames), "every frame has the same size"
            assert shape[0] % 16 == 0 and shape[1] % 16 == 0
            assert len({f.tobytes() for f in frames}) > 1, "the picture follows the centre"


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_gymnasium_checker_passes_with_each_render_mode(mode):
    env = gym.make(handoff_rl.ENV_IDS["small"], render_mode=mode)
    check_env(env.unwrapped)


def test_an_unknown_render_mode_is_refused_naming_the_modes():
    with pytest.raises(ValueError, match="render_mode: 'human' .*allowed: None, ansi, rgb_array"):
        handoff_rl.HandoffEnv(**SMALL, render_mode="human")
    with pytest.raises(ValueError, match="render_mode"):
        handoff_rl.HandoffVectorEnv(2, **SMALL, render_mode="video")


def test_render_without_a_mode_warns_and_returns_none():
    env = handoff_rl.HandoffEnv(**SMALL)
    env.reset(seed=1)
    with pytest.warns(UserWarning, match="without specifying any render mode"):
        assert env.render() is None


def test_rendering_changes_nothing_in_the_episode():
    plain = handoff_rl.HandoffEnv(**SMALL)
    drawn = handoff_rl.HandoffEnv(**SMALL, render_mode="rgb_array")
    _, info = plain.reset(seed=5)
    drawn.reset(seed=5)
    for _ in range(300):
        drawn.render()
        action = first_valid(info["action_mask"])
        a, b = plain.step(action), drawn.step(action)
        assert np.array_equal(a[0], b[0]) and a[1:4] == b[1:4]
        info = a[4]


def test_the_vector_renders_every_environment():
    envs = handoff_rl.HandoffVectorEnv(3, **SMALL, render_mode="rgb_array")
    envs.reset(seed=2)
    frames = envs.render()
    assert isinstance(frames, tuple) and len(frames) == 3
    assert all(f.shape == frames[0].shape for f in frames)
    text = handoff_rl.HandoffVectorEnv(2, **SMALL, render_mode="ansi")
    text.reset(seed=2)
    assert all(f.startswith("small · day 1") for f in text.render())


@pytest.mark.skipif(
    importlib.util.find_spec("moviepy") is None,
    reason="RecordVideo needs moviepy, which is not installed (pip install moviepy)",
)
def test_record_video_writes_a_video_of_a_short_episode(tmp_path):
    from gymnasium.wrappers import RecordVideo

    env = gym.make(handoff_rl.ENV_IDS["small"], render_mode="rgb_array", days=1, max_steps=60)
    env = RecordVideo(
        env, str(tmp_path / "videos"), episode_trigger=lambda episode: True, disable_logger=True
    )
    _, info = env.reset(seed=1)
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(first_valid(info["action_mask"]))
        done = terminated or truncated
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert videos and videos[0].stat().st_size > 1000


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_pettingzoo_api_tests_pass_with_rendering_on(mode):
    api_test(aec_env(**SMALL, render_mode=mode), num_cycles=300)
    parallel_api_test(parallel_env(**SMALL, render_mode=mode), num_cycles=300)
    aec = aec_env(**SMALL, render_mode=mode)
    aec.reset(seed=1)
    frame = aec.render()
    assert isinstance(frame, str) if mode == "ansi" else frame.dtype == np.uint8
