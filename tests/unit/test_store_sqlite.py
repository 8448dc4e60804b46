"""SqliteStore specifics: storage forms, deltas, chunking, transactions and damaged rows.

The behaviour shared with every backend is in tests/contract/.
"""

from __future__ import annotations

import itertools
import os
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vcrdt.store.sqlite as sqlite_mod
from vcrdt.errors import CorruptObjectError, HashMismatchError, ObjectNotFoundError, VcrdtError
from vcrdt.hashing import object_id
from vcrdt.ids import ObjectId
from vcrdt.store import CHUNK_SIZE, LARGE_OBJECT, MAX_DELTA_DEPTH
from vcrdt.store.db import Database
from vcrdt.store.sqlite import CHUNKED, DELTA, RAW, ZSTD, SqliteStore


def _text(n: int, tag: str = "") -> bytes:
    return b"".join(
        f"{tag}line {i}: the quick brown fox jumps over the lazy dog {i * 7919 % 1000}\n".encode() for i in range(n)
    )


def _row(store: SqliteStore, oid: ObjectId) -> tuple[int, int, int, bytes | None, int, int]:
    """(kind, size, storage, base, depth, stored length) of one object."""
    row = store.db.conn.execute(
        "SELECT kind, size, storage, base, depth, LENGTH(data) FROM objects WHERE id = ?", (oid,)
    ).fetchone()
    assert row is not None
    return row  # type: ignore[no-any-return]


def _poke(store: SqliteStore, sql: str, *args: object) -> None:
    """Change the tables behind the store's back, then forget what it cached."""
    with store.db.write() as conn:
        conn.execute(sql, args)
    store.forget_cached()


@pytest.fixture
def sq(tmp_path: Path) -> SqliteStore:
    return SqliteStore(Database(tmp_path / "store.db", create=True))


# --- storage forms -----------------------------------------------------------------------


def test_kind_and_storage_codes(sq: SqliteStore) -> None:
    blob = sq.put("blob", _text(50))
    tree = sq.put("tree", b"t")
    commit = sq.put("commit", random.Random(3).randbytes(3000))
    assert _row(sq, blob)[:3] == (1, len(_text(50)), ZSTD)
    assert _row(sq, tree)[:3] == (2, 1, RAW)  # compressing one byte makes it longer
    assert _row(sq, commit)[:3] == (3, 3000, RAW)  # random bytes do not compress
    assert _row(sq, blob)[5] < len(_text(50)) // 3


def test_delta_used_for_small_edit_of_big_text(sq: SqliteStore) -> None:
    base = _text(5000)
    b = sq.put("blob", base)
    edited = base.replace(b"line 2500:", b"LINE 2500:")
    e = sq.put("blob", edited, delta_base=b)
    _, size, storage, stored_base, depth, stored = _row(sq, e)
    assert (size, storage, stored_base, depth) == (len(edited), DELTA, b, 1)
    assert stored < 200
    assert stored * 100 < _row(sq, b)[5]
    sq._cache.clear()
    assert sq.get(e) == ("blob", edited)


def test_delta_against_a_base_over_two_mebibytes(sq: SqliteStore) -> None:
    # zstd's default parameters would not see an edit this far into a big dictionary.
    base = _text(60_000)
    assert len(base) > 3 * 1024 * 1024
    b = sq.put("blob", base)
    edited = base.replace(b"line 55000:", b"LINE 55000:") + b"one more line\n"
    e = sq.put("blob", edited, delta_base=b)
    assert _row(sq, e)[2] == DELTA
    assert _row(sq, e)[5] < 2000
    sq._cache.clear()
    assert sq.get(e) == ("blob", edited)


def test_delta_kept_only_when_smaller(sq: SqliteStore) -> None:
    b = sq.put("blob", _text(500))
    unrelated = random.Random(5).randbytes(4000)
    oid = sq.put("blob", unrelated, delta_base=b)
    assert _row(sq, oid)[2:5] == (RAW, None, 0)


