"""Hostile input in the frames of protocol version 3: the compressed state and the compact descent.

A lying server (a real process over --exec) and a lying client (requests fed to the responder):
truncated and oversized frames, forced short-id collisions, buckets never asked, garbage salts.
Each is refused with one line naming the rule; nothing is stored and no ref moves.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.security.hostile_source import assert_refused, victim_state
from vcrdt.crdt.refstate import RefState
from vcrdt.errors import ProtocolError
from vcrdt.repo import Repository, Settings
from vcrdt.sync import frames as F
from vcrdt.sync.frames import FrameReader
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.responder import respond

PEER = Path(__file__).parents[1] / "helpers" / "sync_peer.py"
SALT = "5a" * 16


def _orphans(root: Path, label: str, n: int) -> None:
    """Blobs no commit names, straight through the store (the Merkle descent must find them)."""
    with Repository(root, Settings()) as r, r.transaction():
        r.store.put_many([("blob", f"{label} {i}\n".encode(), None) for i in range(n)])


@pytest.fixture
def twins(repo: CliRunner) -> tuple[CliRunner, Path]:
    """The victim and a copy of it (same refs), each then given objects the other lacks."""
    repo.write("mine.txt", "mine\n")
    repo.ok("commit", "-A", "-m", "mine")
    twin = repo.cwd.parent / "twin"
    shutil.copytree(repo.cwd, twin, symlinks=True)
    _orphans(twin, "only on the peer", 30)
    _orphans(repo.cwd, "only on the victim", 3)
    return repo, twin


SERVER_CASES = {
    "descent-state-bomb": ("compressed state declares 104857600 bytes", f"at most {F.MAX_STATE}"),
    "descent-children-truncate": ("truncated children frame for bucket ''",),
    "descent-children-unasked": ("sent children of a bucket other than its root",),
    "descent-want-collide": ("short ids of bucket", "are not sorted and unique"),
    "descent-want-unlisted": ("lacks ids of bucket", "that were not listed"),
    "descent-want-wide": ("a want frame with short ids of 33 bytes",),
    "descent-want-oversized": ("a want frame of 5000 entries (at most 4096)",),
}


@pytest.mark.hostile
@pytest.mark.parametrize("mode", sorted(SERVER_CASES))
def test_lying_server_is_refused(mode: str, twins: tuple[CliRunner, Path]) -> None:
    victim, twin = twins
    before = victim_state(victim.cwd)
    r = victim("sync", "--exec", shlex.join([sys.executable, str(PEER), mode, str(twin)]))
    assert_refused(r.code, r.err, *SERVER_CASES[mode])
    assert victim_state(victim.cwd) == before
    victim.ok("fsck")


@pytest.mark.hostile
def test_object_outside_the_buckets_asked_is_refused(repo: CliRunner) -> None:
    """Two objects differ: the descent asks about two top buckets; a blob in another is refused."""
    repo.write("mine.txt", "mine\n")
    repo.ok("commit", "-A", "-m", "mine")
    twin = repo.cwd.parent / "twin"
    shutil.copytree(repo.cwd, twin, symlinks=True)
    _orphans(twin, "only on the peer", 1)
    _orphans(repo.cwd, "only on the victim", 1)
    before = victim_state(repo.cwd)
    r = repo("sync", "--exec", shlex.join([sys.executable, str(PEER), "descent-unasked-object", str(twin)]))
    assert_refused(r.code, r.err, "sent object", "which was not asked for")
    assert victim_state(repo.cwd) == before
    repo.ok("fsck")


def test_honest_twin_is_reconciled(twins: tuple[CliRunner, Path]) -> None:
    """The same scenario with an honest peer: the descent brings the 30 objects and sends the 3."""
    victim, twin = twins
    import json

    peer = shlex.join([sys.executable, str(PEER), "honest", str(twin)])
    doc = json.loads(victim.ok("sync", "--exec", peer, "--json", "--stats").out)
    assert doc["stats"]["objects_received"] == 30 and doc["stats"]["objects_sent"] == 3
    assert victim_state(victim.cwd)[0] == victim_state(twin)[0]


# --- a lying client: requests fed to the responder --------------------------------------------


def _children(prefix: str) -> bytes:
    return F.encode_children(prefix, [(1, bytes(16))] * 16)


def _raw(kind: int, payload: bytes) -> bytes:
    return F.encode(kind, payload)


CLIENT_CASES: dict[str, tuple[bytes, list[bytes], str]] = {
    # name: (hello, frames, what the error names)
    "children truncated": (F.hello("descend", salt=SALT), [_raw(F.CHILDREN, _children("a")[5:-4])], "truncated"),
    "children stray bytes": (F.hello("descend", salt=SALT), [_raw(F.CHILDREN, _children("a")[5:] + b"!")], "stray"),
    "children too deep": (
        F.hello("descend", salt=SALT),
        [_raw(F.CHILDREN, b"\x40" + b"a" * 64 + _children("")[6:])],
        "malformed bucket name in a children frame",
    ),
    "children name not hex": (
        F.hello("descend", salt=SALT),
        [_raw(F.CHILDREN, b"\x02zz" + _children("")[6:])],
        "malformed bucket name",
    ),
    "list width 0": (
        F.hello("descend", salt=SALT),
        [_raw(F.LIST, b"\x01a\x00\x00" + bytes(16) + b"\x00")],
        "short ids of 0 bytes",
    ),
    "list width 9": (
        F.hello("descend", salt=SALT),
        [_raw(F.LIST, b"\x01a\x09\x00" + bytes(16) + b"\x00")],
        "short ids of 9 bytes",
    ),
    "list truncated": (
        F.hello("descend", salt=SALT),
        [_raw(F.LIST, b"\x01a\x04\x02" + bytes(16) + b"\x02abcdxy")],
        "holds 6 bytes, not 2 x 4",
    ),
    "list oversized": (
        F.hello("descend", salt=SALT),
        [_raw(F.LIST, b"\x01a\x04\x00" + bytes(16) + b"\x88\x27" + bytes(20000))],
        "a list frame of 5000 entries (at most 4096)",
    ),
    "list more ids than its count": (
        F.hello("descend", salt=SALT),
        [_raw(F.LIST, b"\x01a\x04\x01" + bytes(16) + b"\x02abcdwxyz")],
        "a list frame of 2 ids for bucket 'a' of 1",
    ),
    "forced collision: a short id twice": (
        F.hello("descend", salt=SALT),
        [_raw(F.LIST, b"\x01a\x04\x02" + bytes(16) + b"\x02abcdabcd")],
        "not sorted and unique",
    ),
    "whole id outside its bucket": (
        F.hello("descend", salt=SALT),
        [_raw(F.WANT, b"\x01a\x20\x01" + b"\xbb" * 32)],
        "an id outside bucket 'a'",
    ),
    "garbage salt: not hex": (
        F.hello("descend", salt="not hex at all"),
        [_children("")],
        "the session salt must be 8 to 64 bytes of hex",
    ),
    "garbage salt: 4 bytes": (F.hello("descend", salt="00" * 4), [_children("")], "8 to 64 bytes"),
    "garbage salt: 65 bytes": (F.hello("descend", salt="00" * 65), [_children("")], "8 to 64 bytes"),
    "garbage salt: a number": (F.hello("descend", salt=12345678), [_children("")], "8 to 64 bytes"),
    "no salt": (F.hello("descend"), [_children("")], "must carry the session salt"),
    "too many buckets": (
        F.hello("descend", salt=SALT),
        [_children(format(i, "04x")) for i in range(4097)],
        "more than 4096 buckets in one request",
    ),
    "a frame of another operation": (F.hello("descend", salt=SALT), [F.encode(F.PREFIXES, b"\x01a")], "expected"),
    "compressed state bomb in a push": (
        F.hello("push", salt=SALT),
        [F.encode(F.STATE_Z, __import__("zstandard").ZstdCompressor().compress(bytes(F.MAX_STATE + 1)))],
        f"compressed state declares {F.MAX_STATE + 1} bytes (at most {F.MAX_STATE})",
    ),
    "compressed state of garbage": (F.hello("push", salt=SALT), [F.encode(F.STATE_Z, b"\x00" * 40)], "not a zstd"),
    "compressed state without its size": (
        F.hello("push", salt=SALT),
        [F.encode(F.STATE_Z, __import__("zstandard").ZstdCompressor(write_content_size=False).compress(b"x" * 99))],
        "compressed state declares no size",
    ),
    "compressed state that lies about its size": (
        F.hello("push", salt=SALT),
        [F.encode(F.STATE_Z, __import__("zstandard").ZstdCompressor().compress(F.encode_state(RefState(), {}))[:-3])],
        "compressed state",
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize("case", sorted(CLIENT_CASES))
def test_lying_client_is_refused(case: str, repo: CliRunner) -> None:
    repo.write("f.txt", "x\n")
    repo.ok("commit", "-A", "-m", "one")
    before = victim_state(repo.cwd)
    hello, frames, needle = CLIENT_CASES[case]
    request = b"".join([hello, *frames, F.encode(F.END)])
    limits = SyncLimits()
    with Repository(repo.cwd, Settings()) as r:
        with pytest.raises(ProtocolError) as err:
            list(respond(r, FrameReader(F.reader_of([request]), limits, "client"), limits))
    message = str(err.value)
    assert needle in message and "\n" not in message, message
    assert victim_state(repo.cwd) == before
    repo.ok("fsck")


@pytest.mark.hostile
def test_want_for_a_bucket_too_large_to_list_is_refused(repo: CliRunner) -> None:
    """A want for a bucket of more than `MAX_LIST` ids (never listed by this side): refused before any read."""
    _orphans(repo.cwd, "many", F.MAX_LIST + 200)
    request = F.hello("descend", salt=SALT) + F.encode_listing(F.WANT, "", 4, [b"abcd"]) + F.encode(F.END)
    limits = SyncLimits()
    with Repository(repo.cwd, Settings()) as r:
        with pytest.raises(ProtocolError, match="wants objects of bucket '', which was not listed"):
            list(respond(r, FrameReader(F.reader_of([request]), limits, "client"), limits))
