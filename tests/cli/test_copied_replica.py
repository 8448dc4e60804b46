"""A copied replica (issue 11, failure 4): `cp -a` keeps the replica id and the clock actors.

A copy is told from the original by the inode of its `.vcrdt` directory: the
replica id is bound to the (device, inode) it was made or last opened in. A
copy gets a new replica id (and starts new clock actors) with a one-line
warning the first time a command opens it; a move within a file system keeps
the inode and the id. `fsck` reports two commits with the same dot.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from tests.helpers.cli import CliRunner, copy_repository


def _replica_id(root: Path) -> str:
    db = sqlite3.connect(root / ".vcrdt" / "store.db")
    try:
        (value,) = db.execute("SELECT value FROM meta WHERE key = 'replica'").fetchone()
    finally:
        db.close()
    return str(value)


def _head(r: CliRunner) -> str:
    return str(json.loads(r.ok("log", "--json", "-n", "1").out)[0]["id"])


def _copy(src: CliRunner, name: str) -> CliRunner:
    """`cp -a`: the same bytes, a new inode for `.vcrdt`."""
    dst = src.cwd.parent / name
    copy_repository(src.cwd, dst)
    assert os.stat(dst / ".vcrdt").st_ino != os.stat(src.cwd / ".vcrdt").st_ino
    return CliRunner(dst)


def _origin(cli: CliRunner) -> CliRunner:
    orig = CliRunner(cli.cwd / "orig")
    orig.cwd.mkdir()
    orig.ok("init")
    orig.write("a.txt", "a\n")
    orig.ok("commit", "-A", "-m", "base")
    return orig


def test_a_copy_gets_a_new_replica_id_with_a_warning(cli: CliRunner) -> None:
    orig = _origin(cli)
    old = _replica_id(orig.cwd)
    copy = _copy(orig, "copy")
    r = copy.ok("status")
    new = _replica_id(copy.cwd)
    assert new != old
    assert r.err.splitlines()[0] == (
        f"warning: {copy.cwd / '.vcrdt'} is a copy of replica {old[:12]} (made in {orig.cwd / '.vcrdt'});"
        f" it is now replica {new[:12]}"
    )
    assert "warning" not in copy.ok("status").err  # once
    assert "warning" not in orig.ok("status").err  # the original keeps its id
    assert _replica_id(orig.cwd) == old


def test_commits_of_a_copy_and_its_original_are_concurrent(cli: CliRunner) -> None:
    orig = _origin(cli)
    copy = _copy(orig, "copy")
    orig.write("a.txt", "by the original\n")
    orig.ok("commit", "-m", "x1")
    x1 = _head(orig)
    copy.write("b.txt", "one\n")
    copy.ok("commit", "-A", "-m", "y1")
    copy.write("b.txt", "two\n")
    copy.ok("commit", "-m", "y2")
    y2 = _head(copy)
    orig.ok("fetch", "../copy")
    assert orig.ok("concurrent", x1, y2).out == "concurrent\n"
    assert orig.ok("concurrent", y2, x1).out == "concurrent\n"
    assert json.loads(orig.ok("fsck", "--json").out)["problems"] == []


def test_a_moved_repository_keeps_its_replica_id(cli: CliRunner) -> None:
    orig = _origin(cli)
    old = _replica_id(orig.cwd)
    ino = os.stat(orig.cwd / ".vcrdt").st_ino
    moved = cli.cwd / "moved"
    os.rename(orig.cwd, moved)
    assert os.stat(moved / ".vcrdt").st_ino == ino
    r = CliRunner(moved).ok("status")
    assert "warning" not in r.err
    assert _replica_id(moved) == old
    # The binding follows the move: a copy of the moved repository is still told apart.
    copy = _copy(CliRunner(moved), "copy")
    assert "is a copy of replica" in copy.ok("status").err


def test_fsck_reports_two_commits_with_the_same_dot(cli: CliRunner) -> None:
    orig = _origin(cli)
    # A repository from a build that did not bind its replica id: a copy of it cannot be told.
    db = sqlite3.connect(orig.cwd / ".vcrdt" / "store.db")
    with db:
        db.execute("DELETE FROM meta WHERE key = 'replica_home'")
    db.close()
    copy = _copy(orig, "copy")
    orig.write("a.txt", "by the original\n")
    orig.ok("commit", "-m", "x1")
    x1 = _head(orig)
    copy.write("a.txt", "by the copy\n")
    copy.ok("commit", "-m", "y1")
    y1 = _head(copy)
    orig.ok("fetch", "../copy")
    r = orig("fsck")
    assert r.code == 1
    first, second = sorted([x1, y1])
    lines = r.out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {second}: same dot (")
    assert lines[0].endswith(f") as commit {first}: two replicas committed as one (a copied repository?)")


def test_replica_id_prints_the_id(cli: CliRunner) -> None:
    orig = _origin(cli)
    assert orig.ok("replica", "id").out == _replica_id(orig.cwd) + "\n"
    assert json.loads(orig.ok("replica", "id", "--json").out) == {"schema": 1, "replica": _replica_id(orig.cwd)}


def test_replica_renew_for_a_copy_no_binding_can_tell(cli: CliRunner) -> None:
    orig = _origin(cli)
    old = _replica_id(orig.cwd)
    x0 = _head(orig)
    # A clone of a whole disk keeps path, device and inode: here, the copy takes the original's binding.
    copy = _copy(orig, "copy")
    db = sqlite3.connect(copy.cwd / ".vcrdt" / "store.db")
    with db:
        st = os.stat(copy.cwd / ".vcrdt")
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'replica_home'",
            (f"{st.st_dev} {st.st_ino} {copy.cwd / '.vcrdt'}",),
        )
    db.close()
    assert "warning" not in copy.ok("status").err and _replica_id(copy.cwd) == old
    r = copy.ok("replica", "renew")
    new = _replica_id(copy.cwd)
    assert new != old
    assert r.err == f"replica {old[:12]} is now replica {new[:12]}\n"
    assert "warning" not in copy.ok("status").err  # the binding is this directory's
    copy.write("a.txt", "by the copy\n")
    copy.ok("commit", "-m", "y1")
    copy.write("a.txt", "by the copy, again\n")
    copy.ok("commit", "-m", "y2")
    y2 = _head(copy)
    orig.write("a.txt", "by the original\n")
    orig.ok("commit", "-m", "x1")
    x1 = _head(orig)
    orig.ok("fetch", "../copy")
    assert orig.ok("concurrent", x1, y2).out == "concurrent\n"
    assert orig.ok("concurrent", x0, y2).out == "before\n"
    assert json.loads(orig.ok("fsck", "--json").out)["problems"] == []
