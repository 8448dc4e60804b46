"""Colour on a real pseudo-terminal, plain text when piped or when NO_COLOR is set."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from tests.helpers.cli import CliRunner


def _spawn(args: list[str], cwd: Path, no_color: bool) -> bytes:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm-256color"
    if no_color:
        env["NO_COLOR"] = "1"
    # --no-pager: the command's own output is checked here, not what a pager makes of it.
    child = pexpect.spawn(sys.executable, ["-m", "vcrdt", "--no-pager", *args], cwd=str(cwd), env=env, timeout=60)
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    return bytes(out)


@pytest.fixture
def edited(repo: CliRunner) -> CliRunner:
    repo.write("a.txt", "one\ntwo\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.write("a.txt", "one\nTWO\n")
    return repo


def test_diff_is_coloured_on_a_terminal(edited: CliRunner) -> None:
    out = _spawn(["diff"], edited.cwd, no_color=False)
    assert b"\x1b[" in out
    assert b"TWO" in out


def test_no_color_on_a_terminal(edited: CliRunner) -> None:
    out = _spawn(["diff"], edited.cwd, no_color=True)
    assert b"\x1b[" not in out
    assert b"+TWO" in out


def test_plain_when_piped(edited: CliRunner) -> None:
    r = edited.ok("diff")
    assert "\x1b[" not in r.out
    forced = edited.ok("--color", "always", "diff")
    assert "\x1b[" in forced.out
