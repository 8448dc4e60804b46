"""Tree deltas (protocol version 4) whose added entries break the tree rules: refused, nothing stored.

The receiver applies a delta in C when it can (`vcrdt.sync._trees`); the entries a delta adds are
still checked by the path rules, each name as `Tree.from_bytes` checks it, and a frame or a result
the C twin does not accept goes to the Python twin for its error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vcrdt.errors import CorruptObjectError, ProtocolError, VcrdtError
from vcrdt.ids import ObjectId
from vcrdt.repo import Repository, Settings
from vcrdt.sync import frames as F
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.receive import Receiver

CONF = Settings(author_name="t", author_email="t@x")
ID = b"\x07" * 32
# A base tree held by the receiver: two files.
BASE = [b"file b\0" + ID, b"file d\0" + ID]


def _receive(
    tmp_path: Path,
    edits: tuple[list[tuple[int, bytes, bytes]], list[int], list[tuple[int, bytes]]],
    size: int,
    error: type[VcrdtError],
    rule: str,
) -> None:
    """Hold BASE, then receive a tree delta on it with `edits`, declaring a tree of `size` bytes."""
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        with repo.transaction():
            repo.store.put("blob", b"x")
            base = repo.store.put("tree", b"".join(BASE))
        before = set(repo.store.iter_ids())
        replaced, removed, inserted = edits
        raw = F.encode_tree_delta(ObjectId(base), size, replaced, removed, inserted)
        limits = SyncLimits()
        with pytest.raises(error, match=rule), Receiver(repo, limits, "peer") as recv:
            recv.take(F.Frame(raw[4], raw[F.HEAD_SIZE :]), F.FrameReader(lambda n: b"", limits, "peer"))
        assert set(repo.store.iter_ids()) == before
    finally:
        repo.close()


# Names the path rules refuse, each inserted where it sorts (before "b": all sort first).
BAD_NAMES = {
    "dotdot": (b"..", "'..' component not allowed"),
    "dot": (b".", "'.' component not allowed"),
    "meta": (b".vcrdt", "reserved for repository metadata"),
    "meta-case": (b".VCRDT", "reserved for repository metadata"),
    "meta-trailing-dot": (b".vcrdt.", "reserved for repository metadata"),
    "meta-short-name": (b"VCRDT~1", "reserved for repository metadata"),
    "meta-ignorable": (".vc\u200crdt".encode(), "reserved for repository metadata"),
    "backslash": (b"a\\b", "backslash inside a name"),
    "too-long": (b"a" * 256, "component longer than 255 bytes"),
}


@pytest.mark.hostile
@pytest.mark.parametrize("case", sorted(BAD_NAMES))
def test_an_added_entry_that_breaks_the_path_rules_is_refused(tmp_path: Path, case: str) -> None:
    name, rule = BAD_NAMES[case]
    entry = b"file " + name + b"\0" + ID
    _receive(tmp_path, ([], [], [(0, entry)]), len(b"".join(BASE)) + len(entry), CorruptObjectError, rule)


# Frames or results the C twin leaves to the Python twin, which refuses them with its rule.
BAD_EDITS = {
    "unsorted": (([], [], [(2, b"file a\0" + ID)]), 117, "not sorted by name and unique after applying it"),
    "duplicate": (([], [], [(1, b"file b\0" + ID)]), 117, "not sorted by name and unique after applying it"),
    "replace-range": (([(2, b"file", ID)], [], []), 117, "replaces entry 2 of a base of 2 entries"),
    "remove-range": (([], [2], []), 117, "removes entry 2 of a base of 2 entries"),
    "replace-and-remove": (([(0, b"exec", ID)], [0], []), 117, "replaces and removes the same entry"),
    "insert-range": (([], [], [(3, b"file e\0" + ID)]), 117, "inserts at position 3 of a tree of 2 entries"),
    "size": (([], [], [(2, b"file e\0" + ID)]), 1, "not the 1 it declares"),
    "zero-id": (([], [], [(2, b"file e\0" + bytes(32))]), 117, "names the zero id"),
}


@pytest.mark.hostile
@pytest.mark.parametrize("case", sorted(BAD_EDITS))
def test_a_tree_delta_the_c_twin_leaves_to_python_is_refused(tmp_path: Path, case: str) -> None:
    edits, size, rule = BAD_EDITS[case]
    error: type[VcrdtError] = CorruptObjectError if case == "zero-id" else ProtocolError
    _receive(tmp_path, edits, size, error, rule)
