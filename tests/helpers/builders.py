"""Builders for commit graphs in a store: build_dag([[], [0], [0], [1, 2]])."""

from __future__ import annotations

from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import Blob, Commit, EntryKind, Signature, Tree, TreeEntry, commit_clock
from vcrdt.store.memory import MemoryStore

REPLICA = ReplicaId("ab" * 16)


def make_commit(store: MemoryStore, parents: list[ObjectId], n: int, *, replica: ReplicaId = REPLICA) -> ObjectId:
    blob = store.put("blob", Blob(f"content {n}\n".encode()).to_bytes())
    tree = store.put("tree", Tree.build([TreeEntry("f.txt", EntryKind.FILE, blob)]).to_bytes())
    pcs = [Commit.from_bytes(store.get(p)[1]) for p in parents]
    # n is the replica's counter for this commit: callers number commits uniquely, parents first.
    clock, gaps = commit_clock(pcs, (replica, n + 1))
    c = Commit(
        tree,
        tuple(parents),
        Signature("T", "t@example.com", 1_700_000_000 + n, 0),
        f"commit {n}\n",
        replica,
        1 + max((p.lamport for p in pcs), default=0),
        clock,
        None,
        gaps,
    )
    return store.put("commit", c.to_bytes())


def build_dag(store: MemoryStore, spec: list[list[int]]) -> list[ObjectId]:
    """spec[i] lists the indices of commit i's parents (all smaller than i)."""
    ids: list[ObjectId] = []
    for i, parents in enumerate(spec):
        ids.append(make_commit(store, [ids[p] for p in parents], i))
    return ids
