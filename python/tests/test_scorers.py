"""The example that fits other scorers on a rollout run's comparisons (examples/scorers.py)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "examples" / "scorers.py"


def scorers(run: pathlib.Path, *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), str(run), "--json", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    return json.loads(out)


def test_the_scorers_read_the_comparisons_a_rollout_run_writes(tmp_path, handoff_bin):
    config = tmp_path / "rollout.toml"
    config.write_text(
        'scenario = "small"\n[rollout]\nseeds = 4\nvalidation_seeds = 2\n'
        "reply_values = [0.0]\noption_reply_values = [0.0]\nsave_comparisons = true\n"
    )
    run = tmp_path / "run"
    subprocess.run(
        [handoff_bin, "train", "--config", str(config), "--run-dir", str(run), "--test-seeds", "2"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    report = scorers(run, "--kind", "route", "--reply-values", "0,0.1")
    assert list(report) == ["route"] and list(report["route"]) == ["0.0", "0.1"]
    for row in report["route"].values():
        for name in ("linear", "quadratic"):
            # switching where the comparison came out ahead is the most any scorer earns
            assert row[name]["gain"] <= row["hindsight"] + 1e-9, row
            assert 0.0 <= row[name]["switched"] <= 1.0


def test_a_quadratic_scorer_finds_what_a_linear_one_cannot(tmp_path):
    # the other option pays only far from zero on one trait, either side (x squared minus 1.5,
    # with noise): no line through the trait finds it, its square does
    rng = np.random.default_rng(3)
    rows = 4000
    x = rng.normal(size=rows)
    gain = x**2 - 1.5 + rng.normal(scale=0.5, size=rows)
    seeds = rng.integers(0, 8, size=rows)
    folder = tmp_path / "rollouts"
    folder.mkdir()
    table = np.column_stack([np.zeros(rows), seeds, gain, np.zeros(rows), np.ones(rows), x])
    header = "iteration,seed,reward_gain,replies_saved,switch,trait"
    np.savetxt(folder / "attend.csv", table, delimiter=",", header=header, comments="")
    row = scorers(tmp_path, "--reply-values", "0")["attend"]["0.0"]
    # what switching exactly where the noiseless gain is positive earns, per episode
    best = np.maximum(x**2 - 1.5, 0).sum() / 8
    linear, quadratic = row["linear"], row["quadratic"]
    assert linear["gain"] < 0.2 * best, row
    assert quadratic["gain"] > 0.9 * best, (best, row)
    assert quadratic["gain"] <= row["hindsight"], row
    assert quadratic["minus_linear"] > 5 * quadratic["minus_linear_se"], row
    assert abs(quadratic["switched"] - np.mean(x**2 > 1.5)) < 0.03, row
