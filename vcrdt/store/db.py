"""The repository database: one SQLite file in WAL mode under `.vcrdt/`.

Objects, refs, HEAD and the work-tree state all live in this one file, so a
single transaction covers everything an operation changes and a crash leaves
the old state or the new one, never a half. Readers never block; a writer
takes the write lock with ``BEGIN IMMEDIATE`` and waits up to the busy
timeout, after which `RepoBusyError` is raised.

Schema version 1 (see docs/format.md):

- ``meta(key, value)``: format version, replica id, ``HEAD``.
- ``objects(id, kind, size, storage, base, depth, data)`` and
  ``chunks(id, seq, data)``: see `vcrdt.store.sqlite`.
- ``refs(name, head)``: each ref is a set of heads (a multi-value register).
- ``actors(actor, last)``: the clock actors of this replica and the last commit each made
  (see `Repository.new_commit`).
- ``merge_state(key, value)`` and ``conflicts(path, kind, base/ours/theirs
  kind and id, hunks, resolved)``: a merge in progress; see `vcrdt.merge.state`.
- ``worktree(path, head_kind, head_oid, kind, oid, size, mtime_ns, ino,
  ctime_ns, state)``: every tracked path with its entry in HEAD (NULL when
  newly added), the stat cache of its work-tree file, and its state
  (``tracked`` or ``removed``); owned by `vcrdt.worktree`.
- ``checkout_journal(path, kind, oid)``: the work-tree files a checkout still has to write
  (``kind`` NULL: delete); empty unless a checkout was cut short. Owned by `vcrdt.worktree`.

Imports `errors` only.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vcrdt.errors import DiskFullError, RepoBusyError, RepoError, UnsupportedFormatError

SCHEMA_VERSION = 1
DEFAULT_BUSY_TIMEOUT = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS objects (
    id      BLOB PRIMARY KEY,
    kind    INTEGER NOT NULL,
    size    INTEGER NOT NULL,
    storage INTEGER NOT NULL,
    base    BLOB,
    depth   INTEGER NOT NULL DEFAULT 0,
    data    BLOB
);
CREATE TABLE IF NOT EXISTS chunks (
    id   BLOB NOT NULL,
    seq  INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (id, seq)
);
CREATE TABLE IF NOT EXISTS refs (
    name TEXT NOT NULL,
    head BLOB NOT NULL,
    PRIMARY KEY (name, head)
);
CREATE TABLE IF NOT EXISTS ref_tombstones (
    name TEXT NOT NULL,
    head BLOB NOT NULL,
    PRIMARY KEY (name, head)
);
CREATE TABLE IF NOT EXISTS worktree (
    path      BLOB PRIMARY KEY,
    head_kind TEXT,
    head_oid  BLOB,
    kind      TEXT,
    oid       BLOB,
    size     INTEGER NOT NULL DEFAULT -1,
    mtime_ns INTEGER NOT NULL DEFAULT -1,
    ino      INTEGER NOT NULL DEFAULT -1,
    ctime_ns INTEGER NOT NULL DEFAULT -1,
    state    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkout_journal (
    path BLOB PRIMARY KEY,
    kind TEXT,
    oid  BLOB
);
CREATE TABLE IF NOT EXISTS actors (
    actor TEXT PRIMARY KEY,
    last  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS merge_state (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS conflicts (
    path        BLOB PRIMARY KEY,
    kind        TEXT NOT NULL,
    base_kind   TEXT,
    base_oid    BLOB,
    ours_kind   TEXT,
    ours_oid    BLOB,
    theirs_kind TEXT,
    theirs_oid  BLOB,
    hunks       INTEGER NOT NULL DEFAULT 0,
    resolved    INTEGER NOT NULL DEFAULT 0
);
"""


