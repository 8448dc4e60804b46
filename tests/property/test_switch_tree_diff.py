"""A switch through the tree diff gives what the full checkout gives (issue 10).

`switch` compares the tree the rows record as theirs (``worktree_head_tree`` in meta) with the
target's and visits only the paths that differ; without that record (or with one that does not
hold) it compares every row with the flattened target. From random pairs of trees (files,
executables, symlinks, directories that become files and the reverse) and random local state
(edits carried over or refused, untracked files in the way, files removed with `rm`), a copy of
the repository that switches with the record and one that switches without it must end alike:
the same refusal, or the same files, modes, links, rows and status. A record that is stale
(naming a tree that is not HEAD's, or not held by the rows) must fall back to the full comparison.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcrdt import porcelain
from vcrdt.dag import read_commit
from vcrdt.errors import VcrdtError
from vcrdt.repo import Repository, Settings
from vcrdt.worktree.rows import HEAD_TREE

SETTINGS = Settings(author_name="Ada", author_email="ada@example.com")
# "a" and "d/x" may be files in one tree and directories in the other ("a/q", "d/x/y").
PATHS = ["a", "a/q", "b", "d/x", "d/x/y", "d/e/z", "e/f/g", "l"]
# Links only where they cannot loop or leave the work tree (a commit would refuse those).
LINK_PATHS = {"l", "d/e/z"}
LINK_TARGETS = ["b", "d", "d/x", "nowhere", "e/.."]

entry = st.one_of(
    st.tuples(st.just("file"), st.sampled_from([b"1\n", b"2\n", b"three\n"])),
    st.tuples(st.just("exec"), st.sampled_from([b"1\n", b"#!/bin/sh\n"])),
    st.tuples(st.just("link"), st.sampled_from(LINK_TARGETS)),
)
tree = st.dictionaries(st.sampled_from(PATHS), entry, max_size=6)
local = st.lists(
    st.one_of(
        st.tuples(st.just("edit"), st.sampled_from(PATHS), st.sampled_from([b"local\n", b"1\n"])),
        st.tuples(st.just("untracked"), st.sampled_from([*PATHS, "u/v"]), st.just(b"mine\n")),
        st.tuples(st.just("delete"), st.sampled_from(PATHS), st.just(b"")),
        st.tuples(st.just("rm"), st.sampled_from(PATHS), st.just(b"")),
    ),
    max_size=4,
)


def _valid(files: dict[str, tuple[str, object]]) -> dict[str, tuple[str, object]]:
    """Drop paths below another path of the tree (a file cannot also be a directory), and links but at `LINK_PATHS`."""
    files = {p: e for p, e in files.items() if e[0] != "link" or p in LINK_PATHS}
    return {p: e for p, e in files.items() if not any(p.startswith(q + "/") for q in files)}


def _clear(root: Path) -> None:
    for child in root.iterdir():
        if child.name == ".vcrdt":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _write(root: Path, files: dict[str, tuple[str, object]]) -> None:
    for p, (kind, data) in sorted(files.items()):
        full = root / p
        full.parent.mkdir(parents=True, exist_ok=True)
        if kind == "link":
            assert isinstance(data, str)
            os.symlink(data, full)
        else:
            assert isinstance(data, bytes)
            full.write_bytes(data)
            full.chmod(0o755 if kind == "exec" else 0o644)


def _disk(root: Path) -> dict[str, tuple[str, object]]:
    out: dict[str, tuple[str, object]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".vcrdt"]
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        if rel_dir != "." and not filenames and not dirnames:
            out[rel_dir] = ("dir", None)  # an empty directory left behind counts too
        for name in [*filenames, *(d for d in dirnames if os.path.islink(os.path.join(dirpath, d)))]:
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            st_ = full.lstat()
            if stat.S_ISLNK(st_.st_mode):
                out[rel] = ("link", os.readlink(full))
            else:
                out[rel] = ("exec" if st_.st_mode & 0o100 else "file", full.read_bytes())
    return out


def _state(repo: Repository) -> tuple[object, ...]:
    rows = repo.worktree.rows()
    heads = {p: (r.head_kind, r.head_oid, r.state) for p, r in rows.items()}
    s = repo.worktree.status()
    return (
        heads,
        sorted(s.modified),
        sorted(s.added),
        sorted(s.deleted),
        sorted(s.removed),
        sorted(s.untracked),
        repo.refs.head().branch,
        repo.head_commit(),
    )


def _local(repo: Repository, root: Path, steps: list[tuple[str, str, bytes]]) -> None:
    for kind, p, data in steps:
        full = root / p
        rows = repo.worktree.rows()
        if kind == "edit" and p in rows and full.is_file() and not full.is_symlink():
            full.write_bytes(data)
        elif kind == "untracked" and p not in rows and not os.path.lexists(full):
            try:
                full.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                continue  # a file (or link) where the directory would go
            if full.parent.is_symlink() or not full.parent.is_dir():
                continue
            full.write_bytes(data)
        elif kind == "delete" and p in rows and os.path.lexists(full) and not full.is_dir():
            full.unlink()
        elif kind == "rm" and p in rows and rows[p].state != "removed" and rows[p].head_oid is not None:
            porcelain.rm(repo, [p], cwd=root, cached=True)


def _switch(root: Path, force: bool) -> tuple[object, ...]:
    repo = Repository(root, SETTINGS)
    try:
        try:
            porcelain.switch(repo, "b", force=force)
            outcome: tuple[object, ...] = ("ok",)
        except VcrdtError as exc:
            outcome = ("refused", type(exc).__name__, exc.message)
        return outcome, _disk(root), _state(repo)
    finally:
        repo.close()


def _meta(root: Path) -> dict[str, str]:
    conn = sqlite3.connect(root / ".vcrdt" / "store.db")
    try:
        return dict(conn.execute("SELECT key, value FROM meta"))
    finally:
        conn.close()


def _sql(root: Path, statement: str, *args: object) -> None:
    conn = sqlite3.connect(root / ".vcrdt" / "store.db")
    try:
        with conn:
            conn.execute(statement, args)
    finally:
        conn.close()


def _two_branches(root: Path, a: dict[str, tuple[str, object]], b: dict[str, tuple[str, object]]) -> Repository:
    """A repository whose `main` holds `a` and branch `b` holds `b`, checked out on main."""
    repo = Repository.init(root, SETTINGS)
    _write(root, {"keep": ("file", b"k\n"), **a})
    porcelain.commit(repo, "a", addremove=True)
    porcelain.switch(repo, "b", create=True)
    _clear(root)
    _write(root, {"keep": ("file", b"k\n"), **b})
    porcelain.commit(repo, "b", addremove=True, allow_empty=True)
    porcelain.switch(repo, "main")
    return repo


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=tree, b=tree, steps=local, force=st.booleans(), record=st.sampled_from(["kept", "missing", "other-tree"]))
def test_switch_through_the_tree_diff_equals_the_full_checkout(
    tmp_path_factory: pytest.TempPathFactory,
    a: dict[str, tuple[str, object]],
    b: dict[str, tuple[str, object]],
    steps: list[tuple[str, str, bytes]],
    force: bool,
    record: str,
) -> None:
    base = tmp_path_factory.mktemp("switch")
    diff_root, full_root = base / "diff", base / "full"
    repo = _two_branches(diff_root, _valid(a), _valid(b))
    try:
        head = repo.head_commit()
        assert head is not None
        head_tree = read_commit(repo.store, head).tree
        other_tree = read_commit(repo.store, repo.resolve("b")).tree
        assert repo.worktree.head_tree() == (True, head_tree)  # the switch to main recorded it
        _local(repo, diff_root, steps)
    finally:
        repo.close()
    shutil.copytree(diff_root, full_root, symlinks=True)
    _sql(full_root, "DELETE FROM meta WHERE key = ?", HEAD_TREE)  # unknown: every row is compared
    if record == "missing":
        _sql(diff_root, "DELETE FROM meta WHERE key = ?", HEAD_TREE)
    elif record == "other-tree" and other_tree != head_tree:
        # A record naming a tree that is not HEAD's commit's (left by a writer that does not keep
        # it): not trusted, or the switch would think it has nothing to do.
        _sql(diff_root, "UPDATE meta SET value = ? WHERE key = ?", other_tree.hex(), HEAD_TREE)
    through_diff = _switch(diff_root, force)
    through_full = _switch(full_root, force)
    assert through_diff == through_full
    if through_diff[0] == ("ok",):
        # Both now record the target's tree, whichever way they got there.
        assert _meta(diff_root).get(HEAD_TREE) == _meta(full_root).get(HEAD_TREE) == other_tree.hex()


def test_a_record_the_rows_do_not_hold_falls_back_to_every_row(tmp_path: Path) -> None:
    """A record naming HEAD's tree while a row the diff compares holds something else is not used."""
    repo = _two_branches(tmp_path, {"a": ("file", b"1\n"), "c": ("file", b"1\n")}, {"a": ("file", b"2\n")})
    try:
        # Rows changed by a writer that does not keep the record (as an older build's would be):
        # `a` (which the switch changes) and `keep` (which it does not) no longer hold HEAD's entries.
        with repo.db.write() as conn:
            conn.execute(
                "UPDATE worktree SET head_oid = zeroblob(32) WHERE path IN (CAST('a' AS BLOB), CAST('keep' AS BLOB))"
            )
        assert repo.worktree.head_tree()[0]
        porcelain.switch(repo, "b", force=True)
        # Compared in full: every row, `keep`'s too, is set from the target.
        assert (tmp_path / "a").read_bytes() == b"2\n"
        assert not (tmp_path / "c").exists()
        assert repo.worktree.head_flat() == repo.commit_flat(repo.head_commit())
        assert repo.worktree.status().is_clean
    finally:
        repo.close()
