"""The single environment: Gymnasium's checker, seeds, masks, invalid actions, copies and the
rule's choice."""

from __future__ import annotations

import copy
import re

import gymnasium as gym
import numpy as np
import pytest
from conftest import SMALL
from gymnasium.utils.env_checker import check_env

import handoff_rl
from handoff_rl.env import ScenarioOptions


def first_valid(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def run_episode(env: handoff_rl.HandoffEnv, seed: int, choose=first_valid) -> tuple[float, int]:
    _, info = env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        _, reward, terminated, truncated, info = env.step(choose(info["action_mask"]))
        total += reward
        steps += 1
        if terminated or truncated:
            return total, steps


def test_an_older_model_version_refuses_to_build_and_names_the_current_id():
    # as after a change of behaviour: today's version is registered under a newer number
    newer = handoff_rl.MODEL_VERSION + 1
    ids = handoff_rl.register_envs(version=newer, namespace="handoff_rl_next")
    assert ids["taobao"] == f"handoff_rl_next/Taobao-v{newer}"
    with pytest.raises(gym.error.DeprecatedEnv, match=ids["taobao"]):
        gym.make(f"handoff_rl_next/Taobao-v{handoff_rl.MODEL_VERSION}")


def test_gymnasium_env_checker_passes():
    env = gym.make("handoff_rl/Small-v4", days=1, scale=0.3, invalid_action="first_valid")
    check_env(env.unwrapped)


def test_every_builtin_scenario_is_registered():
    assert set(handoff_rl.ENV_IDS) == set(handoff_rl.scenario_names())
    version = handoff_rl.MODEL_VERSION
    assert handoff_rl.ENV_IDS["ai-outage"] == f"handoff_rl/AiOutage-v{version}"
    for env_id in handoff_rl.ENV_IDS.values():
        spec = gym.spec(env_id)
        assert spec.entry_point == "handoff_rl.env:HandoffEnv"
        assert spec.vector_entry_point == "handoff_rl.vector:HandoffVectorEnv"


def test_same_seed_same_episode_to_the_last_bit():
    env = handoff_rl.HandoffEnv(**SMALL)
    a = run_episode(env, 11)
    b = run_episode(handoff_rl.HandoffEnv(**SMALL), 11)
    c = run_episode(env, 12)
    assert a == b
    assert a != c


def test_observations_lie_in_the_space_and_masks_agree():
    env = handoff_rl.HandoffEnv(**SMALL)
    obs, info = env.reset(seed=3)
    for _ in range(300):
        assert env.observation_space.contains(obs)
        assert info["action_mask"].dtype == np.int8
        assert np.array_equal(env.action_masks(), info["action_mask"].astype(bool))
        assert list(np.flatnonzero(info["action_mask"])) == env.unwrapped._native.valid_actions()
        assert info["decision"] in ("route", "attend")  # the scenario's controlled kinds
        obs, _, terminated, truncated, info = env.step(first_valid(info["action_mask"]))
        assert not (terminated or truncated)


def test_reset_without_seed_follows_the_last_seed():
    env = handoff_rl.HandoffEnv(**SMALL)
    env.reset(seed=5)
    _, first = env.reset()
    env.reset(seed=5)
    _, again = env.reset()
    assert first["seed"] == again["seed"]


def test_invalid_action_raises_and_changes_nothing():
    env = handoff_rl.HandoffEnv(**SMALL, invalid_action="raise")
    obs, info = env.reset(seed=1)
    masked = int(np.flatnonzero(info["action_mask"] == 0)[0])
    for bad in (masked, env.action_space.n, -1):
        with pytest.raises(handoff_rl.InvalidAction, match=str(bad)):
            env.step(bad)
    # the episode goes on exactly as one that never saw the bad actions
    after, _, _, _, _ = env.step(first_valid(info["action_mask"]))
    clean = handoff_rl.HandoffEnv(**SMALL)
    clean.reset(seed=1)
    expected, _, _, _, _ = clean.step(first_valid(info["action_mask"]))
    assert np.array_equal(after, expected)


def test_by_default_invalid_actions_map_to_the_first_valid_one_and_say_so():
    env = handoff_rl.HandoffEnv(**SMALL)
    ref = handoff_rl.HandoffEnv(**SMALL)
    _, info = env.reset(seed=2)
    ref.reset(seed=2)
    masked = int(np.flatnonzero(info["action_mask"] == 0)[0])
    got = env.step(masked)
    want = ref.step(first_valid(info["action_mask"]))
    assert np.array_equal(got[0], want[0]) and got[1] == want[1]
    assert got[4]["invalid_action"] == masked
    assert "invalid_action" not in want[4]


@pytest.mark.parametrize("mode", ["first_valid", "raise"])
def test_an_action_that_is_not_a_whole_number_is_refused(mode):
    env = handoff_rl.HandoffEnv(**SMALL, invalid_action=mode)
    _, info = env.reset(seed=2)
    valid = first_valid(info["action_mask"])
    for bad in (valid + 0.5, np.float32(valid + 0.25), "1", [valid]):
        with pytest.raises(handoff_rl.InvalidAction, match="whole number"):
            env.step(bad)
    env.step(float(valid))  # a whole float is the action it names
    envs = handoff_rl.HandoffVectorEnv(2, **SMALL, invalid_action=mode)
    envs.reset(seed=2)
    with pytest.raises(handoff_rl.InvalidAction, match="whole number"):
        envs.step(np.array([0.5, 1.0]))


def test_gymnasium_and_sb3_checkers_pass_with_default_arguments():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    handoff_rl.register_envs()
    env = gym.make(f"handoff_rl/Small-v{handoff_rl.MODEL_VERSION}")
    check_env(env.unwrapped)
    check_env(env)
    sb3_check_env(handoff_rl.HandoffEnv("small"), warn=True)


def test_a_clone_continues_exactly_as_the_original_and_leaves_it_untouched():
    env = handoff_rl.HandoffEnv(**SMALL)
    _, info = env.reset(seed=5)
    rng = np.random.default_rng(0)

    def some_valid(mask):
        return int(rng.choice(np.flatnonzero(mask)))

    for _ in range(40):
        _, _, _, _, info = env.step(some_valid(info["action_mask"]))
    twin, deep = env.clone(), copy.deepcopy(env)
    # stepping a third copy far ahead changes nothing in the others
    runaway = env.clone()
    for _ in range(200):
        _, _, term, trunc, rinfo = runaway.step(first_valid(runaway.action_masks()))
        if term or trunc:
            break
    for _ in range(300):
        action = some_valid(info["action_mask"])
        got = [e.step(action) for e in (env, twin, deep)]
        for other in got[1:]:
            assert np.array_equal(got[0][0], other[0]) and got[0][1:4] == other[1:4]
            assert got[0][4]["time_s"] == other[4]["time_s"]
        info = got[0][4]
        if got[0][2] or got[0][3]:
            break


def test_following_rule_action_everywhere_is_the_rule_itself():
    rule = "c-mu-theta"
    every_kind = ["route", "attend", "assign"]
    env = handoff_rl.HandoffEnv(**SMALL, control=every_kind, rule=rule)
    _, info = env.reset(seed=1)
    followed, steps = 0.0, 0
    while True:
        assert info["action_mask"][info["rule_action"]] == 1, "the rule chooses a valid action"
        _, reward, terminated, truncated, info = env.step(info["rule_action"])
        followed += reward
        steps += 1
        if terminated or truncated:
            break
    assert "rule_action" not in info, "no decision waits after the end"
    assert steps > 100
    # the evaluation's rule makes the same decisions (the kinds the agent controls)
    result = handoff_rl.evaluate(
        lambda obs, mask: first_valid(mask),
        **SMALL,
        control=every_kind,
        baselines=[rule],
        seeds=1,
    )
    assert result.policy(rule)["return_mean"] == pytest.approx(followed, rel=1e-12, abs=0)
    with pytest.raises(ValueError, match="rule: "):
        handoff_rl.HandoffEnv(**SMALL, rule="no-such-rule")


def test_dict_observations_carry_the_mask():
    env = handoff_rl.HandoffEnv(**SMALL, obs_mode="dict")
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    assert np.array_equal(obs["action_mask"], info["action_mask"])


def test_truncation_at_max_steps():
    env = handoff_rl.HandoffEnv(**SMALL, max_steps=7)
    total, steps = run_episode(env, 4)
    assert steps == 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scenario": "nowhere"}, "nowhere"),
        ({"control": ["routing"]}, "routing"),
        ({"control": []}, "at least one"),
        ({"reward": {"joy": 1.0}}, "joy"),
        ({"reward": {"retrial": 1e9}}, "reward.retrial"),
        ({"fallback": "c-mu@max_chats=99"}, "max_chats"),
        ({"scale": 0.0}, "scale"),
        ({"obs_mode": "image"}, "obs_mode"),
        ({"invalid_action": "ignore"}, "invalid_action"),
    ],
)
def test_bad_arguments_are_value_errors_that_name_them(kwargs, message):
    args = {**SMALL, **kwargs}
    with pytest.raises(ValueError, match=message):
        handoff_rl.HandoffEnv(**args)


