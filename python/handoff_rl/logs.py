"""Your own centre: a chat log turned into a scenario, as ``handoff fit-logs``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from handoff_rl import _native


def fit_logs(
    chats: str | os.PathLike[str],
    *,
    base: str = _native.DEFAULT_SCENARIO,
    arm: str | None = None,
    seeds: int = 4,
    policy: str | None = None,
    name: str | None = None,
    fit_service: int = 200,
    out: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Fits the chat log at `chats` (handoff's chats CSV columns, ``docs/logs.md``) onto the
    built-in scenario `base` and sets its key numbers beside the fitted simulator's on `seeds`
    seeds. Returns the report of ``handoff fit-logs --json``: ``estimates``, ``kept``, ``kpis``
    and the fitted scenario's TOML in ``scenario_toml``. The service fit (reply time, rounds,
    ratings and retrials by simulated method of moments, ``report["service"]``) simulates at
    most `fit_service` candidates; 0 keeps the base's service. With `out`, the scenario is also
    written there (atomically), and any environment takes it as a scenario::

        report = handoff_rl.fit_logs("chats.csv", arm="treatment", base="small", out="mine.toml")
        env = handoff_rl.HandoffEnv("mine.toml")

    A log it cannot read raises ``ValueError`` naming the file, the line and the column.
    """
    report: dict[str, Any] = json.loads(
        _native.fit_logs(
            os.fspath(chats),
            base=base,
            arm=arm,
            seeds=seeds,
            policy=policy,
            name=name,
            fit_service=fit_service,
        )
    )
    if out is not None:
        path = Path(out)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(report["scenario_toml"], encoding="utf-8")
        os.replace(temporary, path)
        report["out"] = str(path)
    return report