def test_delta_base_unusable(sq: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    body = _text(300)
    absent = sq.put("blob", body, delta_base=ObjectId(b"\x01" * 32))
    assert _row(sq, absent)[2:5] == (ZSTD, None, 0)
    tiny = sq.put("blob", b"tiny")
    oid = sq.put("blob", body + b"x", delta_base=tiny)
    assert _row(sq, oid)[2] == ZSTD  # a 4-byte base is not worth it
    monkeypatch.setattr(sqlite_mod, "LARGE_OBJECT", 4096)
    monkeypatch.setattr(sqlite_mod, "CHUNK_SIZE", 4096)
    big = sq.put("blob", _text(400))
    assert _row(sq, big)[2] == CHUNKED
    oid = sq.put("blob", _text(40) + b"y", delta_base=big)
    assert _row(sq, oid)[2] == ZSTD  # chunked objects are never bases


def test_delta_base_that_is_damaged_is_not_used(sq: SqliteStore) -> None:
    b = sq.put("blob", _text(300))
    _poke(sq, "UPDATE objects SET data = ?, storage = ? WHERE id = ?", _text(300, "x"), RAW, b)
    oid = sq.put("blob", _text(300) + b"z", delta_base=b)
    assert _row(sq, oid)[2] == ZSTD


def test_delta_chain_is_capped(sq: SqliteStore) -> None:
    prev = None
    versions = []
    lines = _text(800).splitlines(keepends=True)
    for v in range(40):
        lines[(v * 37) % len(lines)] = f"version {v}\n".encode()
        body = b"".join(lines)
        prev = sq.put("blob", body, delta_base=prev)
        versions.append((prev, body))
    depths = [_row(sq, oid)[4] for oid, _ in versions]
    assert max(depths) == MAX_DELTA_DEPTH
    # A new chain starts once the cap is reached.
    assert depths[: MAX_DELTA_DEPTH + 2] == [*range(MAX_DELTA_DEPTH + 1), 0]
    assert all(_row(sq, oid)[2] == (DELTA if d else ZSTD) for (oid, _), d in zip(versions, depths, strict=True))
    fresh = SqliteStore(sq.db)
    for oid, body in reversed(versions):
        assert fresh.get(oid) == ("blob", body)
    assert list(fresh.verify_all()) == []


def test_reading_a_chain_is_linear(sq: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    prev = None
    versions = []
    for v in range(MAX_DELTA_DEPTH + 1):
        prev = sq.put("blob", _text(400) + f"v{v}\n".encode(), delta_base=prev)
        versions.append(prev)
    assert _row(sq, versions[-1])[4] == MAX_DELTA_DEPTH
    calls = 0
    real = sqlite_mod._inflate

    def counting(*args: object, **kwargs: object) -> bytes:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_mod, "_inflate", counting)
    fresh = SqliteStore(sq.db)
    for oid in versions:
        fresh.get(oid)
    assert calls == len(versions)  # each base came from the cache
    calls = 0
    fresh = SqliteStore(sq.db)
    fresh.get(versions[-1])
    assert calls == MAX_DELTA_DEPTH + 1  # the deepest version: the whole chain, once


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["blob", "tree", "commit"]),
            st.integers(min_value=-1, max_value=20),  # base: index of an earlier object, or -1 for none
            st.sampled_from(["new", "edit", "same", "append", "cut"]),
            st.binary(max_size=400),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_any_put_sequence_round_trips(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, int, str, bytes]]
) -> None:
    store = SqliteStore(Database(tmp_path_factory.mktemp("h") / "s.db", create=True))
    stored: list[tuple[ObjectId, str, bytes]] = []
    for kind, base_index, how, data in ops:
        base = stored[base_index % len(stored)] if stored and base_index >= 0 else None
        old = base[2] if base else b""
        body = {
            "new": data + _text(len(data) % 30),
            "edit": old[: len(old) // 2] + data + old[len(old) // 2 + len(data) :],
            "same": old,
            "append": old + data,
            "cut": old[: len(old) // 3],
        }[how]
        oid = store.put(kind, body, delta_base=base[0] if base else None)
        assert oid == object_id(kind, body)
        stored.append((oid, kind, body))
    for oid, _, _ in stored:
        assert 0 <= _row(store, oid)[4] <= MAX_DELTA_DEPTH
    fresh = SqliteStore(store.db)
    for oid, kind, body in reversed(stored):
        assert fresh.get(oid) == (kind, body)
        assert b"".join(fresh.iter_content(oid)) == body
    assert list(SqliteStore(store.db).verify_all()) == []
    store.db.close()


def test_put_many_uses_threads_deltas_and_skips_present(sq: SqliteStore) -> None:
    base = sq.put("blob", _text(3000))
    present = sq.put("blob", _text(10, "p"))
    items: list[tuple[str, bytes, ObjectId | None]] = [("blob", _text(300, f"{i} "), None) for i in range(100)]
    items += [
        ("blob", _text(3000) + b"edited\n", base),
        ("blob", _text(10, "p"), None),
        ("blob", _text(300, "0 "), None),  # a repeat within the batch
    ]
    assert sum(len(b) for _, b, _ in items) > sqlite_mod._PARALLEL_BYTES
    ids = sq.put_many(items)
    assert ids == [object_id(k, b) for k, b, _ in items]
    assert ids[-2] == present
    assert ids[-1] == ids[0]
    assert _row(sq, ids[100])[2:5] == (DELTA, base, 1)
    assert sq.stats()["objects"] == 103  # base, present, 100 new, one delta
    fresh = SqliteStore(sq.db)
    assert all(fresh.get(i)[1] == b for i, (_, b, _) in zip(ids, items, strict=True))


def test_put_many_of_present_objects_starts_no_workers(sq: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # As a snapshot of the work tree does with files a checkout has just written: hashed in-line
    # (starting workers costs more than hashing a few MiB), nothing left to compress.
    items: list[tuple[str, bytes, ObjectId | None]] = [("blob", _text(300, f"{i} "), None) for i in range(200)]
    assert sum(len(b) for _, b, _ in items) > 3 * sqlite_mod._PARALLEL_BYTES
    ids = sq.put_many(items)
    pooled: list[int] = []
    real = SqliteStore._map_later

    def spy(self: SqliteStore, fn: object, jobs: list[object], total_bytes: int) -> object:
        pooled.append(len(jobs))
        return real(self, fn, jobs, total_bytes)  # type: ignore[arg-type]

    monkeypatch.setattr(SqliteStore, "_map_later", spy)
    assert sq.put_many(items) == ids
    assert pooled == [0]  # only the (empty) compression step


def test_a_started_batch_writes_nothing_until_finished(sq: SqliteStore) -> None:
    items: list[tuple[str, bytes, ObjectId | None]] = [("blob", _text(300, f"{i} "), None) for i in range(100)]
    assert sum(len(b) for _, b, _ in items) > sqlite_mod._PARALLEL_BYTES  # compressed on workers
    started = sq.start_put_many(items)
    assert list(sq.iter_ids()) == []
    with sq.db.write():  # a transaction that ends before the batch is finished writes none of it
        pass
    assert list(sq.iter_ids()) == []
    ids = started.finish()
    assert sorted(sq.iter_ids()) == sorted(ids)


def test_a_started_batch_never_finished_is_never_written(sq: SqliteStore) -> None:
    abandoned = sq.start_put_many([("blob", _text(300, f"{i} "), None) for i in range(100)])
    kept = sq.put_many([("blob", b"kept", None)])
    del abandoned
    assert list(sq.iter_ids()) == kept


def test_a_worker_failure_surfaces_at_finish(sq: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: SqliteStore, job: object) -> object:
        raise MemoryError("no room to compress")

    monkeypatch.setattr(SqliteStore, "_encode_job", broken)
    started = sq.start_put_many([("blob", _text(300, f"{i} "), None) for i in range(100)])
    with pytest.raises(MemoryError):
        started.finish()
    assert list(sq.iter_ids()) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=st.lists(
        st.lists(st.tuples(st.integers(0, 30), st.integers(-1, 30)), max_size=12),  # (body, delta base) indexes
        min_size=1,
        max_size=6,
    ),
    overlap=st.integers(0, 3),
)
def test_overlapping_batches_store_what_put_many_stores(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    batches: list[list[tuple[int, int]]],
    overlap: int,
) -> None:
    # Up to `overlap` batches are started ahead of the one finished (a reader runs one ahead);
    # bodies repeat within and across batches, and name delta bases that may not be stored yet.
    monkeypatch.setattr(sqlite_mod, "_PARALLEL_BYTES", 0)  # workers for every batch of two or more
    store = SqliteStore(Database(tmp_path_factory.mktemp("h") / "s.db", create=True))
    bodies = [_text(20 + i * 3, f"{i % 7} ") + bytes([i]) for i in range(31)]
    ids = [object_id("blob", b) for b in bodies]
    started = []
    got: list[list[ObjectId]] = []
    for batch in batches:
        items: list[tuple[str, bytes, ObjectId | None]] = [
            ("blob", bodies[b], ids[base] if base >= 0 else None) for b, base in batch
        ]
        started.append(store.start_put_many(items))
        while len(started) > overlap:
            got.append(started.pop(0).finish())
    got += [s.finish() for s in started]
    assert got == [[ids[b] for b, _ in batch] for batch in batches]
    wanted = {ids[b] for batch in batches for b, _ in batch}
    assert set(store.iter_ids()) == wanted
    fresh = SqliteStore(store.db)
    assert all(fresh.get(ids[b]) == ("blob", bodies[b]) for batch in batches for b, _ in batch)
    assert list(fresh.verify_all()) == []
    store.db.close()


def test_put_many_with_unknown_kind_stores_nothing(sq: SqliteStore) -> None:
    with pytest.raises(CorruptObjectError):
        sq.put_many([("blob", b"a", None), ("nope", b"b", None)])
    assert list(sq.iter_ids()) == []


# --- transactions ------------------------------------------------------------------------


def test_rollback_leaves_no_object(sq: SqliteStore) -> None:
    class Boom(Exception):
        pass

    base = sq.put("blob", _text(300))
    with pytest.raises(Boom), sq.db.write():
        doomed = sq.put("blob", _text(300) + b"doomed\n", delta_base=base)
        sq.put_many([("blob", b"also doomed", None)])
        assert sq.get(doomed)[1].endswith(b"doomed\n")  # now in the cache
        raise Boom
    assert list(sq.iter_ids()) == [base]
    assert not sq.has(doomed)
    with pytest.raises(ObjectNotFoundError):
        sq.get(doomed)  # the cache must not bring it back
    again = sq.put("blob", _text(300) + b"x\n", delta_base=doomed)
    assert _row(sq, again)[2] == ZSTD


def test_puts_join_the_callers_transaction(sq: SqliteStore) -> None:
    with sq.db.write():
        ids = [sq.put("blob", f"{i}".encode()) for i in range(100)]
        sq.db.set_meta("test", "1")
        other = Database(sq.db.path, busy_timeout=0.1)
        assert SqliteStore(other).has_many(ids) == set()  # nothing visible before the commit
    assert SqliteStore(other).has_many(ids) == set(ids)
    other.close()


# --- large objects -----------------------------------------------------------------------


def _stream(size: int, piece: int = 64 * 1024, seed: int = 1) -> Iterator[bytes]:
    """`size` bytes made up on the fly, half compressible."""
    rng = random.Random(seed)
    sent = 0
    while sent < size:
        n = min(piece, size - sent)
        yield rng.randbytes(n // 2) + b"z" * (n - n // 2)
        sent += n


def test_put_stream_and_iter_content_use_bounded_memory(sq: SqliteStore) -> None:
    size = 20 * 1024 * 1024
    assert size > LARGE_OBJECT
    tracemalloc.start()
    try:
        oid = sq.put_stream("blob", size, _stream(size))
        _, peak_put = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = 0
        for piece in sq.iter_content(oid):
            total += len(piece)
        _, peak_read = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == size
    assert peak_put < 4 * CHUNK_SIZE
    assert peak_read < 4 * CHUNK_SIZE
    assert _row(sq, oid)[2] == CHUNKED
    (n,) = sq.db.conn.execute("SELECT COUNT(*) FROM chunks WHERE id = ?", (oid,)).fetchone()
    assert n == size // CHUNK_SIZE


def test_chunks_are_rekeyed_and_duplicates_dropped(sq: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_mod, "LARGE_OBJECT", 64 * 1024)
    monkeypatch.setattr(sqlite_mod, "CHUNK_SIZE", 16 * 1024)
    body = _text(4000)
    oid = sq.put_stream("blob", len(body), (body[i : i + 5000] for i in range(0, len(body), 5000)))
    sq.put_stream("blob", len(body), iter([body]))
    assert sq.put("blob", body) == oid
    ids = {bytes(r[0]) for r in sq.db.conn.execute("SELECT DISTINCT id FROM chunks")}
    assert ids == {oid}
    assert sq.stats()["stored_bytes"] < len(body) // 2


def test_failed_stream_inside_a_transaction_leaves_no_chunks(sq: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_mod, "LARGE_OBJECT", 64 * 1024)
    monkeypatch.setattr(sqlite_mod, "CHUNK_SIZE", 16 * 1024)

    def failing() -> Iterator[bytes]:
        yield b"a" * 50_000
        raise OSError("disk went away")

    with sq.db.write():
        with pytest.raises(OSError):
            sq.put_stream("blob", 100_000, failing())
        with pytest.raises(CorruptObjectError):
            sq.put_stream("blob", 100_000, iter([b"b" * 99_999]))
        kept = sq.put("blob", b"kept")
    assert list(sq.iter_ids()) == [kept]
    assert sq.db.conn.execute("SELECT COUNT(*) FROM chunks").fetchone() == (0,)


# --- damaged rows ------------------------------------------------------------------------


def _damaged(sq: SqliteStore, sql: str, *args: object) -> ObjectId:
    """Store a text, apply `sql` (with the id as its last parameter) and return the id."""
    oid = sq.put("blob", _text(200))
    _poke(sq, sql, *args, oid)
    return oid


@pytest.mark.parametrize(
    ("sql", "args", "message"),
    [
        ("UPDATE objects SET storage = ? WHERE id = ?", (9,), "unknown storage code 9"),
        ("UPDATE objects SET kind = ? WHERE id = ?", (7,), "unknown kind code 7"),
        ("UPDATE objects SET data = substr(data, 1, 20) WHERE id = ?", (), "cannot decompress"),
        ("UPDATE objects SET data = ? WHERE id = ?", (b"not zstd at all",), "not a zstd frame"),
        ("UPDATE objects SET data = ? WHERE id = ?", ("text, not a blob",), "not a zstd frame"),
        ("UPDATE objects SET data = CAST(x'ff00ff' AS TEXT) WHERE id = ?", (), "not a zstd frame"),
        ("UPDATE objects SET kind = 'blob' WHERE id = ?", (), "unknown kind code 0"),
        ("UPDATE objects SET data = NULL WHERE id = ?", (), "missing"),
        ("UPDATE objects SET size = size + 1 WHERE id = ?", (), "frame declares"),
        ("UPDATE objects SET size = -1 WHERE id = ?", (), "invalid size"),
        ("UPDATE objects SET data = data || x'00' WHERE id = ?", (), "cannot decompress"),
        ("UPDATE objects SET storage = 1, base = NULL WHERE id = ?", (), "delta without a base"),
        ("UPDATE objects SET storage = 1, base = x'0101' WHERE id = ?", (), "delta base 0101 is missing"),
        ("UPDATE objects SET storage = 1, base = id WHERE id = ?", (), "delta chain longer"),
    ],
)
def test_damaged_row_raises_corrupt_object_error(sq: SqliteStore, sql: str, args: tuple[object], message: str) -> None:
    oid = _damaged(sq, sql, *args)
    with pytest.raises(CorruptObjectError, match=oid.hex()) as info:
        sq.get(oid)
    assert message in str(info.value)
    assert [o for o, _ in sq.verify_all()] == [oid]


@pytest.mark.parametrize(
    ("sql", "args", "message"),
    [
        ("UPDATE objects SET storage = ? WHERE id = ?", (9,), "unknown storage code 9"),
        ("UPDATE objects SET kind = ? WHERE id = ?", (7,), "unknown kind code 7"),
        ("UPDATE objects SET data = substr(data, 1, 20) WHERE id = ?", (), "cannot decompress"),
        ("UPDATE objects SET data = NULL WHERE id = ?", (), "missing"),
        ("UPDATE objects SET size = -1 WHERE id = ?", (), "invalid size"),
        ("UPDATE objects SET storage = 1, base = NULL WHERE id = ?", (), "delta without a base"),
        ("UPDATE objects SET storage = ?, data = ?, size = 5 WHERE id = ?", (RAW, b"other"), "hashes to"),
    ],
)
def test_read_ahead_reports_a_damaged_row_as_get_does(
    sq: SqliteStore, sql: str, args: tuple[object], message: str
) -> None:
    oid = _damaged(sq, sql, *args)
    with pytest.raises(VcrdtError, match=oid.hex()) as info:
        sq.read_ahead(oid, 16)
    assert message in str(info.value)
    with pytest.raises(type(info.value)) as again:
        sq.get(oid)
    assert str(again.value) == str(info.value)


def test_read_ahead_takes_rows_of_its_kind_within_the_window(sq: SqliteStore) -> None:
    commits = []
    for i in range(10):
        sq.put("blob", _text(3, f"blob {i}"))
        commits.append(sq.put("commit", _text(3, f"commit {i}")))
    # Each commit is two rows after the one before it: a window of 5 rows reaches two of them.
    assert set(sq.read_ahead(commits[9], 5)) == {commits[9], commits[8], commits[7]}
    assert set(sq.read_ahead(commits[9], 1)) == {commits[9]}
    assert set(sq.read_ahead(commits[1], 100)) == {commits[1], commits[0]}


def test_read_ahead_leaves_out_large_neighbours(sq: SqliteStore) -> None:
    large = sq.put("blob", _text(2000))
    small = sq.put("blob", _text(3))
    assert len(sq.get(large)[1]) > sqlite_mod._AHEAD_BYTES
    assert set(sq.read_ahead(small, 10)) == {small}
    assert set(sq.read_ahead(large, 10)) == {large}


def test_read_ahead_leaves_out_neighbours_stored_as_deltas(sq: SqliteStore) -> None:
    base = sq.put("blob", _text(500))
    delta = sq.put("blob", _text(500) + b"+\n", delta_base=base)
    assert _row(sq, delta)[2] == DELTA
    last = sq.put("blob", _text(5, "last"))
    assert set(sq.read_ahead(last, 10)) == {last, base}
    sq._cache.clear()
    assert sq.read_ahead(delta, 10)[delta] == sq.get(delta)


def test_raw_row_with_other_bytes_is_a_hash_mismatch(sq: SqliteStore) -> None:
    oid = _damaged(sq, "UPDATE objects SET storage = ?, data = ?, size = 5 WHERE id = ?", RAW, b"other")
    with pytest.raises(HashMismatchError, match=oid.hex()):
        sq.get(oid)


def test_frame_declaring_a_huge_size_is_refused_before_allocating(sq: SqliteStore) -> None:
    huge = zstandard.ZstdCompressor().compress(b"\0" * (64 * 1024 * 1024))
    oid = _damaged(sq, "UPDATE objects SET data = ? WHERE id = ?", huge)
    tracemalloc.start()
    try:
        with pytest.raises(CorruptObjectError, match="frame declares 67108864 bytes"):
            sq.get(oid)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


def test_unknown_kind_code_fails_info(sq: SqliteStore) -> None:
    oid = _damaged(sq, "UPDATE objects SET kind = 0 WHERE id = ?")
    with pytest.raises(CorruptObjectError, match="unknown kind code 0"):
        sq.info(oid)


def test_damaged_delta_base_is_reported(sq: SqliteStore) -> None:
    base = sq.put("blob", _text(500))
    oid = sq.put("blob", _text(500) + b"+\n", delta_base=base)
    assert _row(sq, oid)[2] == DELTA
    _poke(sq, "UPDATE objects SET data = substr(data, 1, 30) WHERE id = ?", base)
    with pytest.raises(CorruptObjectError, match=base.hex()):
        sq.get(oid)
    assert sorted(o for o, _ in sq.verify_all()) == sorted([base, oid])


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DELETE FROM chunks WHERE id = ? AND seq = 1", "chunk 1 is missing"),
        ("DELETE FROM chunks WHERE id = ? AND seq = 3", "chunks hold"),
        ("UPDATE chunks SET data = x'00' WHERE id = ? AND seq = 0", "chunk 0: not a zstd frame"),
        ("INSERT INTO chunks(id, seq, data) SELECT id, 4, data FROM chunks WHERE id = ? AND seq = 0", "at most 0"),
    ],
)
def test_damaged_chunks(sq: SqliteStore, monkeypatch: pytest.MonkeyPatch, sql: str, message: str) -> None:
    monkeypatch.setattr(sqlite_mod, "LARGE_OBJECT", 10_000)
    monkeypatch.setattr(sqlite_mod, "CHUNK_SIZE", 4096)
    body = _text(230)[:16384]
    oid = sq.put("blob", body)
    assert sq.db.conn.execute("SELECT COUNT(*) FROM chunks WHERE id = ?", (oid,)).fetchone() == (4,)
    _poke(sq, sql, oid)
    with pytest.raises(CorruptObjectError, match=message):
        b"".join(sq.iter_content(oid))
    with pytest.raises(CorruptObjectError, match=oid.hex()):
        sq.get(oid)
    assert [o for o, _ in sq.verify_all()] == [oid]


def test_wrong_chunk_content_fails_after_the_last_piece(sq: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_mod, "LARGE_OBJECT", 10_000)
    monkeypatch.setattr(sqlite_mod, "CHUNK_SIZE", 4096)
    body = _text(230)[:16384]
    oid = sq.put("blob", body)
    other = zstandard.ZstdCompressor().compress(b"Q" * 4096)
    _poke(sq, "UPDATE chunks SET data = ? WHERE id = ? AND seq = 2", other, oid)
    got = []
    with pytest.raises(HashMismatchError, match=oid.hex()):
        for piece in sq.iter_content(oid):
            got.append(piece)
    assert len(got) == 4  # every piece came out; the check is at the end


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    storage=st.integers(min_value=-1, max_value=4),
    kind=st.integers(min_value=0, max_value=4),
    size=st.integers(min_value=-2, max_value=5000),
    data=st.one_of(
        st.none(),
        st.binary(max_size=300),
        st.binary(max_size=3000).map(zstandard.ZstdCompressor().compress),
        st.text(max_size=20),
    ),
    base=st.one_of(st.none(), st.binary(min_size=32, max_size=32), st.just(b"self")),
)
def test_decoding_any_row_raises_only_vcrdt_errors(
    sq: SqliteStore, storage: int, kind: int, size: int, data: object, base: bytes | None
) -> None:
    real = sq.put("blob", _text(100))
    oid = ObjectId(os.urandom(32))
    with sq.db.write() as conn:
        conn.execute(
            "INSERT INTO objects(id, kind, size, storage, base, depth, data) VALUES (?,?,?,?,?,0,?)",
            (oid, kind, size, storage, real if base == b"self" else base, data),
        )
    sq._cache.clear()
    try:
        ahead = sq.read_ahead(oid, 8)
    except VcrdtError as exc:
        ahead_error: str | None = str(exc)
    else:  # pragma: no cover - a random row is practically never a valid object
        ahead_error = None
        assert set(ahead) <= {oid, real}
    sq._cache.clear()
    try:
        got_kind, body = sq.get(oid)
    except VcrdtError as exc:
        assert oid.hex() in str(exc) or real.hex() in str(exc)
        assert ahead_error == str(exc)  # read_ahead fails as get does
    else:  # pragma: no cover - a random row is practically never a valid object
        assert object_id(got_kind, body) == oid
        assert ahead_error is None and ahead[oid] == (got_kind, body)
    try:
        b"".join(sq.iter_content(oid))
        sq.info(oid)
    except VcrdtError:
        pass


