"""Branches as a CRDT: each branch a multi-value register of heads, with add-wins deletion.

A `BranchState` holds a branch's live heads (no head an ancestor of another)
and the tombstones left by deletions: the heads a deletion saw. A head is dead
when it is a tombstone or an ancestor of one; a head no deletion ever saw
stays alive, so a concurrent new commit brings a deleted branch back
(add-wins). Joining two states unions heads and tombstones, drops dead heads,
and keeps only the maximal ones, which makes `join` commutative, associative
and idempotent (the property tests check all three).

`RefState` maps branch names to `BranchState` and has one canonical byte
encoding and a SHA-256 digest, for sync to compare and exchange. Ancestry is
asked of a callable passed in (`is_ancestor(a, b)`: a is b or an ancestor of
b), so this module stays pure: it imports only the standard library, `ids`,
`errors` and `hashing`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from vcrdt.errors import CorruptObjectError
from vcrdt.hashing import digest
from vcrdt.ids import OID_LEN, ObjectId

Ancestry = Callable[[ObjectId, ObjectId], bool]
_MAGIC = b"vcrdt-refstate 1\n"
MAX_BRANCHES = 100_000
MAX_HEADS = 10_000


def _maximal(heads: Iterable[ObjectId], is_ancestor: Ancestry) -> frozenset[ObjectId]:
    """Keep only heads that are not ancestors of another head."""
    unique = sorted(set(heads))
    return frozenset(h for h in unique if not any(h != o and is_ancestor(h, o) for o in unique))


@dataclass(frozen=True, slots=True)
class BranchState:
    """One branch: live heads (siblings when several) and deletion tombstones."""

    heads: frozenset[ObjectId] = field(default_factory=frozenset)
    tombstones: frozenset[ObjectId] = field(default_factory=frozenset)

    @property
    def deleted(self) -> bool:
        """True when no head is alive."""
        return not self.heads

    def join(self, other: BranchState, is_ancestor: Ancestry) -> BranchState:
        """Merge two replicas' views of the branch."""
        tombs = self.tombstones | other.tombstones
        alive = [h for h in self.heads | other.heads if not any(is_ancestor(h, t) for t in tombs)]
        return BranchState(_maximal(alive, is_ancestor), tombs)

    def advance(self, new: ObjectId, is_ancestor: Ancestry) -> BranchState:
        """Record a local commit (or fast-forward) to `new` on this branch."""
        return BranchState(_maximal([*self.heads, new], is_ancestor), self.tombstones)

    def delete(self) -> BranchState:
        """Delete the branch: every head it has now becomes a tombstone."""
        return BranchState(frozenset(), self.tombstones | self.heads)


@dataclass(frozen=True, slots=True)
class RefState:
    """All branches of a replica, as a join-semilattice."""

    branches: dict[str, BranchState] = field(default_factory=dict)

    def join(self, other: RefState, is_ancestor: Ancestry) -> RefState:
        """Merge two replicas' ref states."""
        names = set(self.branches) | set(other.branches)
        empty = BranchState()
        return RefState(
            {n: self.branches.get(n, empty).join(other.branches.get(n, empty), is_ancestor) for n in sorted(names)}
        )

    def visible(self) -> dict[str, frozenset[ObjectId]]:
        """The branches that exist (at least one live head)."""
        return {n: b.heads for n, b in sorted(self.branches.items()) if b.heads}

    def to_bytes(self) -> bytes:
        """Return the canonical encoding: sorted names, each with sorted heads and tombstones."""
        parts = [_MAGIC]
        for name in sorted(self.branches):
            b = self.branches[name]
            raw = name.encode("utf-8")
            parts.append(len(raw).to_bytes(2, "big") + raw)
            for group in (b.heads, b.tombstones):
                parts.append(len(group).to_bytes(4, "big") + b"".join(sorted(group)))
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> RefState:
        """Decode a canonical encoding.

        Raises:
            CorruptObjectError: If the bytes are not a canonical ref state.
        """
        if not data.startswith(_MAGIC):
            raise CorruptObjectError("ref state", "bad header")
        pos = len(_MAGIC)
        branches: dict[str, BranchState] = {}
        prev: bytes | None = None
        while pos < len(data):
            if len(branches) >= MAX_BRANCHES:
                raise CorruptObjectError("ref state", "too many branches")
            n, pos = _take_int(data, pos, 2)
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
            groups: list[frozenset[ObjectId]] = []
            for _ in range(2):
                count, pos = _take_int(data, pos, 4)
                if count > MAX_HEADS:
                    raise CorruptObjectError("ref state", "too many heads")
                ids = [ObjectId(data[pos + i * OID_LEN : pos + (i + 1) * OID_LEN]) for i in range(count)]
                if any(len(x) != OID_LEN for x in ids):
                    raise CorruptObjectError("ref state", "truncated id")
                if ids != sorted(set(ids)):
                    raise CorruptObjectError("ref state", "ids not sorted or duplicated")
                groups.append(frozenset(ids))
                pos += count * OID_LEN
            branches[name] = BranchState(groups[0], groups[1])
            prev = raw
        return cls(branches)

    def digest(self) -> bytes:
        """SHA-256 of the canonical encoding."""
        return digest(self.to_bytes())


def _take_int(data: bytes, pos: int, size: int) -> tuple[int, int]:
    chunk = data[pos : pos + size]
    if len(chunk) != size:
        raise CorruptObjectError("ref state", "truncated")
    return int.from_bytes(chunk, "big"), pos + size
