"""Run the ObjectStore contract against every backend.

The SQLite store's own guarantees (deltas, chunking, decoding damaged rows)
are tested in tests/unit/test_store_sqlite.py.
"""

from __future__ import annotations

from pathlib import Path

import zstandard

import vcrdt.store.sqlite as sqlite_mod
from tests.contract.store_contract import ObjectStoreContract
from vcrdt.ids import ObjectId
from vcrdt.store import ObjectStore
from vcrdt.store.db import Database
from vcrdt.store.memory import MemoryStore
from vcrdt.store.sqlite import SqliteStore


class TestMemoryStore(ObjectStoreContract):
    def make_store(self, tmp_path: Path) -> ObjectStore:
        return MemoryStore()

    def corrupt_body(self, store: ObjectStore, oid: ObjectId, body: bytes) -> None:
        assert isinstance(store, MemoryStore)
        store.corrupt_for_test(oid, body)

    def damage(self, store: ObjectStore, oid: ObjectId) -> None:
        assert isinstance(store, MemoryStore)
        _, body = store.get(oid)
        store.corrupt_for_test(oid, body[:-3] + b"xyz")


class TestSqliteStore(ObjectStoreContract):
    def make_store(self, tmp_path: Path) -> ObjectStore:
        return SqliteStore(Database(tmp_path / "store.db", create=True))

    def corrupt_body(self, store: ObjectStore, oid: ObjectId, body: bytes) -> None:
        # Write straight into the tables, as a bad disk would; a fresh store has no cache.
        assert isinstance(store, SqliteStore)
        with store.db.write() as conn:
            (storage,) = conn.execute("SELECT storage FROM objects WHERE id = ?", (oid,)).fetchone()
            if storage == sqlite_mod.CHUNKED:
                conn.execute("DELETE FROM chunks WHERE id = ?", (oid,))
                cctx = zstandard.ZstdCompressor()
                step = sqlite_mod.CHUNK_SIZE
                for seq, i in enumerate(range(0, len(body), step)):
                    conn.execute(
                        "INSERT INTO chunks(id, seq, data) VALUES (?,?,?)",
                        (oid, seq, cctx.compress(body[i : i + step])),
                    )
            else:
                conn.execute(
                    "UPDATE objects SET storage = ?, data = ?, size = ? WHERE id = ?",
                    (sqlite_mod.RAW, body, len(body), oid),
                )
        store.forget_cached()  # as another process would read it (nothing in memory, nothing written here)

    def damage(self, store: ObjectStore, oid: ObjectId) -> None:
        assert isinstance(store, SqliteStore)
        with store.db.write() as conn:
            (data,) = conn.execute("SELECT data FROM objects WHERE id = ?", (oid,)).fetchone()
            conn.execute("UPDATE objects SET data = ? WHERE id = ?", (data[:-3] + b"xyz", oid))
        store.forget_cached()
