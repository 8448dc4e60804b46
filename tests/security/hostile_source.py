"""Hostile replicas: rows written straight into a real repository's store.db, as a peer could.

`HostileSource` wraps a repository made by `vcrdt init` and writes objects, chunks and refs
with plain sqlite3 (the schema of vcrdt/store/db.py and docs/format.md), bypassing every
check the store makes. `rle_frame` builds a zstd frame of any declared size from RLE blocks
(4 bytes per 128 KiB: 98 KB for 3 GiB), the decompression bomb of the issue. `victim_state`
reads what a fetch must leave unchanged; `run_limited` runs vcrdt in a child process with its
address space capped, so a bomb that allocates dies with MemoryError instead of swapping.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

from vcrdt.hashing import object_id
from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import Commit, EntryKind, Signature, Tree, TreeEntry, merge_clocks

GIB = 1024**3
MIB = 1024**2
# The id of a blob of 3 GiB of zero bytes (SHA-256 over "blob 3221225472" NUL and the zeros;
# computed once with hashlib, 2 s): a legitimate object that a 98 KB frame decodes to.
ZEROS_3GIB = ObjectId(bytes.fromhex("076734bc604e3c8849ecc5eeb6a7b1d8bbb301a3e6b9562bc01807be4fc197fc"))
_REPLICA = ReplicaId("ee" * 16)
_KIND_CODES = {"blob": 1, "tree": 2, "commit": 3}
ZSTD, DELTA, CHUNKED, RAW = 0, 1, 2, 3
# Address space for a bomb's fetch: a normal fetch runs in less than half of it.
AS_LIMIT = GIB


def rle_frame(size: int, byte: int = 0) -> bytes:
    """One zstd frame declaring `size` bytes of `byte`, made of RLE blocks of 128 KiB."""
    # Magic; descriptor: 8-byte content size, not single-segment; window descriptor 2^17.
    out = bytearray(b"\x28\xb5\x2f\xfd\xc0\x38") + size.to_bytes(8, "little")
    left = size
    while left:
        n = min(left, 1 << 17)
        left -= n
        out += ((1 if left == 0 else 0) | (1 << 1) | (n << 3)).to_bytes(3, "little") + bytes([byte])
    return bytes(out)


class HostileSource:
    """A real repository whose database the test writes into directly."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / ".vcrdt" / "store.db"
        self._commits: dict[ObjectId, Commit] = {}

    def sql(self, *statements: str | tuple[str, tuple[object, ...]]) -> None:
        """Run statements (text, or text with parameters) in one transaction."""
        conn = sqlite3.connect(self.db)
        try:
            with conn:
                for st in statements:
                    if isinstance(st, tuple):
                        conn.execute(st[0], st[1])
                    else:
                        conn.execute(st)
        finally:
            conn.close()

    def row(self, oid: ObjectId, kind: str, size: int, storage: int, data: bytes | None) -> ObjectId:
        """Insert an ``objects`` row as given (replacing any row of that id)."""
        self.sql(
            (
                "INSERT OR REPLACE INTO objects(id, kind, size, storage, base, depth, data) VALUES (?,?,?,?,NULL,0,?)",
                (oid, _KIND_CODES[kind], size, storage, data),
            )
        )
        return oid

    def chunk(self, oid: ObjectId, seq: int, data: bytes) -> None:
        """Insert one ``chunks`` row."""
        self.sql(("INSERT OR REPLACE INTO chunks(id, seq, data) VALUES (?,?,?)", (oid, seq, data)))

    def put(self, kind: str, body: bytes) -> ObjectId:
        """Store a well-formed object, raw."""
        return self.row(object_id(kind, body), kind, len(body), RAW, body)

    def tree(self, *entries: tuple[str, EntryKind, ObjectId]) -> ObjectId:
        """Store a tree of the given entries (kinds unchecked: the point of some tests)."""
        return self.put("tree", Tree.build([TreeEntry(n, k, o) for n, k, o in entries]).to_bytes())

    def commit(
        self, tree: ObjectId, parents: tuple[ObjectId, ...] = (), resolutions: ObjectId | None = None
    ) -> ObjectId:
        """Store a commit with valid clocks over those of `parents` made by this helper."""
        pcs = [self._commits[p] for p in parents if p in self._commits]
        # A clock actor of its own: commits that share no ancestry would otherwise share a dot.
        actor = ReplicaId(f"{len(self._commits) + 1:032x}")
        c = Commit(
            tree,
            parents,
            Signature("Mallory", "m@example.com", 1_700_000_000 + len(self._commits), 0),
            f"hostile {len(self._commits)}\n",
            _REPLICA,
            1 + max((p.lamport for p in pcs), default=0),
            merge_clocks([p.clock for p in pcs], actor),
            resolutions,
        )
        oid = self.put("commit", c.to_bytes())
        self._commits[oid] = c
        return oid

    def branch(self, name: str, head: ObjectId) -> None:
        """Point ``refs/heads/<name>`` at `head` (alone): its shown head, and a new entry with the next dot."""
        full = f"refs/heads/{name}"
        self.sql(
            ("DELETE FROM refs WHERE name = ?", (full,)),
            ("INSERT INTO refs(name, head) VALUES (?, ?)", (full, head)),
            ("DELETE FROM ref_entries WHERE name = ?", (full,)),
            (
                "INSERT INTO ref_context(replica, counter) VALUES (?, 1)"
                " ON CONFLICT(replica) DO UPDATE SET counter = counter + 1",
                (_REPLICA,),
            ),
            (
                "INSERT INTO ref_entries(replica, counter, name, head)"
                " SELECT replica, counter, ?, ? FROM ref_context WHERE replica = ?",
                (full, head, _REPLICA),
            ),
        )

    def with_file(self, name: str, kind: EntryKind, oid: ObjectId) -> ObjectId:
        """A commit whose tree holds one entry, on branch ``evil``."""
        head = self.commit(self.tree((name, kind, oid)))
        self.branch("evil", head)
        return head


def victim_state(root: Path) -> tuple[int, int, list[tuple[str, str]], str | None]:
    """Object and chunk counts, every ref and HEAD of a repository (read directly)."""
    conn = sqlite3.connect(f"file:{root / '.vcrdt' / 'store.db'}?mode=ro", uri=True)
    try:
        (objects,) = conn.execute("SELECT COUNT(*) FROM objects").fetchone()
        (chunks,) = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()
        refs = [(str(n), bytes(h).hex()) for n, h in conn.execute("SELECT name, head FROM refs ORDER BY 1, 2")]
        head = conn.execute("SELECT value FROM meta WHERE key = 'HEAD'").fetchone()
    finally:
        conn.close()
    return int(objects), int(chunks), refs, None if head is None else str(head[0])


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def run_limited(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vcrdt ARGS`` with at most `AS_LIMIT` bytes of address space."""
    return subprocess.run(
        [sys.executable, "-m", "vcrdt", *args],
        cwd=cwd,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
        preexec_fn=_limit_address_space,
    )


def assert_refused(code: int, err: str, *needles: str) -> None:
    """Exit 1, one ``error:`` line naming every needle, no traceback."""
    assert code == 1, f"exit {code}\n{err}"
    assert "Traceback" not in err and "MemoryError" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"