# --- queries -----------------------------------------------------------------------------


def test_ids_with_prefix_is_an_index_range_scan(sq: SqliteStore) -> None:
    ids = sorted(sq.put("blob", f"{i}".encode()) for i in range(50))
    seen: list[str] = []
    sq.db.conn.set_trace_callback(seen.append)
    try:
        assert sq.ids_with_prefix(ids[10][:2]) == [ids[10]]
    finally:
        sq.db.conn.set_trace_callback(None)
    (query,) = seen
    plan = " ".join(str(r[-1]) for r in sq.db.conn.execute("EXPLAIN QUERY PLAN " + query))
    assert "SEARCH objects USING COVERING INDEX" in plan
    assert "id>? AND id<?" in plan


def test_stats_count_chunks(sq: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_mod, "LARGE_OBJECT", 10_000)
    monkeypatch.setattr(sqlite_mod, "CHUNK_SIZE", 4096)
    sq.put("blob", _text(1000))
    stats = sq.stats()
    (chunk_bytes,) = sq.db.conn.execute("SELECT SUM(LENGTH(data)) FROM chunks").fetchone()
    assert stats["objects"] == 1
    assert stats["raw_bytes"] == len(_text(1000))
    assert stats["stored_bytes"] == chunk_bytes


# --- reads for a sender ----------------------------------------------------------------------


