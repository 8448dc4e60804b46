"""The optional `resolutions` header of merge commits: encoding, strict decoding, reachability."""

from __future__ import annotations

import pytest

from vcrdt.dag import iter_reachable
from vcrdt.errors import CorruptObjectError
from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import Commit, Signature, Tree
from vcrdt.store.memory import MemoryStore

R = ReplicaId("ab" * 16)
SIG = Signature("Ada", "ada@example.com", 1_700_000_000, 0)


def _ids(n: int) -> list[ObjectId]:
    return [ObjectId(bytes([i + 1]) * 32) for i in range(n)]


def test_round_trip_and_position() -> None:
    tree, p1, p2, rec = _ids(4)
    c = Commit(tree, (p1, p2), SIG, "m\n", R, 2, ((R, 1),), rec)
    body = c.to_bytes()
    assert b"\nclock " + R.encode() + b"=1\nresolutions " + rec.hex().encode() + b"\n\nm\n" in body
    assert Commit.from_bytes(body) == c


def test_absent_header_keeps_the_old_encoding() -> None:
    tree, p1 = _ids(2)
    c = Commit(tree, (p1,), SIG, "m\n", R, 2, ((R, 1),))
    assert b"resolutions" not in c.to_bytes()
    assert Commit.from_bytes(c.to_bytes()).resolutions is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda b: b.replace(b"\n\nm\n", b"\nresolutions " + b"00" * 32 + b"\n\nm\n"), "null resolutions id"),
        (lambda b: b.replace(b"\n\nm\n", b"\nresolutions xyz\n\nm\n"), "bad resolutions id"),
        (lambda b: b.replace(b"\n\nm\n", b"\nresolutions " + b"11" * 32 + b"\n\nm\n"), "not a merge"),
    ],
)
def test_strict_decoding(edit: object, message: str) -> None:
    tree, p1 = _ids(2)
    body = Commit(tree, (p1,), SIG, "m\n", R, 2, ((R, 1),)).to_bytes()
    with pytest.raises(CorruptObjectError, match=message):
        Commit.from_bytes(edit(body))  # type: ignore[operator]


def test_twice_is_refused() -> None:
    tree, p1, p2, rec = _ids(4)
    body = Commit(tree, (p1, p2), SIG, "m\n", R, 2, ((R, 1),), rec).to_bytes()
    doubled = body.replace(b"\n\nm\n", b"\nresolutions " + rec.hex().encode() + b"\n\nm\n")
    with pytest.raises(CorruptObjectError):
        Commit.from_bytes(doubled)


def test_the_record_is_reachable_from_the_merge() -> None:
    store = MemoryStore()
    tree = store.put("tree", Tree(()).to_bytes())
    a = store.put("commit", Commit(tree, (), SIG, "a\n", R, 1, ((R, 1),)).to_bytes())
    b = store.put("commit", Commit(tree, (), SIG, "b\n", R, 1, ((R, 2),)).to_bytes())
    rec = store.put("blob", b'{"format":1,"resolutions":[]}\n')
    m = store.put("commit", Commit(tree, (a, b), SIG, "m\n", R, 2, ((R, 3),), rec).to_bytes())
    assert rec in iter_reachable(store, [m])
