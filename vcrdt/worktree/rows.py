"""The ``worktree`` table: one row per tracked path, with its HEAD entry and its stat cache.

A row holds the path's entry in HEAD (NULL for a newly added path), the id and
stat of the work-tree file when it was last hashed, and its state
(``tracked``, or ``removed`` after `vcrdt rm`). `RowTable` is the only code
that reads or writes the table.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.paths import check_path, encode
from vcrdt.store.db import Database

KINDS: dict[str | None, EntryKind] = {k.value: k for k in EntryKind}
FlatTree = dict[str, tuple[EntryKind, ObjectId]]
Progress = Callable[[int, int], None]
SettleKey = tuple[bytes, int, int, int, int, int]  # (path as stored, size, mtime_ns, ino, ctime_ns, 1): a row as read

# Bumped in `meta` whenever rows are deleted, which can make a kept file untracked without a
# file-system event (see `vcrdt.worktree.status`).
ROWS_EPOCH = "rows_epoch"
# A row a matching stat settles: tracked, and its cached entry is HEAD's.
SETTLED = "state = 'tracked' AND kind IS NOT NULL AND oid IS NOT NULL AND kind IS head_kind AND oid IS head_oid"
# Past this many paths, reading every row and filtering beats looking each batch up.
_LOOKUP_LIMIT = 2000
_LOOKUP_BATCH = 500


@dataclass(slots=True)
class Row:
    """One tracked path as stored in the ``worktree`` table."""

    path: str
    head_kind: EntryKind | None
    head_oid: ObjectId | None
    kind: EntryKind | None = None
    oid: ObjectId | None = None
    size: int = -1
    mtime_ns: int = -1
    ino: int = -1
    ctime_ns: int = -1
    state: str = "tracked"

    def matches(self, st: os.stat_result) -> bool:
        """Tell whether the cached stat equals `st` (so a cached id, if any, is current)."""
        return (
            self.size == st.st_size
            and self.mtime_ns == st.st_mtime_ns
            and self.ino == st.st_ino
            and self.ctime_ns == st.st_ctime_ns
        )


class RowTable:
    """Reads and writes of the ``worktree`` table.

    `version` grows with every change to the rows' HEAD entries or set (a
    cache of what HEAD holds compares it).
    """

    def __init__(self, db: Database) -> None:
        """Bind the table of `db`."""
        self.db = db
        self.version = 0

    def all(self) -> dict[str, Row]:
        """Return every tracked path's row."""
        return self.select()

    def select(self, where: str = "", args: Sequence[bytes] = ()) -> dict[str, Row]:
        """Return the rows a ``WHERE`` clause (with its arguments) picks, by path."""
        kinds = KINDS
        # sqlite3 returns BLOB columns as bytes already; no copies on this hot path.
        return {
            (path := raw.decode("utf-8", "surrogateescape")): Row(
                path, kinds.get(hk), hoid, kinds.get(k), oid, size, mtime, ino, ctime, state
            )
            for raw, hk, hoid, k, oid, size, mtime, ino, ctime, state in self.db.conn.execute(
                "SELECT path, head_kind, head_oid, kind, oid, size, mtime_ns, ino, ctime_ns, state FROM worktree "
                + where,
                args,
            )
        }

    def of(self, paths: list[str]) -> dict[str, Row]:
        """Return the rows of those of `paths` that are tracked (all rows, filtered, when they are many).

        A path without a row (an untracked file or directory a monitor named,
        a temporary file) is left out, whichever way the rows are read.
        """
        if len(paths) > _LOOKUP_LIMIT:
            every = self.all()
            return {p: every[p] for p in paths if p in every}
        out: dict[str, Row] = {}
        for i in range(0, len(paths), _LOOKUP_BATCH):
            batch = paths[i : i + _LOOKUP_BATCH]
            out.update(self.select(f"WHERE path IN ({','.join('?' * len(batch))})", [encode(p) for p in batch]))
        return out

    def settle_keys(self) -> tuple[dict[str, SettleKey | None], dict[str, Row]]:
        """Return every tracked path with its cached stat if a matching stat settles it; and the other rows.

        A path that is tracked and whose cached entry equals its HEAD entry
        (so a matching stat settles it) maps to the row's columns ``(path,
        size, mtime_ns, ino, ctime_ns, 1)`` as the database returns them (no
        tuple built for the ten thousand rows a status reads). Every other
        path maps to None, and its row comes whole in the second map.
        """
        keys: dict[str, SettleKey | None] = {
            row[0].decode("utf-8", "surrogateescape"): row if row[5] else None
            for row in self.db.conn.execute(f"SELECT path, size, mtime_ns, ino, ctime_ns, {SETTLED} FROM worktree")
        }
        pending = [path for path, key in keys.items() if key is None]
        return keys, self.of(pending) if pending else {}

    def head_flat(self, rows: dict[str, Row] | None = None) -> FlatTree:
        """Return HEAD's flat tree as recorded in the rows (the caller's `rows` when given)."""
        return {
            p: (r.head_kind, r.head_oid)
            for p, r in (self.all() if rows is None else rows).items()
            if r.head_kind is not None and r.head_oid is not None
        }

    def head_links(self) -> list[tuple[str, ObjectId]]:
        """Return HEAD's symlinks: each path with its blob id."""
        return [
            (raw.decode("utf-8", "surrogateescape"), ObjectId(oid))
            for raw, oid in self.db.conn.execute(
                "SELECT path, head_oid FROM worktree WHERE head_kind = ? AND head_oid IS NOT NULL",
                (EntryKind.SYMLINK.value,),
            ).fetchall()
        ]

    def states(self) -> dict[str, str]:
        """Return every tracked path's state (``tracked`` or ``removed``), without loading whole rows."""
        return {
            raw.decode("utf-8", "surrogateescape"): state
            for raw, state in self.db.conn.execute("SELECT path, state FROM worktree")
        }

    def is_tracked(self, path: str) -> bool:
        """Tell whether `path` has a row."""
        return self.db.conn.execute("SELECT 1 FROM worktree WHERE path = ?", (encode(path),)).fetchone() is not None

    def has_tracked_under(self, directory: str) -> bool:
        """Tell whether any row lies below `directory`."""
        low = encode(directory + "/")
        high = encode(directory + "0")  # "0" follows "/" in byte order
        row = self.db.conn.execute("SELECT 1 FROM worktree WHERE path >= ? AND path < ? LIMIT 1", (low, high))
        return row.fetchone() is not None

    def save(self, rows: Iterable[Row]) -> None:
        """Write whole rows (inserted or replaced)."""
        self.version += 1
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO worktree(path, head_kind, head_oid, kind, oid, size, mtime_ns, ino, ctime_ns,"
                " state) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        encode(r.path),
                        r.head_kind.value if r.head_kind else None,
                        r.head_oid,
                        r.kind.value if r.kind else None,
                        r.oid,
                        r.size,
                        r.mtime_ns,
                        r.ino,
                        r.ctime_ns,
                        r.state,
                    )
                    for r in rows
                ],
            )

    def refresh_caches(self, rows: Iterable[Row]) -> None:
        """Save the stat caches of rows read earlier, outside the write lock (by `status`).

        Only the cache columns are written, and only where the row still has
        the HEAD entry and state it was read with: a commit or checkout that
        landed since the rows were read keeps what it wrote (a cache is only
        ever a hint; losing one costs a rehash).
        """
        with self.db.write() as conn:
            conn.executemany(
                "UPDATE worktree SET kind = ?, oid = ?, size = ?, mtime_ns = ?, ino = ?, ctime_ns = ?"
                " WHERE path = ? AND head_kind IS ? AND head_oid IS ? AND state = ?",
                [
                    (
                        r.kind.value if r.kind else None,
                        r.oid,
                        r.size,
                        r.mtime_ns,
                        r.ino,
                        r.ctime_ns,
                        encode(r.path),
                        r.head_kind.value if r.head_kind else None,
                        r.head_oid,
                        r.state,
                    )
                    for r in rows
                ],
            )

    def delete(self, paths: Iterable[str]) -> None:
        """Delete the rows of `paths` (and bump the rows epoch)."""
        keys = [(encode(p),) for p in paths]
        if not keys:
            return
        self.version += 1
        with self.db.write() as conn:
            conn.executemany("DELETE FROM worktree WHERE path = ?", keys)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, '1')"
                " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                (ROWS_EPOCH,),
            )

    def reset_states(self) -> None:
        """Mark every row tracked again (undoes `remove` on all paths)."""
        with self.db.write() as conn:
            conn.execute("UPDATE worktree SET state = 'tracked' WHERE state != 'tracked'")

    def track(self, paths: list[str], states: dict[str, str]) -> list[str]:
        """Start tracking files given the current `states` (updated in place); return the paths newly tracked."""
        new = [p for p in paths if p not in states]
        revived = [p for p in paths if states.get(p) == "removed"]
        for p in new:
            check_path(p)  # tracked paths were checked when they were added or checked out
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO worktree(path, head_kind, head_oid, kind, oid, state) VALUES (?, NULL, NULL, NULL, NULL,"
                " 'tracked')",
                [(encode(p),) for p in new],
            )
            conn.executemany("UPDATE worktree SET state = 'tracked' WHERE path = ?", [(encode(p),) for p in revived])
        for p in new + revived:
            states[p] = "tracked"
        return sorted(new + revived)
