"""The README's ten-line MaskablePPO script runs as printed (with fewer steps and seeds)."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def maskable_ppo_script() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    scripts = [b for b in blocks if "MaskablePPO" in b and "handoff_rl/Taobao-v4" in b]
    assert len(scripts) == 1, "one MaskablePPO script on handoff_rl/Taobao-v4 in the README"
    return scripts[0]


def test_the_script_has_ten_lines_at_most():
    lines = [line for line in maskable_ppo_script().splitlines() if line.strip()]
    assert len(lines) <= 10


def test_the_script_trains_and_prints_the_comparison():
    script = maskable_ppo_script()
    shortened = script.replace("total_timesteps=50_000", "total_timesteps=512").replace(
        "seeds=10", "seeds=2"
    )
    assert shortened.count("512") == 1 and "seeds=2" in shortened, "the README changed its numbers"
    out = subprocess.run(
        [sys.executable, "-c", shortened], check=True, capture_output=True, text=True, timeout=600
    ).stdout
    assert "| maskable-ppo |" in out and "| surge-c-mu-theta |" in out