def test_stored_forms_of_many_ids_in_one_read(sq: SqliteStore) -> None:
    base = _text(3000)
    b = sq.put("blob", base)
    e = sq.put("blob", base + b"more\n", delta_base=b)
    raw = sq.put("tree", b"t")
    absent = ObjectId(b"\x07" * 32)
    forms = sq.stored_forms([b, e, raw, absent, b])
    assert set(forms) == {b, e, raw}
    assert forms[b] == ("blob", len(base), sq.stored_form(b))
    assert forms[e][:2] == ("blob", len(base) + 5)
    assert forms[e][2] is not None and forms[e][2][:2] == (DELTA, b)
    assert forms[raw] == ("tree", 1, None)  # raw rows have no zstd form


def test_read_unverified_decodes_every_storage_form(sq: SqliteStore) -> None:
    base = _text(3000)
    b = sq.put("blob", base)
    edited = base.replace(b"line 20:", b"LINE 20:")
    e = sq.put("blob", edited, delta_base=b)
    raw = sq.put("tree", b"t")
    sq._cache.clear()
    assert sq.read_unverified(b) == ("blob", base, sq.stored_form(b))
    # A delta on a body the caller holds is decoded with it; without it, `get` reads the chain.
    assert sq.read_unverified(e, {b: base})[:2] == ("blob", edited)
    sq._cache.clear()
    assert sq.read_unverified(e) == ("blob", edited, sq.stored_form(e))
    assert sq.read_unverified(raw) == ("tree", b"t", None)
    with pytest.raises(ObjectNotFoundError):
        sq.read_unverified(ObjectId(b"\x07" * 32))


