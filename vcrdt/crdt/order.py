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

from dataclasses import dataclass

from vcrdt.hashing import digest


@dataclass(frozen=True, slots=True, order=True)
class TieKey:
    """A side's place in the tie-break order: (Lamport clock, replica id, commit id)."""

    lamport: int
    replica: str
    commit: bytes

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
