"""PettingZoo: the AEC view passes PettingZoo's API test, repeats from its seed, and takes the
single-agent environment's decisions in its order, to the last bit."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import SMALL
from pettingzoo.test import api_test, parallel_api_test

import handoff_rl
from handoff_rl.pettingzoo import HandoffAECEnv, env, parallel_env

CENTRES = pytest.mark.parametrize(
    "kwargs",
    [SMALL, {"scenario": "taobao", "days": 1, "scale": 0.05}],
    ids=["small", "taobao-5pct"],
)


@CENTRES
def test_pettingzoo_api_test_passes(kwargs):
    api_test(env(**kwargs), num_cycles=1000)


@CENTRES
def test_pettingzoo_parallel_api_test_passes(kwargs):
    parallel_api_test(parallel_env(**kwargs), num_cycles=1000)


def play(aec: HandoffAECEnv, seed: int) -> list[tuple]:
    """An episode's turns taking the rule's action: (agent, observation, mask, reward) of each."""
    aec.reset(seed=seed)
    turns = []
    for agent in aec.agent_iter():
        observation, reward, termination, truncation, info = aec.last()
        turns.append((agent, observation["observation"], observation["action_mask"], reward))
        aec.step(None if termination or truncation else info["rule_action"])
    return turns


def test_seeded_runs_repeat_to_the_last_bit():
    first = play(env(**SMALL, rule="c-mu"), seed=4)
    again = play(env(**SMALL, rule="c-mu"), seed=4)
    assert len(first) == len(again) > 500
    for a, b in zip(first, again, strict=True):
        assert a[0] == b[0] and a[3] == b[3]
        assert np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    assert {t[0] for t in first} > {"router"}, "workers take turns too"


def test_the_agents_take_the_single_agent_decisions_and_earn_its_return():
    rule = "study-treatment"
    aec = env(**SMALL, rule=rule)
    single = handoff_rl.HandoffEnv(**SMALL, rule=rule)
    aec.reset(seed=9)
    _, info = single.reset(seed=9)
    team_return, turns = 0.0, 0
    for agent in aec.agent_iter():
        observation, _, termination, truncation, aec_info = aec.last()
        if termination or truncation:
            aec.step(None)
            continue
        # the same decision, asked of the agent it concerns, with the same valid actions
        assert agent == info["agent"]
        assert np.array_equal(observation["action_mask"], info["action_mask"])
        action = info["rule_action"]
        assert aec_info["rule_action"] == action
        aec.step(action)
        team_return += aec.rewards[agent]
        _, _, terminated, truncated, info = single.step(action)
        turns += 1
    assert terminated or truncated
    assert team_return == info["episode_return"]
    assert turns == info["steps"]


def test_an_invalid_action_names_the_agent_and_changes_nothing():
    aec = env(**SMALL)
    aec.reset(seed=2)
    agent = aec.agent_selection
    before = aec.observe(agent)
    masked = int(np.flatnonzero(before["action_mask"] == 0)[0])
    with pytest.raises(ValueError, match=f"{agent}: action {masked} is not valid now"):
        aec.step(masked)
    assert aec.agent_selection == agent
    after = aec.observe(agent)
    assert np.array_equal(before["observation"], after["observation"])
    with pytest.raises(ValueError, match="unknown agent 'nobody'"):
        aec.observe("nobody")
    with pytest.raises(ValueError, match="obs_mode"):
        env(**SMALL, obs_mode="dict")


def test_own_credit_splits_the_team_reward_among_the_agents():
    aec = env(**SMALL, rule="study-treatment", credit="own")
    aec.reset(seed=9)
    earned: dict[str, float] = {}
    team_return = 0.0
    for _ in aec.agent_iter():
        _, _, termination, truncation, info = aec.last()
        if termination or truncation:
            aec.step(None)
            continue
        aec.step(info["rule_action"])
        for other, reward in aec.rewards.items():
            earned[other] = earned.get(other, 0.0) + reward
    single = handoff_rl.HandoffEnv(**SMALL, rule="study-treatment")
    _, info = single.reset(seed=9)
    done = False
    while not done:
        _, reward, terminated, truncated, info = single.step(info["rule_action"])
        team_return += reward
        done = terminated or truncated
    assert sum(earned.values()) == pytest.approx(team_return, rel=1e-9)
    workers_paid = [a for a, r in earned.items() if a != "router" and r != 0.0]
    assert len(workers_paid) > 1 and earned["router"] != 0.0, earned
    with pytest.raises(ValueError, match="credit: 'mine' is not one of team, own"):
        env(**SMALL, credit="mine")


def test_workers_join_the_live_agents_as_their_first_shift_begins():
    aec = env(scenario="taobao", days=1, scale=0.05, rule="c-mu")
    aec.reset(seed=3)
    at_start = list(aec.agents)
    assert at_start[0] == "router" and len(at_start) < len(aec.possible_agents)
    seen = []
    for agent in aec.agent_iter():
        _, _, termination, truncation, info = aec.last()
        if termination or truncation:
            aec.step(None)  # the end: agents leave one by one
            continue
        # every turn is a live agent's, and the live agents only grow until the end
        assert agent in aec.agents
        assert aec.agents[: len(seen)] == seen
        seen = list(aec.agents)
        aec.step(info["rule_action"])
    assert len(at_start) < len(seen) <= len(aec.possible_agents)
    joined = aec._centre.env._native.workers_joined(0)
    assert seen == ["router"] + [f"worker_{w}" for w in joined]


def test_the_parallel_view_takes_the_single_agent_decisions_and_earns_its_return():
    rule = "study-treatment"
    par = parallel_env(**SMALL, rule=rule)
    single = handoff_rl.HandoffEnv(**SMALL, rule=rule)
    observations, infos = par.reset(seed=9)
    _, info = single.reset(seed=9)
    team_return, steps = 0.0, 0
    while par.agents:
        acting = infos["router"]["active_agent"]
        assert acting == info["agent"]
        for agent, observation in observations.items():
            # only the acting agent has valid actions, exactly the single environment's
            expected = info["action_mask"] if agent == acting else 0
            assert np.array_equal(observation["action_mask"], expected + 0 * info["action_mask"])
        # the others' actions are ignored, whatever they are
        actions = {agent: 0 for agent in par.agents} | {acting: infos[acting]["rule_action"]}
        observations, rewards, terminations, truncations, infos = par.step(actions)
        _, reward, terminated, truncated, info = single.step(actions[acting])
        assert rewards[acting] == reward and all(terminations.values()) == terminated
        team_return += reward
        steps += 1
    assert terminated or truncated
    assert team_return == info["episode_return"] and steps == info["steps"]


def test_a_refused_parallel_step_names_the_agent_and_changes_nothing():
    par, fresh = parallel_env(**SMALL), parallel_env(**SMALL)
    observations, infos = par.reset(seed=2)
    fresh.reset(seed=2)
    acting = infos["router"]["active_agent"]
    valid = np.flatnonzero(observations[acting]["action_mask"]).tolist()
    bystander = next(agent for agent in par.agents if agent != acting)
    with pytest.raises(
        ValueError,
        match=re.escape(f"{acting}: no action given; it is the agent to act (valid: {valid})"),
    ):
        par.step({bystander: 0})
    with pytest.raises(ValueError, match="unknown agent 'nobody'"):
        par.step({acting: valid[0], "nobody": 0})
    masked = int(np.flatnonzero(observations[acting]["action_mask"] == 0)[0])
    with pytest.raises(ValueError, match=f"{acting}: action {masked} is not valid now"):
        par.step({acting: masked})
    # after the refusals the environment goes on exactly as one that never saw them
    after = par.step({acting: valid[0]})
    expected = fresh.step({acting: valid[0]})
    assert after[1] == expected[1] and set(after[0]) == set(expected[0])
    for agent, observation in after[0].items():
        assert np.array_equal(observation["observation"], expected[0][agent]["observation"])
