"""porcelain.diff of the work tree: only the paths status would look at, with the same answers."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from vcrdt import porcelain
from vcrdt.diff.lines import FileDiff
from vcrdt.repo import Repository, Settings

SETTINGS = Settings(author_name="Ada", author_email="ada@example.com")


def _summary(diffs: list[FileDiff]) -> list[tuple[str, str, int, int]]:
    return [(d.path, d.status, d.added, d.deleted) for d in diffs]


def test_work_tree_diff_against_head_and_against_a_revision_agree(tmp_path: Path) -> None:
    repo = Repository.init(tmp_path, SETTINGS)
    try:
        for name in ("edit.txt", "gone.txt", "rm.txt", "same.txt", "g", "sub/keep.txt"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(f"{name}\n")
        porcelain.commit(repo, "base", addremove=True)
        (tmp_path / "edit.txt").write_text("edited\n")
        (tmp_path / "gone.txt").unlink()  # missing, still tracked
        porcelain.rm(repo, ["rm.txt"], cwd=tmp_path, cached=True)  # removed, file kept
        (tmp_path / "same.txt").write_text("same.txt\n")  # rewritten, unchanged
        (tmp_path / "g").unlink()
        (tmp_path / "g").mkdir()  # a directory where a tracked file was
        (tmp_path / "new.txt").write_text("new\n")
        porcelain.add(repo, ["new.txt"], cwd=tmp_path)
        expected = [
            ("edit.txt", "modified", 1, 1),
            ("g", "deleted", 0, 1),
            ("gone.txt", "deleted", 0, 1),
            ("new.txt", "added", 1, 0),
            ("rm.txt", "deleted", 0, 1),
        ]
        assert _summary(porcelain.diff(repo)) == expected
        assert _summary(porcelain.diff(repo, "HEAD")) == expected
        assert _summary(porcelain.diff(repo, paths=["g", "new.txt"], cwd=tmp_path)) == [expected[1], expected[3]]
        assert _summary(porcelain.diff(repo, "HEAD", paths=["sub"], cwd=tmp_path)) == []
    finally:
        repo.close()


def test_a_diff_keeps_the_stat_caches_it_refreshed(tmp_path: Path) -> None:
    """Files hashed again (a checkout wrote them, or their stat moved) are cached for the next command."""
    repo = Repository.init(tmp_path, SETTINGS)
    try:
        (tmp_path / "a.txt").write_text("one\n")
        (tmp_path / "b.txt").write_text("bee\n")
        porcelain.commit(repo, "base", addremove=True)
        (tmp_path / "a.txt").write_text("two\n")
        tmp = tmp_path / "b.tmp"
        shutil.copy(tmp_path / "b.txt", tmp)
        os.replace(tmp, tmp_path / "b.txt")  # the same content, another inode
        past = time.time() - 10
        for name in ("a.txt", "b.txt"):
            os.utime(tmp_path / name, (past, past))  # out of the racy window
        assert _summary(porcelain.diff(repo)) == [("a.txt", "modified", 1, 1)]
        rows = repo.worktree.rows()
        for name in ("a.txt", "b.txt"):
            assert rows[name].matches(os.lstat(tmp_path / name)), name
        suspects, _ = repo.worktree.suspects()
        assert suspects == ["a.txt"]  # b.txt settled by its stat again
    finally:
        repo.close()


def test_a_diff_of_a_small_edit_writes_nothing(tmp_path: Path) -> None:
    """As status: the cache of a small modified file is not worth rewriting the stat-cache pack."""
    repo = Repository.init(tmp_path, SETTINGS)
    try:
        (tmp_path / "a.txt").write_text("one\n")
        (tmp_path / "b.txt").write_text("bee\n")
        porcelain.commit(repo, "base", addremove=True)
        assert porcelain.status(repo).changes.is_clean  # the stat-cache pack written
        (tmp_path / "a.txt").write_text("two\n")
        past = time.time() - 10
        os.utime(tmp_path / "a.txt", (past, past))  # out of the racy window: it could be cached
        conn = repo.worktree.table.db.conn
        changes = conn.total_changes
        for _ in range(2):
            assert _summary(porcelain.diff(repo)) == [("a.txt", "modified", 1, 1)]
            assert conn.total_changes == changes
        assert repo.worktree.cache_problems() == []
    finally:
        repo.close()
