"""`protocol.auto_start`: whether a command that found no server starts one (``core.daemon``, never under CI)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vcrdt.daemon.protocol import auto_start


def _config(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Path]:
    """A work tree's subdirectory as the current directory; its repository's config empty."""
    work = tmp_path / "work"
    (work / ".vcrdt").mkdir(parents=True)
    (work / ".vcrdt" / "config.toml").write_text("")
    (work / "sub").mkdir()
    old = os.getcwd()
    os.chdir(work / "sub")
    yield work
    os.chdir(old)


def test_the_repository_config_wins_over_the_global_one(here: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"HOME": str(home)}
    assert auto_start(env) is False  # nothing says so
    _config(home / ".config" / "vcrdt" / "config.toml", "[core]\ndaemon = true\n")
    assert auto_start(env) is True  # the global file says so
    _config(here / ".vcrdt" / "config.toml", '[core]\ndaemon = "false"\n')
    assert auto_start(env) is False  # the repository's file says otherwise
    _config(here / ".vcrdt" / "config.toml", '[core]\ndaemon = "on"\n')
    assert auto_start({**env, "CI": "true"}) is False  # never under CI
    assert auto_start({**env, "CI": "0"}) is True


def test_xdg_config_home_and_unreadable_files(here: Path, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    _config(xdg / "vcrdt" / "config.toml", "[core]\ndaemon = 1\n")  # an integer is not true
    assert auto_start({"XDG_CONFIG_HOME": str(xdg)}) is False
    _config(xdg / "vcrdt" / "config.toml", "[core]\ndaemon = yes\n")  # not TOML: the command reports it
    assert auto_start({"XDG_CONFIG_HOME": str(xdg)}) is False
    _config(xdg / "vcrdt" / "config.toml", '[core]\n"dae\\u006don" = true\n')  # a key spelt with an escape
    assert auto_start({"XDG_CONFIG_HOME": str(xdg)}) is True
    assert auto_start({}) is False  # no home at all
