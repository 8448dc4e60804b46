"""The objects a merge reads and writes: the `MergeStore` protocol and `PendingObjects`.

A merge reads commits, trees and blobs and writes merged blobs, trees,
convergent merge commits and resolution records. It does so through
`MergeStore` (``get``, ``info``, ``put``), which every object store
satisfies. A merge that is first planned and then applied plans over
`PendingObjects`: reads fall through to the repository's store, writes stay
in memory, and `PendingObjects.flush` stores them when (and only when) the
plan is applied. A dry run never flushes, so it stores nothing. Imports only
`objects`, `hashing`, `ids`, `errors` and the store protocol.
"""

from __future__ import annotations

from collections.abc import Mapping

from vcrdt.hashing import object_id
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind, Tree, TreeEntry
from vcrdt.store import ObjectReader

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # a plain base at run time: nothing checks a protocol then, and typing costs an import


class MergeStore(ObjectReader, Protocol):
    """What a merge needs of a store: reading objects, their sizes, and writing new ones."""

    def info(self, oid: ObjectId) -> tuple[str, int]:
        """Return ``(kind, size)`` without decoding the body.

        Raises:
            ObjectNotFoundError: If the object is absent.
        """
        ...

    def put(self, kind: str, body: bytes, *, delta_base: ObjectId | None = None) -> ObjectId:
        """Store an object and return its id; storing twice is harmless."""
        ...


class ObjectSink(Protocol):
    """Where `PendingObjects.flush` stores a plan's objects (every object store)."""

    def put_many(self, items: list[tuple[str, bytes, ObjectId | None]]) -> list[ObjectId]:
        """Store many ``(kind, body, delta_base)`` objects; return their ids in order."""
        ...


class PendingObjects:
    """A `MergeStore` over another store that keeps every write in memory until `flush`."""

    def __init__(self, base: MergeStore) -> None:
        """Read through to `base`; write nothing to it."""
        self._base = base
        self._new: dict[ObjectId, tuple[str, bytes]] = {}

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        """Return ``(kind, body)``: a pending object, or the base store's (verified there).

        Raises:
            ObjectNotFoundError: If neither holds it.
        """
        got = self._new.get(oid)
        return got if got is not None else self._base.get(oid)

    def info(self, oid: ObjectId) -> tuple[str, int]:
        """Return ``(kind, size)`` of a pending object or the base store's.

        Raises:
            ObjectNotFoundError: If neither holds it.
        """
        got = self._new.get(oid)
        return (got[0], len(got[1])) if got is not None else self._base.info(oid)

    def put(self, kind: str, body: bytes, *, delta_base: ObjectId | None = None) -> ObjectId:
        """Keep an object in memory and return its id (the id storing it would give)."""
        oid = object_id(kind, body)
        self._new.setdefault(oid, (kind, body))
        return oid

    def __len__(self) -> int:
        """The number of objects written and not flushed."""
        return len(self._new)

    def flush(self, sink: ObjectSink) -> None:
        """Store every pending object in `sink` (in the order they were written) and forget them."""
        if self._new:
            sink.put_many([(kind, body, None) for kind, body in self._new.values()])
        self._new.clear()


def write_flat_tree(store: MergeStore, flat: Mapping[str, tuple[EntryKind, ObjectId]]) -> ObjectId:
    """Store the trees of a flat path map (path -> file entry) and return the root tree's id."""
    children: dict[str, list[TreeEntry]] = {"": []}
    dirs: set[str] = {""}
    for path in flat:
        parts = path.split("/")
        for i in range(1, len(parts)):
            dirs.add("/".join(parts[:i]))
    for d in dirs:
        children.setdefault(d, [])
    for path, (kind, oid) in flat.items():
        parent, _, name = path.rpartition("/")
        children[parent].append(TreeEntry(name, kind, oid))
    # Deepest directories first, so each subtree id is known before its parent.
    ids: dict[str, ObjectId] = {}
    for d in sorted(dirs, key=lambda x: -x.count("/") - (1 if x else 0)):
        oid = store.put("tree", Tree.build(children[d]).to_bytes())
        ids[d] = oid
        if d:
            parent, _, name = d.rpartition("/")
            children[parent].append(TreeEntry(name, EntryKind.TREE, oid))
    return ids[""]
