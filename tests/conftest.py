"""Test isolation: no real HOME, no VCRDT_*/GIT_* variables, fixed terminal and author."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    for key in list(os.environ):
        if key.startswith(("VCRDT_", "GIT_", "XDG_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    # Commands run in their own process: no test leaves a command server behind
    # (tests/cli/test_server.py turns it on, in a private socket directory).
    monkeypatch.setenv("VCRDT_NO_SERVER", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("LINES", "24")
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ada")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Ada")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "ada@example.com")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner whose commands start in an empty directory with an author set."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("VCRDT_AUTHOR_NAME", "Ada Lovelace")
    monkeypatch.setenv("VCRDT_AUTHOR_EMAIL", "ada@example.com")
    return CliRunner(work)


@pytest.fixture
def repo(cli: CliRunner) -> CliRunner:
    """A runner inside a freshly initialised repository."""
    cli.ok("init")
    return cli
