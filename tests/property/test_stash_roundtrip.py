"""Stash push then pop gives back the work tree exactly, for random edits (issue 14).

From a committed tree, random steps modify, delete, `rm` and add tracked files and create
untracked ones (in new directories too); `stash_push` with untracked files must leave the
tracked files at HEAD and no untracked file it took, and `stash_apply(pop=True)` must give
back every file's content and the untracked set, drop the entry, leave HEAD where it was, and
leave `fsck` clean. The same holds when HEAD moved on between push and pop with a change to a
file the steps never touch.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcrdt import porcelain
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Ada", author_email="ada@example.com")
NAMES = ["a.txt", "b.txt", "d/c.txt", "d/e/f.txt", "n.txt", "new/x.txt"]
BASE = {"a.txt": b"a\nb\nc\n", "b.txt": b"bee\n", "d/c.txt": b"sea\n", "d/e/f.txt": b"f\n"}

step = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(NAMES), st.binary(max_size=16)),
    st.tuples(st.just("delete"), st.sampled_from(NAMES)),
    st.tuples(st.just("rm"), st.sampled_from(NAMES)),
    st.tuples(st.just("add"), st.sampled_from(NAMES), st.binary(max_size=16)),
)


def _files(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".vcrdt"]
        for name in filenames:
            full = Path(dirpath) / name
            out[full.relative_to(root).as_posix()] = full.read_bytes()
    return out


def _apply(repo: Repository, root: Path, s: tuple[object, ...]) -> None:
    kind, name = str(s[0]), str(s[1])
    path = root / name
    tracked = name in repo.worktree.rows()
    if kind in ("write", "add"):
        path.parent.mkdir(parents=True, exist_ok=True)
        data = s[2]
        assert isinstance(data, bytes)
        path.write_bytes(data)
        if kind == "add" and not tracked:
            porcelain.add(repo, [name], cwd=root)
    elif kind == "delete" and path.exists():
        path.unlink()
    elif kind == "rm" and tracked and repo.worktree.rows()[name].state != "removed" and path.exists():
        porcelain.rm(repo, [name], cwd=root)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12), move_head=st.booleans())
def test_push_then_pop_restores_the_work_tree(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[object, ...]], move_head: bool
) -> None:
    root = tmp_path_factory.mktemp("stash")
    repo = Repository.init(root, SETTINGS)
    try:
        for name, data in BASE.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        (root / "z.txt").write_bytes(b"zed\n")  # never touched by the steps: HEAD may move it
        porcelain.commit(repo, "base", addremove=True)
        head = repo.head_commit()
        for s in steps:
            _apply(repo, root, s)
        before = _files(root)
        untracked_before = repo.worktree.status().untracked
        entry = porcelain.stash_push(repo, include_untracked=True)
        if entry is None:
            assert _files(root) == before and not untracked_before
            return
        after_push = _files(root)
        assert {p: d for p, d in after_push.items()} == {**BASE, "z.txt": b"zed\n"}
        assert repo.worktree.status().is_clean and repo.worktree.status().untracked == []
        if move_head:
            (root / "z.txt").write_bytes(b"zed moved\n")
            porcelain.commit(repo, "moved")
            head = repo.head_commit()
        result = porcelain.stash_apply(repo, pop=True)
        assert result.conflicts == [] and result.dropped
        expected = dict(before)
        if move_head:
            expected["z.txt"] = b"zed moved\n"
        assert _files(root) == expected
        assert repo.worktree.status().untracked == untracked_before
        assert repo.head_commit() == head
        assert porcelain.stash_list(repo) == []
        assert porcelain.fsck(repo).problems == []
    finally:
        repo.close()