# Free space below which an I/O error while writing is taken for a full disk: SQLite reports
# ENOSPC as SQLITE_FULL from a write, but as a plain I/O error from some calls (growing the
# shared-memory file of a WAL database when it opens it, for one).
FULL_BELOW = 256 * 1024


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def is_disk_full(exc: sqlite3.Error, path: Path) -> bool:
    """Tell whether `exc`, from the database at `path`, means that its disk is full.

    SQLITE_FULL says so; an I/O error does when the file system has (almost) no space left.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc):
        return True
    if primary != sqlite3.SQLITE_IOERR and "disk I/O error" not in str(exc):
        return False
    try:
        fs = os.statvfs(path.parent)
    except OSError:
        return False
    return fs.f_bavail * fs.f_frsize < FULL_BELOW


def database_error(
    exc: sqlite3.Error, path: Path, message: str, *, hint: str | None = None, rolled_back: bool = True
) -> RepoError:
    """Return the vcrdt error for a failure `exc` of the database at `path`.

    A full disk gives `DiskFullError` (saying that nothing changed when the
    caller has `rolled_back` what it wrote), a lock held too long
    `RepoBusyError`, anything else a `RepoError` with `message` and `hint`.
    """
    if is_disk_full(exc, path):
        return DiskFullError(str(path), rolled_back=rolled_back)
    if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
        return RepoBusyError()
    return RepoError(message, hint=hint)


class Database:
    """A connection to the repository database with explicit transactions."""

    def __init__(self, path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT, create: bool = False) -> None:
        """Open (or with `create`, create) the database at `path`.

        Raises:
            RepoError: If the file cannot be opened.
            UnsupportedFormatError: If the schema version is unknown.
            RepoBusyError: If the database stays locked past the timeout.
        """
        self.path = path
        self._depth = 0
        self._timeout = busy_timeout
        if not create and not path.exists():
            raise RepoError(f"repository database {path} is missing")
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            self.conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA foreign_keys=OFF")
            if create:
                with self.write():
                    for stmt in _SCHEMA.split(";"):
                        if stmt.strip():
                            self.conn.execute(stmt)
                    self.conn.execute(
                        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                    )
        except sqlite3.DatabaseError as exc:
            raise database_error(exc, path, f"cannot open repository database {path}: {exc}") from exc
        try:
            (tables,) = self.conn.execute(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                " AND name IN ('actors', 'checkout_journal', 'conflicts', 'merge_state', 'ref_tombstones')"
            ).fetchone()
            version = self.get_meta("schema")
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise database_error(
                exc, path, f"repository database {path} is damaged: {exc}", hint="restore .vcrdt/store.db from a backup"
            ) from exc
        if not create and tables < 5:
            # A repository made by an earlier build: add the new tables (no data changes). A database
            # this process cannot write is read as it is (it has no checkout journal to finish).
            try:
                with self.write():
                    for stmt in _SCHEMA.split(";"):
                        if stmt.strip():
                            self.conn.execute(stmt)
            except RepoError as exc:
                if "readonly" not in str(exc.__cause__):
                    raise
        if version != str(SCHEMA_VERSION):
            raise UnsupportedFormatError(f"unsupported repository schema version {version!r} in {path}")

    @property
    def in_transaction(self) -> bool:
        """True inside a `write` block (or a `try_write` that got the lock)."""
        return self._depth > 0

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one write transaction (nested blocks join the outer one).

        Raises:
            RepoBusyError: If another writer holds the lock past the busy timeout.
        """
        if self._depth > 0:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise database_error(exc, self.path, f"cannot start a transaction: {exc}") from exc
        with self._begun(strict=True) as conn:
            yield conn

    @contextmanager
    def scratch(self) -> Iterator[sqlite3.Connection]:
        """Run a block in a write transaction that is always rolled back: nothing it writes is kept.

        Inside a transaction the block runs under a savepoint rolled back at its
        end, so the outer transaction keeps only its own writes.

        Raises:
            RepoBusyError: If another writer holds the lock past the busy timeout.
        """
        if self._depth > 0:
            self.conn.execute("SAVEPOINT scratch")
            try:
                yield self.conn
            finally:
                self.conn.execute("ROLLBACK TO scratch")
                self.conn.execute("RELEASE scratch")
            return
        with self.write() as conn:
            self.conn.execute("SAVEPOINT scratch")
            try:
                yield conn
            finally:
                self.conn.execute("ROLLBACK TO scratch")
                self.conn.execute("RELEASE scratch")

    @contextmanager
    def read(self) -> Iterator[None]:
        """Run a block's reads on one snapshot of the database (inside a transaction, join it).

        The block must not write: a read transaction cannot be upgraded safely in WAL mode.
        """
        if self._depth > 0:
            yield
            return
        self.conn.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            self._rollback_quietly()

    @contextmanager
    def _begun(self, *, strict: bool) -> Iterator[sqlite3.Connection]:
        """Run the block of a transaction whose BEGIN succeeded: roll back on error, else commit.

        A failed COMMIT raises when `strict`; otherwise (cache updates) it is dropped.
        """
        self._depth = 1
        try:
            yield self.conn
        except sqlite3.Error as exc:
            # A statement failed inside the operation (disk full, I/O error, damaged file):
            # nothing of it is kept, and the caller gets one clear error.
            self._depth = 0
            self._rollback_quietly()
            message = f"repository database {self.path}: {exc}; nothing was changed"
            raise database_error(exc, self.path, message) from exc
        except BaseException:
            self._depth = 0
            self._rollback_quietly()
            raise
        self._depth = 0
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            # SQLite may have rolled back on its own already (it does after SQLITE_FULL).
            self._rollback_quietly()
            if not strict:
                return
            raise database_error(exc, self.path, f"cannot commit the transaction: {exc}; nothing was changed") from exc

    def _rollback_quietly(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # SQLite may already have rolled back on its own (e.g. after SQLITE_FULL)

    @contextmanager
    def try_write(self) -> Iterator[sqlite3.Connection | None]:
        """Run a block in a write transaction if the lock is free now, else with None.

        Used for opportunistic cache updates that must never make a reader wait.
        """
        if self._depth > 0:
            with self.write() as conn:
                yield conn
            return
        self.conn.execute("PRAGMA busy_timeout = 0")
        try:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                yield None
                return
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
        with self._begun(strict=False) as conn:
            yield conn

    def get_meta(self, key: str) -> str | None:
        """Return a `meta` value, or None."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a `meta` value (inside the caller's write transaction)."""
        with self.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def delete_meta(self, key: str) -> None:
        """Remove a `meta` value if present (inside the caller's write transaction)."""
        with self.write() as conn:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
