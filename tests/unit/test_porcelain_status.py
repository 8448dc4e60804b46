"""porcelain.status: HEAD and the work-tree comparison come from one moment."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from vcrdt import porcelain
from vcrdt.repo import Repository, Settings
from vcrdt.worktree import Worktree, WorktreeStatus
from vcrdt.worktree.reading import Reader
from vcrdt.worktree.status import REHASH_BYTES

SETTINGS = Settings(author_name="Ada", author_email="ada@example.com")


def test_a_commit_landing_during_status_is_not_mixed_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process commits while status compares the work tree: the answer is the new HEAD, clean."""
    repo = Repository.init(tmp_path, SETTINGS)
    (tmp_path / "a.txt").write_text("one\n")
    porcelain.commit(repo, "base", addremove=True)
    (tmp_path / "a.txt").write_text("two\n")
    other = Repository(tmp_path, SETTINGS)
    compare = Worktree.status
    landed: list[bool] = []

    def racing(self: Worktree, *, want_ignored: bool = False) -> WorktreeStatus:
        result = compare(self, want_ignored=want_ignored)
        if not landed:
            landed.append(True)
            porcelain.commit(other, "lands meanwhile")  # after the comparison, before status reads HEAD again
        return result

    monkeypatch.setattr(Worktree, "status", racing)
    try:
        st = porcelain.status(repo)
        assert st.head == other.head_commit()
        assert st.changes.is_clean, st.changes
    finally:
        other.close()
        repo.close()


def test_a_status_refreshing_its_cache_keeps_a_commit_that_landed_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Status saves the stats it hashed after its read; a commit in between must keep its HEAD entries."""
    repo = Repository.init(tmp_path, SETTINGS)
    (tmp_path / "a.txt").write_text("one\n")
    porcelain.commit(repo, "base", addremove=True)
    (tmp_path / "a.txt").write_text("two\n" * (REHASH_BYTES // 4))  # large enough for status to save its cache
    past = time.time() - 10
    os.utime(tmp_path / "a.txt", (past, past))  # out of the racy window: status caches what it hashes
    other = Repository(tmp_path, SETTINGS)
    hash_files = Reader.current
    landed: list[bool] = []

    def racing(self: Reader, *args: object, **kwargs: object) -> object:
        result = hash_files(self, *args, **kwargs)  # type: ignore[arg-type]
        if not landed:
            landed.append(True)
            porcelain.commit(other, "lands meanwhile")  # before status saves what it hashed
        return result

    monkeypatch.setattr(Reader, "current", racing)
    try:
        repo.worktree.status()
        monkeypatch.undo()
        assert porcelain.status(repo).changes.is_clean  # the rows still say a.txt is HEAD's "two"
        assert porcelain.fsck(repo).problems == []
    finally:
        other.close()
        repo.close()
