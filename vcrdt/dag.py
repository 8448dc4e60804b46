"""The commit graph: reading commits, walking history, ancestry, reachability.

Commits carry a Lamport clock that is 1 + the maximum of their parents', so
it doubles as a generation number: a walk looking for `a` below `b` can stop
as soon as every commit left in the queue has a smaller clock than `a`.
History is listed newest first by (Lamport clock, timestamp, id), which is a
topological order. Reads objects through the `ObjectReader` protocol only; a walk over history
also uses `AheadReader.read_ahead` when the reader has it (every store does), taking the next
commits from what one query brought in instead of reading them one by one.
"""

from __future__ import annotations

from vcrdt.errors import CorruptObjectError
from vcrdt.ids import ObjectId, to_hex
from vcrdt.store import ObjectReader, reads_ahead
from vcrdt.store.commits import CommitInfo

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
    from types import ModuleType
    from typing import Literal, TypeVar

    from vcrdt.objects import Commit, Tree
    from vcrdt.store import AheadReader

    _T = TypeVar("_T", Commit, Tree)


def _heap() -> ModuleType:
    """The C functions of heapq (`_heapq`, without heapq.py's Python twins: about 1 M instructions to load).

    Loaded by the walks that use a heap, when they start: a command that walks none (a plain
    `log` reads the commit table in C) does not load the extension module (a few hundred
    microseconds of its start-up).
    """
    try:
        import _heapq as heapq
    except ImportError:  # another interpreter
        import heapq  # type: ignore[no-redef]
    return heapq


def read_commit(reader: ObjectReader, oid: ObjectId) -> Commit:
    """Read and decode a commit.

    Raises:
        ObjectNotFoundError: If it is absent.
        CorruptObjectError: If it is not a well-formed commit.
    """
    import vcrdt.objects  # here: a walk of the commit table (`iter_log`) decodes no object

    return _read(reader, oid, vcrdt.objects.Commit)


# Decoded trees by id (all forgotten when full). A tree is read through its reader every time (so
# an absent or damaged object is still refused); only the decoding, the larger part of a read, is
# done once: a merge reads the same trees to plan, to build the result, to check it out and to
# record it.
_TREES: dict[ObjectId, Tree] = {}
_TREES_KEPT = 2048


def read_tree(reader: ObjectReader, oid: ObjectId) -> Tree:
    """Read and decode a tree.

    Raises:
        ObjectNotFoundError: If it is absent.
        CorruptObjectError: If it is not a well-formed tree.
    """
    import vcrdt.objects

    kind, body = reader.get(oid)
    tree = _TREES.get(oid)
    if tree is not None and kind == vcrdt.objects.Tree.kind:
        return tree
    tree = _decode(oid, kind, body, vcrdt.objects.Tree)
    if len(_TREES) >= _TREES_KEPT:
        _TREES.clear()
    _TREES[oid] = tree
    return tree


def _read(reader: ObjectReader, oid: ObjectId, cls: type[_T]) -> _T:
    kind, body = reader.get(oid)
    return _decode(oid, kind, body, cls)


def _decode(oid: ObjectId, kind: str, body: bytes, cls: type[_T]) -> _T:
    if kind != cls.kind:
        raise CorruptObjectError(to_hex(oid), f"expected a {cls.kind}, found a {kind}")
    try:
        return cls.from_bytes(body)
    except CorruptObjectError as exc:
        raise CorruptObjectError(to_hex(oid), exc.reason) from exc


# Read-ahead windows, in stored rows: a walk starts with a small one (a short log decodes
# little it does not show) and doubles it while it keeps finding its commits there.
_AHEAD_MIN = 16
_AHEAD_MAX = 512
# Objects read ahead and not used yet (another branch's commits, say) are dropped past this many.
_AHEAD_KEEP = 4096


