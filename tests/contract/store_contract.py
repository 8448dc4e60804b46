"""The behaviour every ObjectStore backend must share.

`ObjectStoreContract` is a mixin: a test class per backend inherits it and
provides `make_store` plus the two fault-injection hooks, `corrupt_body`
(make the store hold other bytes under an id, as a flipped bit on disk
would) and `damage` (break the stored representation itself).
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from vcrdt.errors import CorruptObjectError, HashMismatchError, ObjectNotFoundError
from vcrdt.hashing import object_id
from vcrdt.ids import ObjectId
from vcrdt.store import ObjectStore

# Limits while testing large objects, so a 20 MiB object has many chunks but stays quick.
SMALL_LARGE_OBJECT = 1024 * 1024
SMALL_CHUNK = 256 * 1024
BIG = 20 * 1024 * 1024


def text(lines: int, tag: str = "") -> bytes:
    return b"".join(f"{tag}line {i}: the quick brown fox jumps over the lazy dog\n".encode() for i in range(lines))


def big_body(size: int = BIG, seed: int = 7) -> bytes:
    """Half random, half text: compressible, but not trivially."""
    rng = random.Random(seed)
    half = rng.randbytes(size // 2)
    filler = text(size // 40 + 1)
    return (half + filler)[:size]


def pieces(body: bytes, sizes: list[int]) -> Iterator[bytes]:
    """Cut `body` into pieces of the given sizes, cycling through them."""
    i = 0
    n = 0
    while i < len(body):
        step = sizes[n % len(sizes)]
        yield body[i : i + step]
        i += step
        n += 1


class ObjectStoreContract:
    """Mix into a test class that implements `make_store`, `corrupt_body` and `damage`."""

    def make_store(self, tmp_path: Path) -> ObjectStore:
        raise NotImplementedError

    def corrupt_body(self, store: ObjectStore, oid: ObjectId, body: bytes) -> None:
        """Make `store` hold `body` under `oid`, bypassing every check."""
        raise NotImplementedError

    def damage(self, store: ObjectStore, oid: ObjectId) -> None:
        """Break the stored form of `oid` (flip bytes), bypassing every check."""
        raise NotImplementedError

    @pytest.fixture
    def store(self, tmp_path: Path) -> ObjectStore:
        return self.make_store(tmp_path)

    @pytest.fixture
    def small_limits(self, store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
        """Lower LARGE_OBJECT and CHUNK_SIZE wherever the backend's module reads them."""
        for module in (sys.modules["vcrdt.store"], sys.modules[type(store).__module__]):
            if hasattr(module, "LARGE_OBJECT"):
                monkeypatch.setattr(module, "LARGE_OBJECT", SMALL_LARGE_OBJECT)
            if hasattr(module, "CHUNK_SIZE"):
                monkeypatch.setattr(module, "CHUNK_SIZE", SMALL_CHUNK)

    # --- round trips -----------------------------------------------------------------

    @pytest.mark.parametrize("kind", ["blob", "tree", "commit"])
    def test_put_get_round_trip(self, store: ObjectStore, kind: str) -> None:
        body = text(20, kind)
        oid = store.put(kind, body)
        assert oid == object_id(kind, body)
        assert store.get(oid) == (kind, body)
        assert store.info(oid) == (kind, len(body))
        assert store.has(oid)

    def test_same_body_different_kinds_are_different_objects(self, store: ObjectStore) -> None:
        a = store.put("blob", b"x")
        b = store.put("tree", b"x")
        assert a != b
        assert store.get(a) == ("blob", b"x")
        assert store.get(b) == ("tree", b"x")

    def test_incompressible_body_round_trips(self, store: ObjectStore) -> None:
        body = random.Random(1).randbytes(5000)
        oid = store.put("blob", body)
        assert store.get(oid) == ("blob", body)

    def test_put_is_idempotent(self, store: ObjectStore) -> None:
        a = store.put("blob", b"same")
        b = store.put("blob", b"same")
        c = store.put_many([("blob", b"same", None)])[0]
        d = store.put_stream("blob", 4, iter([b"sa", b"me"]))
        assert a == b == c == d
        assert list(store.iter_ids()) == [a]
        assert store.stats()["objects"] == 1

    def test_empty_blob(self, store: ObjectStore) -> None:
        oid = store.put("blob", b"")
        assert store.get(oid) == ("blob", b"")
        assert store.info(oid) == ("blob", 0)
        assert b"".join(store.iter_content(oid)) == b""

    def test_missing_object(self, store: ObjectStore) -> None:
        missing = ObjectId(b"\x11" * 32)
        assert not store.has(missing)
        with pytest.raises(ObjectNotFoundError, match="11" * 32):
            store.get(missing)
        with pytest.raises(ObjectNotFoundError, match="11" * 32):
            store.info(missing)
        with pytest.raises(ObjectNotFoundError, match="11" * 32):
            list(store.iter_content(missing))

    def test_unknown_kind_rejected(self, store: ObjectStore) -> None:
        with pytest.raises(CorruptObjectError, match="unknown object kind"):
            store.put("tag", b"x")
        with pytest.raises(CorruptObjectError, match="unknown object kind"):
            store.put_many([("blob", b"fine", None), ("tag", b"x", None)])
        with pytest.raises(CorruptObjectError, match="unknown object kind"):
            store.put_stream("tag", 1, iter([b"x"]))

    # --- lookups ------------------------------------------------------------------------

    def test_has_many_and_iter_ids_sorted(self, store: ObjectStore) -> None:
        ids = [store.put("blob", f"{i}".encode()) for i in range(50)]
        absent = ObjectId(b"\x00" * 31 + b"\x01")
        assert store.has_many([*ids[:10], ids[0], absent]) == set(ids[:10])
        assert store.has_many([]) == set()
        assert list(store.iter_ids()) == sorted(ids)

    def test_has_many_more_than_one_query_batch(self, store: ObjectStore) -> None:
        ids = store.put_many([("blob", f"{i}".encode(), None) for i in range(1200)])
        assert store.has_many(ids) == set(ids)

    def test_ids_with_prefix(self, store: ObjectStore) -> None:
        ids = sorted(store.put("blob", f"{i}".encode()) for i in range(300))
        target = ids[17]
        assert store.ids_with_prefix(target[:4], limit=5) == [target]
        assert store.ids_with_prefix(target) == [target]
        first = target[:1]
        assert store.ids_with_prefix(first, limit=3) == [i for i in ids if i.startswith(first)][:3]
        assert store.ids_with_prefix(b"", limit=4) == ids[:4]
        assert store.ids_with_prefix(b"\xff", limit=400) == [i for i in ids if i.startswith(b"\xff")]
        assert store.ids_with_prefix(b"\xff" * 3 + b"\xfe") == [i for i in ids if i.startswith(b"\xff" * 3 + b"\xfe")]
        assert store.ids_with_prefix(target[:4], limit=0) == []

    # --- deltas and batches -------------------------------------------------------------

    def test_delta_base_round_trip(self, store: ObjectStore) -> None:
        base = text(2000)
        b_id = store.put("blob", base)
        edited = base.replace(b"line 1000:", b"LINE 1000:")
        e_id = store.put("blob", edited, delta_base=b_id)
        assert e_id == object_id("blob", edited)
        assert store.get(e_id) == ("blob", edited)
        assert store.get(b_id) == ("blob", base)

    def test_unusable_delta_base_is_ignored(self, store: ObjectStore) -> None:
        body = text(200)
        absent = ObjectId(b"\x22" * 32)
        oid = store.put("blob", body, delta_base=absent)
        assert store.get(oid) == ("blob", body)
        assert store.put("blob", body, delta_base=oid) == oid

    def test_put_many_matches_put(self, store: ObjectStore) -> None:
        base = store.put("blob", text(300))
        items: list[tuple[str, bytes, ObjectId | None]] = [
            ("blob", f"item {i}\n".encode() * 50, None) for i in range(20)
        ]
        items += [("blob", text(300) + b"more\n", base), ("blob", b"item 0\n" * 50, None), ("tree", b"", None)]
        ids = store.put_many(items)
        assert ids == [object_id(k, b) for k, b, _ in items]
        assert all(store.get(i) == (k, b) for i, (k, b, _) in zip(ids, items, strict=True))
        assert store.put_many([]) == []

    def test_put_many_big_batch(self, store: ObjectStore) -> None:
        # Over a megabyte: backends may hash and compress it on worker threads.
        items: list[tuple[str, bytes, ObjectId | None]] = [("blob", text(200, f"{i} "), None) for i in range(150)]
        ids = store.put_many(items)
        assert ids == [object_id(k, b) for k, b, _ in items]
        assert [store.get(i)[1] for i in ids] == [b for _, b, _ in items]

    def test_started_batches_overlap(self, store: ObjectStore) -> None:
        # As a commit of many files stores them: a batch is started before the one before it is
        # finished, and the two share objects with each other and with the store.
        present = store.put("blob", text(40, "present"))
        first: list[tuple[str, bytes, ObjectId | None]] = [("blob", text(200, f"{i} "), None) for i in range(40)]
        second: list[tuple[str, bytes, ObjectId | None]] = [("blob", text(200, f"{i} "), None) for i in range(30, 70)]
        second += [("blob", text(40, "present"), None), ("blob", text(200, "0 ") + b"edited\n", present)]
        started = store.start_put_many(first)
        later = store.start_put_many(second)
        ids = started.finish()
        assert started.finish() == ids  # finishing again writes nothing more
        more = later.finish()
        assert ids == [object_id(k, b) for k, b, _ in first]
        assert more == [object_id(k, b) for k, b, _ in second]
        assert more[-2] == present
        assert all(store.get(i)[1] == b for i, (_, b, _) in zip(ids + more, first + second, strict=True))
        assert store.stats()["objects"] == 1 + 70 + 1
        assert store.start_put_many([]).finish() == []

    # --- streams and large objects ------------------------------------------------------------

    def test_put_stream_small(self, store: ObjectStore) -> None:
        body = text(100)
        oid = store.put_stream("blob", len(body), pieces(body, [1, 1000, 7]))
        assert oid == object_id("blob", body)
        assert store.get(oid) == ("blob", body)

    @pytest.mark.parametrize("size", [10, 3, 0])
    def test_put_stream_wrong_size(self, store: ObjectStore, size: int) -> None:
        with pytest.raises(CorruptObjectError, match="bytes"):
            store.put_stream("blob", size, iter([b"12345"]))
        assert list(store.iter_ids()) == []

    @pytest.mark.usefixtures("small_limits")
    def test_large_object_streamed(self, store: ObjectStore) -> None:
        body = big_body()
        oid = store.put_stream("blob", len(body), pieces(body, [100_000, 3, SMALL_CHUNK, 5 * SMALL_CHUNK + 1]))
        assert oid == object_id("blob", body)
        assert store.info(oid) == ("blob", len(body))
        out = list(store.iter_content(oid))
        assert all(0 < len(p) <= SMALL_CHUNK for p in out)
        assert b"".join(out) == body
        assert store.get(oid) == ("blob", body)
        # The same object again, by put and by stream: nothing new.
        assert store.put("blob", body) == oid
        assert store.put_stream("blob", len(body), pieces(body, [SMALL_CHUNK])) == oid
        assert list(store.iter_ids()) == [oid]
        assert list(store.verify_all()) == []

    @pytest.mark.usefixtures("small_limits")
    def test_large_put_matches_stream(self, store: ObjectStore) -> None:
        body = big_body(3 * SMALL_LARGE_OBJECT + 5)
        oid = store.put("blob", body)
        assert oid == object_id("blob", body)
        assert b"".join(store.iter_content(oid)) == body
        ids = store.put_many([("blob", body + b"!", None), ("blob", b"small", None)])
        assert store.get(ids[0]) == ("blob", body + b"!")

    @pytest.mark.usefixtures("small_limits")
    @pytest.mark.parametrize("delta", [-1, 1, -SMALL_CHUNK])
    def test_large_stream_wrong_size(self, store: ObjectStore, delta: int) -> None:
        body = big_body(3 * SMALL_LARGE_OBJECT)
        with pytest.raises(CorruptObjectError, match="bytes"):
            store.put_stream("blob", len(body) + delta, pieces(body, [SMALL_CHUNK // 2]))
        assert list(store.iter_ids()) == []
        assert store.stats()["stored_bytes"] == 0

    # --- reading ahead -----------------------------------------------------------------------

    def test_read_ahead_returns_what_get_returns(self, store: ObjectStore) -> None:
        ids = [store.put(kind, text(5, f"{kind}{i}")) for i in range(20) for kind in ("blob", "tree", "commit")]
        for oid in ids:
            kind, _ = store.get(oid)
            ahead = store.read_ahead(oid, 16)
            assert ahead[oid] == store.get(oid)
            for other, (other_kind, body) in ahead.items():
                assert (other_kind, body) == store.get(other)
                assert other_kind == kind  # only its own kind is read ahead

    def test_read_ahead_of_missing_or_damaged_object(self, store: ObjectStore) -> None:
        missing = ObjectId(b"\x11" * 32)
        with pytest.raises(ObjectNotFoundError, match="11" * 32):
            store.read_ahead(missing, 16)
        oid = store.put("commit", text(20, "x"))
        self.corrupt_body(store, oid, text(20, "y"))
        with pytest.raises(HashMismatchError, match=oid.hex()):
            store.read_ahead(oid, 16)

    def test_read_ahead_leaves_out_damaged_neighbours(self, store: ObjectStore) -> None:
        before = [store.put("commit", text(20, f"before {i}")) for i in range(5)]
        oid = store.put("commit", text(20, "last"))
        self.corrupt_body(store, before[2], text(20, "other"))
        ahead = store.read_ahead(oid, 16)
        assert before[2] not in ahead
        assert all(ahead[o] == store.get(o) for o in ahead)

    # --- corruption ------------------------------------------------------------------------

    def test_corrupt_body_detected(self, store: ObjectStore) -> None:
        good = store.put("blob", text(100))
        oid = store.put("blob", text(100, "x"))
        self.corrupt_body(store, oid, text(100, "y"))
        with pytest.raises(HashMismatchError, match=oid.hex()) as info:
            store.get(oid)
        assert info.value.expected_hex == oid.hex()
        with pytest.raises(HashMismatchError, match=oid.hex()):
            b"".join(store.iter_content(oid))
        assert [o for o, _ in store.verify_all()] == [oid]
        assert store.get(good) == ("blob", text(100))

    def test_damaged_object_detected(self, store: ObjectStore) -> None:
        oid = store.put("blob", text(100))
        self.damage(store, oid)
        with pytest.raises((CorruptObjectError, HashMismatchError), match=oid.hex()):
            store.get(oid)
        problems = list(store.verify_all())
        assert [o for o, _ in problems] == [oid]
        assert oid.hex() in str(problems[0][1])

    @pytest.mark.usefixtures("small_limits")
    def test_corrupt_large_object_detected(self, store: ObjectStore) -> None:
        body = big_body(3 * SMALL_LARGE_OBJECT)
        oid = store.put_stream("blob", len(body), pieces(body, [SMALL_CHUNK]))
        flipped = body[:-1] + bytes([body[-1] ^ 1])
        self.corrupt_body(store, oid, flipped)
        with pytest.raises(HashMismatchError, match=oid.hex()):
            for _ in store.iter_content(oid):
                pass
        with pytest.raises(HashMismatchError, match=oid.hex()):
            store.get(oid)

    # --- fsck support -----------------------------------------------------------------------

    def test_verify_all_clean_with_progress(self, store: ObjectStore) -> None:
        ids = [store.put("blob", f"{i}".encode()) for i in range(300)]
        calls: list[tuple[int, int]] = []
        assert list(store.verify_all(lambda done, total: calls.append((done, total)))) == []
        assert calls[0] == (0, 300)
        assert calls[-1] == (300, 300)
        assert len(ids) == 300

    def test_stats(self, store: ObjectStore) -> None:
        assert store.stats() == {"objects": 0, "raw_bytes": 0, "stored_bytes": 0}
        bodies = [text(100, f"{i}") for i in range(5)]
        for b in bodies:
            store.put("blob", b)
        stats = store.stats()
        assert stats["objects"] == 5
        assert stats["raw_bytes"] == sum(map(len, bodies))
        assert 0 < stats["stored_bytes"] <= stats["raw_bytes"]

    def test_hash_of_pieces_matches(self, store: ObjectStore) -> None:
        # iter_content's pieces always concatenate to the body whose hash is the id.
        oid = store.put("blob", text(50))
        h = hashlib.sha256(b"blob %d\0" % store.info(oid)[1])
        for piece in store.iter_content(oid):
            h.update(piece)
        assert h.digest() == oid
