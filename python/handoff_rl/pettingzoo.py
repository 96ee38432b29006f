"""PettingZoo: the centre as agents taking turns (AEC), a router and one agent per worker.

The simulator asks one decision at a time, so its decisions map onto PettingZoo's
agent-environment cycle as they come: a routing decision is the ``router``'s turn, an attend or
assign decision the turn of the worker it concerns (``worker_17``). Nothing is reordered or
batched: stepping every agent with the action the single-agent environment would take gives the
single-agent episode, to the last bit (tested)::

    from handoff_rl.pettingzoo import env as handoff_env

    env = handoff_env("small", days=1)
    env.reset(seed=1)
    for agent in env.agent_iter():
        observation, reward, termination, truncation, info = env.last()
        mask = observation["action_mask"]
        action = None if termination or truncation else int(mask.nonzero()[0][0])
        env.step(action)

The reward is the team's by default: every step's reward (the chats that ended since the last
decision) goes to every agent. With ``credit="own"`` each ended chat's reward goes to one agent
only: the worker who wrote its last human reply, or the router for a chat no worker answered
(the AI's alone, or abandoned first); the agents' rewards then sum to the team's. The acting
agent observes its decision as the single-agent environment encodes it: a worker sees its own
chats and the AI chats it supervises as the candidates, its load, the queue's length and oldest
wait and the centre's load; the router sees the chat being routed and the workers it could go
to. An agent whose turn it is not sees zeros and an all-false mask. Every worker of the centre
is an agent for the whole episode (one who is off shift simply gets no turn). Not yet here
(issue 31): the Parallel API.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from handoff_rl import _native
from handoff_rl.env import HandoffEnv

#: The router's agent id.
ROUTER = "router"

#: How rewards are shared: every agent gets the team's, or each chat's goes to its own agent.
CREDITS = ("team", "own")


def env(scenario: str = _native.DEFAULT_SCENARIO, **kwargs: Any) -> HandoffAECEnv:
    """The AEC environment (PettingZoo's usual entry point); see :class:`HandoffAECEnv`."""
    return HandoffAECEnv(scenario, **kwargs)


class HandoffAECEnv(AECEnv):
    """A handoff centre as PettingZoo agents: ``router`` and ``worker_0`` ... ``worker_{n-1}``.

    Takes the keyword arguments of :class:`handoff_rl.HandoffEnv` but ``obs_mode`` and
    ``invalid_action``: observations are ``{"observation", "action_mask"}`` dicts, as PettingZoo's
    masked environments give them, and an invalid action raises ``ValueError`` naming the agent
    and its valid actions, leaving the environment unchanged. ``control`` decides which kinds of
    decision are the agents' (the scenario's fallback makes the others, as in the single-agent
    environment). ``credit``: ``"team"`` (every agent gets every step's reward) or ``"own"``
    (each ended chat's reward goes to the agent credited with it, see the module's docs).
    """

    metadata = {"name": "handoff_v0", "render_modes": [], "is_parallelizable": False}

    def __init__(
        self,
        scenario: str = _native.DEFAULT_SCENARIO,
        *,
        credit: str = "team",
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if credit not in CREDITS:
            raise ValueError(f"credit: {credit!r} is not one of {', '.join(CREDITS)}")
        self.credit = credit
        for fixed in ("obs_mode", "invalid_action"):
            if fixed in kwargs:
                raise ValueError(f"{fixed}: the multi-agent view sets it (dict, raise)")
        if render_mode is not None:
            raise ValueError("render_mode: handoff has no rendering (use None)")
        self.render_mode = None
        self._env = HandoffEnv(scenario, obs_mode="box", invalid_action="raise", **kwargs)
        workers = self._env._native.n_workers
        self.possible_agents = [ROUTER] + [f"worker_{w}" for w in range(workers)]
        n_actions = self._env._native.n_actions
        self._observation_space = spaces.Dict(
            {
                "observation": self._env.observation_space,
                "action_mask": spaces.Box(0, 1, (n_actions,), dtype=np.int8),
            }
        )
        self._action_space = spaces.Discrete(n_actions)
        self._idle = {
            "observation": np.zeros(self._env.observation_space.shape, dtype=np.float32),
            "action_mask": np.zeros(n_actions, dtype=np.int8),
        }
        self._observation: np.ndarray = self._idle["observation"]
        self._mask: np.ndarray = self._idle["action_mask"]
        self.agents = []

    def observation_space(self, agent: str) -> spaces.Space:
        """The same for every agent: the observation vector and the action mask."""
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space:
        """The same for every agent: a candidate slot."""
        return self._action_space

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        observation, info = self._env.reset(seed=seed)
        self.agents = list(self.possible_agents)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}
        self._turn(observation, info)

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        if agent not in self.possible_agents:
            raise ValueError(f"unknown agent {agent!r} (agents: router, worker_0 ... )")
        if agent != self.agent_selection or self.terminations.get(agent, True):
            return {k: v.copy() for k, v in self._idle.items()}
        return {"observation": self._observation.copy(), "action_mask": self._mask.copy()}

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        valid = np.flatnonzero(self._mask)
        if action is None or not np.isscalar(action) or int(action) not in valid:
            raise ValueError(
                f"{agent}: action {action!r} is not valid now (valid: {valid.tolist()})"
            )
        self._cumulative_rewards[agent] = 0.0
        observation, reward, terminated, truncated, info = self._env.step(int(action))
        if self.credit == "team":
            self.rewards = {a: float(reward) for a in self.agents}
        else:
            self.rewards = dict.fromkeys(self.agents, 0.0)
            for credited, chat_reward in info["chat_rewards"]:
                self.rewards[credited] += chat_reward
        if terminated or truncated:
            for a in self.agents:
                self.terminations[a] = bool(terminated)
                self.truncations[a] = bool(truncated)
                self.infos[a] = {}
            self._observation, self._mask = self._idle["observation"], self._idle["action_mask"]
        else:
            self._turn(observation, info)
        self._accumulate_rewards()

    def _turn(self, observation: np.ndarray, info: dict[str, Any]) -> None:
        """The decision now waiting becomes its agent's turn."""
        self._observation, self._mask = observation, info["action_mask"]
        self.agent_selection = info["agent"]
        self.infos[self.agent_selection] = info

    def render(self) -> None:
        """Nothing to draw (``render_mode`` is always None)."""
        return None

    def close(self) -> None:
        pass
