"""The convergent merge in the merge layer: planned over pending objects, it stores nothing until flushed."""

from __future__ import annotations

from pathlib import Path

from vcrdt import porcelain
from vcrdt.dag import read_commit
from vcrdt.ids import ObjectId
from vcrdt.merge.convergent import is_convergent, join_heads
from vcrdt.merge.pending import PendingObjects, write_flat_tree
from vcrdt.objects import EntryKind
from vcrdt.repo import Repository, Settings
from vcrdt.store.memory import MemoryStore

SETTINGS = Settings(author_name="Rep", author_email="rep@example.com")


def _three_heads(root: Path) -> tuple[Repository, list[ObjectId]]:
    porcelain.init(root, SETTINGS)
    repo = Repository.discover(root, SETTINGS)
    (root / ".vcrdtattributes").write_text("*.txt union\n")
    (root / "f.txt").write_text("a\nb\nc\n")
    porcelain.commit(repo, "base", addremove=True)
    start = repo.head_commit()
    assert start is not None
    heads = []
    for n in range(3):
        porcelain.switch(repo, start.hex(), detach=True)
        (root / "f.txt").write_text(f"a\nb by {n}\nc\n")
        heads.append(porcelain.commit(repo, f"head {n}").oid)
    return repo, heads


def test_join_heads_over_pending_objects_writes_nothing_until_flushed(tmp_path: Path) -> None:
    repo, heads = _three_heads(tmp_path / "r")
    with repo:
        before = sum(1 for _ in repo.store.iter_ids())
        pending = PendingObjects(repo.store)
        joined = join_heads(pending, reversed(heads))
        assert sum(1 for _ in repo.store.iter_ids()) == before
        assert len(pending) > 0 and not repo.store.has(joined.commit)
        assert is_convergent(read_commit(pending, joined.commit))
        text = pending.get(joined.tree["f.txt"][1])[1]
        assert sorted(text.splitlines()) == [b"a", b"b by 0", b"b by 1", b"b by 2", b"c"]
        with repo.transaction():
            pending.flush(repo.store)
        assert repo.store.has(joined.commit) and len(pending) == 0
        # The same heads in another order, planned again: the same commit.
        assert join_heads(PendingObjects(repo.store), heads).commit == joined.commit


def test_pending_objects_give_the_ids_the_store_would() -> None:
    store = MemoryStore()
    pending = PendingObjects(store)
    blob = pending.put("blob", b"x\n")
    assert pending.info(blob) == ("blob", 2) and not store.has(blob)
    tree = write_flat_tree(pending, {"d/x": (EntryKind.FILE, blob), "y": (EntryKind.EXECUTABLE, blob)})
    direct = MemoryStore()
    direct.put("blob", b"x\n")
    assert write_flat_tree(direct, {"d/x": (EntryKind.FILE, blob), "y": (EntryKind.EXECUTABLE, blob)}) == tree
    pending.flush(store)
    assert store.get(tree) == direct.get(tree)