def test_read_unverified_checks_the_size_but_not_the_hash(sq: SqliteStore) -> None:
    body = _text(100)
    oid = sq.put("blob", body)
    other = body.replace(b"line 7:", b"LINE 7:")
    _poke(sq, "UPDATE objects SET data = ? WHERE id = ?", zstandard.ZstdCompressor().compress(other), oid)
    assert sq.read_unverified(oid)[1] == other  # the receiver hashes what it is sent
    with pytest.raises(HashMismatchError):
        sq.get(oid)
    _poke(sq, "UPDATE objects SET data = ? WHERE id = ?", zstandard.ZstdCompressor().compress(b"short"), oid)
    with pytest.raises(CorruptObjectError):
        sq.read_unverified(oid)


def test_tree_rows_give_kinds_sizes_and_the_rows_of_trees(sq: SqliteStore) -> None:
    blob = sq.put("blob", _text(200))
    tree = sq.put("tree", b"file a\0" + bytes(range(32)))
    rows = sq.tree_rows([blob, tree, ObjectId(b"\x07" * 32)])
    assert set(rows) == {blob, tree}
    assert rows[blob] == ("blob", len(_text(200)), None)
    kind, size, row = rows[tree]
    assert (kind, size) == ("tree", 39) and row is not None
    assert sq.read_unverified(tree, row=row) == sq.read_unverified(tree)
    assert sq.read_unverified(tree, row=row)[1] == sq.get(tree)[1]


