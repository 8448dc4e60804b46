"""The tie-break total order: which of two concurrent versions counts as later.

Every automatic resolution that must pick or order sides uses this order, so
every replica decides the same way whatever it calls "ours": compare the
commits' Lamport clocks, then their replica ids (as 32 lowercase hex digits,
compared as text), then their commit ids (raw bytes). A `TieKey` with a
larger tuple is *later*. Files merged outside a repository (`merge-file
--rule`) have no commits: their key is `(0, "", SHA-256 of the content)`, so
the order still never depends on argument order. The vectors in
``fixtures/tiebreak.json`` pin this order. Pure: imports only the standard
library and `hashing`.
"""

from __future__ import annotations

from vcrdt.hashing import digest
from vcrdt.values import Value, value_class


@value_class(frozen=True, init=False, repr=False, eq=False)
class TieKey(Value):
    """A side's place in the tie-break order: (Lamport clock, replica id, commit id)."""

    __slots__ = ("lamport", "replica", "commit")  # noqa: RUF023 (field order)

    lamport: int
    replica: str
    commit: bytes

    def __init__(self, lamport: int, replica: str, commit: bytes) -> None:
        object.__setattr__(self, "lamport", lamport)
        object.__setattr__(self, "replica", replica)
        object.__setattr__(self, "commit", commit)

    def __lt__(self, other: TieKey) -> bool:
        if other.__class__ is self.__class__:
            return self._key() < other._key()
        return NotImplemented

    def __le__(self, other: TieKey) -> bool:
        if other.__class__ is self.__class__:
            return self._key() <= other._key()
        return NotImplemented

    def __gt__(self, other: TieKey) -> bool:
        if other.__class__ is self.__class__:
            return self._key() > other._key()
        return NotImplemented

    def __ge__(self, other: TieKey) -> bool:
        if other.__class__ is self.__class__:
            return self._key() >= other._key()
        return NotImplemented

    @classmethod
    def of_content(cls, data: bytes) -> TieKey:
        """The key of a side known only by its bytes (no commit): ordered by content hash.

        >>> TieKey.of_content(b"a") < TieKey.of_content(b"b")
        False
        """
        return cls(0, "", digest(data))

    def successor(self, other: TieKey) -> TieKey:
        """A key later than both `self` and `other` (what a merge of the two carries)."""
        return TieKey(max(self.lamport, other.lamport) + 1, "", b"")
