"""Set fingerprints over object ids, by id-prefix bucket, for Merkle comparison between replicas.

Sync compares two stores' object sets without listing them: each side names
a bucket by a prefix of hex digits (``""`` is every object, ``"a"`` the ids
starting with ``a``, ``"a7"``, ``"a7f"``, and so on: 16 children per
bucket) and sends its fingerprint; only buckets whose fingerprints differ
are looked into (`../../docs/format.md`, "Fingerprints").

A bucket's `Fingerprint` is the number of ids in it and, for each of the
eight 32-bit big-endian words of a 32-byte id, the plain (unwrapped) sum of
that word over the ids. Adding an object adds its words; the sums of a
bucket's 16 children add up to the bucket's own. Nothing is hashed here:
what a peer sees is `Fingerprint.digest`, a keyed BLAKE2b of the sums with a
per-session salt, so a peer cannot grind ids against a known value.

The store keeps the fingerprints of every bucket of up to `STORED_DEPTH`
digits in the ``fingerprints`` table, updated by `add` in the same
transaction as each object row, so no sync rescans the store. Deeper
buckets are summed from a range read of the ids (`bucket`), a few dozen ids
at the sizes where sync descends that far. `fsck` compares the table with a
full recomputation (`recompute`).
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see vcrdt.store.db
import struct
from collections.abc import Iterable

from vcrdt.ids import ObjectId
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from hashlib import blake2b

WORDS = 8
STORED_DEPTH = 3
_UNPACK = struct.Struct(">8I").unpack_from
_COLUMNS = ", ".join(f"w{i}" for i in range(WORDS))
_INSERT = f"INSERT INTO fingerprints(prefix, count, {_COLUMNS}) VALUES (?, ?, {', '.join('?' * WORDS)})"
_UPSERT = (
    _INSERT
    + " ON CONFLICT(prefix) DO UPDATE SET count = count + excluded.count, "
    + ", ".join(f"w{i} = w{i} + excluded.w{i}" for i in range(WORDS))
)


@value_class(frozen=True, init=False, repr=False, eq=False)
class Fingerprint(Value):
    """The count of ids in a bucket and the sum of each 32-bit word of them."""

    __slots__ = ("count", "sums")

    count: int
    sums: tuple[int, ...]

    def __init__(self, count: int = 0, sums: tuple[int, ...] = (0,) * WORDS) -> None:
        object.__setattr__(self, "count", count)
        object.__setattr__(self, "sums", sums)

    def __add__(self, other: Fingerprint) -> Fingerprint:
        return Fingerprint(self.count + other.count, tuple(a + b for a, b in zip(self.sums, other.sums, strict=True)))

    def __sub__(self, other: Fingerprint) -> Fingerprint:
        return Fingerprint(self.count - other.count, tuple(a - b for a, b in zip(self.sums, other.sums, strict=True)))

    def digest(self, salt: bytes = b"") -> bytes:
        """The 16-byte form a peer sees: BLAKE2b of the count and sums, keyed by the session's salt.

        >>> Fingerprint().digest(b"salt") == Fingerprint().digest(b"salt")
        True
        >>> of([ObjectId(bytes(32))]).digest() != Fingerprint().digest()
        True
        """
        h = _blake2b()(digest_size=16, key=salt[:64], person=b"vcrdt-buckets")
        h.update(self.count.to_bytes(8, "big"))
        for s in self.sums:
            h.update(s.to_bytes(8, "big"))
        return h.digest()


EMPTY = Fingerprint()


def of(oids: Iterable[ObjectId]) -> Fingerprint:
    """Return the fingerprint of a set of ids (each given once).

    >>> of([ObjectId(b"\\x00\\x00\\x00\\x01" + bytes(28))]).sums[0]
    1
    """
    count = 0
    sums = [0] * WORDS
    for oid in oids:
        count += 1
        for i, word in enumerate(_UNPACK(oid)):
            sums[i] += word
    return Fingerprint(count, tuple(sums))


def prefixes(oid: ObjectId, depth: int = STORED_DEPTH) -> list[str]:
    """Return the names of the buckets holding `oid`, from the root down to `depth` hex digits.

    >>> prefixes(ObjectId(bytes.fromhex("a7f3" + "00" * 30)))
    ['', 'a', 'a7', 'a7f']
    """
    text = oid[:2].hex()
    return [text[:n] for n in range(depth + 1)]


def id_range(prefix: str) -> tuple[bytes, bytes | None]:
    """Return the ids ``low <= id < high`` of a bucket (`high` None: up to the last id).

    >>> id_range("a7f")
    (b'\\xa7\\xf0', b'\\xa8\\x00')
    >>> id_range("ff")
    (b'\\xff', None)
    """
    if not prefix:
        return b"", None
    digits = len(prefix)
    padded = prefix + "0" * (digits % 2)
    low = bytes.fromhex(padded)
    value = int(prefix, 16) + 1
    if value >= 16**digits:
        return low, None
    high = format(value, f"0{digits}x") + "0" * (digits % 2)
    return low, bytes.fromhex(high)


# An id read as one 256-bit int holds its eight 32-bit words; masked (and shifted by one word) it
# gives four of them, each alone in a 64-bit lane, so the ids of a batch are summed with one
# addition each: fewer than 2**32 ids never carry a lane's sum into the next.
_LANES = sum(0xFFFFFFFF << (64 * i) for i in range(4))
_LANE = (1 << 64) - 1


def add(conn: sqlite3.Connection, oids: Iterable[ObjectId]) -> None:
    """Count newly stored ids into the stored buckets (call in the transaction that stores them)."""
    # The ids are grouped by their deepest stored bucket and summed in lanes (count, odd words,
    # even words); each bucket above is summed from the ones below it.
    lanes = _LANES
    from_bytes = int.from_bytes
    groups: dict[str, list[int]] = {}
    for oid in oids:
        key = oid[:2].hex()[:STORED_DEPTH]
        n = from_bytes(oid, "big")
        acc = groups.get(key)
        if acc is None:
            groups[key] = [1, n & lanes, (n >> 32) & lanes]
        else:
            acc[0] += 1
            acc[1] += n & lanes
            acc[2] += (n >> 32) & lanes
    buckets = dict(groups)
    level = groups
    for depth in range(STORED_DEPTH, 0, -1):
        above: dict[str, list[int]] = {}
        for key, (count, odd, even) in level.items():
            acc = above.get(key[: depth - 1])
            if acc is None:
                above[key[: depth - 1]] = [count, odd, even]
            else:
                acc[0] += count
                acc[1] += odd
                acc[2] += even
        level = above
        buckets.update(level)
    if buckets:
        conn.executemany(_UPSERT, [(prefix, acc[0], *_words(acc[1], acc[2])) for prefix, acc in buckets.items()])


def _words(odd: int, even: int) -> list[int]:
    """The sums of the eight words from the lanes `add` sums: word 0 is the top lane of `even`."""
    out = []
    for shift in (192, 128, 64, 0):
        out.append((even >> shift) & _LANE)
        out.append((odd >> shift) & _LANE)
    return out


def remove(conn: sqlite3.Connection, oids: Iterable[ObjectId]) -> None:
    """Take deleted ids out of the stored buckets (call in the transaction that deletes them)."""
    buckets: dict[str, list[int]] = {}
    for oid in oids:
        words = _UNPACK(oid)
        for prefix in prefixes(oid):
            acc = buckets.setdefault(prefix, [0] * (WORDS + 1))
            acc[0] -= 1
            for i, word in enumerate(words, 1):
                acc[i] -= word
    if buckets:
        conn.executemany(_UPSERT, [(prefix, *acc) for prefix, acc in buckets.items()])
        conn.execute("DELETE FROM fingerprints WHERE count = 0")


def bucket(conn: sqlite3.Connection, prefix: str) -> Fingerprint:
    """Return a bucket's fingerprint: stored to `STORED_DEPTH` digits, summed from the ids below that."""
    if len(prefix) <= STORED_DEPTH:
        row = conn.execute(f"SELECT count, {_COLUMNS} FROM fingerprints WHERE prefix = ?", (prefix,)).fetchone()
        return EMPTY if row is None else Fingerprint(int(row[0]), tuple(int(x) for x in row[1:]))
    return of(ids_in(conn, prefix))