class _ReadAhead:
    """The reads of one walk: what `AheadReader.read_ahead` brought in is taken from memory."""

    def __init__(self, reader: AheadReader) -> None:
        self._reader = reader
        self._ahead: dict[ObjectId, tuple[str, bytes]] = {}
        self._window = _AHEAD_MIN
        self._hits = 0

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        """Return ``(kind, body)`` of `oid`, verified (by the reader, when it read it).

        Raises:
            ObjectNotFoundError: If it is absent.
            CorruptObjectError: If its stored bytes cannot be decoded.
        """
        got = self._ahead.pop(oid, None)
        if got is not None:
            self._hits += 1
            return got
        self._window = min(2 * self._window, _AHEAD_MAX) if self._hits else _AHEAD_MIN
        self._hits = 0
        more = self._reader.read_ahead(oid, self._window)
        if len(self._ahead) + len(more) > _AHEAD_KEEP:
            self._ahead.clear()
        self._ahead.update(more)
        return self._ahead.pop(oid)


def iter_history(
    reader: ObjectReader,
    heads: Iterable[ObjectId],
    *,
    first_parent: bool = False,
    choose: Callable[[ObjectId, Commit, Mapping[ObjectId, Commit]], tuple[bool, Sequence[ObjectId]]] | None = None,
) -> Iterator[tuple[ObjectId, Commit]]:
    """Yield commits reachable from `heads`, newest first, each once.

    Ordered by Lamport clock, then timestamp, then id, all descending; since a
    parent's clock is always smaller than its child's, every commit comes
    before its parents. With `choose`, each commit reached is first passed to it with its
    parents (decoded: by id), and it answers whether to yield the commit and which of its
    parents the walk goes on to (git's history simplification for a log of some paths:
    `vcrdt.porcelain.history`).
    """
    heapq = _heap()
    from vcrdt.objects import Commit

    seen: set[ObjectId] = set()
    queue: list[tuple[int, int, int, ObjectId, Commit]] = []
    # The commits in the queue, by id: a commit's parents are there or not yet read (a parent
    # comes out of the queue after every child).
    queued: dict[ObjectId, Commit] = {}
    get = _ReadAhead(reader).get if reads_ahead(reader) else reader.get

    def read(oid: ObjectId) -> Commit:
        c = queued.get(oid)
        if c is None:
            kind, body = get(oid)
            c = _decode(oid, kind, body, Commit)
        return c

    def push(oids: Iterable[ObjectId], known: Mapping[ObjectId, Commit]) -> None:
        for oid in oids:
            if oid in seen:
                continue
            seen.add(oid)
            c = known.get(oid) or read(oid)
            if choose is not None:
                queued[oid] = c
            # Negated keys: heapq is a min-heap and we want the newest first. Ids have one
            # length, so their big-endian value orders them as their bytes do.
            heapq.heappush(queue, (-c.lamport, -c.author.timestamp, -int.from_bytes(oid, "big"), oid, c))

    push(heads, {})
    while queue:
        _, _, _, oid, commit = heapq.heappop(queue)
        if choose is None:
            yield oid, commit
            push(commit.parents[:1] if first_parent else commit.parents, {})
            continue
        del queued[oid]
        parents = {p: read(p) for p in (commit.parents[:1] if first_parent else commit.parents)}
        shown, chosen = choose(oid, commit, parents)
        if shown:
            yield oid, commit
        push(chosen, parents)


def object_reads(reader: ObjectReader) -> Callable[[ObjectId], tuple[str, bytes]]:
    """Return how a walk reads objects from `reader`: read ahead where the reader can, else one by one."""
    return _ReadAhead(reader).get if reads_ahead(reader) else reader.get


def decode_commit(oid: ObjectId, kind: str, body: bytes) -> Commit:
    """Decode the object `oid` read as ``(kind, body)`` as a commit.

    Raises:
        CorruptObjectError: If it is not a well-formed commit.
    """
    import vcrdt.objects

    return _decode(oid, kind, body, vcrdt.objects.Commit)


