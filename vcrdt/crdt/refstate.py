"""Branches as a CRDT: an add-wins set of (branch, head, dot) entries with a causal context.

Every time a replica points a branch at a head (a creation, a commit, a
fast-forward, a re-creation after a deletion) it adds an *entry* ``(head,
dot)``, where the dot ``(replica, counter)`` is new and unique: the replica's
own counter, one more than any of its dots seen so far. A deletion removes
exactly the entries the deleting replica holds for the branch; an advance
removes the entries it replaces. The *causal context* records every dot a
replica has seen, live or removed, so a dot in the context without a live
entry is a tombstone, keyed by dot and never by commit id:

- a creation or advance the deletion did not see has a dot the deleter's
  context lacks, so it survives the join (add-wins);
- an entry the deletion saw has its dot in the deleter's context, so it never
  comes back, whatever the other replicas still hold;
- a local re-creation adds a new dot and clears no tombstone.

Each replica's dots are numbered 1, 2, 3, ... and every join takes in a whole
state, so the dots a context holds for one replica are always a prefix
``1..n``: the context is stored as a version vector (replica -> n), which
holds exactly the same tombstones as the set of dots in a bounded size.

The join is the standard one of the optimised add-wins set (Almeida, Shoker
and Baquero, *Delta state replicated data types*, 2018): an entry survives if
both sides hold it or the side lacking it never saw its dot; the contexts
join pointwise. It reads no ancestry, so it is commutative, associative and
idempotent by construction (the property tests check all three, and a model
check compares it with a plain OR-set with explicit tombstones). What a
branch *shows* is the set of its live heads minus those that are ancestors of
another live head (a multi-value register); that view is computed on demand,
from an ancestry callable passed in (`is_ancestor(a, b)`: a is b or an
ancestor of b), so this module stays pure: it imports only the standard
library, `ids`, `errors` and `hashing`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping
from operator import itemgetter

from vcrdt.errors import CorruptObjectError
from vcrdt.hashing import digest
from vcrdt.ids import OID_LEN, ObjectId, is_replica_id
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time

Ancestry = Callable[[ObjectId, ObjectId], bool]
_MAGIC = b"vcrdt-refstate 2\n"
_OLD_MAGIC = b"vcrdt-refstate 1\n"
MAX_BRANCHES = 100_000
MAX_HEADS = 10_000
MAX_REPLICAS = 100_000
MAX_COUNTER = (1 << 63) - 1
_REPLICA_LEN = 16
# The encoding's fixed-size parts: a context pair (replica's raw bytes, counter), an entry
# (replica, counter, head), a branch name's length and a count.
_CONTEXT = struct.Struct(f">{_REPLICA_LEN}sQ")
_ENTRY = struct.Struct(f">{_REPLICA_LEN}sQ{OID_LEN}s")
_BRANCH_NAME = struct.Struct(">H")
_COUNT = struct.Struct(">I")


class Dot(tuple[str, int]):
    """A unique event: the replica that made it and that replica's counter (1, 2, ...).

    A named tuple (as `Entry`), not a `vcrdt.values.Value`: a ref state of 10,000 branches
    hashes and compares its dots and entries hundreds of thousands of times in one sync (decoded,
    checked, joined), and a tuple does that in C, with the same order (replica, then counter)
    and the same equality between dots. Unlike a `Value` it also equals a plain tuple of its
    fields; nothing in vcrdt mixes the two.
    """

    __slots__ = ()

    def __new__(cls, replica: str, counter: int) -> Dot:
        """Make the dot `(replica, counter)`."""
        return tuple.__new__(cls, (replica, counter))

    def __getnewargs__(self) -> tuple[str, int]:
        return (self[0], self[1])

    if TYPE_CHECKING:

        @property
        def replica(self) -> str:
            """The replica that made the event."""

        @property
        def counter(self) -> int:
            """That replica's counter for it."""

    else:
        replica = property(itemgetter(0), doc="The replica that made the event.")
        counter = property(itemgetter(1), doc="That replica's counter for it.")

    def __repr__(self) -> str:
        return f"Dot(replica={self[0]!r}, counter={self[1]!r})"


