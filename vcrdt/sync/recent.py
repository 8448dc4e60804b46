"""The bodies of the objects a sync session sent or received last: the likely delta bases.

A module of its own, small: both sides of a session keep them (`vcrdt.sync.receive`,
`vcrdt.sync.responder`), and a serving process should not load the receiving side's module
for this one class.
"""

from __future__ import annotations

from vcrdt.ids import ObjectId

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from vcrdt.store import ObjectStore


class RecentBodies:
    """The bodies of the last objects sent or received (about 32 MiB): the likely delta bases."""

    def __init__(self, most: int = 32 << 20) -> None:
        """Keep at most `most` bytes of bodies, the oldest dropped first."""
        self._data: dict[ObjectId, bytes] = {}
        self._bytes = 0
        self._most = most

    def put(self, oid: ObjectId, body: bytes) -> None:
        """Remember an object's body (bodies over a quarter of the budget are not kept)."""
        if len(body) > self._most // 4 or oid in self._data:
            return
        self._data[oid] = body
        self._bytes += len(body)
        while self._bytes > self._most:
            self._bytes -= len(self._data.pop(next(iter(self._data))))

    def get(self, oid: ObjectId) -> bytes | None:
        """A remembered body, or None."""
        return self._data.get(oid)

    def read(self, store: ObjectStore, oid: ObjectId) -> bytes:
        """A remembered body, or else the stored one (verified by the store)."""
        body = self._data.get(oid)
        return body if body is not None else store.get(oid)[1]