class _TableRows:
    """The commit rows of one walk: from the store's commit table, read a window at a time, else from objects."""

    def __init__(self, reader: ObjectReader) -> None:
        self._reader = reader
        rows = getattr(reader, "commit_rows", None)
        self._rows: Callable[[ObjectId, int], dict[ObjectId, CommitInfo]] | None = rows if callable(rows) else None
        self._objects = _ReadAhead(reader).get if reads_ahead(reader) else reader.get
        self._ahead: dict[ObjectId, CommitInfo] = {}
        self._window = _AHEAD_MIN
        self._hits = 0

    def get(self, oid: ObjectId) -> CommitInfo:
        """Return the `CommitInfo` of commit `oid`.

        Raises:
            ObjectNotFoundError: If it has no row and no object.
            CorruptObjectError: If it has no row and its object is not a well-formed commit.
        """
        got = self._ahead.pop(oid, None)
        if got is not None:
            self._hits += 1
            return got
        if self._rows is not None:
            self._window = min(2 * self._window, _AHEAD_MAX) if self._hits else _AHEAD_MIN
            self._hits = 0
            more = self._rows(oid, self._window)
            if len(self._ahead) + len(more) > _AHEAD_KEEP:
                self._ahead.clear()
            self._ahead.update(more)
            got = self._ahead.pop(oid, None)
            if got is not None:
                return got
        kind, body = self._objects(oid)
        return CommitInfo.of(decode_commit(oid, kind, body))


def iter_log(
    reader: ObjectReader,
    heads: Iterable[ObjectId],
    *,
    first_parent: bool = False,
) -> Iterator[tuple[ObjectId, CommitInfo]]:
    """Yield what `iter_history` yields, in its order, as `CommitInfo`: from the commit table where the store has one.

    A `SqliteStore` answers from its commit table (`vcrdt.store.commits`) without reading a
    commit object; a commit without a row there (and every commit of a store without the
    table) is read from its object.
    """
    heapq = _heap()
    seen: set[ObjectId] = set()
    queue: list[tuple[int, int, int, ObjectId, CommitInfo]] = []
    get = _TableRows(reader).get

    def push(oids: Iterable[ObjectId]) -> None:
        for oid in oids:
            if oid in seen:
                continue
            seen.add(oid)
            c = get(oid)
            heapq.heappush(queue, (-c.lamport, -c.author.timestamp, -int.from_bytes(oid, "big"), oid, c))

    push(heads)
    while queue:
        _, _, _, oid, info = heapq.heappop(queue)
        yield oid, info
        parents = info.parents[:1] if first_parent else info.parents
        # A line of single parents with nothing else waiting (most of a history): each parent
        # would be pushed and popped at once, so it is yielded without the heap.
        while not queue and len(parents) == 1 and parents[0] not in seen:
            oid = parents[0]
            seen.add(oid)
            info = get(oid)
            yield oid, info
            parents = info.parents[:1] if first_parent else info.parents
        push(parents)


def is_ancestor(reader: ObjectReader, ancestor: ObjectId, descendant: ObjectId) -> bool:
    """Tell whether `ancestor` is reachable from `descendant` (a commit is its own ancestor).

    Uses Lamport clocks as generation numbers to cut the walk short.
    """
    if ancestor == descendant:
        return True
    target = read_commit(reader, ancestor).lamport
    seen: set[ObjectId] = {descendant}
    stack = [descendant]
    while stack:
        c = read_commit(reader, stack.pop())
        for p in c.parents:
            if p == ancestor:
                return True
            if p not in seen:
                seen.add(p)
                if read_commit(reader, p).lamport > target:
                    stack.append(p)
    return False


