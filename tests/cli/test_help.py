"""`vcrdt help [COMMAND]`: the man page through `man`, else the command's --help; and the pages' NAME lines."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner, vcrdt_subprocess

MAN = Path(__file__).resolve().parents[2] / "man"
needs_man = pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")


def _help(tmp_path: Path, *args: str, path: str | None = None) -> tuple[int, str, str]:
    env = {"MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80", "VCRDT_NO_SERVER": "1"}
    if path is not None:
        env["PATH"] = path
    r = vcrdt_subprocess("help", *args, cwd=tmp_path, env=env)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


@needs_man
def test_help_command_shows_its_man_page(tmp_path: Path) -> None:
    code, out, err = _help(tmp_path, "switch")
    assert code == 0, err
    assert "vcrdt-switch - switch the work tree to another branch" in " ".join(out.split())
    assert "SYNOPSIS" in out


@needs_man
def test_help_of_a_subcommand_and_of_vcrdt_itself(tmp_path: Path) -> None:
    code, out, err = _help(tmp_path, "daemon", "start")
    assert code == 0, err
    assert "vcrdt-daemon-start - start the command server" in " ".join(out.split())
    code, out, err = _help(tmp_path)
    assert code == 0, err
    assert "vcrdt - a versioned store with content-addressed history" in " ".join(out.split())


def test_without_man_help_prints_the_commands_help(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    code, out, err = _help(tmp_path, "switch", path=str(empty))
    assert code == 0, err
    assert out.startswith("Usage: vcrdt switch [OPTIONS] TARGET [START]\n")
    assert "Switch the work tree to another branch." in out


def test_help_of_an_unknown_command_is_a_one_line_error(cli: CliRunner) -> None:
    r = cli("help", "nope")
    assert r.code == 1
    assert r.err == "error: no such command: vcrdt nope\nhint: `vcrdt help` lists the commands\n"
    r = cli("help", "daemon", "nope")
    assert r.code == 1
    assert r.err.startswith("error: no such command: vcrdt daemon nope\n")


def test_name_lines_read_as_man_pages_do() -> None:
    """Lowercase, whole (no "..."), no final full stop: `vcrdt-switch - switch the work tree to another branch`."""
    for page in sorted(MAN.glob("vcrdt*.1")):
        lines = page.read_text().splitlines()
        name = lines[lines.index(".SH NAME") + 1]
        match = re.fullmatch(r"(vcrdt(?:\\-[a-z-]+)*) \\- (.+)", name)
        assert match, f"{page.name}: {name!r}"
        summary = match.group(2)
        assert not summary.endswith((".", "...")), f"{page.name}: {summary!r}"
        assert not summary[0].isupper() or summary.split(" ")[0].isupper(), f"{page.name}: {summary!r}"
    switch = (MAN / "vcrdt-switch.1").read_text()
    assert "vcrdt\\-switch \\- switch the work tree to another branch\n" in switch
