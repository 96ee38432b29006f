"""`fit_logs`: the report of `handoff fit-logs --json`, a scenario environments take, bad logs."""

from __future__ import annotations

import json
import subprocess

import pytest

import handoff_rl


def test_fit_logs_reports_as_the_cli_and_writes_a_scenario_environments_take(handoff_bin, tmp_path):
    log = tmp_path / "chats.csv"
    subprocess.run(
        [handoff_bin, "simulate", "--scenario", "small", "--days", "2", "--csv", str(log)],
        check=True,
        capture_output=True,
    )
    out = tmp_path / "mine.toml"
    report = handoff_rl.fit_logs(log, arm="treatment", base="small", seeds=2, out=out)
    cli = subprocess.run(
        [handoff_bin, "fit-logs", "--chats", str(log), "--arm", "treatment", "--base", "small"]
        + ["--seeds", "2", "--out", str(tmp_path / "cli.toml"), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    expected = json.loads(cli.stdout)
    assert report["kpis"] == expected["kpis"]
    assert report["scenario_toml"] == expected["scenario_toml"]
    assert out.read_text() == report["scenario_toml"]
    env = handoff_rl.HandoffEnv(str(out), days=1)
    env.reset(seed=1)
    assert env.observation_space.contains(env.reset(seed=1)[0])


def test_a_bad_log_raises_naming_the_line_and_column(tmp_path):
    log = tmp_path / "bad.csv"
    log.write_text("arrival_s,first_wait_s,duration_s,ending\n1,0,-3,resolved\n")
    with pytest.raises(ValueError, match=r"bad.csv: line 2: duration_s"):
        handoff_rl.fit_logs(log, base="small", seeds=1)