class Entry(tuple[Dot, ObjectId]):
    """One live (head, dot) entry of a branch, ordered by dot, then head (a named tuple, as `Dot`)."""

    __slots__ = ()

    def __new__(cls, dot: Dot, head: ObjectId) -> Entry:
        """Make the entry `(dot, head)`."""
        return tuple.__new__(cls, (dot, head))

    def __getnewargs__(self) -> tuple[Dot, ObjectId]:
        return (self[0], self[1])

    if TYPE_CHECKING:

        @property
        def dot(self) -> Dot:
            """The entry's unique event."""

        @property
        def head(self) -> ObjectId:
            """The commit the branch points at."""

    else:
        dot = property(itemgetter(0), doc="The entry's unique event.")
        head = property(itemgetter(1), doc="The commit the branch points at.")

    def __repr__(self) -> str:
        return f"Entry(dot={self[0]!r}, head={self[1]!r})"


def maximal(heads: Iterable[ObjectId], is_ancestor: Ancestry) -> frozenset[ObjectId]:
    """Keep only heads that are not ancestors of another head.

    Args:
        heads: The candidate heads.
        is_ancestor: ``is_ancestor(a, b)``: a is b or an ancestor of b.

    Returns:
        The heads no other head descends from.
    """
    unique = sorted(set(heads))
    return frozenset(h for h in unique if not any(h != o and is_ancestor(h, o) for o in unique))


