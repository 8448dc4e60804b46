"""Content-addressed object stores.

`ObjectStore` is the narrow protocol every backend implements: `MemoryStore`
for tests and `SqliteStore`, the embedded default. Bodies are the canonical
object bytes (see `vcrdt.objects`); ids are SHA-256 over header and body and
every read is verified against its id. Imports `objects`, `hashing`, `ids`
and `errors` only, never anything above.
"""

from __future__ import annotations

from vcrdt.errors import VcrdtError
from vcrdt.ids import ObjectId

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Protocol, TypeGuard

    from vcrdt.store.fingerprints import Fingerprint
else:
    Protocol = object  # a plain base at run time: nothing checks a protocol then, and typing costs an import

# Objects larger than this are stored in independent chunks and can be
# streamed in and out with bounded memory; they are never delta-compressed.
LARGE_OBJECT = 8 * 1024 * 1024
CHUNK_SIZE = 1024 * 1024
# A delta chain never gets longer than this, so any version decodes with at
# most MAX_DELTA_DEPTH + 1 decompressions.
MAX_DELTA_DEPTH = 16


class ObjectReader(Protocol):
    """Read access to objects, the part pure algorithms need."""

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        """Return ``(kind, body)`` of an object, verified against its id.

        Raises:
            ObjectNotFoundError: If the object is absent.
            HashMismatchError: If the stored bytes do not hash to `oid`.
            CorruptObjectError: If the stored bytes cannot be decoded.
        """
        ...


class AheadReader(ObjectReader, Protocol):
    """An `ObjectReader` that can read ahead along a walk (every `ObjectStore` can)."""

    def read_ahead(self, oid: ObjectId, window: int) -> dict[ObjectId, tuple[str, bytes]]:
        """Return ``{oid: (kind, body)}``, and objects a walk from `oid` will likely read next.

        A hint for walks down history, which cannot know an object's parents before reading
        it: a backend may add intact objects of the same kind stored near `oid` (at most
        `window` of them); commits are usually stored after their parents. Each is verified as
        `get` verifies it; damaged neighbours are left out, not reported.

        Raises:
            ObjectNotFoundError: If `oid` is absent.
            HashMismatchError: If its body does not hash to its id.
            CorruptObjectError: If its stored bytes cannot be decoded.
        """
        ...


def reads_ahead(reader: ObjectReader) -> TypeGuard[AheadReader]:
    """Tell whether `reader` is an `AheadReader` (has ``read_ahead``, as every `ObjectStore` has)."""
    return callable(getattr(reader, "read_ahead", None))


class ObjectStore(AheadReader, Protocol):
    """A content-addressed store of objects."""

    def has(self, oid: ObjectId) -> bool:
        """Tell whether the object is present."""
        ...

    def has_many(self, oids: Iterable[ObjectId]) -> set[ObjectId]:
        """Return the subset of `oids` that is present."""
        ...

    def info(self, oid: ObjectId) -> tuple[str, int]:
        """Return ``(kind, size)`` without decoding the body.

        Raises:
            ObjectNotFoundError: If the object is absent.
        """
        ...

    def put(
        self, kind: str, body: bytes, *, delta_base: ObjectId | None = None, verified_id: ObjectId | None = None
    ) -> ObjectId:
        """Store an object and return its id; storing twice is harmless.

        Args:
            kind: ``blob``, ``tree`` or ``commit``.
            body: The canonical body.
            delta_base: An earlier version of the same path the backend may
                store this one as a delta against, when that is smaller.
            verified_id: The id the caller has just computed from exactly `kind` and `body`
                (`vcrdt.hashing.object_id`): the store need not hash again. Never an id
                that came with the data; None (the default) makes the store hash.

        Returns:
            The object id.
        """
        ...

    def put_many(self, items: Sequence[tuple[str, bytes, ObjectId | None]]) -> list[ObjectId]:
        """Store many ``(kind, body, delta_base)`` objects at once; return their ids in order.

        Backends may hash and compress the batch in parallel.
        """
        ...

    def start_put_many(self, items: Sequence[tuple[str, bytes, ObjectId | None]]) -> Storing:
        """Begin `put_many`: the caller goes on (reading the next batch, say) until it calls `finish`.

        A backend may store the batch at once (`finish` then only returns the ids), or compress it
        on worker threads meanwhile and write nothing before `finish`: a batch it never finishes
        is never written. Batches are finished in the order they were started.
        """
        ...

    def put_stream(
        self, kind: str, size: int, chunks: Iterable[bytes], *, expected_id: ObjectId | None = None
    ) -> ObjectId:
        """Store a large object whose body arrives in pieces, with bounded memory.

        With `expected_id` the body must hash to it (checked as it is hashed, once); nothing is
        kept otherwise.

        Raises:
            CorruptObjectError: If the pieces do not add up to `size` bytes.
            HashMismatchError: If the body does not hash to `expected_id`.
        """
        ...

    def iter_content(self, oid: ObjectId) -> Iterator[bytes]:
        """Yield an object's body in pieces; the id is checked at the end.

        Raises:
            ObjectNotFoundError: If the object is absent.
            HashMismatchError: After the last piece, if the body does not match.
        """
        ...

    def iter_ids(self) -> Iterator[ObjectId]:
        """Yield every object id in ascending byte order."""
        ...

    def ids_with_prefix(self, prefix: bytes, limit: int = 2) -> list[ObjectId]:
        """Return up to `limit` ids starting with the raw `prefix` bytes."""
        ...

    def bucket(self, prefix: str) -> Fingerprint:
        """Return the fingerprint of the ids whose hex form starts with `prefix` (`vcrdt.store.fingerprints`)."""
        ...

    def bucket_ids(self, prefix: str) -> list[ObjectId]:
        """Return the ids whose hex form starts with `prefix`, in ascending order."""
        ...

    def verify_all(
        self, on_progress: Callable[[int, int], None] | None = None
    ) -> Iterator[tuple[ObjectId, VcrdtError]]:
        """Decode and hash-check every stored object; yield each problem with its id (for fsck).

        Args:
            on_progress: Called now and then as ``(done, total)``.
        """
        ...

    def stats(self) -> dict[str, int]:
        """Return ``objects`` (count), ``raw_bytes`` and ``stored_bytes`` (as held by the backend)."""
        ...


class Storing(Protocol):
    """A batch `ObjectStore.start_put_many` has begun to store."""

    def finish(self) -> list[ObjectId]:
        """Write the batch (waiting for its workers) and return the ids, in the order of its items.

        Raises:
            CorruptObjectError: If a kind is unknown (then nothing of the batch is stored).
        """
        ...
