"""The id mapping and the ref state of earlier imports and exports, kept in the repository's database.

Both are local caches of what the history itself determines (any replica can recompute a git
id from its commits and their git records, docs/format.md); they make incremental runs cheap
and are written in the same transaction as the objects and refs of the run that filled them.

- ``git_map(git_id, vcrdt_id, kind)``: one row per git object written or read, keyed by the
  git id (20 bytes for SHA-1, 32 for SHA-256). Only *canonical* conversions are kept: a tree
  that git stored in an order or with modes of its own is left out, so vcrdt id to git id
  (for one hash length) is a function.
- ``git_refs(source, direction, name, git_id)``: per git directory and direction (``import``
  or ``export``), where each ref was when the last run finished, to follow branches moved or
  deleted since.

Imports `store` and `ids` only.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see vcrdt.store.db
from collections.abc import Iterable

from vcrdt.ids import ObjectId
from vcrdt.store.db import Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS git_map (
    git_id   BLOB PRIMARY KEY,
    vcrdt_id BLOB NOT NULL,
    kind     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS git_map_vcrdt ON git_map(vcrdt_id);
CREATE TABLE IF NOT EXISTS git_refs (
    source    TEXT NOT NULL,
    direction TEXT NOT NULL,
    name      BLOB NOT NULL,
    git_id    BLOB NOT NULL,
    PRIMARY KEY (source, direction, name)
);
"""


def ensure_tables(db: Database) -> None:
    """Create the two tables if missing (inside the caller's write transaction)."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            db.conn.execute(statement)


def _has_tables(db: Database) -> bool:
    row = db.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'git_map'").fetchone()
    return row is not None


def is_empty(db: Database) -> bool:
    """Tell whether the mapping holds no row (or has no table yet)."""
    if not _has_tables(db):
        return True
    return db.conn.execute("SELECT 1 FROM git_map LIMIT 1").fetchone() is None


def to_vcrdt(db: Database, git_id: bytes) -> tuple[ObjectId, str] | None:
    """The vcrdt id and kind mapped to a git id, if known."""
    try:
        row = db.conn.execute("SELECT vcrdt_id, kind FROM git_map WHERE git_id = ?", (git_id,)).fetchone()
    except sqlite3.OperationalError:
        return None  # no table yet
    return None if row is None else (ObjectId(bytes(row[0])), str(row[1]))


def to_vcrdt_stored(db: Database, git_ids: Iterable[bytes]) -> dict[bytes, tuple[ObjectId, str]]:
    """`to_vcrdt` of many git ids at once, those whose vcrdt object is also stored, a few statements in all.

    The mapping is joined with the store's ``objects`` table (the same database): one statement
    per 500 ids says both that an id is mapped and that its object is there (a row whose
    object is gone, which `vcrdt gc` does not leave but a damaged store could, is left out).
    """
    wanted = list(set(git_ids))
    out: dict[bytes, tuple[ObjectId, str]] = {}
    for i in range(0, len(wanted), 500):
        batch = wanted[i : i + 500]
        marks = ",".join("?" * len(batch))
        try:
            rows = db.conn.execute(
                "SELECT m.git_id, m.vcrdt_id, m.kind FROM git_map AS m JOIN objects AS o ON o.id = m.vcrdt_id"
                f" WHERE m.git_id IN ({marks})",
                batch,
            )
        except sqlite3.OperationalError:
            return {}  # no table yet
        for g, v, k in rows:
            out[bytes(g)] = (ObjectId(bytes(v)), str(k))
    return out


def to_git(db: Database, vcrdt_id: ObjectId, hash_len: int) -> list[tuple[bytes, str]]:
    """The git ids (of `hash_len` bytes) and kinds mapped to a vcrdt id."""
    try:
        rows = db.conn.execute("SELECT git_id, kind FROM git_map WHERE vcrdt_id = ?", (vcrdt_id,)).fetchall()
    except sqlite3.OperationalError:
        return []
    return [(bytes(g), str(k)) for g, k in rows if len(g) == hash_len]


def add(db: Database, rows: Iterable[tuple[bytes, ObjectId, str]]) -> None:
    """Record ``(git id, vcrdt id, kind)`` rows (inside the caller's transaction)."""
    db.conn.executemany("INSERT OR REPLACE INTO git_map(git_id, vcrdt_id, kind) VALUES (?, ?, ?)", list(rows))


def imported_id_lengths(db: Database) -> set[int]:
    """The lengths of the git ids the refs of earlier imports name (20: SHA-1, 32: SHA-256)."""
    if not _has_tables(db):
        return set()
    rows = db.conn.execute("SELECT DISTINCT length(git_id) FROM git_refs WHERE direction = 'import'").fetchall()
    return {int(n) for (n,) in rows}


def ref_state(db: Database, source: str, direction: str) -> dict[bytes, bytes]:
    """Where each ref was at the end of the last run for `source` in `direction`."""
    if not _has_tables(db):
        return {}
    rows = db.conn.execute(
        "SELECT name, git_id FROM git_refs WHERE source = ? AND direction = ?", (source, direction)
    ).fetchall()
    return {bytes(n): bytes(g) for n, g in rows}


def set_ref_state(db: Database, source: str, direction: str, state: dict[bytes, bytes]) -> None:
    """Replace the ref state of `source` in `direction` (inside the caller's transaction)."""
    db.conn.execute("DELETE FROM git_refs WHERE source = ? AND direction = ?", (source, direction))
    db.conn.executemany(
        "INSERT INTO git_refs(source, direction, name, git_id) VALUES (?, ?, ?, ?)",
        [(source, direction, n, g) for n, g in sorted(state.items())],
    )