@value_class(frozen=True, init=False, repr=False, eq=False)
class RefState(Value):
    """All branches of a replica: live entries by branch name, and the causal context.

    Invariant: every entry's dot is in the context, no dot is in two entries,
    and no branch maps to an empty set (a deleted branch has no key).
    """

    __slots__ = ("branches", "context")

    branches: dict[str, frozenset[Entry]]
    context: dict[str, int]

    def __init__(
        self, branches: dict[str, frozenset[Entry]] | None = None, context: dict[str, int] | None = None
    ) -> None:
        object.__setattr__(self, "branches", {} if branches is None else branches)
        object.__setattr__(self, "context", {} if context is None else context)

    def seen(self, dot: Dot) -> bool:
        """Tell whether this replica has seen `dot` (live or removed)."""
        return dot.counter <= self.context.get(dot.replica, 0)

    def join(self, other: RefState) -> RefState:
        """Merge two replicas' ref states (add-wins).

        Args:
            other: The other replica's state.

        Returns:
            The entries both hold, plus each side's entries whose dots the other side never saw;
            the contexts joined pointwise.
        """
        context = dict(self.context)
        for replica, n in other.context.items():
            if n > context.get(replica, 0):
                context[replica] = n
        branches: dict[str, frozenset[Entry]] = {}
        empty: frozenset[Entry] = frozenset()
        for name in sorted(self.branches.keys() | other.branches.keys()):
            mine = self.branches.get(name, empty)
            theirs = other.branches.get(name, empty)
            if mine == theirs:  # most branches, most of the time
                live = mine
            else:
                live = (
                    (mine & theirs)
                    | frozenset(e for e in mine - theirs if not other.seen(e.dot))
                    | frozenset(e for e in theirs - mine if not self.seen(e.dot))
                )
            if live:
                branches[name] = live
        return RefState(branches, dict(sorted(context.items())))

    def next_dot(self, replica: str) -> Dot:
        """The dot `replica`'s next event gets: one more than its highest dot seen."""
        return Dot(replica, self.context.get(replica, 0) + 1)

    def put(self, name: str, head: ObjectId, replica: str, keep: frozenset[ObjectId] = frozenset()) -> RefState:
        """Point branch `name` at `head` (create, commit, fast-forward or re-create), as `replica`.

        Args:
            name: The branch.
            head: The new head.
            replica: The replica doing it (the new entry's dot is its next one).
            keep: Heads of concurrent siblings that stay; every other entry of the branch is
                replaced (it was seen, so it becomes a tombstone).

        Returns:
            The new state.
        """
        dot = self.next_dot(replica)
        kept = frozenset(e for e in self.branches.get(name, frozenset()) if e.head in keep)
        branches = dict(self.branches)
        branches[name] = kept | {Entry(dot, ObjectId(head))}
        context = dict(self.context)
        context[replica] = dot.counter
        return RefState(dict(sorted(branches.items())), dict(sorted(context.items())))

    def remove(self, name: str) -> RefState:
        """Delete branch `name`: its entries become tombstones (their dots stay in the context)."""
        branches = {n: es for n, es in self.branches.items() if n != name}
        return RefState(branches, dict(self.context))

    def heads(self, name: str, is_ancestor: Ancestry) -> frozenset[ObjectId]:
        """The heads branch `name` shows: its live heads, ancestors of another one dropped."""
        return maximal((e.head for e in self.branches.get(name, frozenset())), is_ancestor)

    def visible(self, is_ancestor: Ancestry) -> dict[str, frozenset[ObjectId]]:
        """The branches that exist (at least one live entry) and the heads each shows."""
        return {n: self.heads(n, is_ancestor) for n in sorted(self.branches)}

    def problem(self) -> str | None:
        """Say which invariant the state breaks, or None (for a state read from another replica)."""
        seen = self.context.get
        dots: set[Dot] = set()
        for name, entries in self.branches.items():
            if not entries:
                return f"branch {name!r} has no entry"
            for e in entries:
                dot = e[0]
                if dot[1] > seen(dot[0], 0):
                    return f"branch {name!r} has a dot its context lacks"
                if dot in dots:
                    return "a dot is in two entries"
                dots.add(dot)
        return None

    def to_bytes(self) -> bytes:
        """Return the canonical encoding (docs/format.md, "Ref state").

        The header line, then the context (count; each replica's 16 raw bytes and its
        counter, by replica), then each branch by name (name length and name; entry count;
        each entry's replica, counter and head, by dot). Integers are big-endian.
        """
        parts = [_MAGIC, len(self.context).to_bytes(4, "big")]
        raw_of: dict[str, bytes] = {}
        for replica in sorted(self.context):
            raw_of[replica] = raw = bytes.fromhex(replica)
            parts.append(_CONTEXT.pack(raw, self.context[replica]))
        pack = _ENTRY.pack
        for name in sorted(self.branches):
            raw = name.encode("utf-8")
            entries = self.branches[name]
            parts.append(_BRANCH_NAME.pack(len(raw)) + raw + _COUNT.pack(len(entries)))
            for (replica, counter), head in sorted(entries) if len(entries) > 1 else entries:
                replica_raw = raw_of.get(replica)
                if replica_raw is None:  # a dot the context lacks (`problem`): encoded all the same
                    replica_raw = raw_of[replica] = bytes.fromhex(replica)
                parts.append(pack(replica_raw, counter, head))
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> RefState:
        """Decode a canonical encoding.

        Args:
            data: The bytes.

        Returns:
            The state.

        Raises:
            CorruptObjectError: If the bytes are not a canonical ref state of format 2 (format 1,
                whose tombstones were commit ids, is refused by name).
        """
        if data.startswith(_OLD_MAGIC):
            raise CorruptObjectError(
                "ref state", "format 1 keys tombstones by commit id, which cannot express add-wins; format 2 is read"
            )
        if not data.startswith(_MAGIC):
            raise CorruptObjectError("ref state", "bad header")
        end = len(data)
        pos = len(_MAGIC)
        if pos + 4 > end:
            raise CorruptObjectError("ref state", "truncated")
        (count,) = _COUNT.unpack_from(data, pos)
        pos += 4
        if count > MAX_REPLICAS:
            raise CorruptObjectError("ref state", "too many replicas in the context")
        context: dict[str, int] = {}
        # Each replica's text once: entries name their replica by its 16 raw bytes again and again.
        text_of: dict[bytes, str] = {}
        last = ""
        for _ in range(count):
            if pos + _CONTEXT.size > end:
                raise CorruptObjectError("ref state", "truncated")
            raw, n = _CONTEXT.unpack_from(data, pos)
            pos += _CONTEXT.size
            replica = text_of[raw] = raw.hex()
            if context and replica <= last:
                raise CorruptObjectError("ref state", "context not sorted or duplicated")
            if not 1 <= n <= MAX_COUNTER:
                raise CorruptObjectError("ref state", "context counter out of range")
            context[replica] = n
            last = replica
        branches: dict[str, frozenset[Entry]] = {}
        unpack_entry = _ENTRY.unpack_from
        new = tuple.__new__
        prev: bytes | None = None
        while pos < end:
            if len(branches) >= MAX_BRANCHES:
                raise CorruptObjectError("ref state", "too many branches")
            if pos + 2 > end:
                raise CorruptObjectError("ref state", "truncated")
            (n,) = _BRANCH_NAME.unpack_from(data, pos)
            pos += 2
            raw = data[pos : pos + n]
            if len(raw) != n or n == 0:
                raise CorruptObjectError("ref state", "truncated or empty branch name")
            if prev is not None and raw <= prev:
                raise CorruptObjectError("ref state", "branch names not sorted or duplicated")
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CorruptObjectError("ref state", "branch name is not UTF-8") from exc
            pos += n
            if pos + 4 > end:
                raise CorruptObjectError("ref state", "truncated")
            (count,) = _COUNT.unpack_from(data, pos)
            pos += 4
            if not 1 <= count <= MAX_HEADS:
                raise CorruptObjectError("ref state", "a branch has no entry or too many")
            if pos + count * _ENTRY.size > end:
                # As entry by entry: the first entry cut short names what is missing.
                cut = (end - pos) % _ENTRY.size
                raise CorruptObjectError("ref state", "truncated" if cut < _CONTEXT.size else "truncated id")
            entries: list[Entry] = []
            for _ in range(count):
                replica_raw, counter, head = unpack_entry(data, pos)
                pos += _ENTRY.size
                replica = text_of.get(replica_raw)
                if replica is None:
                    replica = text_of[replica_raw] = replica_raw.hex()
                entries.append(new(Entry, (new(Dot, (replica, counter)), ObjectId(head))))
            if count > 1 and (entries != sorted(set(entries)) or len({e[0] for e in entries}) != count):
                raise CorruptObjectError("ref state", "entries not sorted or duplicated")
            branches[name] = frozenset(entries)
            prev = raw
        state = cls(branches, context)
        problem = state.problem()
        if problem is not None:
            raise CorruptObjectError("ref state", problem)
        return state

    def digest(self) -> bytes:
        """SHA-256 of the canonical encoding."""
        return digest(self.to_bytes())


