"""Shared settings: a small, short scenario so that every test runs in seconds."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest

#: Keyword arguments of a small centre for one simulated day.
SMALL = {"scenario": "small", "days": 1, "scale": 0.3}


def pytest_configure(config: pytest.Config) -> None:
    """The suite's centres are scaled down until some hours have chats and no one on duty, on
    purpose (quick episodes that still queue and abandon); the UserWarning that says so is
    tested once (`test_a_centre_that_cannot_be_delivered_as_asked_is_a_user_warning`) and kept
    out of the rest of the report."""
    config.addinivalue_line("filterwarnings", "ignore:scale .* no one on duty:UserWarning")


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
