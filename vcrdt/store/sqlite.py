"""`SqliteStore`: the embedded default `ObjectStore`, in the repository database.

Each ``objects`` row holds the object's kind (1 blob, 2 tree, 3 commit), its
full size, and its body in one of four storage forms:

- 0 ``zstd``: the body compressed on its own (level `LEVEL`);
- 1 ``delta``: the body compressed with an earlier version of the same path
  (``base``) as a raw-content zstd dictionary, kept only when smaller than
  the plain form. ``depth`` counts the deltas down to a full body and is
  capped at `MAX_DELTA_DEPTH`, so any version decodes with a bounded number
  of decompressions;
- 2 ``chunked``: bodies over `LARGE_OBJECT`, held in ``chunks`` rows of
  `CHUNK_SIZE` bytes, each compressed on its own, so they stream in and out
  with bounded memory; never delta-compressed and never a delta base;
- 3 ``raw``: the body as is, when compression does not make it smaller.

The address is always the SHA-256 of the full content, and every body a read
returns (delta bases included) is checked against its id. No read trusts a
size it did not bound first: a row stored whole (forms 0, 1, 3) may hold at
most `LARGE_OBJECT` bytes (larger bodies are always chunked), a chunk at most
`CHUNK_SIZE`, and a zstd frame must declare exactly the size the row records
(or, for a chunk, at most what the bounds allow) before it is decompressed. So
a damaged or hostile row (a 98 KB frame declaring 3 GiB) can never make a
read allocate more than `LARGE_OBJECT` bytes at once, except `get` of a
chunked object, which assembles the size its row declares: readers of
untrusted stores check `info` first or stream with `iter_content`. Decoded bodies are kept in a
small LRU cache, so reading the versions of a file one after another costs
one decompression each, not one per link of the chain.

Writes join the caller's transaction (`Database.write`), so many puts and the
ref updates of one operation commit or roll back together.

Every commit stored whole also gets its row in the commit table (`vcrdt.store.commits`), in
the same transaction as its object row.

Imports `store`, `store.db`, `store.commits`, `store._rows` (optional), `hashing`, `ids` and `errors` only.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see vcrdt.store.db
import os

from vcrdt.errors import CorruptObjectError, HashMismatchError, ObjectNotFoundError, RepoError, VcrdtError
from vcrdt.extensions import cached_property  # functools', not loaded
from vcrdt.hashing import StreamingObjectHasher, object_id
from vcrdt.ids import OID_LEN, ObjectId, to_hex
from vcrdt.store import CHUNK_SIZE, LARGE_OBJECT, MAX_DELTA_DEPTH, commits
from vcrdt.store.db import Database

_fetch: Callable[[sqlite3.Connection, str, tuple[object, ...]], list[tuple[Any, ...]] | None] | None = None
try:  # the C reader of query rows (vcrdt/store/_rows.c), built by `pip install` when a C compiler is there
    from vcrdt.store._rows import fetch as _fetch
except ImportError:  # pragma: no cover - without a C compiler
    pass

TYPE_CHECKING = False  # not typing's: importing typing costs every command start-up
if TYPE_CHECKING:
    import queue
    from collections import OrderedDict
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from typing import Any, TypeVar

    import zstandard

    from vcrdt.objects import Commit
    from vcrdt.store.fingerprints import Fingerprint

    _T = TypeVar("_T")
    _R = TypeVar("_R")
else:
    # The C type collections' OrderedDict is, without the collections package (about 4 M instructions
    # to import). A dict would do, but its eviction of the oldest entry is not O(1).
    from _collections import OrderedDict

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Storage codes of the ``objects.storage`` column (part of the file format).
ZSTD = 0
DELTA = 1
CHUNKED = 2
RAW = 3
# Kind codes of the ``objects.kind`` column (part of the file format).
# Ids per `WHERE id IN (...)` query (SQLite allows 32,766 parameters; a few hundred keep each query short).
IN_BATCH = 500

KIND_CODES = {"blob": 1, "tree": 2, "commit": 3}
_COMMIT = KIND_CODES["commit"]
_TREE = KIND_CODES["tree"]
_CODE_KINDS = {code: kind for kind, code in KIND_CODES.items()}

# Level 1 compresses this project's benchmark text (110 MB of code and prose)
# to 39.2 MB in 0.95 s, level 3 to 37.6 MB in 1.13 s: the first commit
# favours speed. Deltas use level 3: at level 1 zstd indexes too little of a
# large dictionary (a one-line edit of a 290 KB file costs 2.5 KB at level 1
# and 52 bytes at level 3).
LEVEL = 1
DELTA_LEVEL = 3
# Bodies of at least SAMPLED bytes are first judged by compressing three samples of _SAMPLE bytes
# (`incompressible`): media and archives are not compressed at all.
SAMPLED = 256 * 1024
_SAMPLE = 16 * 1024
# Bodies (and bases) this small are not worth a delta.
_MIN_DELTA = 64
# The LRU cache of decoded, verified bodies.
_CACHE_ENTRIES = 64
_CACHE_BYTES = 32 * 1024 * 1024
# Objects this large that this process hashed and wrote are not hashed again when read back (`_wrote`).
_WRITTEN_MIN = 64 * 1024
# The trees a batch just stored, kept apart (a checkout of the commits they make reads them next).
_FRESH_ENTRIES = 1024
_FRESH_BYTES = 4 * 1024 * 1024
# Bodies a sync verified as it received them, held for the checkout that follows (`hold_verified`).
_HELD_ENTRIES = 1 << 16
_HELD_BYTES = 64 * 1024 * 1024
# Worker threads for compressing batches and hashing very large ones (zstd and hashlib release
# the GIL); batches smaller than _PARALLEL_BYTES (to compress) or _PARALLEL_HASH_BYTES (to hash)
# are not worth the threads.
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_PARALLEL_BYTES = 1024 * 1024
_PARALLEL_HASH_BYTES = 64 * 1024 * 1024

# Every column is read back through a CAST: a damaged row may hold text that is not
# even UTF-8, which sqlite3 would otherwise fail to convert with its own error.
_SELECT_ROW = (
    "SELECT CAST(kind AS INTEGER), CAST(size AS INTEGER), CAST(storage AS INTEGER),"
    " CAST(base AS BLOB), CAST(data AS BLOB) FROM objects WHERE id = ?"
)
# The row of an id, and the rows of its kind and at most `_AHEAD_BYTES` long among the `window`
# rows stored just before it (`read_ahead`).
_SELECT_BEFORE = (
    "SELECT CAST(o.id AS BLOB), CAST(o.kind AS INTEGER), CAST(o.size AS INTEGER), CAST(o.storage AS INTEGER),"
    " CAST(o.data AS BLOB) FROM (SELECT rowid AS r, kind AS k FROM objects WHERE id = ?) AS t"
    " JOIN objects AS o ON o.rowid BETWEEN t.r - ? AND t.r AND o.kind = t.k AND (o.rowid = t.r OR o.size <= ?)"
)
# Read ahead small objects only (a commit is a few hundred bytes): a walk that reads a large
# one (a head that is not a commit) would otherwise decode large neighbours for nothing.
_AHEAD_BYTES = 64 * 1024
_SELECT_ROWS_IN = (
    "SELECT CAST(id AS BLOB), CAST(kind AS INTEGER), CAST(size AS INTEGER), CAST(storage AS INTEGER),"
    " CAST(base AS BLOB), CAST(data AS BLOB) FROM objects WHERE id IN"
)
_SELECT_HEAD = "SELECT CAST(kind AS INTEGER), CAST(size AS INTEGER), CAST(storage AS INTEGER) FROM objects WHERE id = ?"
_INSERT = "INSERT OR IGNORE INTO objects(id, kind, size, storage, base, depth, data) VALUES (?,?,?,?,?,?,?)"
# An object to store as received: id, kind, body, storage (`ZSTD` or `DELTA`), delta base, zstd frame.
Encoded = tuple[ObjectId, str, bytes, int, ObjectId | None, bytes]
# An object as stored, undecoded: storage (`ZSTD` or `DELTA`), delta base, zstd frame.
Stored = tuple[int, ObjectId | None, bytes]
# A row's columns as `_SELECT_ROW` reads them (not type-checked yet): kind, size, storage, base, data.
Row = tuple[object, object, object, object, object]


# Plain classes, not NamedTuples: making a named tuple class costs start-up, and nothing
# compares, hashes or unpacks these.
class _Row:
    """One ``objects`` row, type-checked."""

    __slots__ = ("oid", "kind", "size", "storage", "base", "data")  # noqa: RUF023 (field order)

    def __init__(
        self, oid: ObjectId, kind: str, size: int, storage: int, base: ObjectId | None, data: bytes | None
    ) -> None:
        self.oid = oid
        self.kind = kind
        self.size = size
        self.storage = storage
        self.base = base
        self.data = data


class _Storing:
    """A batch `SqliteStore.start_put_many` is compressing; `finish` writes it."""

    def __init__(
        self,
        store: SqliteStore,
        oids: list[ObjectId],
        small: list[tuple[ObjectId, int]],
        jobs: list[tuple[bytes, _Base | None]],
        encoded: Callable[[], list[tuple[int, bytes, int]]],
        large: list[tuple[str, bytes, ObjectId]],
    ) -> None:
        self._store = store
        self._oids = oids
        self._small = small
        self._jobs = jobs
        self._encoded = encoded
        self._large = large
        self._done = False

    def finish(self) -> list[ObjectId]:
        """Wait for the batch's workers, write its rows and return the ids, in the order of its items."""
        if not self._done:
            self._store._finish_put_many(self._small, self._jobs, self._encoded(), self._large)
            self._done = True
        return self._oids


class _Base:
    """A verified delta base: its id, body and the depth a delta on it gets."""

    __slots__ = ("oid", "body", "depth")  # noqa: RUF023 (field order)

    def __init__(self, oid: ObjectId, body: bytes, depth: int) -> None:
        self.oid = oid
        self.body = body
        self.depth = depth