def test_a_centre_that_cannot_be_delivered_as_asked_is_a_user_warning():
    # the command line's warning, from the same builder: hours with chats and no one on duty
    with pytest.warns(UserWarning, match="scale 0.001 leaves 1 worker and no one on duty"):
        handoff_rl.HandoffEnv("small", days=1, scale=0.001)
    with pytest.warns(UserWarning, match="no one on duty"):
        handoff_rl.HandoffVectorEnv(2, "small", days=1, scale=0.001)


def test_the_scenario_options_are_declared_once_and_checked_by_name():
    # Rust reads them and names what it expects: exactly the keys of the TypedDict; an unknown
    # one is Python's TypeError, in Python's words
    with pytest.raises(TypeError) as refused:
        handoff_rl.HandoffEnv("small", dayz=1)
    message = str(refused.value)
    assert message.startswith("HandoffEnv.__init__() got an unexpected keyword argument 'dayz'")
    expected = set(re.findall(r"\w+", message.split("keyword arguments:")[1]))
    assert expected == set(ScenarioOptions.__annotations__)
    for make, owner in [
        (lambda: handoff_rl.HandoffVectorEnv(2, "small", dayz=1), "HandoffVectorEnv.__init__"),
        (lambda: handoff_rl.evaluate("c-mu", "small", dayz=1), "evaluate"),
    ]:
        with pytest.raises(TypeError, match=rf"^{owner}\(\) got an unexpected keyword argument"):
            make()
    # a value of the wrong type is refused naming its argument, not truncated
    for bad, name in [
        ({"days": 2.5}, "days"),
        ({"scale": "big"}, "scale"),
        ({"reward": 1}, "reward"),
    ]:
        with pytest.raises(ValueError, match=f"^{name}: invalid type"):
            handoff_rl.HandoffEnv(**{**SMALL, **bad})
    with pytest.raises(ValueError, match="max_steps: evaluate runs whole episodes"):
        handoff_rl.evaluate("c-mu", **SMALL, max_steps=5)
    # NumPy's integers are whole numbers
    env = handoff_rl.HandoffEnv(**{**SMALL, "days": np.int64(1)})
    assert run_episode(env, 3) == run_episode(handoff_rl.HandoffEnv(**SMALL), 3)


