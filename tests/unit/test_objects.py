from __future__ import annotations

import pytest

from vcrdt.errors import CorruptObjectError
from vcrdt.hashing import object_id
from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import Blob, Commit, EntryKind, Signature, Tree, TreeEntry, decode_object, merge_clocks

A = ObjectId(bytes.fromhex("aa" * 32))
B = ObjectId(bytes.fromhex("bb" * 32))
R1 = ReplicaId("1" * 32)
R2 = ReplicaId("2" * 32)

COMMIT_TEXT = (
    "tree " + "aa" * 32 + "\n"
    "parent " + "bb" * 32 + "\n"
    "author Ada Lovelace <ada@example.com> 1700000000 +0100\n"
    "replica " + "1" * 32 + "\n"
    "lamport 2\n"
    "clock " + "1" * 32 + "=2 " + "2" * 32 + "=1\n"
    "\n"
    "first line\n\nbody\n"
).encode()


def test_golden_blob_id() -> None:
    assert Blob(b"hello\n").id.hex() == object_id("blob", b"hello\n").hex()
    assert Blob(b"").id.hex() == "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813"


def test_golden_tree_bytes() -> None:
    tree = Tree.build([TreeEntry("b", EntryKind.EXECUTABLE, B), TreeEntry("a", EntryKind.FILE, A)])
    assert tree.to_bytes() == b"file a\0" + A + b"exec b\0" + B
    assert Tree.from_bytes(tree.to_bytes()) == tree


def test_golden_commit_round_trip() -> None:
    c = Commit.from_bytes(COMMIT_TEXT)
    assert c.tree == A and c.parents == (B,)
    assert c.author == Signature("Ada Lovelace", "ada@example.com", 1_700_000_000, 60)
    assert c.clock == ((R1, 2), (R2, 1))
    assert c.summary == "first line"
    assert c.to_bytes() == COMMIT_TEXT


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("tree " + "aa" * 32 + "\n", "", "missing tree"),
        ("parent " + "bb" * 32, "parent " + "zz" * 32, "bad parent id"),
        ("parent " + "bb" * 32 + "\n", "parent " + "bb" * 32 + "\nparent " + "bb" * 32 + "\n", "duplicate parent"),
        ("<ada@example.com>", "ada@example.com", "malformed author"),
        ("+0100", "+2400", "time-zone"),
        ("+0100", "-0000", "negative zero"),
        ("+0100", "+0160", "time-zone"),
        ("1700000000", "01700000000", "malformed author"),
        ("1700000000", "9007199254740993", "out of range"),
        ("lamport 2", "lamport 02", "lamport"),
        ("=2 ", "=0 ", "vector clock entry"),
        ("clock " + "1" * 32 + "=2 " + "2" * 32 + "=1", "clock " + "2" * 32 + "=1 " + "1" * 32 + "=2", "not sorted"),
        ("body\n", "bo\0dy\n", "NUL"),
        ("=1\n\n", "=1\nextra field\n\n", "unexpected header"),
        ("\n\nfirst", "\nfirst", "unexpected header"),
        ("tree " + "aa" * 32, "tree " + "00" * 32, "null tree"),
    ],
)
def test_commit_rules(old: str, new: str, reason: str) -> None:
    bad = COMMIT_TEXT.decode().replace(old, new, 1).encode()
    assert bad != COMMIT_TEXT
    with pytest.raises(CorruptObjectError, match=reason):
        Commit.from_bytes(bad)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"file b\0" + A + b"file a\0" + A, "not sorted"),
        (b"file a\0" + A + b"file a\0" + A, "duplicate"),
        (b"blob a\0" + A, "unknown entry kind"),
        (b"file a" + A, "unterminated"),
        (b"file a\0" + A[:10], "truncated"),
        (b"file ..\0" + A, "'..'"),
        (b"file .VCRDT\0" + A, "reserved"),
        (b"file \0" + A, "empty"),
        (b"file a\0" + bytes(32), "bad object id"),
    ],
)
def test_tree_rules(body: bytes, reason: str) -> None:
    with pytest.raises(CorruptObjectError, match=reason):
        Tree.from_bytes(body)


def test_unknown_kind() -> None:
    with pytest.raises(CorruptObjectError, match="unknown object kind"):
        decode_object("tag", b"")


def test_merge_clocks_and_seed_example() -> None:
    assert merge_clocks([((R1, 2),), ((R1, 1), (R2, 5))], R1) == ((R1, 3), (R2, 5))
    assert merge_clocks([], R2) == ((R2, 1),)
