"""Shared settings: a small, short scenario so that every test runs in seconds."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest

#: Keyword arguments of a small centre for one simulated day.
SMALL = {"scenario": "small", "days": 1, "scale": 0.3}


@pytest.fixture(scope="session")
def handoff_bin() -> str:
    """The `handoff` binary the Rust suite built (HANDOFF_BIN, else target/{debug,release})."""
    if "HANDOFF_BIN" in os.environ:
        return os.environ["HANDOFF_BIN"]
    root = pathlib.Path(__file__).resolve().parents[2]
    for profile in ("debug", "release"):
        path = root / "target" / profile / "handoff"
        if path.exists():
            return str(path)
    found = shutil.which("handoff")
    if found is None:
        pytest.fail("no handoff binary: run `cargo build` or set HANDOFF_BIN")
    return found