def happened_before(reader: ObjectReader, a: ObjectId, b: ObjectId) -> bool:
    """Tell whether commit `a` is a proper ancestor of commit `b`, from their vector clocks.

    A commit with a dot is in `b`'s history exactly when `b`'s clock covers the dot. A
    convergent merge has no dot: its clock is its parents' joined, so `b` covering that clock
    is necessary but not enough (another merge of the same parents covers it too); then the
    walk down from `b` looks for `a` only through commits whose clocks cover `a`'s and whose
    Lamport clocks are above `a`'s (docs/format.md, "Versions vectors with gaps").
    """
    from vcrdt.objects import clock_leq, commit_dot, covers

    if a == b:
        return False
    ca, cb = read_commit(reader, a), read_commit(reader, b)
    if ca.lamport >= cb.lamport:
        return False
    dot = commit_dot(ca)
    if dot is not None:
        return covers(cb, dot)
    if not clock_leq(ca, cb):
        return False
    seen: set[ObjectId] = {b}
    stack = [cb]
    while stack:
        for p in stack.pop().parents:
            if p == a:
                return True
            if p in seen:
                continue
            seen.add(p)
            cp = read_commit(reader, p)
            if cp.lamport > ca.lamport and clock_leq(ca, cp):
                stack.append(cp)
    return False


def causal_relation(
    reader: ObjectReader, a: ObjectId, b: ObjectId
) -> Literal["before", "after", "equal", "concurrent"]:
    """Return how commit `a` relates to commit `b`: ``before``, ``after``, ``equal`` or ``concurrent``."""
    if a == b:
        return "equal"
    if happened_before(reader, a, b):
        return "before"
    if happened_before(reader, b, a):
        return "after"
    return "concurrent"


def iter_reachable(
    reader: ObjectReader,
    heads: Iterable[ObjectId],
    *,
    on_object: Callable[[ObjectId, str], None] | None = None,
) -> set[ObjectId]:
    """Return every object reachable from `heads` (commits, trees, blobs).

    Raises:
        ObjectNotFoundError: If an object in the closure is missing.
        CorruptObjectError: If one does not decode.
    """
    from vcrdt.objects import EntryKind

    seen: set[ObjectId] = set()
    trees: list[ObjectId] = []
    for oid, commit in iter_history(reader, heads):
        seen.add(oid)
        if on_object is not None:
            on_object(oid, "commit")
        if commit.tree not in seen:
            seen.add(commit.tree)
            trees.append(commit.tree)
        for record in (commit.resolutions, commit.git):
            # The record of a merge's automatic resolutions, and the git record of an imported
            # commit: blobs that belong to the commit.
            if record is not None and record not in seen:
                seen.add(record)
                if on_object is not None:
                    on_object(record, "blob")
    while trees:
        toid = trees.pop()
        if on_object is not None:
            on_object(toid, "tree")
        for entry in read_tree(reader, toid).entries:
            if entry.oid in seen:
                continue
            seen.add(entry.oid)
            if entry.kind is EntryKind.TREE:
                trees.append(entry.oid)
            elif on_object is not None:
                on_object(entry.oid, "blob")
    return seen


def merge_bases(reader: ObjectReader, a: ObjectId, b: ObjectId) -> list[ObjectId]:
    """Return the best common ancestors of `a` and `b` (several after a criss-cross merge).

    Walks down from both commits newest first by Lamport clock, painting each
    commit with the sides that reach it (git's paint-down-to-common): a commit
    reached from both sides is a candidate, and its ancestors are marked stale.
    Candidates that are ancestors of other candidates are dropped.
    """
    heapq = _heap()
    if a == b:
        return [a]
    side_a, side_b, stale = 1, 2, 4
    flags: dict[ObjectId, int] = {a: side_a, b: side_b}
    commits: dict[ObjectId, Commit] = {a: read_commit(reader, a), b: read_commit(reader, b)}
    queue = [(-commits[a].lamport, a), (-commits[b].lamport, b)]
    heapq.heapify(queue)
    found: list[ObjectId] = []
    while queue and any(not flags[o] & stale for _, o in queue):
        _, oid = heapq.heappop(queue)
        f = flags[oid]
        if f & (side_a | side_b) == side_a | side_b and not f & stale:
            found.append(oid)
            f |= stale
            flags[oid] = f
        for p in commits[oid].parents:
            pf = flags.get(p, 0)
            nf = pf | f
            if nf != pf:
                flags[p] = nf
                if p not in commits:
                    commits[p] = read_commit(reader, p)
                heapq.heappush(queue, (-commits[p].lamport, p))
    return [o for o in found if not any(o != x and is_ancestor(reader, o, x) for x in found)]
