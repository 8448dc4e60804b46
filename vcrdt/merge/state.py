"""A merge in progress, persisted in the repository database.

`merge_state` holds the other commit (``theirs``), the commit HEAD was at
(``orig``), the merge message and the conflict style; `conflicts` holds one
row per conflicted path with the three sides' entries and whether the user
has resolved it. Both survive across processes until the merge is committed
or aborted.
"""

from __future__ import annotations

from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.paths import decode, encode
from vcrdt.store.db import Database

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from vcrdt.merge.conflicts import PathConflict, Side

_KINDS = {k.value: k for k in EntryKind}


def _side(kind: str | None, oid: bytes | None) -> Side:
    from vcrdt.merge.conflicts import Side

    return Side(_KINDS[kind], ObjectId(oid)) if kind is not None and oid is not None else Side()


class MergeState:
    """Read and write the merge-in-progress tables."""

    def __init__(self, db: Database) -> None:
        """Wrap the database."""
        self.db = db

    def in_progress(self) -> bool:
        """True while a merge waits to be committed or aborted."""
        return self.db.conn.execute("SELECT 1 FROM merge_state WHERE key = 'theirs'").fetchone() is not None

    def get(self, key: str) -> bytes | None:
        """Return a merge-state value."""
        row = self.db.conn.execute("SELECT value FROM merge_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def theirs(self) -> ObjectId | None:
        """The commit being merged in."""
        value = self.get("theirs")
        return ObjectId(value) if value is not None else None

    def start(
        self,
        theirs: ObjectId,
        orig: ObjectId,
        message: str,
        conflicts: list[PathConflict],
        style: str,
        *,
        resolutions: ObjectId | None = None,
        reopen: bool = False,
    ) -> None:
        """Record a merge that stopped with conflicts (inside the caller's transaction).

        `resolutions` is the blob recording what rules settled, for the merge
        commit. With `reopen`, the "merge" is a reopened path of an existing
        merge commit (HEAD): committing it makes an ordinary commit.
        """
        values: list[tuple[str, bytes]] = [
            ("theirs", theirs),
            ("orig", orig),
            ("message", message.encode()),
            ("style", style.encode()),
        ]
        if resolutions is not None:
            values.append(("resolutions", resolutions))
        if reopen:
            values.append(("reopen", b"1"))
        with self.db.write() as conn:
            self.clear()
            conn.executemany("INSERT INTO merge_state(key, value) VALUES (?, ?)", values)
            conn.executemany(
                "INSERT OR REPLACE INTO conflicts(path, kind, base_kind, base_oid, ours_kind, ours_oid, theirs_kind,"
                " theirs_oid, hunks, resolved) VALUES (?,?,?,?,?,?,?,?,?,0)",
                [
                    (
                        encode(c.path),
                        c.kind,
                        c.base.kind.value if c.base.kind else None,
                        c.base.oid,
                        c.ours.kind.value if c.ours.kind else None,
                        c.ours.oid,
                        c.theirs.kind.value if c.theirs.kind else None,
                        c.theirs.oid,
                        c.hunks,
                    )
                    for c in conflicts
                ],
            )

    def conflicts(self, *, unresolved_only: bool = False) -> list[tuple[PathConflict, bool]]:
        """Return every recorded conflict with its resolved flag, by path."""
        rows = self.db.conn.execute(
            "SELECT path, kind, base_kind, base_oid, ours_kind, ours_oid, theirs_kind, theirs_oid, hunks, resolved"
            " FROM conflicts ORDER BY path"
        ).fetchall()
        if not rows:  # no merge stopped: status asks every time, without loading the merge machinery
            return []
        from vcrdt.merge.conflicts import PathConflict

        out = []
        for path, kind, bk, bo, ok, oo, tk, to, hunks, resolved in rows:
            if unresolved_only and resolved:
                continue
            conflict = PathConflict(decode(bytes(path)), kind, _side(bk, bo), _side(ok, oo), _side(tk, to), hunks)
            out.append((conflict, bool(resolved)))
        return out

    def put(self, key: str, value: bytes) -> None:
        """Set a merge-state value (inside the caller's transaction)."""
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO merge_state(key, value) VALUES (?, ?)", (key, value))

    def mark_resolved(self, path: str, resolved: bool = True) -> bool:
        """Mark one path resolved (or not); False if it is not a recorded conflict."""
        with self.db.write() as conn:
            cur = conn.execute("UPDATE conflicts SET resolved = ? WHERE path = ?", (int(resolved), encode(path)))
            return cur.rowcount > 0

    def finish_stash(self) -> bool:
        """End a stash apply that stopped with conflicts once every conflict is resolved (it makes no commit).

        Returns:
            True when it ended one.
        """
        if self.get("stash") is None or self.conflicts(unresolved_only=True):
            return False
        self.clear()
        return True

    def clear(self) -> None:
        """Forget the merge (after commit or abort)."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM merge_state")
            conn.execute("DELETE FROM conflicts")
