"""Tree diffs: which paths differ between two trees, or two flat path maps.

`iter_tree_changes` walks two trees side by side and yields one `Change` per
file-level difference, in path order. A pair of subtrees with the same id is
skipped without being read, so two large trees that differ in one file cost
only the reads of the trees along that file's path. `diff_changes` gives the
same answer for two flat ``path -> (kind, id)`` maps (the work tree provides
one; `flatten_tree` turns a tree into one).

Path order is the byte order of the full UTF-8 paths, which is git's order. A
tree's canonical entry order sorts a directory ``d`` by its bare name, so
before ``d-x`` and ``d.txt``; in full-path order ``d/...`` comes after both.
The walk therefore sorts each tree's entries by name with ``/`` appended to
directories, and merges the two sides on that key. A file ``f`` and a
directory ``f`` get different keys (``f`` and ``f/``), which makes a file
replaced by a directory a deletion of the file plus additions under the
directory, with no special case.

Pure: trees are read through the `ObjectReader` protocol. Imports `dag`,
`objects`, `ids`, `paths` and, for a type only, `store`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from operator import itemgetter

from vcrdt.dag import read_tree
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.paths import encode
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Literal

    from vcrdt.store import ObjectReader

    ChangeStatus = Literal["added", "deleted", "modified", "kind"]
else:
    ChangeStatus = str  # a Literal of these strings to the type checker
Entry = tuple[EntryKind, ObjectId]
FlatEntries = Mapping[str, Entry]


@value_class(frozen=True, init=False, repr=False, eq=False)
class Change(Value):
    """One path whose entry differs between two trees.

    `status` is ``added`` or ``deleted`` when one side has no entry,
    ``modified`` when both sides have the same kind and different ids, and
    ``kind`` when the kind changed (file to executable, file to symlink, ...).
    Directories never appear: their contents do.
    """

    __slots__ = ("path", "status", "old_kind", "old_oid", "new_kind", "new_oid")  # noqa: RUF023 (field order)

    path: str
    status: ChangeStatus
    old_kind: EntryKind | None
    old_oid: ObjectId | None
    new_kind: EntryKind | None
    new_oid: ObjectId | None

    def __init__(
        self,
        path: str,
        status: ChangeStatus,
        old_kind: EntryKind | None,
        old_oid: ObjectId | None,
        new_kind: EntryKind | None,
        new_oid: ObjectId | None,
    ) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "old_kind", old_kind)
        object.__setattr__(self, "old_oid", old_oid)
        object.__setattr__(self, "new_kind", new_kind)
        object.__setattr__(self, "new_oid", new_oid)


def _change(path: str, old: Entry | None, new: Entry | None) -> Change:
    if old is None:
        assert new is not None  # invariant: a change has at least one side
        return Change(path, "added", None, None, new[0], new[1])
    if new is None:
        return Change(path, "deleted", old[0], old[1], None, None)
    status: ChangeStatus = "modified" if old[0] is new[0] else "kind"
    return Change(path, status, old[0], old[1], new[0], new[1])


def _keyed_entries(reader: ObjectReader, oid: ObjectId | None) -> list[tuple[bytes, str, Entry]]:
    """Return a tree's entries as ``(key, name, entry)`` in full-path order.

    The key is the encoded name, with ``/`` appended for a directory.
    """
    if oid is None:
        return []
    keyed = [
        (encode(e.name) + b"/" if e.kind is EntryKind.TREE else encode(e.name), e.name, (e.kind, e.oid))
        for e in read_tree(reader, oid).entries
    ]
    # Keys are unique: names are, and "/" never occurs inside a name.
    keyed.sort(key=itemgetter(0))
    return keyed


def _ordered_entries(reader: ObjectReader, oid: ObjectId) -> list[tuple[str, EntryKind, ObjectId]]:
    """Return a tree's entries as ``(name, kind, id)`` in full-path order (see `_keyed_entries`).

    A tree without subtrees is in that order already (its entries are sorted by
    their encoded names), so only a tree with a subtree is keyed and sorted.
    """
    entries = read_tree(reader, oid).entries
    tree = EntryKind.TREE
    if any(e.kind is tree for e in entries):
        return [(name, k, o) for _, name, (k, o) in _keyed_entries(reader, oid)]
    return [(e.name, e.kind, e.oid) for e in entries]


# A unit of pending work in the tree walks: a result ready to be yielded, or
# a pair of subtrees (either may be absent) still to be compared under a prefix.
_Pending = tuple[str, ObjectId | None, ObjectId | None]


def _compare(
    prefix: str, old: list[tuple[bytes, str, Entry]], new: list[tuple[bytes, str, Entry]]
) -> list[Change | _Pending]:
    """Merge two keyed entry lists into changes and subtree pairs, in key order."""
    out: list[Change | _Pending] = []
    i = j = 0
    while i < len(old) or j < len(new):
        if j == len(new) or (i < len(old) and old[i][0] < new[j][0]):
            _, name, entry = old[i]
            i += 1
            if entry[0] is EntryKind.TREE:
                out.append((prefix + name + "/", entry[1], None))
            else:
                out.append(_change(prefix + name, entry, None))
        elif i == len(old) or new[j][0] < old[i][0]:
            _, name, entry = new[j]
            j += 1
            if entry[0] is EntryKind.TREE:
                out.append((prefix + name + "/", None, entry[1]))
            else:
                out.append(_change(prefix + name, None, entry))
        else:
            _, name, a = old[i]
            b = new[j][2]
            i += 1
            j += 1
            if a == b:
                continue  # same kind and id: for a directory, the whole subtree is skipped unread
            # invariant: equal keys mean both are directories or neither is
            if a[0] is EntryKind.TREE:
                out.append((prefix + name + "/", a[1], b[1]))
            else:
                out.append(_change(prefix + name, a, b))
    return out


def iter_tree_changes(reader: ObjectReader, old_tree: ObjectId | None, new_tree: ObjectId | None) -> Iterator[Change]:
    """Yield the file-level changes from `old_tree` to `new_tree`, in path order.

    Subtrees with the same id on both sides are skipped without being read. A
    file replaced by a directory is a deletion of the file plus additions under
    the directory (and the reverse). The walk uses an explicit stack, so tree
    depth is not bounded by Python's recursion limit.

    Args:
        reader: Where the trees are read from.
        old_tree: The old root tree; None for an empty tree.
        new_tree: The new root tree; None for an empty tree.

    Yields:
        One `Change` per path whose non-tree entry differs.

    Raises:
        ObjectNotFoundError: If a tree that must be read is absent.
        CorruptObjectError: If such a tree is malformed or not a tree.
    """
    if old_tree == new_tree:
        return
    # Processed last-in first-out; each tree's results are pushed in reverse,
    # so the output comes out depth-first in key order, which is path order.
    stack: list[Change | _Pending] = [("", old_tree, new_tree)]
    while stack:
        item = stack.pop()
        if isinstance(item, Change):
            yield item
            continue
        prefix, old, new = item
        found = _compare(prefix, _keyed_entries(reader, old), _keyed_entries(reader, new))
        found.reverse()
        stack.extend(found)


def iter_tree_entries(reader: ObjectReader, tree: ObjectId | None) -> Iterator[tuple[str, EntryKind, ObjectId]]:
    """Yield ``(path, kind, id)`` for every non-tree entry under `tree`, in path order.

    Args:
        reader: Where the trees are read from.
        tree: The root tree; None for an empty tree.

    Yields:
        The entries, directories flattened away.

    Raises:
        ObjectNotFoundError: If a tree is absent.
        CorruptObjectError: If a tree is malformed or not a tree.
    """
    if tree is None:
        return
    # One iterator per directory being walked (a stack, not recursion: trees may be deep).
    subtree = EntryKind.TREE
    stack = [("", iter(_ordered_entries(reader, tree)))]
    while stack:
        prefix, entries = stack[-1]
        for name, kind, oid in entries:
            if kind is subtree:
                stack.append((prefix + name + "/", iter(_ordered_entries(reader, oid))))
                break
            yield prefix + name, kind, oid
        else:
            stack.pop()


def flatten_tree(reader: ObjectReader, tree: ObjectId | None) -> dict[str, Entry]:
    """Return every non-tree entry under `tree`, keyed by its path, in path order.

    Args:
        reader: Where the trees are read from.
        tree: The root tree; None for an empty tree.

    Returns:
        ``path -> (kind, id)`` for each file, executable and symlink.

    Raises:
        ObjectNotFoundError: If a tree is absent.
        CorruptObjectError: If a tree is malformed or not a tree.
    """
    return {path: (kind, oid) for path, kind, oid in iter_tree_entries(reader, tree)}


def diff_changes(old: FlatEntries, new: FlatEntries) -> list[Change]:
    """Return the changes between two flat path maps, in path order.

    The result equals ``list(iter_tree_changes(...))`` for the trees the maps
    were flattened from. Only differing paths are sorted, so the cost is
    linear in the map sizes plus n log n in the number of changes.

    Args:
        old: ``path -> (kind, id)`` before, without directory entries.
        new: The same after.

    Returns:
        One `Change` per path whose entry differs.

    >>> f = EntryKind.FILE
    >>> [(c.path, c.status) for c in diff_changes({"a": (f, b"1")}, {"a/b": (f, b"1")})]
    [('a', 'deleted'), ('a/b', 'added')]
    """
    paths = [p for p, e in old.items() if new.get(p) != e]
    paths.extend(p for p in new if p not in old)
    paths.sort(key=encode)
    return [_change(p, old.get(p), new.get(p)) for p in paths]
