"""`evaluate`: a Python policy against handoff's heuristics on common random numbers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from typing_extensions import Unpack

from handoff_rl import _native
from handoff_rl.env import ScenarioOptions, built_by

#: A policy: a callable from (observation float32, action mask int8) to an action, or the name
#: of a policy as ``handoff eval --policy`` takes it.
PolicyLike = Callable[[np.ndarray, np.ndarray], int] | str


@dataclass(frozen=True)
class EvalResult:
    """The comparison ``handoff eval`` makes, as data and as its Markdown table."""

    #: The document ``handoff eval --json`` prints: scenario, seeds, baseline, and per policy
    #: the mean return with its bootstrap interval, KPIs and the paired difference to the
    #: baseline with its interval and win rate.
    report: dict[str, Any]
    #: The JSON text, exactly as ``handoff eval --json`` prints it.
    json: str
    #: The Markdown table ``handoff eval`` prints.
    markdown: str

    def policy(self, name: str) -> dict[str, Any]:
        """The results of the policy called `name`."""
        for p in self.report["policies"]:
            if p["name"] == name:
                return p
        raise KeyError(name)

    def __str__(self) -> str:
        return self.markdown


def evaluate(
    policy: PolicyLike,
    scenario: str = _native.DEFAULT_SCENARIO,
    *,
    seeds: int = 10,
    first_seed: int = 1,
    baselines: list[str] | None = None,
    baseline: str | None = None,
    name: str = "python",
    threads: int | None = None,
    resamples: int = 10_000,
    **options: Unpack[ScenarioOptions],
) -> EvalResult:
    """Compares `policy` with `baselines` on `seeds` seeds from `first_seed`, every policy on
    the same customers, issues and AI behaviour (common random numbers).

    `policy` makes the decisions the scenario gives the agent (`control`), `fallback` the others,
    as in :class:`handoff_rl.HandoffEnv`: a policy trained on that environment is evaluated on
    the episodes it was trained on. `baselines` defaults to every built-in heuristic and the
    shipped tuned policies that fit the scenario; `baseline`, the policy the others are compared
    with seed by seed, defaults to ``study-treatment`` when evaluated, else the first baseline.
    The numbers are those ``handoff eval`` gives for the same policies and seeds, bit for bit.

    A callable policy is called under the interpreter lock, from the threads that run its
    episodes (one episode per thread at a time); an exception it raises, or an invalid action,
    stops it and is raised once the evaluation ends. An SB3 model::

        evaluate(lambda obs, mask: model.predict(obs, action_masks=mask.astype(bool),
                                                 deterministic=True)[0], "small")
    """
    text, markdown = built_by(
        "evaluate",
        lambda: _native.evaluate(
            policy,
            scenario,
            baselines=baselines,
            baseline=baseline,
            seeds=seeds,
            first_seed=first_seed,
            name=name,
            threads=threads,
            resamples=resamples,
            **options,
        ),
    )
    return EvalResult(report=json.loads(text), json=text, markdown=markdown)
