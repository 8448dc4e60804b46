"""The id function, pinned by vectors anyone can recompute with `sha256sum`."""

from __future__ import annotations

import hashlib

import pytest

from vcrdt.hashing import KINDS, StreamingObjectHasher, fast_hash, object_header, object_id

# printf 'blob 0\0' | sha256sum, and printf 'blob 6\0hello\n' | sha256sum. These are
# also git's SHA-256 blob ids: vcrdt hashes a blob exactly as git's sha256 format does.
EMPTY_BLOB = "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813"
HELLO_BLOB = "2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4"
EMPTY_TREE = "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"


def test_kinds() -> None:
    assert KINDS == ("blob", "tree", "commit")


@pytest.mark.parametrize(
    ("kind", "size", "header"),
    [("blob", 0, b"blob 0\0"), ("tree", 37, b"tree 37\0"), ("commit", 1234567, b"commit 1234567\0")],
)
def test_object_header(kind: str, size: int, header: bytes) -> None:
    assert object_header(kind, size) == header


def test_golden_empty_blob() -> None:
    assert object_id("blob", b"").hex() == EMPTY_BLOB


def test_golden_hello_blob() -> None:
    assert object_id("blob", b"hello\n").hex() == HELLO_BLOB


def test_golden_empty_tree() -> None:
    assert object_id("tree", b"").hex() == EMPTY_TREE


def test_id_is_sha256_of_header_and_body() -> None:
    body = b"\x00\xffarbitrary bytes\n"
    assert object_id("commit", body) == hashlib.sha256(b"commit 18\0" + body).digest()


def test_same_body_different_kind_different_id() -> None:
    assert len({object_id(kind, b"x") for kind in KINDS}) == 3


def test_streaming_hasher_matches_one_shot() -> None:
    body = bytes(range(256)) * 10
    hasher = StreamingObjectHasher("blob", len(body))
    for i in range(0, len(body), 999):
        hasher.update(body[i : i + 999])
    assert hasher.seen == hasher.expected == len(body)
    assert hasher.digest() == object_id("blob", body)


def test_streaming_hasher_of_nothing() -> None:
    assert StreamingObjectHasher("blob", 0).digest().hex() == EMPTY_BLOB


def test_streaming_hasher_counts_a_short_body() -> None:
    # The caller compares seen with expected; the hasher itself only counts.
    hasher = StreamingObjectHasher("blob", 10)
    hasher.update(b"abc")
    assert (hasher.seen, hasher.expected) == (3, 10)


def test_fast_hash_is_xxh3_64() -> None:
    assert fast_hash(b"") == 0x2D06800538D394C2
    assert fast_hash(b"abc") == 0x78AF5F94892F3950
    assert 0 <= fast_hash(b"x" * 1000) < 2**64


def test_ids_are_the_same_once_a_process_hashes_in_bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    from vcrdt import hashing

    monkeypatch.setattr(hashing, "_builtin_bytes", 0)
    bodies = [bytes([i]) * n for i, n in enumerate((0, 1, 100, 4096, hashing.SMALL, hashing.SMALL + 1))]
    expected = [hashlib.sha256(f"blob {len(b)}\0".encode() + b).digest() for b in bodies]
    assert [hashing.object_id("blob", b) for b in bodies] == expected
    hashing.object_id("blob", b"x" * hashing.SMALL)  # ... until past BULK bytes
    while hashing._builtin_bytes < hashing.BULK:
        hashing.sha256(b"y" * hashing.SMALL)
    assert [hashing.object_id("blob", b) for b in bodies] == expected
    assert [hashing.sha256(b).digest() for b in bodies] == [hashlib.sha256(b).digest() for b in bodies]


def test_once_openssl_is_loaded_it_hashes_small_data_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """`load_bulk` (a fetch calls it while it waits for its peer) hands every later hash to OpenSSL's."""
    from vcrdt import hashing

    monkeypatch.setattr(hashing, "_bulk", None)
    monkeypatch.setattr(hashing, "_builtin_bytes", 0)
    assert not isinstance(hashing.sha256(b"abc"), type(hashlib.sha256()))
    hashing.load_bulk()
    assert isinstance(hashing.sha256(b"abc"), type(hashlib.sha256()))
    assert hashing.sha256(b"abc").digest() == hashlib.sha256(b"abc").digest()
    assert hashing.object_id("blob", b"abc") == hashlib.sha256(b"blob 3\0abc").digest()