# --- get_many (a checkout's bodies, a few queries for many) --------------------------------


def test_get_many_reads_whole_and_delta_bodies_verified(sq: SqliteStore) -> None:
    base = sq.put("blob", _text(300))
    delta = sq.put("blob", _text(300) + b"edited\n", delta_base=base)
    raw = sq.put("blob", b"tiny")
    assert _row(sq, delta)[2] == DELTA
    sq._cache.clear()
    got = sq.get_many([base, delta, raw, ObjectId(b"\x07" * 32)])  # an absent id is left out
    assert got == {oid: sq.get(oid) for oid in (base, delta, raw)}
    sq._cache.clear()
    assert sq.get_many([delta]) == {delta: sq.get(delta)}  # its base read only as its dictionary


def test_get_many_reads_a_few_queries_for_many(sq: SqliteStore) -> None:
    bases = [sq.put("blob", _text(100, f"{i}")) for i in range(40)]
    deltas = [sq.put("blob", _text(100, f"{i}") + b"more\n", delta_base=b) for i, b in enumerate(bases)]
    sq._cache.clear()
    statements: list[str] = []
    sq.db.conn.set_trace_callback(statements.append)
    try:
        got = sq.get_many(deltas)
    finally:
        sq.db.conn.set_trace_callback(None)
    assert set(got) == set(deltas)
    assert len(statements) == 2  # the deltas' rows, then their bases'


