"""The behaviour every ObjectStore backend must share (run against each backend)."""

from __future__ import annotations

import hashlib

import pytest

from vcrdt.errors import CorruptObjectError, ObjectNotFoundError
from vcrdt.hashing import object_id
from vcrdt.ids import ObjectId
from vcrdt.store import ObjectStore


class ObjectStoreContract:
    """Mix into a test class that provides a `store` fixture."""

    def test_put_get_round_trip(self, store: ObjectStore) -> None:
        oid = store.put("blob", b"hello\n")
        assert oid == object_id("blob", b"hello\n")
        assert store.get(oid) == ("blob", b"hello\n")
        assert store.info(oid) == ("blob", 6)

    def test_put_is_idempotent(self, store: ObjectStore) -> None:
        a = store.put("blob", b"same")
        b = store.put("blob", b"same")
        assert a == b
        assert list(store.iter_ids()) == [a]

    def test_empty_blob(self, store: ObjectStore) -> None:
        oid = store.put("blob", b"")
        assert store.get(oid) == ("blob", b"")
        assert b"".join(store.iter_content(oid)) == b""

    def test_missing_object(self, store: ObjectStore) -> None:
        missing = ObjectId(b"\x11" * 32)
        assert not store.has(missing)
        with pytest.raises(ObjectNotFoundError, match="1111"):
            store.get(missing)
        with pytest.raises(ObjectNotFoundError):
            store.info(missing)

    def test_unknown_kind_rejected(self, store: ObjectStore) -> None:
        with pytest.raises(CorruptObjectError):
            store.put("tag", b"x")

    def test_has_many_and_iter_ids_sorted(self, store: ObjectStore) -> None:
        ids = [store.put("blob", f"{i}".encode()) for i in range(50)]
        assert store.has_many([*ids[:10], ObjectId(b"\x00" * 31 + b"\x01")]) == set(ids[:10])
        assert list(store.iter_ids()) == sorted(ids)

    def test_ids_with_prefix(self, store: ObjectStore) -> None:
        ids = [store.put("blob", f"{i}".encode()) for i in range(300)]
        target = ids[17]
        assert store.ids_with_prefix(target[:4], limit=5) == [target]
        first = target[:1]
        expected = sorted(i for i in ids if i.startswith(first))[:3]
        assert store.ids_with_prefix(first, limit=3) == expected
        assert store.ids_with_prefix(b"\xff" * 3 + b"\xfe") == [i for i in ids if i.startswith(b"\xff" * 3 + b"\xfe")]

    def test_delta_base_round_trip(self, store: ObjectStore) -> None:
        base = b"".join(f"line {i} of a longer text file\n".encode() for i in range(2000))
        b_id = store.put("blob", base)
        edited = base.replace(b"line 1000 ", b"LINE 1000 ")
        e_id = store.put("blob", edited, delta_base=b_id)
        assert store.get(e_id) == ("blob", edited)

    def test_put_many_matches_put(self, store: ObjectStore) -> None:
        items = [("blob", f"item {i}\n".encode() * 50, None) for i in range(20)]
        ids = store.put_many(items)
        assert ids == [object_id(k, b) for k, b, _ in items]
        assert all(store.get(i)[1] == b for i, (_, b, _) in zip(ids, items, strict=True))

    def test_put_stream_and_iter_content(self, store: ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
        chunk = hashlib.sha256(b"seed").digest() * 4096  # 128 KiB
        pieces = [chunk] * 40  # 5 MiB
        oid = store.put_stream("blob", len(chunk) * 40, iter(pieces))
        assert oid == object_id("blob", chunk * 40)
        assert b"".join(store.iter_content(oid)) == chunk * 40

    def test_put_stream_wrong_size(self, store: ObjectStore) -> None:
        with pytest.raises(CorruptObjectError):
            store.put_stream("blob", 10, iter([b"12345"]))
        with pytest.raises(CorruptObjectError):
            store.put_stream("blob", 3, iter([b"12345"]))
        assert list(store.iter_ids()) == []

    def test_verify_all_clean(self, store: ObjectStore) -> None:
        for i in range(5):
            store.put("blob", f"{i}".encode())
        assert list(store.verify_all()) == []  # type: ignore[attr-defined]