def from_rows(entries: Iterable[tuple[str, ObjectId, str, int]], context: Mapping[str, int]) -> RefState:
    """Build a state from stored rows: ``(branch, head, replica, counter)`` entries and the context.

    Args:
        entries: The live entries.
        context: Replica -> highest counter seen.

    Returns:
        The state.

    Raises:
        CorruptObjectError: If the rows break an invariant (a bad replica id or counter, a
            dot the context lacks or held twice).
    """
    branches: dict[str, set[Entry]] = {}
    good: set[str] = set()  # replica ids checked once each
    new = tuple.__new__
    for name, head, replica, counter in entries:
        if replica not in good:
            if not is_replica_id(replica):
                raise CorruptObjectError("ref state", f"branch {name!r} has a malformed entry")
            good.add(replica)
        if not 1 <= counter <= MAX_COUNTER or len(head) != OID_LEN:
            raise CorruptObjectError("ref state", f"branch {name!r} has a malformed entry")
        entry = new(Entry, (new(Dot, (replica, counter)), head))
        held = branches.get(name)
        if held is None:
            branches[name] = {entry}
        else:
            held.add(entry)
    for replica, n in context.items():
        if not is_replica_id(replica) or not 1 <= n <= MAX_COUNTER:
            raise CorruptObjectError("ref state", "malformed context")
    state = RefState(
        {n: frozenset(es) for n, es in sorted(branches.items())},
        dict(sorted(context.items())),
    )
    problem = state.problem()
    if problem is not None:
        raise CorruptObjectError("ref state", problem)
    return state
