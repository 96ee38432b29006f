"""What the installed wheel (built by maturin, as `pip install ./python` builds it) declares and
ships: the licence expression the crates declare and both licence texts."""

from __future__ import annotations

from importlib.metadata import distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_declares_the_licence_and_ships_both_texts():
    dist = distribution("handoff-rl")
    assert dist.metadata["License-Expression"] == "MIT OR Apache-2.0"
    shipped = {Path(str(f)).name: f for f in dist.files or [] if ".dist-info" in str(f)}
    for name in ("LICENSE-MIT", "LICENSE-APACHE"):
        assert name in shipped, f"{name} is not in the wheel: {sorted(shipped)}"
        text = shipped[name].read_text()
        assert text == (ROOT / name).read_text(), f"{name} differs from the repository's"


def test_the_package_version_is_the_workspace_version():
    cargo = (ROOT / "Cargo.toml").read_text()
    version = cargo.split("[workspace.package]", 1)[1].split('version = "', 1)[1].split('"')[0]
    assert distribution("handoff-rl").version == version