@pytest.mark.parametrize(
    ("sql", "args"),
    [
        ("UPDATE objects SET data = substr(data, 1, 20) WHERE id = ?", ()),
        ("UPDATE objects SET storage = ?, data = ?, size = 5 WHERE id = ?", (RAW, b"other")),
        ("UPDATE objects SET kind = ? WHERE id = ?", (7,)),
        ("UPDATE objects SET storage = 1, base = id WHERE id = ?", ()),
    ],
)
def test_get_many_leaves_out_a_damaged_row_for_get_to_name(sq: SqliteStore, sql: str, args: tuple[object]) -> None:
    good = sq.put("blob", _text(30, "good"))
    oid = _damaged(sq, sql, *args)
    assert sq.get_many([good, oid]) == {good: sq.get(good)}
    with pytest.raises(VcrdtError, match=oid.hex()):
        sq.get(oid)


def test_get_many_leaves_out_a_delta_whose_base_is_damaged(sq: SqliteStore) -> None:
    base = sq.put("blob", _text(300))
    delta = sq.put("blob", _text(300) + b"edited\n", delta_base=base)
    assert _row(sq, delta)[2] == DELTA
    # The base stays a valid zstd frame of the right size, of other text: only hashing the
    # delta's result tells.
    other = _text(300, "x")[: len(_text(300))]
    _poke(sq, "UPDATE objects SET data = ? WHERE id = ?", zstandard.ZstdCompressor().compress(other), base)
    assert sq.get_many([delta]) == {}
    with pytest.raises(HashMismatchError):
        sq.get(delta)


def test_get_many_leaves_out_a_chunked_object(sq: SqliteStore) -> None:
    big = os.urandom(LARGE_OBJECT + 1)
    oid = sq.put("blob", big)
    assert _row(sq, oid)[2] == CHUNKED
    assert sq.get_many([oid]) == {}


# --- large objects received, and read back --------------------------------------------------


def _chunk_rows(store: SqliteStore, key: bytes) -> list[bytes]:
    return [bytes(d) for (d,) in store.db.conn.execute("SELECT data FROM chunks WHERE id = ? ORDER BY seq", (key,))]


def _noisy(n: int, seed: int = 3) -> bytes:
    return random.Random(seed).randbytes(n)


def test_a_received_large_object_keeps_its_whole_chunk_frames(sq: SqliteStore) -> None:
    from vcrdt.store.zstd import raw_frame

    body = _text(200_000)[: 2 * CHUNK_SIZE] + _noisy(LARGE_OBJECT)
    pieces = [body[i : i + CHUNK_SIZE] for i in range(0, len(body), CHUNK_SIZE)]
    # Frames the store would not make itself: level 19, and raw blocks of compressible text.
    frames: list[bytes | None] = [zstandard.ZstdCompressor(level=19).compress(p) for p in pieces]
    frames[1] = raw_frame(pieces[1])
    frames[2] = None  # a piece that came without its frame is compressed here
    frames[3] = frames[3] + b"\0"  # bytes after the frame: not kept as it is
    oid = object_id("blob", body)
    assert sq.put_received("blob", len(body), list(zip(pieces, frames, strict=True)), expected_id=oid) == oid
    rows = _chunk_rows(sq, oid)
    assert len(rows) == len(pieces)
    assert rows[0] == frames[0] and rows[1] == frames[1] and rows[4] == frames[4]
    assert rows[2] != frames[2] and rows[3] != frames[3]
    fresh = SqliteStore(Database(sq.db.path))
    assert b"".join(fresh.iter_content(oid)) == body
    assert list(sq.verify_all()) == []


