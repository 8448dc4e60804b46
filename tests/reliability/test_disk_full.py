"""A full disk: the command says so, says nothing changed, and nothing did (issue 9, item 10).

The repository lives on a 2 MiB tmpfs; a filler file outside the work tree
takes all but a little of the space, then `commit -A` stores a file that does
not fit. It used to print "repository database error: cannot rollback - no
transaction is active" and advise restoring from a backup. Now: one
``error: disk full ...; nothing was changed`` line and a hint, HEAD and the
objects as before (`fsck` clean), and once space is freed the same commit
works.

Mounting needs root (CI runs as root, so there the test must run).
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner, vcrdt_subprocess


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted for the test."""
    mount = tmp_path / "disk"
    mount.mkdir()
    why = ""
    if os.geteuid() != 0:
        why = "mounting a tmpfs needs root"
    else:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            why = f"cannot mount a tmpfs: {done.stderr.strip()}"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"{why} (CI must run this test)")
        pytest.skip(why)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _head(vcrdt: CliRunner) -> str:
    return str(json.loads(vcrdt.ok("log", "--json", "-n", "1").out)[0]["id"])


def _fill(path: Path, leave: int) -> None:
    """Write `path` until the disk is full, then give back `leave` bytes."""
    block = b"\xa5" * 65536
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        size = os.fstat(fd).st_size
        for _ in range(1024):  # a short write may still fit after ENOSPC on a partial block
            try:
                if os.write(fd, block[:512]) == 0:
                    break
            except OSError:
                break
        size = os.fstat(fd).st_size
        os.ftruncate(fd, max(0, size - leave))
    finally:
        os.close(fd)


@pytest.mark.parametrize("leave", [0, 32768, 131072])
def test_commit_on_a_full_disk_changes_nothing_and_says_why(cli: CliRunner, small_disk: Path, leave: int) -> None:
    root = small_disk / "work"
    root.mkdir()
    vcrdt = CliRunner(root)
    vcrdt.ok("init")
    (root / "a.txt").write_text("a\n")
    vcrdt.ok("commit", "-A", "-m", "one")
    before = _head(vcrdt)
    # Incompressible, so the store cannot make it small enough to fit.
    (root / "big.bin").write_bytes(os.urandom(600_000))
    (root / "a.txt").write_text("a, changed\n")
    _fill(small_disk / "filler", leave)

    r = vcrdt_subprocess("commit", "-A", "-m", "two", cwd=root)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    lines = err.splitlines()
    assert lines[0].startswith("error: disk full: ") and lines[0].endswith("; nothing was changed"), err
    assert lines[1:] == ["hint: free some disk space, then run the command again"], err
    assert "Traceback" not in err and "restore" not in err and "rollback" not in err

    os.unlink(small_disk / "filler")
    assert _head(vcrdt) == before
    vcrdt.ok("fsck")
    status = json.loads(vcrdt.ok("status", "--json").out)
    assert status["modified"] == ["a.txt"] and status["untracked"] == ["big.bin"]
    # The same commit, once there is room.
    vcrdt.ok("commit", "-A", "-m", "two")
    assert _head(vcrdt) != before
    vcrdt.ok("fsck")


def test_a_full_disk_outside_a_transaction_is_named_at_the_cli_edge(
    repo: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement that runs on its own (no write block) and hits a full disk: no 'restore from a backup'."""
    from vcrdt.worktree import Worktree

    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Worktree, "status", full)
    r = repo("status")
    assert r.code == 1
    assert r.err.splitlines() == [
        f"error: disk full: cannot write {repo.cwd / '.vcrdt' / 'store.db'}",
        "hint: free some disk space, then run the command again",
    ]


def test_other_database_errors_keep_their_message(tmp_path: Path) -> None:
    from vcrdt.errors import DiskFullError, RepoBusyError, RepoError
    from vcrdt.store.db import database_error

    path = tmp_path / "store.db"
    err = database_error(sqlite3.DatabaseError("database disk image is malformed"), path, "damaged", hint="h")
    assert type(err) is RepoError and (str(err), err.hint) == ("damaged", "h")
    assert isinstance(database_error(sqlite3.OperationalError("database is locked"), path, "x"), RepoBusyError)
    full = database_error(sqlite3.OperationalError("database or disk is full"), path, "x")
    assert isinstance(full, DiskFullError) and str(full).endswith("; nothing was changed")
    # An I/O error on a disk with room is not a full disk.
    assert type(database_error(sqlite3.OperationalError("disk I/O error"), path, "io")) is RepoError
