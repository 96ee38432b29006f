"""PettingZoo: the centre as agents (a router, one per worker), in the AEC and Parallel APIs.

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

:func:`parallel_env` is the same centre in the Parallel API: every live agent observes and sends
an action each step, and only the agent whose decision waits has valid actions; the others see
an all-false mask (nothing to decide) and their actions are ignored, as PettingZoo's own
turn-based conversion does. ``infos[agent]["active_agent"]`` names the agent to act.

The reward is the team's by default: every step's reward (the chats that ended since the last
decision) goes to every live agent. With ``credit="own"`` each ended chat's reward goes to one
agent only: the worker who wrote its last human reply, or the router for a chat no worker
answered (the AI's alone, or abandoned first); the agents' rewards then sum to the team's. The
acting agent observes its decision as the single-agent environment encodes it: a worker sees its
own chats and the AI chats it supervises as the candidates, its load, the queue's length and
oldest wait and the centre's load; the router sees the chat being routed and the workers it
could go to. An agent whose turn it is not sees zeros and an all-false mask.

Live agents: the router from the start, and each worker from the moment their first shift
begins (``possible_agents`` lists every worker of the centre). A worker stays live until the
episode ends, through breaks and between shifts: off duty they still finish the chats they hold
and come back for their next shift, and PettingZoo does not let an agent that left come back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv

from handoff_rl import _native
from handoff_rl.env import RENDER_FPS, RENDER_MODES, HandoffEnv

#: The router's agent id.
ROUTER = "router"

#: How rewards are shared: every agent gets the team's, or each chat's goes to its own agent.
CREDITS = ("team", "own")

#: PettingZoo's metadata of both views.
METADATA = {
    "name": "handoff_v0",
    "render_modes": RENDER_MODES,
    "render_fps": RENDER_FPS,
    "is_parallelizable": False,
}


def env(scenario: str = _native.DEFAULT_SCENARIO, **kwargs: Any) -> HandoffAECEnv:
    """The AEC environment (PettingZoo's usual entry point); see :class:`HandoffAECEnv`."""
    return HandoffAECEnv(scenario, **kwargs)


def parallel_env(scenario: str = _native.DEFAULT_SCENARIO, **kwargs: Any) -> HandoffParallelEnv:
    """The Parallel environment; see :class:`HandoffParallelEnv`."""
    return HandoffParallelEnv(scenario, **kwargs)


class _Centre:
    """What both views share: the single-agent environment underneath, the agents and their
    spaces, the observation of an agent without a turn, who has joined, and the rewards'
    credit."""

    def __init__(self, scenario: str, credit: str, render_mode: str | None, kwargs: dict) -> None:
        if credit not in CREDITS:
            raise ValueError(f"credit: {credit!r} is not one of {', '.join(CREDITS)}")
        for fixed in ("obs_mode", "invalid_action"):
            if fixed in kwargs:
                raise ValueError(f"{fixed}: the multi-agent view sets it (dict, raise)")
        self.credit = credit
        self.env = HandoffEnv(
            scenario, obs_mode="box", invalid_action="raise", render_mode=render_mode, **kwargs
        )
        workers = self.env._native.n_workers
        self.possible_agents = [ROUTER] + [f"worker_{w}" for w in range(workers)]
        n_actions = self.env._native.n_actions
        self.observation_space = spaces.Dict(
            {
                "observation": self.env.observation_space,
                "action_mask": spaces.Box(0, 1, (n_actions,), dtype=np.int8),
            }
        )
        self.action_space = spaces.Discrete(n_actions)
        self.idle = {
            "observation": np.zeros(self.env.observation_space.shape, dtype=np.float32),
            "action_mask": np.zeros(n_actions, dtype=np.int8),
        }
        for array in self.idle.values():
            array.setflags(write=False)
        self.observation: np.ndarray = self.idle["observation"]
        self.mask: np.ndarray = self.idle["action_mask"]
        self.acting = ROUTER
        self.joined = 0

    def check_agent(self, agent: str) -> None:
        if agent not in self.possible_agents:
            raise ValueError(
                f"unknown agent {agent!r} (agents: router, worker_0 ... "
                f"worker_{len(self.possible_agents) - 2})"
            )

    def reset(self, seed: int | None) -> dict[str, Any]:
        """Starts an episode; the info of the first decision."""
        observation, info = self.env.reset(seed=seed)
        self.joined = 0
        self.turn(observation, info)
        return info

    def new_agents(self) -> list[str]:
        """Workers whose first shift began since the last call, in the order they came."""
        joined = self.env._native.workers_joined(self.joined)
        self.joined += len(joined)
        return [f"worker_{w}" for w in joined]

    def turn(self, observation: np.ndarray, info: dict[str, Any]) -> None:
        """The decision now waiting becomes its agent's turn."""
        self.observation, self.mask = observation, info["action_mask"]
        self.acting = info["agent"]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """`agent`'s observation: its decision if it is the one to act, else the idle one."""
        if agent != self.acting:
            return self.idle
        return {"observation": self.observation.copy(), "action_mask": self.mask.copy()}

    def step(self, action: Any) -> tuple[float, bool, bool, dict[str, Any]]:
        """Takes the acting agent's `action` (checked against its mask first, so a refused one
        changes nothing): the reward, whether the episode terminated or was truncated, info."""
        valid = np.flatnonzero(self.mask)
        if action is None or not np.isscalar(action) or int(action) not in valid:
            raise ValueError(
                f"{self.acting}: action {action!r} is not valid now (valid: {valid.tolist()})"
            )
        observation, reward, terminated, truncated, info = self.env.step(int(action))
        if terminated or truncated:
            self.observation, self.mask = self.idle["observation"], self.idle["action_mask"]
            self.acting = ""
        else:
            self.turn(observation, info)
        return float(reward), bool(terminated), bool(truncated), info

    def rewards(self, agents: list[str], reward: float, info: dict[str, Any]) -> dict[str, float]:
        """The step's reward per live agent, by the credit rule."""
        if self.credit == "team":
            return dict.fromkeys(agents, reward)
        rewards = dict.fromkeys(agents, 0.0)
        for credited, chat_reward in info["chat_rewards"]:
            rewards[credited] += chat_reward
        return rewards


class _View:
    """What the AEC and Parallel classes share: their construction on a :class:`_Centre` (the
    keyword arguments of :class:`handoff_rl.HandoffEnv` but ``obs_mode`` and
    ``invalid_action``, and ``credit``), the agents' spaces, and rendering: the whole centre's
    frame, as :meth:`handoff_rl.HandoffEnv.render` draws it."""

    def __init__(
        self,
        scenario: str = _native.DEFAULT_SCENARIO,
        *,
        credit: str = "team",
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self._centre = _Centre(scenario, credit, render_mode, kwargs)
        self.render_mode = render_mode
        self.possible_agents = list(self._centre.possible_agents)
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> spaces.Space:
        """The same for every agent: the observation vector and the action mask."""
        return self._centre.observation_space

    def action_space(self, agent: str) -> spaces.Space:
        """The same for every agent: a candidate slot."""
        return self._centre.action_space

    def render(self) -> str | np.ndarray | None:
        """The centre now: text with ``render_mode="ansi"``, a picture with ``"rgb_array"``."""
        return self._centre.env.render()

    def close(self) -> None:
        pass


class HandoffAECEnv(_View, AECEnv):
    """A handoff centre as PettingZoo agents taking turns: ``router`` and ``worker_0`` ...
    ``worker_{n-1}`` (each worker live from their first shift on).

    Takes the keyword arguments of :class:`handoff_rl.HandoffEnv` but ``obs_mode`` and
    ``invalid_action``: observations are ``{"observation", "action_mask"}`` dicts, as PettingZoo's
    masked environments give them, and an invalid action raises ``ValueError`` naming the agent
    and its valid actions, leaving the environment unchanged. ``control`` decides which kinds of
    decision are the agents' (the scenario's fallback makes the others, as in the single-agent
    environment). ``credit``: ``"team"`` (every agent gets every step's reward) or ``"own"``
    (each ended chat's reward goes to the agent credited with it, see the module's docs).
    """

    metadata = METADATA

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        info = self._centre.reset(seed)
        self.agents = [ROUTER]
        self.rewards, self._cumulative_rewards = {ROUTER: 0.0}, {ROUTER: 0.0}
        self.terminations, self.truncations = {ROUTER: False}, {ROUTER: False}
        self.infos = {ROUTER: {}}
        self._join()
        self.agent_selection = self._centre.acting
        self.infos[self.agent_selection] = info

    def _join(self) -> None:
        """Workers whose first shift began become live agents."""
        for agent in self._centre.new_agents():
            self.agents.append(agent)
            self.rewards[agent] = self._cumulative_rewards[agent] = 0.0
            self.terminations[agent] = self.truncations[agent] = False
            self.infos[agent] = {}

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        self._centre.check_agent(agent)
        if agent != self.agent_selection or self.terminations.get(agent, True):
            return {k: v.copy() for k, v in self._centre.idle.items()}
        return self._centre.observe(agent)

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        reward, terminated, truncated, info = self._centre.step(action)
        self._cumulative_rewards[agent] = 0.0
        self.rewards = self._centre.rewards(self.agents, reward, info)
        if terminated or truncated:
            for a in self.agents:
                self.terminations[a], self.truncations[a] = terminated, truncated
                self.infos[a] = {}
        else:
            self._join()
            self.agent_selection = self._centre.acting
            self.infos[self.agent_selection] = info
        self._accumulate_rewards()


class HandoffParallelEnv(_View, ParallelEnv):
    """The same centre in PettingZoo's Parallel API: each step every live agent observes and
    sends an action, and only the one whose decision waits (``infos[agent]["active_agent"]``)
    has valid actions; the others' are ignored (their mask is all false, and a masked sample of
    it is 0, as ``gymnasium.spaces.Discrete.sample`` gives). Keyword arguments and errors as
    :class:`HandoffAECEnv`; an action dict without the acting agent's action, or naming an
    agent that is not live, raises ``ValueError`` and changes nothing.
    """

    metadata = METADATA

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        info = self._centre.reset(seed)
        self.agents = [ROUTER] + self._centre.new_agents()
        return self._observations(), self._infos(info)

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        acting = self._centre.acting
        for agent in actions:
            self._centre.check_agent(agent)
            if agent not in self.agents:
                raise ValueError(f"{agent}: not a live agent now (its first shift has not begun)")
        if acting not in actions:
            valid = np.flatnonzero(self._centre.mask).tolist()
            raise ValueError(f"{acting}: no action given; it is the agent to act (valid: {valid})")
        agents = self.agents
        reward, terminated, truncated, info = self._centre.step(actions[acting])
        if terminated or truncated:
            self.agents = []
        else:
            self.agents = agents + self._centre.new_agents()
        live = self.agents or agents
        rewards = self._centre.rewards(live, reward, info)
        terminations = dict.fromkeys(live, terminated)
        truncations = dict.fromkeys(live, truncated)
        return self._observations(live), rewards, terminations, truncations, self._infos(info, live)

    def _observations(self, agents: list[str] | None = None) -> dict[str, Any]:
        """Every agent's observation: the acting one's decision, the others' idle view (one
        read-only pair of arrays shared by all of them)."""
        return {agent: self._centre.observe(agent) for agent in agents or self.agents}

    def _infos(self, info: dict[str, Any], agents: list[str] | None = None) -> dict[str, Any]:
        """The acting agent gets the single-agent environment's info; every agent learns who
        acts."""
        acting = self._centre.acting
        infos = {agent: {"active_agent": acting} for agent in agents or self.agents}
        if acting in infos:
            infos[acting] = {**info, "active_agent": acting}
        return infos
