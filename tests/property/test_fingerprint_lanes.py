"""`fingerprints.add` (ids summed in 64-bit lanes) stores what `fingerprints.of` computes, bucket by bucket."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.ids import ObjectId
from vcrdt.store import fingerprints

_IDS = st.lists(
    st.binary(min_size=32, max_size=32)
    | st.sampled_from([b"\xff" * 32, bytes(32), b"\xff" * 4 + bytes(28), bytes(28) + b"\xff" * 4])
    | st.binary(min_size=30, max_size=30).map(lambda b: b"\xa7\xf3" + b),
    max_size=300,
)


def _table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    columns = ", ".join(f"w{i} INTEGER NOT NULL" for i in range(fingerprints.WORDS))
    conn.execute(f"CREATE TABLE fingerprints(prefix TEXT PRIMARY KEY, count INTEGER NOT NULL, {columns})")
    return conn


@settings(max_examples=200, deadline=None)
@given(st.lists(_IDS, min_size=1, max_size=3))
def test_add_stores_each_buckets_count_and_word_sums(batches: list[list[bytes]]) -> None:
    conn = _table()
    for batch in batches:
        fingerprints.add(conn, [ObjectId(b) for b in batch])
    everything = [ObjectId(b) for batch in batches for b in batch]
    stored = fingerprints.stored(conn)
    expected = {
        p: fingerprints.of([o for o in everything if o.hex().startswith(p)])
        for p in {q for o in everything for q in fingerprints.prefixes(o)}
    }
    assert {p: (f.count, f.sums) for p, f in stored.items()} == {p: (f.count, f.sums) for p, f in expected.items()}
