"""A walk over history reads ahead (`AheadReader.read_ahead`) and still yields what plain reads give.

`iter_history` takes the next commits from what `SqliteStore.read_ahead` brought in with an
earlier read, so its answers must not depend on where a store keeps the commits, on the window
sizes, or on what it dropped: here the same graphs, stored in any order, are walked through the
store and through a reader that only has `get`.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vcrdt.dag as dag
from tests.helpers.builders import build_dag
from vcrdt.dag import iter_history
from vcrdt.errors import ObjectNotFoundError
from vcrdt.ids import ObjectId
from vcrdt.objects import Commit
from vcrdt.store import ObjectStore
from vcrdt.store.db import Database
from vcrdt.store.memory import MemoryStore
from vcrdt.store.sqlite import SqliteStore

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class GetOnly:
    """A reader with nothing but `get`: the walk reads one commit at a time."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.reads = 0

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        self.reads += 1
        return self.store.get(oid)


class CountingStore(SqliteStore):
    """Counts the calls to read_ahead."""

    calls = 0

    def read_ahead(self, oid: ObjectId, window: int) -> dict[ObjectId, tuple[str, bytes]]:
        self.calls += 1
        return super().read_ahead(oid, window)


# spec[i] lists the parents of commit i, all earlier: chains with forks and merges.
graphs = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        *[st.lists(st.integers(0, i - 1), max_size=min(i, 3), unique=True) if i else st.just([]) for i in range(n)]
    ).map(list)
)


def _stored(tmp_path: Path, spec: list[list[int]], seed: int) -> tuple[SqliteStore, list[ObjectId]]:
    """Build the graph in memory, then copy every object into a new SqliteStore in a shuffled order."""
    mem = MemoryStore()
    ids = build_dag(mem, spec)
    objects = [mem.get(oid) for oid in mem.iter_ids()]
    random.Random(seed).shuffle(objects)
    path = tmp_path / f"store-{seed}-{random.random()}.db"
    store = CountingStore(Database(path, create=True))
    for kind, body in objects:
        store.put(kind, body)
    return store, ids


@SETTINGS
@given(spec=graphs, seed=st.integers(0, 3), heads=st.lists(st.integers(0, 39), min_size=1, max_size=3))
@pytest.mark.parametrize(("least", "most", "keep"), [(16, 512, 4096), (1, 2, 3)])
def test_walk_with_read_ahead_matches_plain_reads(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    least: int,
    most: int,
    keep: int,
    spec: list[list[int]],
    seed: int,
    heads: list[int],
) -> None:
    monkeypatch.setattr(dag, "_AHEAD_MIN", least)
    monkeypatch.setattr(dag, "_AHEAD_MAX", most)
    monkeypatch.setattr(dag, "_AHEAD_KEEP", keep)
    store, ids = _stored(tmp_path, spec, seed)
    starts = [ids[h % len(ids)] for h in heads]
    for first_parent in (False, True):
        ahead = list(iter_history(store, starts, first_parent=first_parent))
        plain = list(iter_history(GetOnly(store), starts, first_parent=first_parent))
        assert ahead == plain
    store.db.close()


def test_a_linear_walk_reads_ahead(tmp_path: Path) -> None:
    store, ids = _stored(tmp_path, [[]] + [[i] for i in range(299)], seed=0)
    # Stored in shuffled order, a window holds few parents; stored in order, most of them.
    ordered = CountingStore(Database(tmp_path / "ordered.db", create=True))
    mem = MemoryStore()
    build_dag(mem, [[]] + [[i] for i in range(299)])
    for oid in ids:
        c = Commit.from_bytes(mem.get(oid)[1])
        ordered.put("tree", mem.get(c.tree)[1])
        ordered.put("commit", mem.get(oid)[1])
    walked = [oid for oid, _ in iter_history(ordered, [ids[-1]])]
    assert walked == ids[::-1]
    assert ordered.calls < 30  # one read_ahead per window, not one per commit
    assert [oid for oid, _ in iter_history(store, [ids[-1]])] == walked


def test_walk_reports_a_missing_parent(tmp_path: Path) -> None:
    mem = MemoryStore()
    ids = build_dag(mem, [[], [0], [1]])
    store = SqliteStore(Database(tmp_path / "s.db", create=True))
    for oid in ids[1:]:
        store.put("commit", mem.get(oid)[1])
    with pytest.raises(ObjectNotFoundError, match=ids[0].hex()):
        list(iter_history(store, [ids[2]]))