def test_pieces_off_the_chunk_boundaries_are_cut_into_chunks(sq: SqliteStore) -> None:
    body = _noisy(LARGE_OBJECT + 3 * CHUNK_SIZE // 2)
    cuts = [0, 1000, CHUNK_SIZE + 1000, 3 * CHUNK_SIZE, 3 * CHUNK_SIZE + 7, len(body)]
    pieces = [(body[a:b], zstandard.ZstdCompressor().compress(body[a:b])) for a, b in itertools.pairwise(cuts)]
    oid = sq.put_received("blob", len(body), pieces, expected_id=object_id("blob", body))
    rows = _chunk_rows(sq, oid)
    assert [zstandard.frame_content_size(r) for r in rows[:-1]] == [CHUNK_SIZE] * (len(rows) - 1)
    assert b"".join(SqliteStore(Database(sq.db.path)).iter_content(oid)) == body


@pytest.mark.parametrize("size", [LARGE_OBJECT // 2, LARGE_OBJECT + 5])
def test_a_body_under_another_id_is_refused_and_nothing_is_kept(sq: SqliteStore, size: int) -> None:
    body = _noisy(size)
    claimed = ObjectId(bytes(32 * [0x42]))
    with sq.db.write():
        with pytest.raises(
            HashMismatchError, match=f"object {claimed.hex()} hashes to {object_id('blob', body).hex()}"
        ):
            sq.put_stream("blob", size, [body[:1000], body[1000:]], expected_id=claimed)
        # The caller's transaction goes on and commits: nothing of the object is in it.
    assert not sq.has(claimed) and not sq.has(object_id("blob", body))
    assert sq.db.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] == 0
    assert sq.db.conn.execute("SELECT COUNT(*) FROM objects").fetchone()[0] == 0


def test_a_body_already_stored_is_still_checked_against_its_claimed_id(sq: SqliteStore) -> None:
    body = _noisy(LARGE_OBJECT + 5)
    oid = sq.put("blob", body)
    assert sq.put_stream("blob", len(body), [body], expected_id=oid) == oid
    other = bytearray(body)
    other[-1] ^= 1
    with pytest.raises(HashMismatchError):
        sq.put_stream("blob", len(body), [bytes(other)], expected_id=oid)
    assert b"".join(sq.iter_content(oid)) == body


def test_incompressible_bodies_are_stored_without_being_compressed(sq: SqliteStore) -> None:
    whole = sq.put("blob", _noisy(CHUNK_SIZE))
    assert _row(sq, whole)[2] == RAW
    text = sq.put("blob", _text(20_000))
    assert _row(sq, text)[2] == ZSTD
    big = _noisy(LARGE_OBJECT + 5)
    chunked = sq.put("blob", big)
    for frame in _chunk_rows(sq, chunked)[:-1]:  # the last, 5 bytes, is too small to be judged
        # Raw blocks: a single-segment header declaring the size, then block type 0.
        assert frame[4] == 0xA0 and (frame[9] >> 1) & 3 == 0
    assert b"".join(SqliteStore(Database(sq.db.path)).iter_content(chunked)) == big


def test_a_damaged_large_object_is_refused_by_any_reader_that_did_not_write_it(sq: SqliteStore) -> None:
    from vcrdt.store.zstd import raw_frame

    body = _noisy(LARGE_OBJECT + 5)
    whole_body = _noisy(LARGE_OBJECT // 2, seed=4)
    oid = sq.put("blob", body)
    whole = sq.put("blob", whole_body)
    with sq.db.write() as conn:
        # Well-formed rows of the right sizes, holding other bytes.
        conn.execute("UPDATE chunks SET data = ? WHERE id = ? AND seq = 1", (raw_frame(_noisy(CHUNK_SIZE, 9)), oid))
        conn.execute("UPDATE objects SET data = ? WHERE id = ?", (_noisy(len(whole_body), 9), whole))
    other = SqliteStore(Database(sq.db.path))  # another process
    with pytest.raises(HashMismatchError, match=oid.hex()):
        b"".join(other.iter_content(oid))
    with pytest.raises(HashMismatchError, match=whole.hex()):
        other.get(whole)
    assert whole not in other.get_many([whole])
    assert {o for o, _ in other.verify_all()} == {oid, whole}
    assert {o for o, _ in sq.verify_all()} == {oid, whole}  # fsck checks everything, written here or not
    sq.forget_cached()  # a rolled-back write: what this store wrote is read as any other object
    with pytest.raises(HashMismatchError):
        sq.get(whole)


def test_chunk_frames_are_the_stored_frames_and_a_bad_one_is_named(sq: SqliteStore) -> None:
    body = _noisy(LARGE_OBJECT + 5)
    oid = sq.put("blob", body)
    frames = sq.chunk_frames(oid)
    assert frames is not None and list(frames) == _chunk_rows(sq, oid)
    assert sq.chunk_frames(sq.put("blob", b"small")) is None
    bomb = zstandard.ZstdCompressor().compress(bytes(2 * CHUNK_SIZE))
    _poke(sq, "UPDATE chunks SET data = ? WHERE id = ? AND seq = 2", bomb, oid)
    frames = sq.chunk_frames(oid)
    assert frames is not None
    with pytest.raises(CorruptObjectError, match=f"chunk 2: frame declares {2 * CHUNK_SIZE} bytes, at most"):
        list(frames)
    _poke(sq, "DELETE FROM chunks WHERE id = ? AND seq = 2", oid)
    with pytest.raises(CorruptObjectError, match="chunk 2 is missing"):
        list(sq.chunk_frames(oid) or [])
