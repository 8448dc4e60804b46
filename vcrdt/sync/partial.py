"""Commits a broken-off sync stored with their closure but under no ref.

A receiver that stores a batch of objects before the session ends (`vcrdt.sync.receive`) notes
the commits among them under the meta key ``sync-partial``; the next session names them to its
peer as commits this side holds (a `refs` answer's `I` frame, a request's haves), so a sync
broken off half-way is not sent again. The transaction that moves the refs forgets them.

A module of its own, small: every `refs` answer reads it, and the receiving side's module is far
larger than a read-only session needs.
"""

from __future__ import annotations

from vcrdt.ids import ObjectId
from vcrdt.repo import Repository

# The meta key listing the commits (hex, space-separated), and how many it keeps.
PARTIAL_KEY = "sync-partial"
MAX_PARTIAL = 256


def partial_commits(repo: Repository) -> list[ObjectId]:
    """Commits an earlier, broken-off sync stored with their closure but under no ref."""
    out = []
    for text in (repo.db.get_meta(PARTIAL_KEY) or "").split():
        try:
            oid = ObjectId(bytes.fromhex(text))
        except ValueError:
            continue
        if len(oid) == 32 and repo.store.has(oid):
            out.append(oid)
    return out


def clear_partial(repo: Repository) -> None:
    """Forget the broken-off sync's commits (call in the transaction that moved the refs)."""
    if repo.db.get_meta(PARTIAL_KEY):
        repo.db.set_meta(PARTIAL_KEY, "")