def test_control_fallback_and_reward_take_effect():
    plain = run_episode(handoff_rl.HandoffEnv(**SMALL), 9)
    route_only = handoff_rl.HandoffEnv(**SMALL, control=["route"], fallback="c-mu")
    _, info = route_only.reset(seed=9)
    assert info["decision"] == "route"
    assert run_episode(route_only, 9) != plain
    doubled = run_episode(
        handoff_rl.HandoffEnv(
            **SMALL,
            reward={
                "satisfaction": 2.0,
                "duration_per_min": 0.04,
                "retrial": 1.0,
                "abandonment": 2.0,
            },
        ),
        9,
    )
    assert doubled[1] == plain[1]
    assert doubled[0] == pytest.approx(2 * plain[0], rel=1e-9)


def test_rule_action_can_follow_a_corrected_policy_file(tmp_path):
    # a corrected c-mu that keeps eligible chats from the AI (a negative AI bias): the kind of
    # file the rollout learner writes
    weights = [-5.0] + [0.0] * 11
    path = tmp_path / "corrected.toml"
    path.write_text(
        'policy = "c-mu"\n\n[correction]\nrule = "c-mu"\nscenario = "small"\ndays = 1\n'
        f"reply_value = 0.0\nsamples = 100\nweights = {weights}\n\n"
        f"[correction.model]\nmodel_version = {handoff_rl.MODEL_VERSION}\n"
        'scenario_fingerprint = "0"\n'
    )
    corrected = handoff_rl.HandoffEnv(**SMALL, rule=str(path))
    plain = handoff_rl.HandoffEnv(**SMALL, rule="c-mu")
    (_, info), (_, plain_info) = corrected.reset(seed=2), plain.reset(seed=2)
    followed, differ = 0.0, 0
    while True:
        differ += int(info["rule_action"] != plain_info["rule_action"])
        action = info["rule_action"]
        _, reward, terminated, truncated, info = corrected.step(action)
        plain_info = plain.step(action)[4]
        followed += reward
        if terminated or truncated:
            break
    assert differ > 0, "the correction changes some of the rule's choices"
    # the hand-written stamp names no real fingerprint: the evaluation says so and goes on
    with pytest.warns(UserWarning, match="scenario fingerprint 0"):
        result = handoff_rl.evaluate(
            lambda obs, mask: first_valid(mask),
            **SMALL,
            baselines=[str(path)],
            seeds=1,
            first_seed=2,
        )
    assert result.policy(str(path))["return_mean"] == pytest.approx(followed, rel=1e-12, abs=0)
