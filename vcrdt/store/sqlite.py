"""`SqliteStore`: the embedded default `ObjectStore`, in the repository database.

Each object row holds its kind, full size and one of four storage forms:

- 0 ``zstd``: the body compressed on its own;
- 1 ``delta``: the body compressed with an earlier version of the same path
  (`base`) as a raw-content zstd dictionary, kept only when smaller than 0;
  chains are capped at `MAX_DELTA_DEPTH`, so any version decodes with a
  bounded number of decompressions;
- 2 ``chunked``: bodies over `LARGE_OBJECT`, in `chunks` rows of
  `CHUNK_SIZE` bytes compressed independently, streamed in and out with
  bounded memory;
- 3 ``raw``: stored as is, when compression does not help.

The address is always the SHA-256 of the full content, and every read is
verified against it. Writes join the caller's transaction (`Database.write`).
Imports `store.db`, `hashing`, `ids` and `errors`.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import zstandard

from vcrdt.errors import CorruptObjectError, HashMismatchError, ObjectNotFoundError, VcrdtError
from vcrdt.hashing import KINDS, StreamingObjectHasher, object_id
from vcrdt.ids import ObjectId, to_hex
from vcrdt.store import CHUNK_SIZE, LARGE_OBJECT, MAX_DELTA_DEPTH
from vcrdt.store.db import Database

ZSTD = 0
DELTA = 1
CHUNKED = 2
RAW = 3
LEVEL = 1
# Deltas use level 3: at level 1 zstd indexes too little of a large dictionary (a one-line
# edit of a 290 KB file costs 2.5 KB at level 1 and 52 bytes at level 3).
DELTA_LEVEL = 3
_KIND_CODE = {k: i + 1 for i, k in enumerate(KINDS)}
_CODE_KIND = {v: k for k, v in _KIND_CODE.items()}
_BASE_CACHE = 32
# Worker threads for hashing and compressing batches (zstd and hashlib release the GIL).
_WORKERS = max(1, min(4, os.cpu_count() or 1))
_local = threading.local()


def _thread_compressor() -> zstandard.ZstdCompressor:
    cctx: zstandard.ZstdCompressor | None = getattr(_local, "cctx", None)
    if cctx is None:
        cctx = _local.cctx = zstandard.ZstdCompressor(level=LEVEL)
    return cctx


def _pack(kind: str, body: bytes, base_body: bytes | None) -> tuple[ObjectId, int, bytes, bool]:
    """Hash and compress one body off the main thread: (id, storage, data, used_delta)."""
    oid = object_id(kind, body)
    packed = _thread_compressor().compress(body)
    storage, data, used = (ZSTD, packed, False) if len(packed) < len(body) else (RAW, body, False)
    if base_body is not None:
        d = zstandard.ZstdCompressionDict(base_body, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        delta = zstandard.ZstdCompressor(level=DELTA_LEVEL, dict_data=d).compress(body)
        if len(delta) < len(data):
            storage, data, used = DELTA, delta, True
    return oid, storage, data, used


class SqliteStore:
    """Objects in the ``objects``/``chunks`` tables of the repository database."""

    def __init__(self, db: Database) -> None:
        """Use the open database `db`."""
        self.db = db
        self._cctx = zstandard.ZstdCompressor(level=LEVEL)
        self._dctx = zstandard.ZstdDecompressor()
        self._bases: OrderedDict[ObjectId, bytes] = OrderedDict()

    # --- reading ----------------------------------------------------------------------

    def _row(self, oid: ObjectId) -> tuple[int, int, int, bytes | None, bytes | None]:
        row = self.db.conn.execute(
            "SELECT kind, size, storage, base, data FROM objects WHERE id = ?", (oid,)
        ).fetchone()
        if row is None:
            raise ObjectNotFoundError(to_hex(oid))
        kind, size, storage, base, data = row
        return int(kind), int(size), int(storage), base, data

    def _decompress(self, oid: ObjectId, data: bytes, size: int, dict_data: bytes | None = None) -> bytes:
        try:
            if dict_data is None:
                out = self._dctx.decompress(data, max_output_size=size)
            else:
                d = zstandard.ZstdCompressionDict(dict_data, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
                out = zstandard.ZstdDecompressor(dict_data=d).decompress(data, max_output_size=size)
        except zstandard.ZstdError as exc:
            raise CorruptObjectError(to_hex(oid), f"cannot decompress: {exc}") from exc
        if len(out) != size:
            raise CorruptObjectError(to_hex(oid), f"decompressed to {len(out)} bytes, expected {size}")
        return out

    def _body(self, oid: ObjectId, depth: int = 0) -> tuple[str, bytes]:
        """Return the unverified body (verification happens once, in `get`)."""
        cached = self._bases.get(oid)
        kind_code, size, storage, base, data = self._row(oid)
        kind = _CODE_KIND.get(kind_code)
        if kind is None:
            raise CorruptObjectError(to_hex(oid), f"unknown kind code {kind_code}")
        if cached is not None:
            self._bases.move_to_end(oid)
            return kind, cached
        if storage == RAW:
            body = bytes(data or b"")
        elif storage == ZSTD:
            body = self._decompress(oid, data or b"", size)
        elif storage == DELTA:
            if base is None or depth > MAX_DELTA_DEPTH:
                raise CorruptObjectError(to_hex(oid), "delta chain broken or too deep")
            _, base_body = self._verified(ObjectId(bytes(base)), depth + 1)
            body = self._decompress(oid, data or b"", size, base_body)
        elif storage == CHUNKED:
            body = b"".join(self._iter_chunks(oid, size))
        else:
            raise CorruptObjectError(to_hex(oid), f"unknown storage code {storage}")
        return kind, body

    def _verified(self, oid: ObjectId, depth: int = 0) -> tuple[str, bytes]:
        kind, body = self._body(oid, depth)
        if oid not in self._bases:
            actual = object_id(kind, body)
            if actual != oid:
                raise HashMismatchError(to_hex(oid), to_hex(actual))
            if len(body) <= LARGE_OBJECT // 4:
                self._bases[oid] = body
                if len(self._bases) > _BASE_CACHE:
                    self._bases.popitem(last=False)
        return kind, body

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        """Return ``(kind, body)``, verified against `oid`."""
        return self._verified(oid)

    def _iter_chunks(self, oid: ObjectId, size: int) -> Iterator[bytes]:
        total = 0
        expected_seq = 0
        for seq, data in self.db.conn.execute("SELECT seq, data FROM chunks WHERE id = ? ORDER BY seq", (oid,)):
            if seq != expected_seq:
                raise CorruptObjectError(to_hex(oid), f"chunk {expected_seq} missing")
            expected_seq += 1
            try:
                piece = self._dctx.decompress(data, max_output_size=CHUNK_SIZE)
            except zstandard.ZstdError as exc:
                raise CorruptObjectError(to_hex(oid), f"cannot decompress chunk {seq}: {exc}") from exc
            total += len(piece)
            if total > size:
                raise CorruptObjectError(to_hex(oid), "chunks exceed the recorded size")
            yield piece
        if total != size:
            raise CorruptObjectError(to_hex(oid), f"chunks hold {total} bytes, expected {size}")

    def iter_content(self, oid: ObjectId) -> Iterator[bytes]:
        """Yield the body in pieces; the id is checked after the last one."""
        kind_code, size, storage, _, _ = self._row(oid)
        if storage != CHUNKED:
            _, body = self.get(oid)
            for i in range(0, len(body), CHUNK_SIZE):
                yield body[i : i + CHUNK_SIZE]
            if not body:
                yield b""
            return
        kind = _CODE_KIND.get(kind_code, "blob")
        hasher = StreamingObjectHasher(kind, size)
        for piece in self._iter_chunks(oid, size):
            hasher.update(piece)
            yield piece
        actual = hasher.digest()
        if actual != oid:
            raise HashMismatchError(to_hex(oid), to_hex(actual))

    def has(self, oid: ObjectId) -> bool:
        """Tell whether the object is present."""
        return self.db.conn.execute("SELECT 1 FROM objects WHERE id = ?", (oid,)).fetchone() is not None

    def has_many(self, oids: Iterable[ObjectId]) -> set[ObjectId]:
        """Return the subset of `oids` that is present."""
        wanted = list(oids)
        found: set[ObjectId] = set()
        for i in range(0, len(wanted), 500):
            batch = wanted[i : i + 500]
            marks = ",".join("?" * len(batch))
            for (oid,) in self.db.conn.execute(f"SELECT id FROM objects WHERE id IN ({marks})", batch):
                found.add(ObjectId(bytes(oid)))
        return found

    def info(self, oid: ObjectId) -> tuple[str, int]:
        """Return ``(kind, size)`` without decoding the body."""
        row = self.db.conn.execute("SELECT kind, size FROM objects WHERE id = ?", (oid,)).fetchone()
        if row is None:
            raise ObjectNotFoundError(to_hex(oid))
        return _CODE_KIND.get(int(row[0]), "?"), int(row[1])

    def iter_ids(self) -> Iterator[ObjectId]:
        """Yield every id in ascending byte order."""
        for (oid,) in self.db.conn.execute("SELECT id FROM objects ORDER BY id"):
            yield ObjectId(bytes(oid))

    def ids_with_prefix(self, prefix: bytes, limit: int = 2) -> list[ObjectId]:
        """Return up to `limit` ids starting with `prefix` (an index range scan)."""
        if not prefix:
            rows = self.db.conn.execute("SELECT id FROM objects ORDER BY id LIMIT ?", (limit,))
        else:
            upper = _prefix_upper(prefix)
            if upper is None:
                rows = self.db.conn.execute("SELECT id FROM objects WHERE id >= ? ORDER BY id LIMIT ?", (prefix, limit))
            else:
                rows = self.db.conn.execute(
                    "SELECT id FROM objects WHERE id >= ? AND id < ? ORDER BY id LIMIT ?", (prefix, upper, limit)
                )
        return [ObjectId(bytes(r[0])) for r in rows]

    # --- writing ----------------------------------------------------------------------

    def put(self, kind: str, body: bytes, *, delta_base: ObjectId | None = None) -> ObjectId:
        """Store an object (compressed, or as a delta against `delta_base` when smaller)."""
        if kind not in _KIND_CODE:
            raise CorruptObjectError(kind[:20], "unknown object kind")
        oid = object_id(kind, body)
        if self.has(oid):
            return oid
        if len(body) > LARGE_OBJECT:
            return self._put_chunked(
                kind, len(body), (body[i : i + CHUNK_SIZE] for i in range(0, len(body), CHUNK_SIZE))
            )
        packed = self._cctx.compress(body)
        storage, data, base, depth = (ZSTD, packed, None, 0) if len(packed) < len(body) else (RAW, body, None, 0)
        if delta_base is not None and delta_base != oid and len(body) > 64:
            delta = self._delta(body, delta_base)
            if delta is not None and len(delta[0]) < len(data):
                storage, data, base, depth = DELTA, delta[0], delta_base, delta[1]
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO objects(id, kind, size, storage, base, depth, data) VALUES (?,?,?,?,?,?,?)",
                (oid, _KIND_CODE[kind], len(body), storage, base, depth, data),
            )
        return oid

    def put_many(self, items: Sequence[tuple[str, bytes, ObjectId | None]]) -> list[ObjectId]:
        """Store many objects, hashing and compressing them on worker threads.

        Args:
            items: ``(kind, body, delta_base)`` triples, as for `put`.

        Returns:
            The ids, in the order of `items`.
        """
        small = [(i, it) for i, it in enumerate(items) if len(it[1]) <= LARGE_OBJECT]
        out: list[ObjectId | None] = [None] * len(items)
        bases: dict[int, tuple[ObjectId, int, bytes]] = {}
        for i, (_, body, base) in small:
            if base is None or len(body) <= 64:
                continue
            row = self.db.conn.execute("SELECT storage, depth FROM objects WHERE id = ?", (base,)).fetchone()
            if row is None or int(row[0]) == CHUNKED or int(row[1]) >= MAX_DELTA_DEPTH:
                continue
            try:
                bases[i] = (base, int(row[1]) + 1, self.get(base)[1])
            except VcrdtError:
                continue
        jobs = [(kind, body, bases[i][2] if i in bases else None) for i, (kind, body, _) in small]
        if len(jobs) > 1 and _WORKERS > 1:
            with ThreadPoolExecutor(_WORKERS) as pool:
                packed = list(pool.map(lambda job: _pack(*job), jobs))
        else:
            packed = [_pack(*job) for job in jobs]
        rows = []
        for (i, (kind, body, _)), (oid, storage, data, used) in zip(small, packed, strict=True):
            out[i] = oid
            base_id, depth = (bases[i][0], bases[i][1]) if used else (None, 0)
            if base_id == oid:
                storage, data, base_id, depth = ZSTD, _thread_compressor().compress(body), None, 0
            rows.append((oid, _KIND_CODE[kind], len(body), storage, base_id, depth, data))
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO objects(id, kind, size, storage, base, depth, data) VALUES (?,?,?,?,?,?,?)",
                rows,
            )
            for i, (kind, body, _) in enumerate(items):
                if out[i] is None:
                    out[i] = self.put(kind, body)
        return [o for o in out if o is not None]

    def _delta(self, body: bytes, base: ObjectId) -> tuple[bytes, int] | None:
        row = self.db.conn.execute("SELECT storage, depth, size FROM objects WHERE id = ?", (base,)).fetchone()
        if row is None or int(row[0]) == CHUNKED or int(row[1]) >= MAX_DELTA_DEPTH:
            return None
        try:
            _, base_body = self.get(base)
        except VcrdtError:
            return None
        d = zstandard.ZstdCompressionDict(base_body, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        cctx = zstandard.ZstdCompressor(level=DELTA_LEVEL, dict_data=d)
        return cctx.compress(body), int(row[1]) + 1

    def put_stream(self, kind: str, size: int, chunks: Iterable[bytes]) -> ObjectId:
        """Store an object given in pieces, holding at most one chunk in memory."""
        if kind not in _KIND_CODE:
            raise CorruptObjectError(kind[:20], "unknown object kind")
        if size <= LARGE_OBJECT:
            parts = []
            total = 0
            for c in chunks:
                total += len(c)
                if total > size:
                    raise CorruptObjectError(kind, f"more than the announced {size} bytes")
                parts.append(c)
            if total != size:
                raise CorruptObjectError(kind, f"expected {size} bytes, got {total}")
            return self.put(kind, b"".join(parts))
        return self._put_chunked(kind, size, chunks)

    def _put_chunked(self, kind: str, size: int, chunks: Iterable[bytes]) -> ObjectId:
        temp = os.urandom(32)
        hasher = StreamingObjectHasher(kind, size)
        seq = 0
        buf = b""
        with self.db.write() as conn:

            def flush(piece: bytes) -> None:
                nonlocal seq
                conn.execute(
                    "INSERT INTO chunks(id, seq, data) VALUES (?,?,?)", (temp, seq, self._cctx.compress(piece))
                )
                seq += 1

            for chunk in chunks:
                hasher.update(chunk)
                if hasher.seen > size:
                    raise CorruptObjectError(kind, f"more than the announced {size} bytes")
                buf += chunk
                while len(buf) >= CHUNK_SIZE:
                    flush(buf[:CHUNK_SIZE])
                    buf = buf[CHUNK_SIZE:]
            if buf:
                flush(buf)
            if hasher.seen != size:
                raise CorruptObjectError(kind, f"expected {size} bytes, got {hasher.seen}")
            oid = hasher.digest()
            if self.has(oid):
                conn.execute("DELETE FROM chunks WHERE id = ?", (temp,))
                return oid
            conn.execute("UPDATE chunks SET id = ? WHERE id = ?", (oid, temp))
            conn.execute(
                "INSERT INTO objects(id, kind, size, storage, base, depth, data) VALUES (?,?,?,?,NULL,0,NULL)",
                (oid, _KIND_CODE[kind], size, CHUNKED),
            )
        return oid

    # --- checking ----------------------------------------------------------------------

    def verify_all(
        self, on_progress: Callable[[int, int], None] | None = None
    ) -> Iterator[tuple[ObjectId, VcrdtError]]:
        """Decode and hash-check every object; yield each problem with its id."""
        self._bases.clear()  # fsck reads everything afresh
        (total,) = self.db.conn.execute("SELECT COUNT(*) FROM objects").fetchone()
        for n, oid in enumerate(list(self.iter_ids())):
            if on_progress is not None and n % 256 == 0:
                on_progress(n, int(total))
            try:
                for _ in self.iter_content(oid):
                    pass
            except VcrdtError as exc:
                yield oid, exc
        if on_progress is not None:
            on_progress(int(total), int(total))

    def stats(self) -> dict[str, int]:
        """Return counts: objects, stored bytes and raw bytes."""
        count, raw, stored = self.db.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(LENGTH(data)), 0) FROM objects"
        ).fetchone()
        (chunked,) = self.db.conn.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM chunks").fetchone()
        return {"objects": int(count), "raw_bytes": int(raw), "stored_bytes": int(stored) + int(chunked)}


def _prefix_upper(prefix: bytes) -> bytes | None:
    """Return the smallest byte string greater than every string starting with `prefix`.

    >>> _prefix_upper(b"\\x01\\xff")
    b'\\x02'
    """
    p = bytearray(prefix)
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return None
    p[-1] += 1
    return bytes(p)