class _BodyCache:
    """An LRU of verified ``(kind, body)`` pairs, bounded in entries and in bytes."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self._items: OrderedDict[ObjectId, tuple[str, bytes]] = OrderedDict()
        self._entries = entries
        self._max_bytes = max_bytes
        self._bytes = 0

    def __contains__(self, oid: object) -> bool:
        return oid in self._items

    def __len__(self) -> int:
        return len(self._items)

    def get(self, oid: ObjectId) -> tuple[str, bytes] | None:
        """Return the cached pair and mark it recently used, or None."""
        item = self._items.get(oid)
        if item is not None:
            self._items.move_to_end(oid)
        return item

    def add(self, oid: ObjectId, kind: str, body: bytes) -> None:
        """Remember a verified body, evicting the least recently used ones."""
        if len(body) > self._max_bytes // 4 or oid in self._items:
            return
        self._items[oid] = (kind, body)
        self._bytes += len(body)
        while len(self._items) > self._entries or self._bytes > self._max_bytes:
            _, (_, old) = self._items.popitem(last=False)
            self._bytes -= len(old)

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()
        self._bytes = 0


class SqliteStore:
    """Objects in the ``objects``/``chunks`` tables of the repository database."""

    def __init__(self, db: Database) -> None:
        """Use the open database `db` (its schema is created by `Database`).

        A repository made before the commit table existed has it filled here, once (on its
        first open by a process that may write it).
        """
        self.db = db
        self._cache = _BodyCache(_CACHE_ENTRIES, _CACHE_BYTES)
        self._fresh = _BodyCache(_FRESH_ENTRIES, _FRESH_BYTES)
        self._held = _BodyCache(_HELD_ENTRIES, _HELD_BYTES)
        # Objects of at least _WRITTEN_MIN bytes this store wrote after hashing them (`_wrote`).
        self._written: set[ObjectId] = set()
        if not db.read_only and db.get_meta(commits.PENDING) is not None:
            try:
                self.rebuild_commit_table()
            except RepoError:  # a database we may not write: walks read the objects
                pass

    # zstandard is loaded on first use (`vcrdt.store.zstd`: its C backend alone): loading it costs
    # a command that reads no compressed object, such as `status`, milliseconds of start-up.
    @cached_property
    def _cctx(self) -> zstandard.ZstdCompressor:
        from vcrdt.store import zstd as zstandard

        return zstandard.ZstdCompressor(level=LEVEL)

    @cached_property
    def _dctx(self) -> zstandard.ZstdDecompressor:
        from vcrdt.store import zstd as zstandard

        return zstandard.ZstdDecompressor()

    @cached_property
    def _spare(self) -> queue.SimpleQueue[zstandard.ZstdCompressor]:
        """Compressors for worker threads, reused across batches; one thread at a time each."""
        import queue  # here: it imports threading, which only a large write's workers need

        return queue.SimpleQueue()

    def forget_cached(self) -> None:
        """Drop the decoded bodies kept in memory (after a rolled-back write, they may name absent objects)."""
        self._cache.clear()
        self._fresh.clear()
        self._held.clear()
        self._written.clear()

    def _wrote(self, oid: ObjectId, size: int) -> None:
        """Note a large object this store has just hashed and written: reading it back here skips the hash.

        Only this process's writes count, each hashed from the very bytes it stored (or checked
        by the caller so, `put_encoded`): a checkout right after a clone or fetch does not hash
        again what was hashed on receipt. Any other read (another process, `fsck`, an object
        this process did not write) checks every body against its id.
        """
        if size >= _WRITTEN_MIN:
            self._written.add(oid)

    # --- reading ----------------------------------------------------------------------

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        """Return ``(kind, body)``, verified against `oid`.

        Raises:
            ObjectNotFoundError: If the object is absent.
            HashMismatchError: If a decoded body does not hash to its id.
            CorruptObjectError: If the stored row cannot be decoded.
        """
        hit = self._cache.get(oid) or self._fresh.get(oid) or self._held.get(oid)
        if hit is not None:
            # The row must still exist: a rolled-back transaction may have stored it.
            if not self.has(oid):
                raise ObjectNotFoundError(to_hex(oid))
            return hit
        row = self.db.conn.execute(_SELECT_ROW, (oid,)).fetchone()
        if row is None:
            raise ObjectNotFoundError(to_hex(oid))
        plain = self._plain(oid, row[0], row[1], row[2], row[4])
        if plain is None:
            return self._decode(oid)
        self._cache.add(oid, plain[0], plain[1])
        return plain

    def get_many(self, oids: Iterable[ObjectId], max_size: int = LARGE_OBJECT) -> dict[ObjectId, tuple[str, bytes]]:
        """Return ``{oid: (kind, body)}`` of those of `oids` stored whole or as a delta on a whole body.

        One query for a few hundred rows instead of one (or more) per object, for a caller that
        reads many bodies once (a checkout). Each body returned is verified against its id, as
        `get` verifies it (a body `hold_verified` holds was verified when it was received). A
        delta's base is decoded only to serve as its dictionary: it is not hashed on its own
        (the delta's check covers it: a damaged base yields a body that does not hash to the
        delta's id) nor cached. Anything else is left out, for `get` or `iter_content` to read
        (or to name the error): an absent object, a chunked one, a delta on a delta, a damaged
        row, a body that does not verify, and a body (or a delta's base) over `max_size` bytes,
        which bounds the memory a call takes.
        """
        wanted = set(oids)
        found = self._held_many(wanted, max_size)
        deltas: list[tuple[ObjectId, str, int, ObjectId, bytes]] = []
        select = _SELECT_ROWS_IN.replace("WHERE", f"WHERE size <= {int(max_size)} AND")
        for raw, kind_code, size, storage, base, data in self._rows_in(select, wanted.difference(found)):
            oid = ObjectId(bytes(raw))
            if storage == DELTA:
                kind = _CODE_KINDS.get(kind_code) if isinstance(kind_code, int) else None
                if (
                    kind is not None
                    and isinstance(size, int)
                    and 0 <= size <= LARGE_OBJECT
                    and isinstance(data, bytes)
                    and isinstance(base, bytes)
                    and len(base) == OID_LEN
                ):
                    deltas.append((oid, kind, size, ObjectId(base), data))
                continue
            try:
                plain = self._plain(oid, kind_code, size, storage, data)
            except (CorruptObjectError, HashMismatchError):
                continue
            if plain is not None:
                found[oid] = plain
        if not deltas:
            return found
        bases: dict[ObjectId, bytes] = {}
        for _, _, _, base_id, _ in deltas:
            hit = found.get(base_id) or self._cache.get(base_id) or self._held.get(base_id)
            if hit is not None:
                bases[base_id] = hit[1]
        wanted = {d[3] for d in deltas} - bases.keys()
        for raw, kind_code, size, storage, _, data in self._rows_in(select, wanted):
            if _CODE_KINDS.get(kind_code) is None or not isinstance(size, int) or not isinstance(data, bytes):
                continue
            base_id = ObjectId(bytes(raw))
            if storage == RAW and len(data) == size:
                bases[base_id] = data
            elif storage == ZSTD and 0 <= size <= LARGE_OBJECT:
                try:
                    bases[base_id] = _inflate(self._dctx, base_id, data, size)
                except CorruptObjectError:
                    pass
        from vcrdt.store import zstd as zstandard

        for oid, kind, size, base_id, data in deltas:
            base_body = bases.get(base_id)
            if base_body is None:
                continue
            try:
                d = zstandard.ZstdCompressionDict(base_body, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
                body = _inflate(zstandard.ZstdDecompressor(dict_data=d), oid, data, size)
            except (zstandard.ZstdError, CorruptObjectError):
                continue
            if object_id(kind, body) == oid:
                found[oid] = (kind, body)
        return found

    def get_chains(
        self,
        oids: Iterable[ObjectId],
        max_size: int = LARGE_OBJECT,
        most_bytes: int = 32 << 20,
        undelta: Callable[[bytes, bytes, int], bytes | None] | None = None,
    ) -> dict[ObjectId, tuple[str, bytes]]:
        """Return ``{oid: (kind, body)}`` of those of `oids` stored whole or as delta chains, read together.

        What `get` does for one id, for many at once: the rows of the ids, then of their delta
        bases, level by level, are read with one query per level (per few hundred ids), not one
        per row; then every chain is decoded from its whole body up, and each body asked for
        is hashed against its id and cached, as `get` hashes and caches it. A base below them
        that is not asked for is decoded only to serve as the next one's dictionary, as in
        `get_many`: it is neither hashed on its own nor cached, since the check of the body
        asked for covers it (a damaged base yields a body that does not hash to its id, which
        is then left out, and `get` names the damaged base). `undelta(base, data, size)` may
        decode a delta frame (None: python-zstandard decodes it); the hash checks what it
        returns. Anything else is left out, for `get` to read (or to name the error): an
        absent object, a chunked one, a damaged row or chain, a body that does not verify, a
        chain deeper than `MAX_DELTA_DEPTH`, a body over `max_size` bytes, and the bodies past
        `most_bytes` in all (in the order of `oids`), which bound the memory a call takes.
        """
        wanted = list(dict.fromkeys(oids))
        rows: dict[ObjectId, tuple[str, int, int, ObjectId | None, bytes]] = {}
        cache = self._cache
        level: set[ObjectId] = set(wanted)
        for depth in range(MAX_DELTA_DEPTH + 2):
            if not level:
                break
            following: set[ObjectId] = set()
            for raw, kind_code, size, storage, base, data in self._rows_in(_SELECT_ROWS_IN, level):
                kind = _CODE_KINDS.get(kind_code) if isinstance(kind_code, int) else None
                if kind is None or not isinstance(size, int) or not 0 <= size <= LARGE_OBJECT:
                    continue
                if not isinstance(data, bytes) or storage not in (RAW, ZSTD, DELTA):
                    continue
                oid = ObjectId(bytes(raw))
                base_id = None
                if storage == DELTA:
                    if not isinstance(base, bytes) or len(base) != OID_LEN:
                        continue
                    base_id = ObjectId(base)
                rows[oid] = (kind, size, storage, base_id, data)
                if base_id is not None and base_id not in rows and cache.get(base_id) is None:
                    following.add(base_id)
            if depth > MAX_DELTA_DEPTH:
                break
            level = following - rows.keys()
        from vcrdt.store import zstd as zstandard

        decoded: dict[ObjectId, tuple[str, bytes] | None] = {}
        asked = set(wanted)

        def body_of(oid: ObjectId, depth: int) -> tuple[str, bytes] | None:
            if oid in decoded:
                return decoded[oid]
            hit = cache.get(oid)
            row = rows.get(oid)
            if hit is not None or row is None or depth > MAX_DELTA_DEPTH:
                decoded[oid] = hit
                return hit
            kind, size, storage, base_id, data = row
            verify = oid in asked  # a base below those is only the next one's dictionary
            got: tuple[str, bytes] | None = None
            try:
                if storage == DELTA:
                    assert base_id is not None
                    base = body_of(base_id, depth + 1)
                    if base is not None:
                        body = undelta(base[1], data, size) if undelta is not None else None
                        if body is None:
                            d = zstandard.ZstdCompressionDict(base[1], dict_type=zstandard.DICT_TYPE_RAWCONTENT)
                            body = _inflate(zstandard.ZstdDecompressor(dict_data=d), oid, data, size)
                        if verify:
                            _check(oid, object_id(kind, body))
                        got = (kind, body)
                else:
                    got = self._plain(oid, KIND_CODES[kind], size, storage, data, verify=verify)
            except (zstandard.ZstdError, CorruptObjectError, HashMismatchError):
                got = None
            if got is not None and verify:
                cache.add(oid, *got)
            decoded[oid] = got
            return got

        found: dict[ObjectId, tuple[str, bytes]] = {}
        total = 0
        for oid in wanted:
            row = rows.get(oid)  # the row must exist (a cached body may be one a rolled-back write kept)
            if row is None or row[1] > max_size or total + row[1] > most_bytes:
                continue
            got = body_of(oid, 0)
            if got is not None:
                found[oid] = got
                total += row[1]
        return found

    def hold_verified(self, items: Iterable[tuple[ObjectId, str, bytes]]) -> None:
        """Hold bodies a sync received, verified and stored, for the reads that follow (the checkout).

        Each ``(id, kind, body)`` must be one the caller hashed to its id and stored (or saw
        stored): `get` and `get_many` then return it without decoding its row or hashing it
        again, as long as its row exists. At most `_HELD_BYTES` are held, the last given kept;
        `release_held` (or `forget_cached`) drops them.
        """
        held = self._held
        for oid, kind, body in items:
            held.add(oid, kind, body)

    def release_held(self) -> None:
        """Drop the bodies `hold_verified` held."""
        self._held.clear()

    def _held_many(self, oids: Iterable[ObjectId], max_size: int) -> dict[ObjectId, tuple[str, bytes]]:
        """The held bodies (`hold_verified`) of those of `oids` whose rows exist, of at most `max_size` bytes."""
        if not self._held:
            return {}
        held = self._held
        hits = {oid: hit for oid in oids if (hit := held.get(oid)) is not None and len(hit[1]) <= max_size}
        if not hits:
            return {}
        present = self.has_many(hits)  # a rolled-back write may have held what it did not keep
        return {oid: hit for oid, hit in hits.items() if oid in present}

    def read_ahead(self, oid: ObjectId, window: int) -> dict[ObjectId, tuple[str, bytes]]:
        """Return ``{oid: (kind, body)}`` and the small intact objects of its kind among the `window` rows before it.

        One query over a range of rowids. A commit is stored after its parents, usually soon
        after, so a walk down history finds most of the next commits it needs here. Only
        plain rows (compressed alone, or raw) that decode and verify are added, and nothing
        is cached: a neighbour that is damaged, a delta or chunked is left for `get` to read
        (and report) if it is ever needed.

        Raises:
            ObjectNotFoundError: If `oid` is absent.
            HashMismatchError: If its body does not hash to its id.
            CorruptObjectError: If its stored row cannot be decoded.
        """
        found: dict[ObjectId, tuple[str, bytes]] = {}
        own: tuple[str, bytes] | None = None
        for raw_id, kind_code, size, storage, data in self.db.conn.execute(
            _SELECT_BEFORE, (oid, window, _AHEAD_BYTES)
        ).fetchall():
            other = ObjectId(raw_id)
            if other == oid:  # the last row
                own = self._plain(oid, kind_code, size, storage, data)
                continue
            try:
                plain = self._plain(other, kind_code, size, storage, data)
            except VcrdtError:
                continue
            if plain is not None:
                found[other] = plain
        # Absent, or not a plain row: `get` reads it the long way and reports what is wrong.
        found[oid] = own if own is not None else self.get(oid)
        return found

    def stored_form(self, oid: ObjectId) -> Stored | None:
        """Return ``(storage, base, data)`` of an object stored whole as one zstd frame, undecoded.

        `storage` is `ZSTD` (the body compressed alone; `base` None) or `DELTA` (compressed with
        `base`'s body as its raw-content dictionary). None for any other row (raw, chunked,
        absent or malformed). Nothing is decoded or verified: whoever decodes it checks it
        (sync sends it as it is, and the receiver hashes what it decodes to).
        """
        row = self.db.conn.execute(
            "SELECT CAST(storage AS INTEGER), CAST(base AS BLOB), CAST(data AS BLOB) FROM objects WHERE id = ?", (oid,)
        ).fetchone()
        return None if row is None else _form(*row)

    def stored_forms(self, oids: Iterable[ObjectId]) -> dict[ObjectId, tuple[str, int, Stored | None]]:
        """Return ``{id: (kind, size, stored form)}`` of those of `oids` that are present, a few hundred per query.

        The stored form is what `stored_form` returns (None for a row that is not one zstd
        frame): nothing is decoded or verified.

        Raises:
            CorruptObjectError: If a row's kind or size is invalid.
        """
        found: dict[ObjectId, tuple[str, int, Stored | None]] = {}
        query = (
            "SELECT CAST(id AS BLOB), CAST(kind AS INTEGER), CAST(size AS INTEGER), CAST(storage AS INTEGER),"
            " CAST(base AS BLOB), CAST(data AS BLOB) FROM objects WHERE id IN"
        )
        for raw, kind, size, storage, base, data in self._rows_in(query, set(oids)):
            oid = ObjectId(bytes(raw))
            found[oid] = (_kind_of(oid, kind), _size_of(oid, size), _form(storage, base, data))
        return found

    def tree_rows(self, oids: Iterable[ObjectId]) -> dict[ObjectId, tuple[str, int, Row | None]]:
        """Return ``{id: (kind, size, row)}`` of those of `oids` that are present, a few hundred per query.

        `row` is a tree's stored row, for `read_unverified` (None for other kinds): a walk
        that meets a tree's entries reads the trees among them next.

        Raises:
            CorruptObjectError: If a row's kind or size is invalid.
        """
        found: dict[ObjectId, tuple[str, int, Row | None]] = {}
        query = (
            "SELECT CAST(id AS BLOB), CAST(kind AS INTEGER), CAST(size AS INTEGER), CAST(storage AS INTEGER),"
            " CAST(base AS BLOB), CASE WHEN CAST(kind AS INTEGER) = 2 THEN CAST(data AS BLOB) END"
            " FROM objects WHERE id IN"
        )
        for raw, code, size, storage, base, data in self._rows_in(query, set(oids)):
            oid = ObjectId(bytes(raw))
            kind = _kind_of(oid, code)
            row = (code, size, storage, base, data) if kind == "tree" else None
            found[oid] = (kind, _size_of(oid, size), row)
        return found

    def read_unverified(
        self, oid: ObjectId, known: Mapping[ObjectId, bytes] | None = None, row: Row | None = None
    ) -> tuple[str, bytes, Stored | None]:
        """Return ``(kind, body, stored form)`` with one query, the body not hashed when stored alone.

        For a sender that reads its own objects to walk them: the receiver hashes whatever it
        is sent. A raw body is returned as it is, a body compressed alone is decompressed (its
        size checked), and so is a delta on a body in `known` (bodies the caller read before)
        or cached here; any other row is read by `get` (verified). The stored form is
        `stored_form`'s.

        Raises:
            ObjectNotFoundError: If the object is absent.
            CorruptObjectError: If the stored row cannot be decoded.
            HashMismatchError: If a row read by `get` does not hash to its id.
        """
        if row is None:
            row = self.db.conn.execute(_SELECT_ROW, (oid,)).fetchone()
            if row is None:
                raise ObjectNotFoundError(to_hex(oid))
        kind_code, size, storage, base, data = row
        form = _form(storage, base, data)
        kind = _CODE_KINDS.get(kind_code) if isinstance(kind_code, int) else None
        if kind is not None and storage == RAW and isinstance(data, bytes) and len(data) == size:
            return kind, data, None
        if kind is not None and isinstance(size, int) and 0 <= size <= LARGE_OBJECT and form is not None:
            if form[0] == ZSTD:
                return kind, _inflate(self._dctx, oid, form[2], size), form
            base = form[1]
            assert base is not None  # invariant: a DELTA form names its base
            base_body = known.get(base) if known is not None else None
            if base_body is None:
                hit = self._cache.get(base)
                base_body = hit[1] if hit is not None else None
            if base_body is not None:
                # A delta on a body read before: decoded here, not hashed.
                return kind, self._inflate_row(_Row(oid, kind, size, DELTA, base, form[2]), base_body), form
        kind, body = self.get(oid)
        return kind, body, form

    def has(self, oid: ObjectId) -> bool:
        """Tell whether the object is present."""
        return self.db.conn.execute("SELECT 1 FROM objects WHERE id = ?", (oid,)).fetchone() is not None

    def _rows_in(self, select: str, oids: Iterable[ObjectId]) -> Iterator[tuple[Any, ...]]:
        """Yield the rows of `select` (ending ``WHERE id IN``) for `oids`, a few hundred ids per query.

        The ids are bound as bytearrays: the same blobs to SQLite, but the sqlite3 module binds a
        bytearray as it is, while it first looks for an adapter for a bytes (a failed attribute
        lookup that formats an exception message, per id).
        """
        wanted = list(map(bytearray, oids))
        for i in range(0, len(wanted), IN_BATCH):
            batch = wanted[i : i + IN_BATCH]
            yield from self.db.conn.execute(f"{select} ({','.join('?' * len(batch))})", batch).fetchall()

    def has_many(self, oids: Iterable[ObjectId]) -> set[ObjectId]:
        """Return the subset of `oids` that is present."""
        return {ObjectId(bytes(row[0])) for row in self._rows_in("SELECT id FROM objects WHERE id IN", set(oids))}

    def info(self, oid: ObjectId) -> tuple[str, int]:
        """Return ``(kind, size)`` without decoding the body.

        Raises:
            ObjectNotFoundError: If the object is absent.
            CorruptObjectError: If the row's kind or size is invalid.
        """
        row = self.db.conn.execute(
            "SELECT CAST(kind AS INTEGER), CAST(size AS INTEGER) FROM objects WHERE id = ?", (oid,)
        ).fetchone()
        if row is None:
            raise ObjectNotFoundError(to_hex(oid))
        return _kind_of(oid, row[0]), _size_of(oid, row[1])

    def info_many(self, oids: Iterable[ObjectId]) -> dict[ObjectId, tuple[str, int]]:
        """Return ``{id: (kind, size)}`` of those of `oids` that are present, a few hundred per query.

        Raises:
            CorruptObjectError: If a row's kind or size is invalid.
        """
        found: dict[ObjectId, tuple[str, int]] = {}
        query = "SELECT CAST(id AS BLOB), CAST(kind AS INTEGER), CAST(size AS INTEGER) FROM objects WHERE id IN"
        for raw, kind, size in self._rows_in(query, set(oids)):
            oid = ObjectId(bytes(raw))
            found[oid] = (_kind_of(oid, kind), _size_of(oid, size))
        return found

    def iter_content(self, oid: ObjectId) -> Iterator[bytes]:
        """Yield the body in pieces of at most `CHUNK_SIZE` bytes; the id is checked after the last one.

        A chunked object is read one chunk at a time, so memory stays bounded
        whatever its size. Other objects are decoded and verified whole first.

        Raises:
            ObjectNotFoundError: If the object is absent.
            CorruptObjectError: If a chunk is missing or cannot be decoded.
            HashMismatchError: After the last piece, if the body does not match.
        """
        row = self.db.conn.execute(_SELECT_HEAD, (oid,)).fetchone()
        if row is None:
            raise ObjectNotFoundError(to_hex(oid))
        if row[2] != CHUNKED:
            _, body = self.get(oid)
            for i in range(0, len(body), CHUNK_SIZE):
                yield body[i : i + CHUNK_SIZE]
            return
        kind, size = _kind_of(oid, row[0]), _size_of(oid, row[1])
        if oid in self._written:
            yield from self._iter_chunks(oid, size)
            return
        hasher = StreamingObjectHasher(kind, size)
        for piece in self._iter_chunks(oid, size):
            hasher.update(piece)
            yield piece
        _check(oid, hasher.digest())

    def iter_ids(self) -> Iterator[ObjectId]:
        """Yield every object id in ascending byte order (the primary-key index order)."""
        for (oid,) in self.db.conn.execute("SELECT CAST(id AS BLOB) FROM objects ORDER BY id"):
            yield ObjectId(bytes(oid))

    def storage_rows(self) -> Iterator[tuple[ObjectId, ObjectId | None, int]]:
        """Yield ``(id, delta base or None, bytes stored)`` for every object (`vcrdt gc` reads these).

        The bytes stored are the row's body, or its chunks' for a chunked object.
        """
        sql = (
            "SELECT CAST(o.id AS BLOB), CAST(o.base AS BLOB), COALESCE(length(o.data), 0)"
            " + COALESCE((SELECT SUM(length(c.data)) FROM chunks AS c WHERE c.id = o.id), 0) FROM objects AS o"
        )
        for oid, base, size in self.db.conn.execute(sql):
            if len(oid) == 32:
                yield ObjectId(bytes(oid)), _opt_id(base), int(size)

    def store_whole(self, oids: Iterable[ObjectId]) -> None:
        """Store delta objects whole, so their bases can go (inside the caller's write transaction).

        Each body is read (and verified) through its delta chain, then stored compressed on
        its own; a delta on it stays valid (its recorded depth only overstates the chain).

        Raises:
            ObjectNotFoundError: If an object (or a base of it) is absent.
            HashMismatchError: If a body does not hash to its id.
        """
        with self.db.write() as conn:
            for oid in oids:
                _kind, body = self.get(oid)
                storage, data, _depth = _encode(self._cctx, body, None)
                sql = "UPDATE objects SET storage = ?, base = NULL, depth = 0, data = ? WHERE id = ?"
                conn.execute(sql, (storage, data, oid))

    def delete(self, oids: Iterable[ObjectId]) -> int:
        """Delete objects, their chunks and their fingerprint counts (inside the caller's write transaction).

        The caller must have checked that no kept object is a delta on one of them (`vcrdt gc` does).

        Args:
            oids: The ids to delete (absent ones are skipped).

        Returns:
            How many rows were deleted.
        """
        from vcrdt.store import fingerprints  # here: a command that stores or deletes nothing never loads it

        gone: list[ObjectId] = []
        with self.db.write() as conn:
            for oid in oids:
                if conn.execute("DELETE FROM objects WHERE id = ?", (oid,)).rowcount:
                    conn.execute("DELETE FROM chunks WHERE id = ?", (oid,))
                    gone.append(oid)
            fingerprints.remove(conn, gone)
            commits.remove(conn, gone)
        self._cache.clear()
        self._fresh.clear()
        return len(gone)

    def position(self, oid: ObjectId) -> int | None:
        """Return where `oid` is in the order objects were stored (a row number; larger is later), or None."""
        row = self.db.conn.execute("SELECT rowid FROM objects WHERE id = ?", (oid,)).fetchone()
        return int(row[0]) if row is not None else None

    def last_stored(self, kind: str, position: int, within: int | None = None) -> ObjectId | None:
        """Return the last object of `kind` stored at or before `position` (see `position`), or None.

        Reads backwards from `position` by the row order: a few rows when objects of `kind`
        are common (a commit is stored with its trees and blobs). With `within`, only that
        many rows back at most (None past them): a region without one (a large first commit's
        blobs and trees) is not read to its start.
        """
        low = 0 if within is None else position - within
        row = self.db.conn.execute(
            "SELECT CAST(id AS BLOB) FROM objects WHERE rowid BETWEEN ? AND ? AND kind = ? ORDER BY rowid DESC LIMIT 1",
            (low, position, KIND_CODES[kind]),
        ).fetchone()
        return ObjectId(row[0]) if row is not None and len(row[0]) == OID_LEN else None

    def ids_with_prefix(self, prefix: bytes, limit: int = 2) -> list[ObjectId]:
        """Return up to `limit` ids starting with the raw `prefix`, by an index range scan."""
        upper = _prefix_upper(prefix)
        if upper is None:
            rows = self.db.conn.execute(
                "SELECT id FROM objects WHERE id >= ? ORDER BY id LIMIT ?", (bytes(prefix), limit)
            )
        else:
            rows = self.db.conn.execute(
                "SELECT id FROM objects WHERE id >= ? AND id < ? ORDER BY id LIMIT ?", (bytes(prefix), upper, limit)
            )
        return [ObjectId(bytes(r[0])) for r in rows]

    def bucket(self, prefix: str) -> Fingerprint:
        """Return the fingerprint of the ids starting with the hex digits `prefix` (stored, or summed below)."""
        from vcrdt.store import fingerprints

        return fingerprints.bucket(self.db.conn, prefix)

    def bucket_ids(self, prefix: str) -> list[ObjectId]:
        """Return the ids starting with the hex digits `prefix`, in order, by an index range scan."""
        from vcrdt.store import fingerprints

        return fingerprints.ids_in(self.db.conn, prefix)

    def fingerprint_problems(self) -> list[str]:
        """Compare the stored bucket fingerprints with a full recomputation; describe each difference.

        Run it inside the caller's read snapshot (``db.read()``) when other processes may write.
        """
        from vcrdt.store import fingerprints

        stored, actual = fingerprints.stored(self.db.conn), fingerprints.recompute(self.db.conn)
        problems = []
        for prefix in sorted(set(stored) | set(actual)):
            have, want = stored.get(prefix, fingerprints.EMPTY), actual.get(prefix, fingerprints.EMPTY)
            if have != want:
                problems.append(
                    f"bucket {prefix or '(root)'}: stored fingerprint counts {have.count} objects, "
                    f"the objects table holds {want.count}{'' if have.count != want.count else ' with other ids'}"
                )
        return problems

    # --- the commit table -------------------------------------------------------------

    def commit_rows(self, oid: ObjectId, window: int) -> dict[ObjectId, commits.CommitInfo]:
        """Return the commit table's rows of `oid` and of the commits stored in the `window` rows before it.

        Empty when `oid` has no row (not a commit, stored in chunks, or a damaged table) and
        always for another replica's database (`read_only`), whose table is not trusted: the
        caller then reads the object. A malformed row is left out, as if missing.
        """
        return commits.parse_rows(self.commit_table_rows(oid, window))

    def commit_links(self, oid: ObjectId, window: int) -> dict[ObjectId, tuple[int, tuple[ObjectId, ...]]]:
        """Return ``{id: (lamport, parents)}`` for `oid` and the commits stored in the `window` commit rows before it.

        What a walk down history needs of a commit, from the commit table, with nothing decoded
        or hashed. Empty as `commit_rows` is (no row for `oid`, another replica's database, a
        damaged table); a malformed row is left out, as if missing.
        """
        return commits.parse_links(self._commit_table(commits.SELECT_LINKS_BEFORE, (oid, window)))

    def commit_position(self, oid: ObjectId) -> int | None:
        """Return where commit `oid` is in the commit table's order (commits as stored; larger is later), or None.

        None as `commit_rows` is empty: no row, another replica's database, a damaged table.
        """
        rows = self._commit_table("SELECT rowid FROM commits WHERE id = ?", (oid,))
        return rows[0][0] if rows and type(rows[0][0]) is int else None

    def commit_at(self, position: int) -> ObjectId | None:
        """Return the last commit at or before `position` of the commit table's order (`commit_position`), or None."""
        rows = self._commit_table("SELECT id FROM commits WHERE rowid <= ? ORDER BY rowid DESC LIMIT 1", (position,))
        got = rows[0][0] if rows else None
        return ObjectId(got) if type(got) is bytes and len(got) == OID_LEN else None

    def commit_table_rows(self, oid: ObjectId, window: int) -> list[tuple[object, ...]]:
        """Return `commit_rows`'s rows as the table holds them, unchecked (`commits.parse_rows` checks them).

        Empty when `commit_rows` would be.
        """
        return self._commit_table(commits.SELECT_BEFORE, (oid, window))

    def _commit_table(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        """The rows of a query on the commit table, or none.

        None from another replica's database (its table is not trusted: `read_only`) or from a
        damaged table: the caller then reads the commit objects.
        """
        if self.db.read_only:
            return []
        conn = self.db.conn
        # Through SQLite's C API where it can (`_rows`: the rows of a `log` without the GIL handed
        # over per value), else, and wherever it is unsure, through `_sqlite3`.
        rows = _fetch(conn, sql, params) if _fetch is not None else None
        if rows is None:
            try:
                rows = conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError:
                return []
        return rows

    def rebuild_commit_table(self) -> int:
        """Fill the commit table afresh from the commit objects; return how many rows it holds.

        Commits that do not decode get no row (fsck reports the objects themselves).

        Raises:
            RepoBusyError: If another process holds the write lock past the timeout.
        """
        with self.db.write() as conn:
            conn.execute("DELETE FROM commits")
            ids = [
                ObjectId(bytes(raw))
                for (raw,) in conn.execute(
                    "SELECT CAST(id AS BLOB) FROM objects WHERE kind = ? AND storage != ? ORDER BY rowid",
                    (_COMMIT, CHUNKED),
                )
            ]
            rows = []
            for oid in ids:
                try:
                    kind, body = self.get(oid)
                except VcrdtError:
                    continue
                if kind == "commit":
                    rows += commits.rows_of([(oid, body)])
            commits.add(conn, rows)
            self.db.delete_meta(commits.PENDING)
        return len(rows)

    def commit_table_problems(self) -> list[str]:
        """Compare the commit table with the commit objects; describe each row missing, different or orphaned.

        Run it inside the caller's read snapshot (``db.read()``) when other processes may write.
        """
        if self.db.get_meta(commits.PENDING) is not None:
            return ["the commit table has not been filled yet (the next write fills it)"]
        table: dict[ObjectId, object] = {}
        problems: list[str] = []
        for raw in commits.iter_rows(self.db.conn):
            try:
                oid, info = commits.parse(raw)
            except CorruptObjectError as exc:
                problems.append(f"commit table: {exc}")
                continue
            table[oid] = info
        ids = [
            ObjectId(bytes(raw))
            for (raw,) in self.db.conn.execute(
                "SELECT CAST(id AS BLOB) FROM objects WHERE kind = ? AND storage != ? ORDER BY rowid",
                (_COMMIT, CHUNKED),
            )
        ]
        for oid in ids:
            try:
                kind, body = self.get(oid)
                want = commits.rows_of([(oid, body)]) if kind == "commit" else []
            except VcrdtError:
                continue  # a damaged object: the object check reports it
            if not want:
                continue
            have = table.pop(oid, None)
            if have is None:
                problems.append(f"commit {to_hex(oid)}: no row in the commit table")
            elif have != commits.parse(want[0])[1]:
                problems.append(f"commit {to_hex(oid)}: its commit table row differs from the commit")
        present = self.has_many(table)
        for oid in sorted(table):
            if oid not in present:
                problems.append(f"commit {to_hex(oid)}: a commit table row without its commit object")
        return problems

    def _plain(
        self, oid: ObjectId, kind_code: object, size: object, storage: object, data: object, *, verify: bool = True
    ) -> tuple[str, bytes] | None:
        """Decode and verify a well-formed row stored whole (compressed alone, or raw).

        Returns None for any other row (a delta, chunks, or a damaged row): `_decode` reads
        those and raises the precise error. Without `verify` the body is not hashed: only for
        a delta base whose delta's body is hashed (`get_chains`).

        Raises:
            CorruptObjectError: If a compressed body does not decompress to its size.
            HashMismatchError: If the body does not hash to `oid`.
        """
        kind = _CODE_KINDS.get(kind_code) if isinstance(kind_code, int) else None
        if kind is None or not isinstance(size, int) or not 0 <= size <= LARGE_OBJECT or not isinstance(data, bytes):
            return None
        if storage == ZSTD:
            body = _inflate(self._dctx, oid, data, size)
        elif storage == RAW and len(data) == size:
            body = data
        else:
            return None
        if verify and oid not in self._written:
            _check(oid, object_id(kind, body))
        return kind, body

    def _row(self, oid: ObjectId) -> _Row | None:
        """Read and type-check the row of `oid`, or return None if there is none."""
        row = self.db.conn.execute(_SELECT_ROW, (oid,)).fetchone()
        if row is None:
            return None
        kind_code, size, storage, base, data = row
        if not isinstance(storage, int):
            raise CorruptObjectError(to_hex(oid), f"invalid storage code {storage!r}")
        return _Row(oid, _kind_of(oid, kind_code), _size_of(oid, size), storage, _opt_id(base), data)

    def _decode(self, oid: ObjectId) -> tuple[str, bytes]:
        """Decode `oid` from its row, verifying it and every delta base on the way.

        Method: follow ``base`` links from `oid` until a body that is cached
        or stored whole, collecting the rows (at most `MAX_DELTA_DEPTH`
        deltas; more means a damaged or cyclic chain). Then decode back up
        the chain, each body the dictionary of the next, checking every
        body's hash and caching it.
        """
        row = self._row(oid)
        if row is None:
            raise ObjectNotFoundError(to_hex(oid))
        chain = [row]
        base_body: bytes | None = None
        while row.storage == DELTA:
            if len(chain) > MAX_DELTA_DEPTH:
                raise CorruptObjectError(to_hex(oid), f"delta chain longer than {MAX_DELTA_DEPTH}")
            if row.base is None:
                raise CorruptObjectError(to_hex(row.oid), "delta without a base")
            hit = self._cache.get(row.base)
            if hit is not None:
                base_body = hit[1]
                break
            base_row = self._row(row.base)
            if base_row is None:
                raise CorruptObjectError(to_hex(row.oid), f"delta base {to_hex(row.base)} is missing")
            row = base_row
            chain.append(row)
        kind, body = "", b""
        for row in reversed(chain):
            kind, body = row.kind, self._inflate_row(row, base_body)
            _check(row.oid, object_id(kind, body))
            self._cache.add(row.oid, kind, body)
            base_body = body
        return kind, body

    def _inflate_row(self, row: _Row, base_body: bytes | None) -> bytes:
        """Return the body of one row, given its delta base's body when it is a delta."""
        if row.storage == CHUNKED:
            return b"".join(self._iter_chunks(row.oid, row.size))
        if row.size > LARGE_OBJECT:
            raise CorruptObjectError(
                to_hex(row.oid),
                f"stored whole but {row.size} bytes long; bodies over {LARGE_OBJECT} bytes must be chunked",
            )
        if row.data is None:
            raise CorruptObjectError(to_hex(row.oid), "stored data is missing")
        if row.storage == RAW:
            if len(row.data) != row.size:
                raise CorruptObjectError(to_hex(row.oid), f"holds {len(row.data)} bytes, expected {row.size}")
            return row.data
        if row.storage == ZSTD:
            return _inflate(self._dctx, row.oid, row.data, row.size)
        if row.storage == DELTA:
            # invariant: _decode resolves the base before the delta on it
            assert base_body is not None
            from vcrdt.store import zstd as zstandard

            try:
                d = zstandard.ZstdCompressionDict(base_body, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
                dctx = zstandard.ZstdDecompressor(dict_data=d)
            except zstandard.ZstdError as exc:
                raise CorruptObjectError(to_hex(row.oid), f"unusable delta base: {exc}") from exc
            return _inflate(dctx, row.oid, row.data, row.size)
        raise CorruptObjectError(to_hex(row.oid), f"unknown storage code {row.storage}")

    def _iter_chunks(self, oid: ObjectId, size: int) -> Iterator[bytes]:
        """Yield the decompressed chunks of a chunked object, checking their sequence and sizes.

        One query per chunk, so no statement stays open while the caller
        works between pieces.
        """
        remaining = size
        for seq, data in self._chunk_rows(oid):
            piece = _inflate(self._dctx, oid, data, None, limit=min(remaining, CHUNK_SIZE), what=f"chunk {seq}")
            remaining -= len(piece)
            yield piece
        if remaining != 0:
            raise CorruptObjectError(to_hex(oid), f"chunks hold {size - remaining} bytes, expected {size}")

    def _chunk_rows(self, oid: ObjectId) -> Iterator[tuple[int, bytes]]:
        """A chunked object's rows in order, as (seq, stored bytes): a gap or a non-blob row is refused.

        One query per chunk, so no statement stays open while the caller works between pieces.
        """
        seq = 0
        while True:
            row = self.db.conn.execute(
                "SELECT seq, CAST(data AS BLOB) FROM chunks WHERE id = ? AND seq >= ? ORDER BY seq LIMIT 1", (oid, seq)
            ).fetchone()
            if row is None:
                return
            if row[0] != seq:
                raise CorruptObjectError(to_hex(oid), f"chunk {seq} is missing")
            if not isinstance(row[1], bytes):
                raise CorruptObjectError(to_hex(oid), f"chunk {seq} is not a blob")
            yield seq, row[1]
            seq += 1

    def chunk_frames(self, oid: ObjectId) -> Iterator[bytes] | None:
        """A chunked object's stored zstd frames, in order, undecoded (a sender forwards them); None if not chunked.

        Each frame is checked, as it is read, to be one zstd frame that declares its chunk's
        size (at most `CHUNK_SIZE`, not empty, and together the object's size), from its header
        and block headers alone: nothing is decompressed or hashed, so the receiver's hash
        check is the only one. One query per chunk, as `iter_content`.

        Raises:
            ObjectNotFoundError: If the object is absent.
            CorruptObjectError: While iterating, if a chunk is missing or malformed.
        """
        row = self.db.conn.execute(_SELECT_HEAD, (oid,)).fetchone()
        if row is None:
            raise ObjectNotFoundError(to_hex(oid))
        if row[2] != CHUNKED:
            return None
        return self._chunk_frames(oid, _size_of(oid, row[1]))

    def _chunk_frames(self, oid: ObjectId, size: int) -> Iterator[bytes]:
        """`chunk_frames`' frames: the rows `_iter_chunks` reads, refused as it refuses them.

        A frame that is not exactly one zstd frame of a size within the bounds is decoded
        as `_iter_chunks` decodes it (which names what is wrong), and goes as raw blocks if
        that decoding accepts it.
        """
        from vcrdt.store import zstd as zstandard

        remaining = size
        for seq, frame in self._chunk_rows(oid):
            most = min(remaining, CHUNK_SIZE)
            try:
                declared = zstandard.frame_content_size(frame)
            except zstandard.ZstdError:
                declared = -1
            if not (0 < declared <= most and _keeps(frame, declared)):
                piece = _inflate(self._dctx, oid, frame, None, limit=most, what=f"chunk {seq}")
                declared = len(piece)
                frame = zstandard.raw_frame(piece)
            if declared == 0:
                raise CorruptObjectError(to_hex(oid), f"chunk {seq} is empty")
            remaining -= declared
            yield frame
        if remaining != 0:
            raise CorruptObjectError(to_hex(oid), f"chunks hold {size - remaining} bytes, expected {size}")

    # --- writing ----------------------------------------------------------------------

    def put(
        self, kind: str, body: bytes, *, delta_base: ObjectId | None = None, verified_id: ObjectId | None = None
    ) -> ObjectId:
        """Store an object and return its id; storing twice is harmless.

        Bodies over `LARGE_OBJECT` are chunked. Otherwise the body is
        compressed, or stored raw if that is not smaller (or if it looks
        incompressible: `incompressible`), or stored as a delta against
        `delta_base` if that is present, not chunked, less than
        `MAX_DELTA_DEPTH` deep and gives a smaller result.

        Args:
            kind: ``blob``, ``tree`` or ``commit``.
            body: The canonical body.
            delta_base: An earlier version of the same path.
            verified_id: The id this process has just computed from exactly `kind` and `body`
                (`vcrdt.hashing.object_id`), so the store does not hash the body again. Never an
                id that came with the data (a peer's claim, a file name): leave it None and the
                store hashes the body itself.

        Returns:
            The object id.

        Raises:
            CorruptObjectError: If `kind` is unknown.
        """
        code = _kind_code(kind)
        body = bytes(body)
        oid = verified_id if verified_id is not None else object_id(kind, body)
        if self.has(oid):
            return oid
        if len(body) > LARGE_OBJECT:
            return self._put_chunked(kind, len(body), [(body, None)], oid, hashed=True)
        base = self._delta_base(delta_base, oid, len(body))
        storage, data, depth = _encode(self._cctx, body, base)
        base_id = base.oid if base is not None and storage == DELTA else None
        rows = commits.rows_of([(oid, body)]) if code == _COMMIT else []
        from vcrdt.store import fingerprints  # after the early returns: most puts find the object stored

        with self.db.write() as conn:
            if conn.execute(_INSERT, (oid, code, len(body), storage, base_id, depth, data)).rowcount:
                fingerprints.add(conn, [oid])
                commits.add(conn, rows)
                self._wrote(oid, len(body))
        if base is not None:
            # Likely the base of the path's next version.
            self._cache.add(oid, kind, body)
        return oid

    def put_many(self, items: Sequence[tuple[str, bytes, ObjectId | None]]) -> list[ObjectId]:
        """Store many objects, hashing and compressing them on worker threads.

        Objects already present (or repeated in `items`) are compressed no
        more than once. A delta base must already be stored; one given
        earlier in the same batch is not used.

        Args:
            items: ``(kind, body, delta_base)`` triples, as for `put`.

        Returns:
            The ids, in the order of `items`.

        Raises:
            CorruptObjectError: If a kind is unknown (then nothing is stored).
        """
        return self.start_put_many(items).finish()

    def start_put_many(self, items: Sequence[tuple[str, bytes, ObjectId | None]]) -> _Storing:
        """Begin `put_many`: hash `items` and find their delta bases now, compress them on workers.

        The caller reads the next batch meanwhile; `finish` waits for the workers and writes the
        rows. Objects another batch stores before this one finishes are found again then, and
        not written twice.

        Raises:
            CorruptObjectError: If a kind is unknown (then nothing is stored).
        """
        codes = [_kind_code(kind) for kind, _, _ in items]
        total = sum(len(body) for _, body, _ in items)
        # Hashed here unless the batch is very large: OpenSSL's SHA-256 hashes a few MiB in a few
        # milliseconds, less than starting the workers (and loading concurrent.futures) costs.
        if total >= _PARALLEL_HASH_BYTES:
            oids = self._map(lambda item: object_id(item[0], item[1]), list(items), total)
        else:
            oids = [object_id(kind, body) for kind, body, _ in items]
        present = self.has_many(oids)
        first: dict[ObjectId, int] = {}
        for i, oid in enumerate(oids):
            if oid not in present:
                first.setdefault(oid, i)
        small = [i for i in first.values() if len(items[i][1]) <= LARGE_OBJECT]
        large = [(items[i][0], items[i][1], oids[i]) for i in first.values() if len(items[i][1]) > LARGE_OBJECT]
        jobs = [(bytes(items[i][1]), self._delta_base(items[i][2], oids[i], len(items[i][1]))) for i in small]
        encoded = self._map_later(self._encode_job, jobs, sum(len(body) for body, _ in jobs))
        return _Storing(self, oids, [(oids[i], codes[i]) for i in small], jobs, encoded, large)

    def _finish_put_many(
        self,
        small: list[tuple[ObjectId, int]],
        jobs: list[tuple[bytes, _Base | None]],
        encoded: list[tuple[int, bytes, int]],
        large: list[tuple[str, bytes, ObjectId]],
    ) -> None:
        """Write the rows of a batch `start_put_many` has encoded (see there)."""
        from vcrdt.store import fingerprints

        graph = commits.rows_of(
            [(oid, body) for (oid, code), (body, _) in zip(small, jobs, strict=True) if code == _COMMIT]
        )
        rows = [
            (
                oid,
                code,
                len(body),
                storage,
                base.oid if base is not None and storage == DELTA else None,
                depth,
                data,
            )
            for (oid, code), (body, base), (storage, data, depth) in zip(small, jobs, encoded, strict=True)
        ]
        with self.db.write() as conn:
            # Another process, or a batch finished since this one started, may have stored some of
            # them since `has_many` looked: count only the rows this transaction adds.
            again = self.has_many([row[0] for row in rows])
            rows = [row for row in rows if row[0] not in again]
            conn.executemany(_INSERT, rows)
            fingerprints.add(conn, [row[0] for row in rows])
            commits.add(conn, graph)
            for row in rows:
                self._wrote(row[0], row[2])
            for kind, body, oid in large:
                self._put_chunked(kind, len(body), [(body, None)], oid, hashed=True)
        # Trees just stored are the ones read next (a checkout of the commits they make, say):
        # kept decoded, they are not decompressed and hashed again. `get` still checks the row.
        for (oid, code), (body, _) in zip(small, jobs, strict=True):
            if code == _TREE:
                self._fresh.add(oid, "tree", body)

    def put_encoded(self, items: Sequence[Encoded], decoded: Mapping[ObjectId, Commit | None] | None = None) -> int:
        """Store objects whose compressed form is at hand (sync receives them so), without recompressing.

        Each item is ``(id, kind, body, storage, base, data)``: `data` is one zstd frame that
        declares and decodes to exactly `body` (`storage` `ZSTD`), or does so with `base`'s
        body as its raw-content dictionary (`storage` `DELTA`: the store's own delta form).
        The caller has decoded `data` and checked that `body` hashes to the id, so a read of
        the row decodes and verifies as for any other. A delta whose base is absent, chunked
        or `MAX_DELTA_DEPTH` deep, and a frame no smaller than its body, are stored as `put`
        would store the body (compressed here, or raw). Objects already present (or repeated)
        are skipped; all rows and their fingerprints go in with one statement each.

        Args:
            items: The objects, bases before the deltas on them.
            decoded: Commits among them the caller decoded from these bodies (their commit
                table rows are made from these, not decoded again).

        Returns:
            How many objects were added.

        Raises:
            CorruptObjectError: If a kind is unknown or a body is larger than `LARGE_OBJECT`.
        """
        from vcrdt.store import fingerprints

        fresh: dict[ObjectId, Encoded] = {}
        for item in items:
            if item[0] not in fresh:
                fresh[item[0]] = item
        present = self.has_many(fresh)
        todo = [item for oid, item in fresh.items() if oid not in present]
        if not todo:
            return 0
        depths: dict[ObjectId, int] = {}
        adding = {item[0] for item in todo}
        wanted = {item[4] for item in todo if item[3] == DELTA and item[4] is not None} - adding
        query = "SELECT CAST(id AS BLOB), CAST(storage AS INTEGER), CAST(depth AS INTEGER) FROM objects WHERE id IN"
        for raw, storage, depth in self._rows_in(query, wanted):
            if storage != CHUNKED and isinstance(depth, int) and depth >= 0:
                depths[ObjectId(bytes(raw))] = depth
        rows = []
        for oid, kind, body, storage, base, data in todo:
            code = _kind_code(kind)
            if len(body) > LARGE_OBJECT:
                raise CorruptObjectError(to_hex(oid), f"{len(body)} bytes, too large to store whole")
            depth = 0
            if storage == DELTA:
                at = depths.get(base) if base is not None else None
                if at is None or at >= MAX_DELTA_DEPTH:
                    storage, data, depth = _encode(self._cctx, body, None)
                else:
                    depth = at + 1
            elif storage != ZSTD or len(data) >= len(body):
                storage, data = RAW, body
            if storage != DELTA:
                base = None
            depths[oid] = depth
            rows.append((oid, code, len(body), storage, base, depth, data))
        graph = commits.rows_of([(item[0], item[2]) for item in todo if item[1] == "commit"], decoded)
        with self.db.write() as conn:
            # Large rows another process stored since `has_many` looked are its, not written here.
            big = [row[0] for row in rows if row[2] >= _WRITTEN_MIN]
            theirs = self.has_many(big) if big else set()
            conn.executemany(_INSERT, rows)
            fingerprints.add(conn, [row[0] for row in rows])
            commits.add(conn, graph)
            for oid in big:
                if oid not in theirs:
                    self._wrote(oid, _WRITTEN_MIN)
        return len(rows)

    def put_stream(
        self, kind: str, size: int, chunks: Iterable[bytes], *, expected_id: ObjectId | None = None
    ) -> ObjectId:
        """Store an object whose body arrives in pieces, with bounded memory.

        Bodies up to `LARGE_OBJECT` are gathered and stored by `put`. Larger
        ones are hashed as they arrive and written chunk by chunk under a
        temporary key, then filed under their id once it is known (or
        dropped if that object is already stored).

        Args:
            kind: ``blob``, ``tree`` or ``commit``.
            size: The body's exact length.
            chunks: The body, in pieces of any size.
            expected_id: The id the body must hash to (a peer's claim, say): the store checks it
                as it hashes, once, and keeps nothing when it differs.

        Returns:
            The object id.

        Raises:
            CorruptObjectError: If `kind` is unknown or the pieces do not add up to `size` bytes.
            HashMismatchError: If the body does not hash to `expected_id`.
        """
        return self.put_received(kind, size, ((piece, None) for piece in chunks), expected_id=expected_id)

    def put_received(
        self,
        kind: str,
        size: int,
        pieces: Iterable[tuple[bytes, bytes | None]],
        *,
        expected_id: ObjectId | None = None,
    ) -> ObjectId:
        """Store an object that arrives in pieces, each with the zstd frame it came in (sync receives them so).

        Each piece is ``(body, frame)``: a piece of the body and one zstd frame the caller has
        decoded to exactly that piece (or None). A piece that is a whole chunk of a chunked
        object keeps its frame as the chunk's row when the store's reader takes it as it is
        (one frame declaring the piece's size, nothing after it), instead of being compressed
        again. The body is hashed once, here, as it streams, against `expected_id` when given
        (as for `put_stream`).

        Args:
            kind: ``blob``, ``tree`` or ``commit``.
            size: The body's exact length.
            pieces: The body's pieces, each with its frame or None.
            expected_id: The id the body must hash to.

        Returns:
            The object id.

        Raises:
            CorruptObjectError: If `kind` is unknown or the pieces do not add up to `size` bytes.
            HashMismatchError: If the body does not hash to `expected_id`.
        """
        _kind_code(kind)
        if size < 0:
            raise CorruptObjectError(kind, f"negative size {size}")
        if size > LARGE_OBJECT:
            return self._put_chunked(kind, size, pieces, expected_id)
        parts: list[bytes] = []
        seen = 0
        for piece, _ in pieces:
            seen += len(piece)
            if seen > size:
                raise CorruptObjectError(kind, f"more than the announced {size} bytes")
            parts.append(piece)
        if seen != size:
            raise CorruptObjectError(kind, f"expected {size} bytes, got {seen}")
        body = b"".join(parts)
        oid = object_id(kind, body)
        if expected_id is not None:
            _check(expected_id, oid)
        return self.put(kind, body, verified_id=oid)

    def _delta_base(self, base_id: ObjectId | None, oid: ObjectId, size: int) -> _Base | None:
        """Return the verified base to try a delta against, or None if none is usable."""
        if base_id is None or base_id == oid or size <= _MIN_DELTA:
            return None
        row = self.db.conn.execute(
            "SELECT CAST(storage AS INTEGER), CAST(depth AS INTEGER) FROM objects WHERE id = ?", (base_id,)
        ).fetchone()
        if row is None or row[0] == CHUNKED or not isinstance(row[1], int) or row[1] >= MAX_DELTA_DEPTH:
            return None
        try:
            _, body = self.get(base_id)
        except VcrdtError:
            return None  # never build on a damaged base; fsck reports it
        if len(body) <= _MIN_DELTA:
            return None
        return _Base(base_id, body, max(row[1], 0) + 1)

    def _encode_job(self, job: tuple[bytes, _Base | None]) -> tuple[int, bytes, int]:
        """Encode one body on a worker thread, with a compressor no other thread is using."""
        from queue import Empty

        try:
            cctx = self._spare.get_nowait()
        except Empty:
            from vcrdt.store import zstd as zstandard

            cctx = zstandard.ZstdCompressor(level=LEVEL)
        try:
            return _encode(cctx, job[0], job[1])
        finally:
            self._spare.put(cctx)

    def _map(self, fn: Callable[[_T], _R], jobs: list[_T], total_bytes: int) -> list[_R]:
        """Apply `fn` to `jobs` in order, on worker threads when the batch is big enough."""
        return self._map_later(fn, jobs, total_bytes)()

    def _map_later(self, fn: Callable[[_T], _R], jobs: list[_T], total_bytes: int) -> Callable[[], list[_R]]:
        """Start applying `fn` to `jobs` on worker threads when the batch is big enough (else now).

        Returns the function that waits for the results, in the order of `jobs`, and raises
        what `fn` raised. The workers end once their jobs are done, waited for or not.
        """
        if _WORKERS == 1 or len(jobs) < 2 or total_bytes < _PARALLEL_BYTES:
            results = [fn(job) for job in jobs]
            return lambda: results
        # A few slices per worker: one task per job would cost more than small jobs themselves.
        step = max(1, -(-len(jobs) // (_WORKERS * 4)))
        slices = [jobs[i : i + step] for i in range(0, len(jobs), step)]
        # Imported here: concurrent.futures brings logging and threading, which no reading command needs.
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(_WORKERS)
        try:
            parts = [pool.submit(_apply, fn, part) for part in slices]
        finally:
            pool.shutdown(wait=False)  # the workers run what is queued, then end
        return lambda: [result for part in parts for result in part.result()]

    def _put_chunked(
        self,
        kind: str,
        size: int,
        pieces: Iterable[tuple[bytes, bytes | None]],
        expected_id: ObjectId | None = None,
        *,
        hashed: bool = False,
    ) -> ObjectId:
        """Write a large object chunk by chunk, holding at most about one chunk in memory.

        `pieces` are ``(body, frame)``: a piece of the body and, when not None, one zstd frame
        that decodes to exactly it (`put_received`). With `expected_id` the chunks go straight
        under that id (refused, and removed again, when the body hashes to another); without,
        under a temporary key that is filed under the id once it is known. `hashed`: this
        process computed `expected_id` from these very pieces (`put`, `put_many`), which are
        then not hashed again.
        """
        from vcrdt.store import fingerprints

        code = _kind_code(kind)
        # A temporary key is shorter than an id, so a leftover can never be taken for an object's chunks.
        key: bytes = expected_id if expected_id is not None else b"partial:" + os.urandom(16)
        hasher = StreamingObjectHasher(kind, size)
        cctx = self._cctx

        def counted() -> Iterator[tuple[bytes, bytes | None]]:
            for piece in pieces:
                if hashed:
                    hasher.seen += len(piece[0])
                else:
                    hasher.update(piece[0])
                if hasher.seen > size:
                    raise CorruptObjectError(kind, f"more than the announced {size} bytes")
                yield piece

        with self.db.write() as conn:
            if expected_id is not None and self.has(expected_id):
                # Stored already: the pieces are still read and checked, not written.
                for _ in counted():
                    pass
                if hasher.seen != size:
                    raise CorruptObjectError(kind, f"expected {size} bytes, got {hasher.seen}")
                if not hashed:
                    _check(expected_id, hasher.digest())
                return expected_id
            try:
                if expected_id is not None:
                    # Stray chunks under the id (a damaged database) would collide with these.
                    conn.execute("DELETE FROM chunks WHERE id = ?", (key,))
                for seq, (chunk, frame) in enumerate(_chunk_rows(counted(), size)):
                    conn.execute(
                        "INSERT INTO chunks(id, seq, data) VALUES (?,?,?)",
                        (key, seq, frame if frame is not None else compress_chunk(cctx, chunk)),
                    )
                    del chunk, frame  # not held while the next chunk is gathered
                if hasher.seen != size:
                    raise CorruptObjectError(kind, f"expected {size} bytes, got {hasher.seen}")
                oid = expected_id if hashed and expected_id is not None else hasher.digest()
                if expected_id is not None:
                    _check(expected_id, oid)
                elif self.has(oid):
                    conn.execute("DELETE FROM chunks WHERE id = ?", (key,))
                    return oid
                else:
                    # Stray chunks under the final id (a damaged database) would block the re-key.
                    conn.execute("DELETE FROM chunks WHERE id = ?", (oid,))
                    conn.execute("UPDATE chunks SET id = ? WHERE id = ?", (oid, key))
                conn.execute(_INSERT, (oid, code, size, CHUNKED, None, 0, None))
                fingerprints.add(conn, [oid])
                self._wrote(oid, size)
            except BaseException:
                # Inside a caller's transaction, which may go on and commit: leave no partial chunks.
                try:
                    conn.execute("DELETE FROM chunks WHERE id = ?", (key,))
                except sqlite3.Error:
                    pass
                raise
        return oid

    # --- checking ----------------------------------------------------------------------

    def verify_all(
        self, on_progress: Callable[[int, int], None] | None = None
    ) -> Iterator[tuple[ObjectId, VcrdtError]]:
        """Decode and hash-check every object; yield each problem with its id.

        Objects are read in the order they were stored, so a delta's base was
        usually decoded (and cached) just before it.

        Args:
            on_progress: Called as ``(done, total)`` every 256 objects and at the end.

        Returns:
            An iterator of ``(id, error)`` pairs, one per damaged object.
        """
        self.forget_cached()  # check what is on disk, not what was put (nor what this process wrote)
        (total,) = self.db.conn.execute("SELECT COUNT(*) FROM objects").fetchone()
        done = 0
        for oid, storage in self._iter_stored():
            if on_progress is not None and done % 256 == 0:
                on_progress(done, total)
            done += 1
            if oid in self._cache:
                continue  # decoded and verified as another object's base during this run
            try:
                if storage == CHUNKED:
                    for _ in self.iter_content(oid):
                        pass
                else:
                    self._decode(oid)
            except VcrdtError as exc:
                yield oid, exc
        if on_progress is not None:
            on_progress(done, max(total, done))

    def _iter_stored(self) -> Iterator[tuple[ObjectId, object]]:
        """Yield ``(id, storage)`` of every object in insertion order, a thousand rows per query."""
        last = -1
        while True:
            rows = self.db.conn.execute(
                "SELECT rowid, CAST(id AS BLOB), CAST(storage AS INTEGER) FROM objects"
                " WHERE rowid > ? ORDER BY rowid LIMIT 1000",
                (last,),
            ).fetchall()
            if not rows:
                return
            for _, oid, storage in rows:
                yield ObjectId(bytes(oid)), storage
            last = rows[-1][0]

    def stats(self) -> dict[str, int]:
        """Return ``objects`` (count), ``raw_bytes`` (sum of sizes) and ``stored_bytes`` (after compression)."""
        count, raw, stored = self.db.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(LENGTH(data)), 0) FROM objects"
        ).fetchone()
        (chunked,) = self.db.conn.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM chunks").fetchone()
        return {"objects": int(count), "raw_bytes": int(raw), "stored_bytes": int(stored) + int(chunked)}


# --- helpers ------------------------------------------------------------------------------


def _kind_code(kind: str) -> int:
    try:
        return KIND_CODES[kind]
    except KeyError:
        raise CorruptObjectError(kind[:20], "unknown object kind") from None


def _kind_of(oid: ObjectId, code: object) -> str:
    kind = _CODE_KINDS.get(code) if isinstance(code, int) else None
    if kind is None:
        raise CorruptObjectError(to_hex(oid), f"unknown kind code {code!r}")
    return kind


def _size_of(oid: ObjectId, size: object) -> int:
    if not isinstance(size, int) or size < 0:
        raise CorruptObjectError(to_hex(oid), f"invalid size {size!r}")
    return size


def _opt_id(raw: bytes | None) -> ObjectId | None:
    return None if raw is None else ObjectId(raw)


def _form(storage: object, base: object, data: object) -> Stored | None:
    """A row's stored form (`SqliteStore.stored_form`) from its columns, or None."""
    if not isinstance(data, bytes):
        return None
    if storage == ZSTD:
        return ZSTD, None, data
    if storage == DELTA and isinstance(base, bytes) and len(base) == OID_LEN:
        return DELTA, ObjectId(base), data
    return None


def _check(oid: ObjectId, actual: ObjectId) -> None:
    if actual != oid:
        raise HashMismatchError(to_hex(oid), to_hex(actual))


def _inflate(
    dctx: zstandard.ZstdDecompressor,
    oid: ObjectId,
    data: bytes,
    size: int | None,
    *,
    limit: int = 0,
    what: str = "",
) -> bytes:
    """Decompress one zstd frame that must declare `size` bytes (or, when None, at most `limit`).

    The declared size is checked before anything is allocated: zstandard
    allocates what a frame header declares, whatever `max_output_size` says.
    """
    from vcrdt.store import zstd as zstandard

    where = f"{what}: " if what else ""
    try:
        declared = zstandard.frame_content_size(data)
    except zstandard.ZstdError as exc:
        raise CorruptObjectError(to_hex(oid), f"{where}not a zstd frame") from exc
    if size is not None and declared != size:
        raise CorruptObjectError(to_hex(oid), f"{where}frame declares {declared} bytes, expected {size}")
    if size is None and not 0 <= declared <= limit:
        raise CorruptObjectError(to_hex(oid), f"{where}frame declares {declared} bytes, at most {limit} expected")
    try:
        out = dctx.decompress(data, max_output_size=declared, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise CorruptObjectError(to_hex(oid), f"{where}cannot decompress: {exc}") from exc
    if len(out) != declared:
        raise CorruptObjectError(to_hex(oid), f"{where}decompressed to {len(out)} bytes, expected {declared}")
    return out


# Every compression level's window is at least this large (2^19 bytes, levels 1 to 3 for small inputs).
_SMALL_WINDOW = 19


def delta_compressor(base: bytes, size: int, level: int = DELTA_LEVEL) -> zstandard.ZstdCompressor:
    """Return a compressor for a `size`-byte body with `base` as its raw-content dictionary, at `level`.

    The store's deltas and sync's packed deltas both use it.

    zstd's level-3 parameters cap the window at 2 MiB and the hash table at
    2^17 entries. For a larger base the edit is then found nowhere (an edit
    of an 8 MB text costs 3 MB instead of 1 KB), so the window is widened to
    cover base and body and the hash table grown to match (at most 2^22
    entries, 16 MiB).
    """
    from vcrdt.store import zstd as zstandard

    d = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
    window_log = max(10, (len(base) + size - 1).bit_length())
    if window_log <= _SMALL_WINDOW:
        # Within the smallest window of any level: zstd sizes its tables to base and body itself.
        return zstandard.ZstdCompressor(level=level, dict_data=d)
    params = zstandard.ZstdCompressionParameters.from_level(level, source_size=size, dict_size=len(base))
    if window_log <= params.window_log:
        return zstandard.ZstdCompressor(level=level, dict_data=d)
    params = zstandard.ZstdCompressionParameters.from_level(
        level,
        source_size=size,
        dict_size=len(base),
        window_log=min(window_log, 27),
        hash_log=max(params.hash_log, min(window_log - 3, 22)),
    )
    return zstandard.ZstdCompressor(compression_params=params, dict_data=d)


def incompressible(cctx: zstandard.ZstdCompressor, body: bytes | memoryview) -> bool:
    """Whether a body of `SAMPLED` bytes or more looks incompressible, judged by compressing three samples.

    Media and archives are incompressible throughout; a sample from the start, the middle and
    the end costs a few percent of compressing the whole, and compressing it whole would save
    less than 2 %. Smaller bodies are never judged so (compressing them costs little).
    """
    n = len(body)
    if n < SAMPLED:
        return False
    view = memoryview(body)
    mid = (n - _SAMPLE) // 2
    sample = b"".join([view[:_SAMPLE], view[mid : mid + _SAMPLE], view[n - _SAMPLE :]])
    return len(cctx.compress(sample)) >= len(sample) * 0.98


def compress_chunk(cctx: zstandard.ZstdCompressor, chunk: bytes | memoryview) -> bytes:
    """A chunk's zstd frame: compressed, or, when it looks incompressible, its bytes in raw blocks."""
    from vcrdt.store import zstd as zstandard

    if incompressible(cctx, chunk):
        return zstandard.raw_frame(chunk)
    return cctx.compress(chunk)


def _apply(fn: Callable[[_T], _R], jobs: list[_T]) -> list[_R]:
    """Apply `fn` to each of `jobs` (one worker's slice of a batch)."""
    return [fn(job) for job in jobs]


def _encode(cctx: zstandard.ZstdCompressor, body: bytes, base: _Base | None) -> tuple[int, bytes, int]:
    """Return ``(storage, data, depth)``: the smallest of raw, compressed and delta.

    A large body that looks incompressible (`incompressible`) is stored raw without being
    compressed whole.
    """
    if base is None and incompressible(cctx, body):
        return RAW, body, 0
    packed = cctx.compress(body)
    storage, data, depth = (ZSTD, packed, 0) if len(packed) < len(body) else (RAW, body, 0)
    if base is not None:
        delta = delta_compressor(base.body, len(body)).compress(body)
        if len(delta) < len(data):
            storage, data, depth = DELTA, delta, base.depth
    return storage, data, depth


def _chunk_rows(
    pieces: Iterable[tuple[bytes, bytes | None]], size: int
) -> Iterator[tuple[bytes | memoryview, bytes | None]]:
    """The ``chunks`` rows of a `size`-byte body given as ``(piece, frame)``: each chunk and its frame.

    A piece that is a whole chunk (`CHUNK_SIZE` bytes, or the last ones) keeps its frame when
    the store's reader would take that frame as it is (`_keeps`); every other chunk gets None
    (the caller compresses it). Pieces of other sizes are re-cut into chunks.
    """
    seen = 0
    buf = bytearray()  # empty exactly when the pieces so far end on a chunk boundary
    for piece, frame in pieces:
        seen += len(piece)
        if not buf and (len(piece) == CHUNK_SIZE or (seen == size and len(piece) < CHUNK_SIZE)):
            yield piece, frame if frame is not None and _keeps(frame, len(piece)) else None
            continue
        view = memoryview(piece)
        if buf:
            take = CHUNK_SIZE - len(buf)
            buf += view[:take]
            view = view[take:]
            if len(buf) < CHUNK_SIZE:
                continue
            yield bytes(buf), None
            buf.clear()
        while len(view) >= CHUNK_SIZE:  # cut without copying
            yield view[:CHUNK_SIZE], None
            view = view[CHUNK_SIZE:]
        buf += view
    if buf:
        yield bytes(buf), None


def _keeps(frame: bytes, size: int) -> bool:
    """Whether `frame` is exactly one zstd frame declaring `size` bytes, with no dictionary (read as stored).

    Walks the frame header and block headers (a few per MiB), decoding nothing: the caller
    has decoded the frame to the body it stores, and the store's reader refuses a frame that
    declares another size or has bytes after it.
    """
    n = len(frame)
    if n < 6 or frame[:4] != _ZSTD_MAGIC:
        return False
    fhd = frame[4]
    fcs_flag, single, checksum, dict_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
    if dict_flag or fhd & 0x08:
        return False
    pos = 5 + (0 if single else 1)
    fcs_len = (1 if single else 0, 2, 4, 8)[fcs_flag]
    if fcs_len == 0 or pos + fcs_len > n:
        return False
    declared = int.from_bytes(frame[pos : pos + fcs_len], "little") + (256 if fcs_len == 2 else 0)
    if declared != size:
        return False
    pos += fcs_len
    while pos + 3 <= n:
        head = int.from_bytes(frame[pos : pos + 3], "little")
        kind, length = (head >> 1) & 3, head >> 3
        pos += 3 + (1 if kind == 1 else length)
        if kind == 3:
            return False
        if head & 1:
            return pos + 4 * checksum == n
    return False


def _prefix_upper(prefix: bytes) -> bytes | None:
    """Return the smallest byte string greater than every string starting with `prefix`.

    None means there is none (the prefix is empty or all 0xff).

    >>> _prefix_upper(b"\\x01\\xff")
    b'\\x02'
    >>> _prefix_upper(b"\\xff") is None
    True
    """
    p = bytearray(prefix)
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return None
    p[-1] += 1
    return bytes(p)
