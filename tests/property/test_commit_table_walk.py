"""A walk through the commit table (`iter_log`) yields what the walk over commit objects (`iter_history`) yields.

Random graphs (forks, merges of up to three parents, criss-crosses), their objects stored in any
order, some heads; and the same with rows missing from the table (read from the objects instead).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import vcrdt.dag as dag
from tests.helpers.builders import build_dag
from vcrdt.dag import iter_history, iter_log
from vcrdt.ids import ObjectId
from vcrdt.store.commits import CommitInfo
from vcrdt.store.db import Database
from vcrdt.store.memory import MemoryStore
from vcrdt.store.sqlite import SqliteStore

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# spec[i] lists the parents of commit i, all earlier.
graphs = st.integers(min_value=1, max_value=40).flatmap(
    lambda n: st.tuples(
        *[st.lists(st.integers(0, i - 1), max_size=min(i, 3), unique=True) if i else st.just([]) for i in range(n)]
    ).map(list)
)
# Two criss-crossing merges of two branches, merged again on top.
CRISS_CROSS = [[], [0], [0], [1, 2], [2, 1], [3], [4], [5, 6]]


@SETTINGS
@given(
    spec=graphs,
    seed=st.integers(0, 3),
    heads=st.lists(st.integers(0, 39), min_size=1, max_size=3),
    dropped=st.sets(st.integers(0, 39), max_size=5),
)
@example(spec=CRISS_CROSS, seed=0, heads=[7], dropped=set())
@example(spec=CRISS_CROSS, seed=1, heads=[5, 6], dropped={3})
@pytest.mark.parametrize(("least", "most", "keep"), [(16, 512, 4096), (1, 2, 3)])
def test_table_walk_equals_object_walk(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    least: int,
    most: int,
    keep: int,
    spec: list[list[int]],
    seed: int,
    heads: list[int],
    dropped: set[int],
) -> None:
    monkeypatch.setattr(dag, "_AHEAD_MIN", least)
    monkeypatch.setattr(dag, "_AHEAD_MAX", most)
    monkeypatch.setattr(dag, "_AHEAD_KEEP", keep)
    mem = MemoryStore()
    ids = build_dag(mem, spec)
    objects = [mem.get(oid) for oid in mem.iter_ids()]
    random.Random(seed).shuffle(objects)
    store = SqliteStore(Database(tmp_path / f"s-{random.random()}.db", create=True))
    for kind, body in objects:
        store.put(kind, body)
    for i in dropped:
        if i < len(ids):
            store.db.conn.execute("DELETE FROM commits WHERE id = ?", (ids[i],))
    starts = [ids[h % len(ids)] for h in heads]
    for first_parent in (False, True):
        by_objects = [(oid, CommitInfo.of(c)) for oid, c in iter_history(mem, starts, first_parent=first_parent)]
        by_table = list(iter_log(store, starts, first_parent=first_parent))
        assert [o for o, _ in by_table] == [o for o, _ in by_objects]
        assert [i for _, i in by_table] == [i for _, i in by_objects]
        # A store without the table (the memory store) walks its objects, in the same order.
        assert [o for o, _ in iter_log(mem, starts, first_parent=first_parent)] == [o for o, _ in by_objects]
    store.db.close()


def test_criss_cross_order_is_newest_first() -> None:
    mem = MemoryStore()
    ids = build_dag(mem, CRISS_CROSS)
    order: list[ObjectId] = [o for o, _ in iter_log(mem, [ids[7]])]
    assert order[0] == ids[7] and order[-1] == ids[0] and set(order) == set(ids)