def ids_in(conn: sqlite3.Connection, prefix: str) -> list[ObjectId]:
    """Return the ids in a bucket, in order."""
    low, high = id_range(prefix)
    if high is None:
        rows = conn.execute("SELECT CAST(id AS BLOB) FROM objects WHERE id >= ? ORDER BY id", (low,))
    else:
        rows = conn.execute("SELECT CAST(id AS BLOB) FROM objects WHERE id >= ? AND id < ? ORDER BY id", (low, high))
    return [ObjectId(r[0]) for r in rows if len(r[0]) == 32]


def recompute(conn: sqlite3.Connection) -> dict[str, Fingerprint]:
    """Return every stored bucket's fingerprint computed afresh from the objects table."""
    out: dict[str, list[int]] = {}
    for (raw,) in conn.execute("SELECT CAST(id AS BLOB) FROM objects"):
        if len(raw) != 32:
            continue
        words = _UNPACK(raw)
        for prefix in prefixes(ObjectId(raw)):
            acc = out.setdefault(prefix, [0] * (WORDS + 1))
            acc[0] += 1
            for i, word in enumerate(words, 1):
                acc[i] += word
    return {p: Fingerprint(acc[0], tuple(acc[1:])) for p, acc in out.items()}


def stored(conn: sqlite3.Connection) -> dict[str, Fingerprint]:
    """Return the fingerprints table as it is (empty buckets left out)."""
    rows = conn.execute(f"SELECT prefix, count, {_COLUMNS} FROM fingerprints WHERE count != 0")
    return {str(r[0]): Fingerprint(int(r[1]), tuple(int(x) for x in r[2:])) for r in rows}


def rebuild(conn: sqlite3.Connection) -> None:
    """Replace the stored fingerprints with a full recomputation (a repository made before they existed)."""
    conn.execute("DELETE FROM fingerprints")
    rows = [(p, f.count, *f.sums) for p, f in recompute(conn).items()]
    conn.executemany(_INSERT, rows)


def _blake2b() -> type[blake2b]:
    """CPython's BLAKE2b: from its own module `_blake2`, which `hashlib` takes it from.

    Importing `hashlib` also loads OpenSSL (`_hashlib`, a few milliseconds), which every sync
    session would pay for one small digest; `hashlib` itself where `_blake2` is not there.
    """
    try:
        from _blake2 import blake2b as own
    except ImportError:  # an interpreter built without it: hashlib's (OpenSSL's)
        from hashlib import blake2b as own
    return own
