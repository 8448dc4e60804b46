"""The committed man pages must match what the help text generates."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vcrdt.cli.manpages import write_pages

MAN = Path(__file__).resolve().parents[2] / "man"


def test_man_pages_are_current(tmp_path: Path) -> None:
    fresh = write_pages(tmp_path)
    committed = sorted(MAN.glob("vcrdt*.1"))
    assert [p.name for p in fresh] == [p.name for p in committed], "run `make man` and commit man/"
    for new in fresh:
        assert new.read_text() == (MAN / new.name).read_text(), f"{new.name} is stale: run `make man`"


def test_every_command_has_a_page_and_help() -> None:
    from vcrdt.cli.app import command

    cmd = command()
    names = sorted(cmd.commands)  # type: ignore[attr-defined]
    assert {
        "init",
        "status",
        "add",
        "rm",
        "mv",
        "commit",
        "log",
        "show",
        "diff",
        "branch",
        "switch",
        "tag",
        "restore",
        "cat",
        "fsck",
        "config",
    } <= set(names)
    for name in names:
        assert cmd.commands[name].help, f"{name} has no help text"  # type: ignore[attr-defined]
        assert (MAN / f"vcrdt-{name}.1").is_file()


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_man_renders() -> None:
    out = subprocess.run(
        ["man", "-l", str(MAN / "vcrdt.1")],
        capture_output=True,
        env={"MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80"},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert b"vcrdt" in out.stdout
