"""`MemoryStore`: an `ObjectStore` held in a dict, for tests and scratch work.

Imports `hashing`, `ids`, `errors` only.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence

from vcrdt.errors import CorruptObjectError, HashMismatchError, ObjectNotFoundError, VcrdtError
from vcrdt.hashing import KINDS, StreamingObjectHasher, object_id
from vcrdt.ids import ObjectId, to_hex
from vcrdt.store import CHUNK_SIZE, fingerprints
from vcrdt.store.fingerprints import Fingerprint


class MemoryStore:
    """Objects in a dict; reads are verified like every other backend's."""

    def __init__(self) -> None:
        """Create an empty store."""
        self._objects: dict[ObjectId, tuple[str, bytes]] = {}

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        """Return ``(kind, body)``, verified against `oid`."""
        try:
            kind, body = self._objects[oid]
        except KeyError:
            raise ObjectNotFoundError(to_hex(oid)) from None
        actual = object_id(kind, body)
        if actual != oid:
            raise HashMismatchError(to_hex(oid), to_hex(actual))
        return kind, body

    def read_ahead(self, oid: ObjectId, window: int) -> dict[ObjectId, tuple[str, bytes]]:
        """Return ``{oid: (kind, body)}``: a dict has no order worth reading ahead in."""
        return {oid: self.get(oid)}

    def has(self, oid: ObjectId) -> bool:
        """Tell whether the object is present."""
        return oid in self._objects

    def has_many(self, oids: Iterable[ObjectId]) -> set[ObjectId]:
        """Return the subset of `oids` that is present."""
        return {o for o in oids if o in self._objects}

    def info(self, oid: ObjectId) -> tuple[str, int]:
        """Return ``(kind, size)``."""
        try:
            kind, body = self._objects[oid]
        except KeyError:
            raise ObjectNotFoundError(to_hex(oid)) from None
        return kind, len(body)

    def put(
        self, kind: str, body: bytes, *, delta_base: ObjectId | None = None, verified_id: ObjectId | None = None
    ) -> ObjectId:
        """Store an object and return its id (`delta_base` is ignored here; `verified_id` as `ObjectStore.put`)."""
        if kind not in KINDS:
            raise CorruptObjectError(kind[:20], "unknown object kind")
        oid = verified_id if verified_id is not None else object_id(kind, body)
        self._objects.setdefault(oid, (kind, bytes(body)))
        return oid

    def put_many(self, items: Sequence[tuple[str, bytes, ObjectId | None]]) -> list[ObjectId]:
        """Store many objects; return their ids in order."""
        return [self.put(kind, body, delta_base=base) for kind, body, base in items]

    def start_put_many(self, items: Sequence[tuple[str, bytes, ObjectId | None]]) -> _Stored:
        """Store many objects now (a dict has nothing to overlap); `finish` returns their ids."""
        return _Stored(self.put_many(items))

    def put_stream(
        self, kind: str, size: int, chunks: Iterable[bytes], *, expected_id: ObjectId | None = None
    ) -> ObjectId:
        """Store an object given in pieces (that must hash to `expected_id` when given)."""
        hasher = StreamingObjectHasher(kind, size)
        parts = []
        for chunk in chunks:
            hasher.update(chunk)
            parts.append(chunk)
        if hasher.seen != size:
            raise CorruptObjectError(kind, f"expected {size} bytes, got {hasher.seen}")
        oid = hasher.digest()
        if expected_id is not None and oid != expected_id:
            raise HashMismatchError(to_hex(expected_id), to_hex(oid))
        return self.put(kind, b"".join(parts), verified_id=oid)

    def iter_content(self, oid: ObjectId) -> Iterator[bytes]:
        """Yield the body in pieces."""
        _, body = self.get(oid)
        for i in range(0, len(body), CHUNK_SIZE):
            yield body[i : i + CHUNK_SIZE]

    def iter_ids(self) -> Iterator[ObjectId]:
        """Yield every id in ascending order."""
        yield from sorted(self._objects)

    def ids_with_prefix(self, prefix: bytes, limit: int = 2) -> list[ObjectId]:
        """Return up to `limit` ids starting with `prefix`."""
        ids = sorted(self._objects)
        i = bisect.bisect_left(ids, prefix)
        out: list[ObjectId] = []
        while i < len(ids) and ids[i].startswith(prefix) and len(out) < limit:
            out.append(ids[i])
            i += 1
        return out

    def bucket(self, prefix: str) -> Fingerprint:
        """Return the fingerprint of the ids starting with the hex digits `prefix`, summed afresh."""
        return fingerprints.of(self.bucket_ids(prefix))

    def bucket_ids(self, prefix: str) -> list[ObjectId]:
        """Return the ids starting with the hex digits `prefix`, in order."""
        return sorted(oid for oid in self._objects if oid.hex().startswith(prefix))

    def verify_all(
        self, on_progress: Callable[[int, int], None] | None = None
    ) -> Iterator[tuple[ObjectId, VcrdtError]]:
        """Hash-check every object; yield each problem with its id.

        Args:
            on_progress: Called as ``(done, total)`` every 256 objects and at the end.

        Returns:
            An iterator of ``(id, error)`` pairs, one per damaged object.
        """
        ids = sorted(self._objects)
        for n, oid in enumerate(ids):
            if on_progress is not None and n % 256 == 0:
                on_progress(n, len(ids))
            try:
                self.get(oid)
            except VcrdtError as exc:
                yield oid, exc
        if on_progress is not None:
            on_progress(len(ids), len(ids))

    def stats(self) -> dict[str, int]:
        """Return ``objects`` (count), ``raw_bytes`` and ``stored_bytes`` (the same here: nothing is compressed)."""
        raw = sum(len(b) for _, b in self._objects.values())
        return {"objects": len(self._objects), "raw_bytes": raw, "stored_bytes": raw}

    def corrupt_for_test(self, oid: ObjectId, body: bytes) -> None:
        """Replace the stored body of `oid` (fault injection for tests)."""
        kind, _ = self._objects[oid]
        self._objects[oid] = (kind, body)


class _Stored:
    """A batch stored already: `finish` returns its ids."""

    def __init__(self, oids: list[ObjectId]) -> None:
        self._oids = oids

    def finish(self) -> list[ObjectId]:
        """Return the ids."""
        return self._oids
