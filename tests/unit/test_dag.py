from __future__ import annotations

import pytest

from tests.helpers.builders import build_dag
from vcrdt.dag import is_ancestor, iter_history, iter_reachable, read_commit, read_tree
from vcrdt.errors import CorruptObjectError, ObjectNotFoundError
from vcrdt.ids import ObjectId
from vcrdt.store.memory import MemoryStore


def test_history_is_topological_and_complete() -> None:
    store = MemoryStore()
    ids = build_dag(store, [[], [0], [0], [1, 2], [3]])
    order = [oid for oid, _ in iter_history(store, [ids[4]])]
    assert set(order) == set(ids)
    pos = {oid: i for i, oid in enumerate(order)}
    for oid in ids:
        for p in read_commit(store, oid).parents:
            assert pos[oid] < pos[p]


def test_first_parent_history() -> None:
    store = MemoryStore()
    ids = build_dag(store, [[], [0], [0], [1, 2]])
    assert [o for o, _ in iter_history(store, [ids[3]], first_parent=True)] == [ids[3], ids[1], ids[0]]


def test_is_ancestor() -> None:
    store = MemoryStore()
    ids = build_dag(store, [[], [0], [0], [1, 2], [2]])
    assert is_ancestor(store, ids[0], ids[3])
    assert is_ancestor(store, ids[2], ids[3])
    assert is_ancestor(store, ids[3], ids[3])
    assert not is_ancestor(store, ids[3], ids[0])
    assert not is_ancestor(store, ids[1], ids[4])


def test_reachable_includes_trees_and_blobs() -> None:
    store = MemoryStore()
    ids = build_dag(store, [[], [0]])
    reach = iter_reachable(store, [ids[1]])
    assert reach == set(store.iter_ids())


def test_missing_and_wrong_kind() -> None:
    store = MemoryStore()
    ids = build_dag(store, [[]])
    with pytest.raises(ObjectNotFoundError):
        read_commit(store, ObjectId(b"\x01" * 32))
    with pytest.raises(CorruptObjectError, match="expected a tree, found a commit"):
        read_tree(store, ids[0])


def test_a_tree_read_again_is_still_read_through_its_reader() -> None:
    # Decoded trees are kept by id, but every read still asks the store: an object that is gone,
    # or damaged since, is refused as on a first read.
    from vcrdt.errors import HashMismatchError
    from vcrdt.objects import EntryKind, Tree, TreeEntry

    store = MemoryStore()
    blob = store.put("blob", b"x\n")
    tree = Tree.build([TreeEntry("a", EntryKind.FILE, blob)])
    oid = store.put("tree", tree.to_bytes())
    assert read_tree(store, oid) == tree
    assert read_tree(store, oid) is read_tree(store, oid)
    store.corrupt_for_test(oid, tree.to_bytes() + b"\0")
    with pytest.raises(HashMismatchError):
        read_tree(store, oid)
    other = MemoryStore()
    with pytest.raises(ObjectNotFoundError):
        read_tree(other, oid)
