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


def _child(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> pexpect.spawn:
    """`vcrdt ARGS` on a pseudo-terminal (stdin and stdout both terminals), no colour."""
    full = {k: v for k, v in os.environ.items()} | {"TERM": "xterm-256color", "NO_COLOR": "1"} | (env or {})
    return pexpect.spawn(sys.executable, ["-m", "vcrdt", "--no-pager", *args], cwd=str(cwd), env=full, timeout=60)


@pytest.fixture
def conflicted(repo: CliRunner) -> CliRunner:
    """main and side changed line 2 of f differently; HEAD is main."""
    repo.write("f", "one\ntwo\nthree\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("branch", "side")
    repo.write("f", "one\nOURS\nthree\n")
    repo.ok("commit", "-m", "ours")
    repo.ok("switch", "side")
    repo.write("f", "one\nTHEIRS\nthree\n")
    repo.ok("commit", "-m", "theirs")
    repo.ok("switch", "main")
    return repo


def test_merge_on_a_terminal_writes_markers_and_lists_the_conflicts(conflicted: CliRunner) -> None:
    child = _child(["merge", "side"], conflicted.cwd)
    out = child.read()
    child.close()
    assert child.exitstatus == 1, out
    assert b"CONFLICT (content): f" in out and b"[o]urs" not in out
    assert "<<<<<<< " in (conflicted.cwd / "f").read_text()
    assert conflicted.ok("status", "-s").out == "UU f\n"


def test_the_ask_policy_prompts_on_a_terminal(conflicted: CliRunner) -> None:
    conflicted.write(".vcrdtattributes", "f ask\n")
    conflicted.ok("commit", "-A", "-m", "ask for f")
    child = _child(["merge", "side"], conflicted.cwd)
    child.expect(r"\[o\]urs, \[t\]heirs")
    child.sendline("t")
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    assert (conflicted.cwd / "f").read_text() == "one\nTHEIRS\nthree\n"


def test_merge_i_prompts_on_a_terminal(conflicted: CliRunner) -> None:
    child = _child(["merge", "-i", "side"], conflicted.cwd)
    child.expect(r"\[o\]urs, \[t\]heirs")
    child.sendline("o")
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    assert (conflicted.cwd / "f").read_text() == "one\nOURS\nthree\n"


def _editor(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_resolve_i_edit_opens_the_editor_on_the_hunk_with_markers_and_base(
    conflicted: CliRunner, tmp_path_factory: pytest.TempPathFactory
) -> None:
    where = tmp_path_factory.mktemp("editor")
    seen = where / "seen"
    script = _editor(where / "ed.sh", f"cp \"$1\" '{seen}'\nprintf '# kept\\nmiddle\\n' > \"$1\"\n")
    assert conflicted("merge", "side").code == 1
    # VCRDT_EDITOR comes first, as for commit messages.
    child = _child(["resolve", "-i"], conflicted.cwd, {"VCRDT_EDITOR": script, "VISUAL": "false"})
    child.expect(r"\[o\]urs, \[t\]heirs")
    child.sendline("d")
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    assert seen.read_text() == "<<<<<<< main\nOURS\n||||||| base\ntwo\n=======\nTHEIRS\n>>>>>>> theirs\n"
    assert (conflicted.cwd / "f").read_text() == "one\n# kept\nmiddle\nthree\n"
    conflicted.ok("commit", "-m", "edited")


def test_resolve_i_edit_that_leaves_markers_asks_again(
    conflicted: CliRunner, tmp_path_factory: pytest.TempPathFactory
) -> None:
    script = _editor(tmp_path_factory.mktemp("editor") / "ed.sh", "true\n")  # saves the markers unchanged
    assert conflicted("merge", "side").code == 1
    child = _child(["resolve", "-i"], conflicted.cwd, {"VCRDT_EDITOR": script})
    child.expect(r"\[o\]urs, \[t\]heirs")
    child.sendline("d")
    child.expect("still has conflict markers")
    child.expect(r"\[o\]urs, \[t\]heirs")
    child.sendline("t")
    out = child.read()
    child.close()
    assert child.exitstatus == 0, out
    assert (conflicted.cwd / "f").read_text() == "one\nTHEIRS\nthree\n"
