"""The real entry point in a child process: `python -m vcrdt`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.cli import vcrdt_subprocess


def test_version_subprocess(tmp_path: Path) -> None:
    r = vcrdt_subprocess("--version", cwd=tmp_path)
    assert r.returncode == 0
    assert r.stdout.startswith(b"vcrdt ")


def test_help_lists_commands(tmp_path: Path) -> None:
    r = vcrdt_subprocess("--help", cwd=tmp_path)
    assert r.returncode == 0
    for name in (b"init", b"commit", b"status", b"log", b"fsck"):
        assert name in r.stdout


def test_error_has_no_traceback(tmp_path: Path) -> None:
    r = vcrdt_subprocess("log", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith(b"error: not a vcrdt repository")
    assert b"Traceback" not in r.stderr


def test_broken_pipe_exits_quietly(tmp_path: Path) -> None:
    env = dict(os.environ, VCRDT_AUTHOR_NAME="A", VCRDT_AUTHOR_EMAIL="a@example.com")
    assert vcrdt_subprocess("init", cwd=tmp_path, env=env).returncode == 0
    # Far more output than a pipe holds (64 KiB), so the command is still writing when the reader goes.
    (tmp_path / "big.txt").write_text("".join(f"line {i}\n" for i in range(40_000)))
    assert vcrdt_subprocess("commit", "-A", "-m", "big", cwd=tmp_path, env=env).returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "vcrdt", "log", "-p"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert b"Traceback" not in err
