"""What a switch records in the operation log: the work tree before and after it."""

from __future__ import annotations

from pathlib import Path

from vcrdt import porcelain
from vcrdt.dag import read_commit
from vcrdt.repo import Repository, Settings


def _repo(root: Path) -> Repository:
    repo = Repository.init(root, Settings(author_name="Ada", author_email="ada@example.com"))
    for name in ("a", "d/b", "d/c"):
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_bytes(name.encode())
    porcelain.commit(repo, "first", addremove=True)
    porcelain.switch(repo, "other", create=True)
    (root / "d/b").write_bytes(b"other")
    (root / "e").write_bytes(b"new")
    porcelain.commit(repo, "other", addremove=True)
    return repo


def _tree(repo: Repository, branch: str) -> object:
    return read_commit(repo.store, repo.resolve(branch)).tree


def test_a_clean_switch_records_the_targets_tree(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    try:
        for target in ("main", "other"):
            porcelain.switch(repo, target)
            rec = porcelain.operations(repo, limit=1)[0]
            assert rec.kind == "switch"
            assert rec.wt_after == _tree(repo, target)
            assert rec.wt_before == _tree(repo, "other" if target == "main" else "main")
    finally:
        repo.close()


def test_a_switch_carrying_a_change_records_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    try:
        (tmp_path / "a").write_bytes(b"local edit")  # a path the switch does not change: carried
        porcelain.switch(repo, "main")
        rec = porcelain.operations(repo, limit=1)[0]
        assert rec.wt_after is not None and rec.wt_after != _tree(repo, "main")
        assert repo.flat_tree(rec.wt_after) == {
            **repo.flat_tree(_tree(repo, "main")),
            "a": repo.flat_tree(rec.wt_before)["a"],
        }
        # Undone, the switch puts back the other branch's files with the local edit.
        porcelain.undo(repo)
        assert (tmp_path / "a").read_bytes() == b"local edit" and (tmp_path / "e").read_bytes() == b"new"
    finally:
        repo.close()
