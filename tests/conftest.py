"""Shared fixtures: the example fleet file, writing a fleet file, running the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FLEET = ROOT / "examples" / "fleet.yaml"


@pytest.fixture
def example_fleet() -> Path:
    """Path of examples/fleet.yaml."""
    return EXAMPLE_FLEET


@pytest.fixture
def write_fleet(tmp_path: Path) -> Callable[..., Path]:
    """write_fleet(text_or_bytes, name="fleet.yaml") -> path of the file written under tmp_path."""

    def write(content: str | bytes, name: str = "fleet.yaml") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli() -> Callable[..., Result]:
    """cli("validate", path, "--json") -> the CliRunner result (stdout and stderr kept apart)."""
    from planner.cli import app

    runner = CliRunner()

    def invoke(*args: object) -> Result:
        return runner.invoke(app, [str(a) for a in args])

    return invoke
