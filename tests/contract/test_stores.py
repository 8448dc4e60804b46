"""Run the ObjectStore contract against every backend, plus the SQLite store's own guarantees."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vcrdt.store.sqlite as sqlite_mod
from tests.contract.store_contract import ObjectStoreContract
from vcrdt.errors import CorruptObjectError, HashMismatchError, VcrdtError
from vcrdt.store import MAX_DELTA_DEPTH
from vcrdt.store.db import Database
from vcrdt.store.memory import MemoryStore
from vcrdt.store.sqlite import SqliteStore


class TestMemoryStore(ObjectStoreContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


class TestSqliteStore(ObjectStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> SqliteStore:
        return SqliteStore(Database(tmp_path / "store.db", create=True))


def _text(n: int, tag: str = "") -> bytes:
    return b"".join(f"{tag}line {i}: the quick brown fox jumps over the lazy dog\n".encode() for i in range(n))


@pytest.fixture
def sq(tmp_path: Path) -> SqliteStore:
    return SqliteStore(Database(tmp_path / "store.db", create=True))


def test_delta_is_smaller(sq: SqliteStore) -> None:
    base = _text(5000)
    b = sq.put("blob", base)
    e = sq.put("blob", base.replace(b"line 2500:", b"LINE 2500:"), delta_base=b)
    storage, data_len, depth = sq.db.conn.execute(
        "SELECT storage, LENGTH(data), depth FROM objects WHERE id = ?", (e,)
    ).fetchone()
    assert storage == sqlite_mod.DELTA
    assert depth == 1
    assert data_len < 200


def test_delta_chain_is_capped(sq: SqliteStore) -> None:
    prev = None
    versions = []
    for v in range(40):
        body = _text(800) + f"version {v}\n".encode()
        prev = sq.put("blob", body, delta_base=prev)
        versions.append((prev, body))
    (max_depth,) = sq.db.conn.execute("SELECT MAX(depth) FROM objects").fetchone()
    assert max_depth <= MAX_DELTA_DEPTH
    sq._bases.clear()
    for oid, body in versions:
        assert sq.get(oid)[1] == body


def test_large_object_is_chunked_and_streamed(sq: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_mod, "LARGE_OBJECT", 64 * 1024)
    monkeypatch.setattr(sqlite_mod, "CHUNK_SIZE", 16 * 1024)
    body = _text(4000)
    oid = sq.put_stream("blob", len(body), (body[i : i + 5000] for i in range(0, len(body), 5000)))
    (storage,) = sq.db.conn.execute("SELECT storage FROM objects WHERE id = ?", (oid,)).fetchone()
    assert storage == sqlite_mod.CHUNKED
    assert b"".join(sq.iter_content(oid)) == body
    # Storing it again drops the temporary chunks.
    sq.put_stream("blob", len(body), iter([body]))
    (n,) = sq.db.conn.execute("SELECT COUNT(DISTINCT id) FROM chunks").fetchone()
    assert n == 1


def test_corruption_detected(sq: SqliteStore) -> None:
    oid = sq.put("blob", _text(100))
    with sq.db.write() as conn:
        (data,) = conn.execute("SELECT data FROM objects WHERE id = ?", (oid,)).fetchone()
        conn.execute("UPDATE objects SET data = ? WHERE id = ?", (data[:-3] + b"xyz", oid))
    sq._bases.clear()
    with pytest.raises((CorruptObjectError, HashMismatchError), match=oid.hex()[:12]):
        sq.get(oid)
    problems = list(sq.verify_all())
    assert [p[0] for p in problems] == [oid]


def test_rollback_leaves_nothing(sq: SqliteStore) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), sq.db.write():
        sq.put("blob", b"doomed")
        raise Boom
    assert list(sq.iter_ids()) == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=3000), st.booleans()), min_size=1, max_size=12))
def test_any_put_sequence_round_trips(tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[bytes, bool]]) -> None:
    store = SqliteStore(Database(tmp_path_factory.mktemp("h") / "s.db", create=True))
    prev = None
    stored = []
    for body, delta in ops:
        prev = store.put("blob", body, delta_base=prev if delta else None)
        stored.append((prev, body))
    store._bases.clear()
    for oid, body in stored:
        assert store.get(oid) == ("blob", body)
    try:
        assert list(store.verify_all()) == []
    except VcrdtError:  # pragma: no cover - verify_all yields, never raises
        raise
