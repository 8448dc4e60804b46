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
- ``ref_entries(replica, counter, name, head)`` and ``ref_context(replica, counter)``: the
  branches' add-wins state, entries keyed by dot (see `vcrdt.refs`); ``ref_tombstones`` is the
  earlier form, read from replicas that have not been upgraded.
- ``actors(actor, last)``: unused since repository format 2 (format 1's clock actors).
  The clock counter of a replica is ``meta`` ``counter:<replica>`` (`Repository.new_commit`).
- ``merge_state(key, value)`` and ``conflicts(path, kind, base/ours/theirs
  kind and id, hunks, resolved)``: a merge in progress; see `vcrdt.merge.state`.
- ``worktree(path, head_kind, head_oid, kind, oid, size, mtime_ns, ino,
  ctime_ns, state)``: every tracked path with its entry in HEAD (NULL when
  newly added), the stat cache of its work-tree file, and its state
  (``tracked`` or ``removed``); owned by `vcrdt.worktree`.
- ``statpack(id, serial, data)``: at most one row, the stat-cache pack (every ``worktree`` row's
  path and stat cache in one blob); dropped by triggers on any change to ``worktree``. Owned by
  `vcrdt.worktree.rows`.
- ``checkout_journal(path, kind, oid)``: the work-tree files a checkout still has to write
  (``kind`` NULL: delete); empty unless a checkout was cut short. Owned by `vcrdt.worktree`.
- ``oplog(seq, time, kind, summary, head_before, head_after, refs, wt_before, wt_after, undoes)``:
  the operation log (`vcrdt oplog`, `vcrdt undo`), one row per operation that moved a ref or
  rewrote the work tree, written in that operation's transaction. Owned by `vcrdt.store.oplog`.
- ``commits(id, lamport, time, tz, parents, name, email, message)``: one row per commit stored
  whole, derived from its object and written with it. Owned by `vcrdt.store.commits`.
- ``tokens(id, hash, scope, created, expires, revoked)``: access tokens of ``vcrdt serve`` (only
  the SHA-256 of each secret; ``scope`` is ``read`` or ``write``; times in Unix seconds, NULL:
  never). Owned by `vcrdt.sync.tokens`.

A replica's database is opened read-only (`Database(..., read_only=True)`): never switched to
WAL, never given tables, read on one snapshot, with the tables it reads checked to be vcrdt's
own (not views, no other columns), and with a time limit on each statement.

Imports `errors`, `store.fingerprints` (on first use) and `store.commits` only.
"""

from __future__ import annotations

# SQLite's C module, not the `sqlite3` package: the package adds only its date and time
# adapters, which import `datetime` (over a millisecond of every command's start-up) and which
# vcrdt never uses; its classes and functions are the C module's. Every module does the same.
import _sqlite3 as sqlite3
import os
import time

from vcrdt.errors import DiskFullError, RepoBusyError, RepoError, UnsupportedFormatError
from vcrdt.extensions import contextmanager  # contextlib on first use
from vcrdt.store import commits

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Any

SCHEMA_VERSION = 1
DEFAULT_BUSY_TIMEOUT = 10.0
# Set in a command server's spare child (vcrdt.daemon.server): a connection it opened ahead to `path`, or None.
open_ahead: Callable[[str, float], sqlite3.Connection | None] | None = None

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
CREATE TABLE IF NOT EXISTS ref_entries (
    replica TEXT NOT NULL,
    counter INTEGER NOT NULL,
    name    TEXT NOT NULL,
    head    BLOB NOT NULL,
    PRIMARY KEY (replica, counter)
);
CREATE TABLE IF NOT EXISTS ref_context (
    replica TEXT PRIMARY KEY,
    counter INTEGER NOT NULL
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
CREATE TABLE IF NOT EXISTS statpack (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    serial INTEGER NOT NULL,
    data   BLOB NOT NULL
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
CREATE TABLE IF NOT EXISTS fingerprints (
    prefix TEXT PRIMARY KEY,
    count  INTEGER NOT NULL,
    w0 INTEGER NOT NULL, w1 INTEGER NOT NULL, w2 INTEGER NOT NULL, w3 INTEGER NOT NULL,
    w4 INTEGER NOT NULL, w5 INTEGER NOT NULL, w6 INTEGER NOT NULL, w7 INTEGER NOT NULL
) WITHOUT ROWID;
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
CREATE TABLE IF NOT EXISTS oplog (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    time        REAL NOT NULL,
    kind        TEXT NOT NULL,
    summary     TEXT NOT NULL,
    head_before TEXT NOT NULL,
    head_after  TEXT NOT NULL,
    refs        TEXT NOT NULL,
    wt_before   BLOB,
    wt_after    BLOB,
    undoes      INTEGER
);
CREATE TABLE IF NOT EXISTS commits (
    id      BLOB PRIMARY KEY,
    lamport INTEGER NOT NULL,
    time    INTEGER NOT NULL,
    tz      INTEGER NOT NULL,
    parents BLOB NOT NULL,
    name    TEXT NOT NULL,
    email   TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    id      TEXT PRIMARY KEY,
    hash    BLOB NOT NULL UNIQUE,
    scope   TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL,
    revoked REAL
);
"""


# Any change to the work-tree rows drops the stat-cache pack (`vcrdt.worktree.rows`), whoever makes it.
_TRIGGERS = tuple(
    f"CREATE TRIGGER IF NOT EXISTS statpack_after_{event.lower()} AFTER {event} ON worktree"
    " BEGIN DELETE FROM statpack; END"
    for event in ("INSERT", "UPDATE", "DELETE")
)


# Free space below which an I/O error while writing is taken for a full disk: SQLite reports
# ENOSPC as SQLITE_FULL from a write, but as a plain I/O error from some calls (growing the
# shared-memory file of a WAL database when it opens it, for one).
FULL_BELOW = 256 * 1024


# Tables added after the first release, created (and filled) when an older repository opens.
_ADDED_TABLES = (
    "actors",
    "checkout_journal",
    "commits",
    "conflicts",
    "fingerprints",
    "merge_state",
    "oplog",
    "ref_context",
    "ref_entries",
    "ref_tombstones",
    "statpack",
    "tokens",
)
# The tables a read-only database is read through (objects and refs), checked when it opens.
READ_TABLES = ("meta", "objects", "chunks", "refs", "ref_tombstones", "ref_entries", "ref_context")
# Tables a replica made by an earlier build lacks; its refs are then read in the old form (`vcrdt.refs`).
OPTIONAL_READ_TABLES = ("ref_entries", "ref_context")
# How often (in SQLite virtual-machine instructions) a time-limited statement checks the clock.
_PROGRESS_STEPS = 10_000


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


def is_disk_full(exc: sqlite3.Error, path: str | os.PathLike[str]) -> bool:
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
        fs = os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return False
    return fs.f_bavail * fs.f_frsize < FULL_BELOW


def database_error(
    exc: sqlite3.Error, path: str | os.PathLike[str], message: str, *, hint: str | None = None, rolled_back: bool = True
) -> RepoError:
    """Return the vcrdt error for a failure `exc` of the database at `path`.

    A full disk gives `DiskFullError` (saying that nothing changed when the
    caller has `rolled_back` what it wrote), a lock held too long
    `RepoBusyError`, anything else a `RepoError` with `message` and `hint`.
    """
    if is_disk_full(exc, path):
        return DiskFullError(os.fspath(path), rolled_back=rolled_back)
    if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
        return RepoBusyError()
    return RepoError(message, hint=hint)


_EXPECTED_SHAPES: dict[str, tuple[list[tuple[Any, ...]], list[list[tuple[Any, ...]]]]] = {}


def _table_shape(conn: sqlite3.Connection, table: str) -> tuple[list[tuple[Any, ...]], list[list[tuple[Any, ...]]]]:
    """A table's columns (``table_xinfo``) and its primary-key index's columns and collations (``index_xinfo``).

    The key's collations decide what ``WHERE name = ?`` matches: a ``NOCASE`` key would make
    lookups ignore case. Index names come from the file, so they are passed as parameters.
    """
    columns = conn.execute("SELECT * FROM pragma_table_xinfo(?)", (table,)).fetchall()
    keys = [
        conn.execute("SELECT * FROM pragma_index_xinfo(?)", (name,)).fetchall()
        for name, origin in conn.execute("SELECT name, origin FROM pragma_index_list(?)", (table,)).fetchall()
        if origin == "pk"
    ]
    return columns, keys


def _expected_shape(table: str) -> tuple[list[tuple[Any, ...]], list[list[tuple[Any, ...]]]]:
    """`_table_shape` of a table as `_SCHEMA` creates it."""
    if not _EXPECTED_SHAPES:
        mem = sqlite3.connect(":memory:")
        try:
            mem.executescript(_SCHEMA)
            for name in READ_TABLES:
                _EXPECTED_SHAPES[name] = _table_shape(mem, name)
        finally:
            mem.close()
    return _EXPECTED_SHAPES[table]


def _writable(path: str | os.PathLike[str]) -> bool:
    """Whether we may write `path`, and its mode allows anyone to (``chmod a-w`` means: do not)."""
    try:
        return os.access(path, os.W_OK) and bool(os.stat(path).st_mode & 0o222)
    except OSError:
        return False


class _GuardedCursor(sqlite3.Cursor):
    """A cursor of a read-only database: every SQLite error becomes that database's `RepoError`."""

    def execute(self, sql: str, parameters: Any = (), /) -> _GuardedCursor:
        with self._guard():
            super().execute(sql, parameters)
        return self

    def fetchone(self) -> Any:
        with self._guard():
            return super().fetchone()

    def fetchall(self) -> list[Any]:
        with self._guard():
            return super().fetchall()

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        with self._guard():
            return super().fetchmany(size if size is not None else self.arraysize)

    def __next__(self) -> Any:
        with self._guard():
            return super().__next__()

    def _guard(self) -> Any:
        conn = self.connection
        assert isinstance(conn, _GuardedConnection)  # invariant: made only by _GuardedConnection.execute
        return conn.owner.guard()


class _GuardedConnection(sqlite3.Connection):
    """The connection of a read-only database; `execute` returns `_GuardedCursor` objects."""

    owner: Database

    def execute(self, sql: str, parameters: Any = (), /) -> _GuardedCursor:
        return self.cursor(_GuardedCursor).execute(sql, parameters)


class Database:
    """A connection to the repository database with explicit transactions."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        create: bool = False,
        read_only: bool = False,
        time_limit: float | None = None,
    ) -> None:
        """Open (or with `create`, create) the database at `path`.

        Args:
            path: The database file.
            busy_timeout: Seconds a writer waits for the lock.
            create: Create the file and its tables.
            read_only: Open another replica's database for reading its objects and refs only
                (see `_open_read_only`); every SQLite error then becomes a `RepoError` naming it.
            time_limit: With `read_only`, the seconds any one statement may run before it is
                aborted with a `RepoError` (None: no limit).

        Raises:
            RepoError: If the file cannot be opened, or (read-only) a table it reads is not vcrdt's.
            UnsupportedFormatError: If the schema version is unknown.
            RepoBusyError: If the database stays locked past the timeout.
        """
        # A string (`os.path`): pathlib is loaded only to open another replica's database read-only.
        self.path = os.fspath(path)
        self.read_only = read_only
        self._depth = 0
        self._timeout = busy_timeout
        self._time_limit = time_limit
        self._started = 0.0
        self._over_time = False
        if not create and not os.path.exists(path):
            raise RepoError(f"repository database {path} is missing")
        if read_only:
            self.conn = self._open_read_only()
            return
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            ahead = open_ahead(self.path, busy_timeout) if open_ahead is not None and not create else None
            self.conn = ahead or sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL: no fsync at each commit, only when the WAL is checkpointed (docs/format.md, "Durability").
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=OFF")
            if create:
                with self.write():
                    for stmt in (*_SCHEMA.split(";"), *_TRIGGERS):
                        if stmt.strip():
                            self.conn.execute(stmt)
                    self.conn.execute(
                        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                    )
        except sqlite3.DatabaseError as exc:
            raise database_error(exc, path, f"cannot open repository database {path}: {exc}") from exc
        try:
            tables = {
                str(name)
                for (name,) in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    f" AND name IN ({', '.join(repr(t) for t in _ADDED_TABLES)})"
                )
            }
            version = self.get_meta("schema")
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise database_error(
                exc, path, f"repository database {path} is damaged: {exc}", hint="restore .vcrdt/store.db from a backup"
            ) from exc
        if not create and len(tables) < len(_ADDED_TABLES):
            # A repository made by an earlier build: add the new tables, and count the objects it
            # holds into the fingerprints. A database this process cannot write is read as it is
            # (it has no checkout journal to finish; sync sums its buckets from the ids).
            try:
                with self.write():
                    for stmt in (*_SCHEMA.split(";"), *_TRIGGERS):
                        if stmt.strip():
                            self.conn.execute(stmt)
                    if "fingerprints" not in tables:
                        from vcrdt.store import fingerprints

                        fingerprints.rebuild(self.conn)
                    if "commits" not in tables:
                        # Filled from the commit objects by the store, which can decode them
                        # (`vcrdt.store.sqlite.SqliteStore`); until then no walk reads it.
                        self.set_meta(commits.PENDING, "1")
            except RepoError as exc:
                if "readonly" not in str(exc.__cause__):
                    raise
        if version != str(SCHEMA_VERSION):
            raise UnsupportedFormatError(f"unsupported repository schema version {version!r} in {path}")

    @property
    def in_transaction(self) -> bool:
        """True inside a `write` block (or a `try_write` that got the lock)."""
        return self._depth > 0

    def _open_read_only(self) -> sqlite3.Connection:
        """Open the file read-only, check the tables it is read through, and start its snapshot.

        SQLite's ``mode=ro`` still needs the ``-shm`` index of a WAL database, and creates it
        (with an empty ``-wal``) where it can. So when there is no ``-wal`` (nobody has the
        database open) and we cannot or must not write the file or its directory (another
        user's replica, or one made read-only with ``chmod a-w``), it is opened ``immutable``:
        nothing is created, nothing locked. A ``-wal`` or ``-journal`` that is not empty holds
        writes not yet in the file (commits, or a crashed write to undo): only ``mode=ro``, which
        sees them, is used then; otherwise ``immutable`` is tried when ``mode=ro`` fails.
        The snapshot (a read transaction held until `close`) makes every read see one moment.

        Raises:
            RepoError: If it cannot be opened, or a table it is read through is not vcrdt's.
            UnsupportedFormatError: If the schema version is unknown.
        """
        from pathlib import Path

        path = Path(self.path)
        wal, shm, journal = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))
        # SQLite would block on a FIFO, and read a device (a link to /dev/zero) for ever.
        for file in (path, wal, shm, journal):
            if (file is path or os.path.lexists(file)) and not file.is_file():
                raise RepoError(f"{file}: not a regular file")
        # Writes that live outside the main file: commits in the write-ahead log, or a crashed
        # write in a rollback journal (undone by the next writer). `immutable` would not see them.
        pending = [f for f in (wal, journal) if os.path.lexists(f) and f.stat().st_size > 0]
        writable = _writable(path) and _writable(path.parent)
        if pending:
            modes = ["mode=ro"]
        elif not os.path.lexists(wal) and not writable:
            modes = ["immutable=1"]
        else:
            modes = ["mode=ro", "immutable=1"]
        uri = path.absolute().as_uri()
        for i, mode in enumerate(modes):
            try:
                conn, version = self._connect_read_only(f"{uri}?{mode}")
            except RepoError as exc:
                if i + 1 < len(modes):
                    continue
                if pending:
                    raise RepoError(
                        f"{path}: cannot be read without writing it: {pending[0].name} holds writes not yet in it",
                        hint="open that replica with vcrdt once, as a user who may write it, then fetch again",
                    ) from exc
                raise
            break
        self._depth = 1  # the snapshot: a block in `read` or `write` joins it
        if version != str(SCHEMA_VERSION):
            conn.close()
            raise UnsupportedFormatError(f"unsupported repository schema version {version!r} in {path}")
        return conn

    def _connect_read_only(self, uri: str) -> tuple[sqlite3.Connection, str | None]:
        """Connect to `uri` read-only, check its tables, begin the snapshot; return it and the schema version.

        Raises:
            RepoError: If it cannot be read, or a table it is read through is not vcrdt's.
        """
        with self.guard():
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, factory=_GuardedConnection
            )
        conn.owner = self
        try:
            self._limit_time(conn)
            conn.execute("PRAGMA trusted_schema = OFF")
            conn.execute("PRAGMA query_only = ON")
            conn.execute("BEGIN DEFERRED")
            self._check_tables(conn)
            row = conn.execute("SELECT CAST(value AS TEXT) FROM meta WHERE key = 'schema'").fetchone()
        except RepoError:
            conn.close()
            raise
        return conn, None if row is None else str(row[0])

    def _check_tables(self, conn: sqlite3.Connection) -> None:
        """Check that every table in `READ_TABLES` is a plain table with exactly vcrdt's columns and key.

        A view or a virtual table could run any query when read (an endless recursive one
        hung fetch); a generated column, any expression.

        Raises:
            RepoError: Naming the first table that is missing or not vcrdt's.
        """
        for table in READ_TABLES:
            rows = conn.execute(
                "SELECT type, CAST(sql AS TEXT) FROM sqlite_master WHERE name = ? COLLATE NOCASE", (table,)
            ).fetchall()
            if not rows and table in OPTIONAL_READ_TABLES:
                continue
            if not rows:
                raise RepoError(f"{self.path}: table {table!r} is missing")
            kind, sql = rows[0]
            if len(rows) == 1 and kind == "view":
                raise RepoError(f"{self.path}: table {table!r} is a view, not vcrdt's table")
            if len(rows) > 1 or kind != "table" or not isinstance(sql, str) or not sql.startswith("CREATE TABLE"):
                raise RepoError(f"{self.path}: table {table!r} is not a plain table")
            if _table_shape(conn, table) != _expected_shape(table):
                raise RepoError(f"{self.path}: table {table!r} does not have vcrdt's columns and key")

    def _limit_time(self, conn: sqlite3.Connection) -> None:
        """Abort any statement of `conn` that runs longer than the time limit."""
        if self._time_limit is None:
            return
        conn.set_trace_callback(self._statement_started)
        conn.set_progress_handler(self._check_time, _PROGRESS_STEPS)

    def _statement_started(self, _sql: str) -> None:
        self._started = time.monotonic()

    def _check_time(self) -> int:
        assert self._time_limit is not None  # invariant: installed only with a limit
        if time.monotonic() - self._started > self._time_limit:
            self._over_time = True
            return 1  # SQLite aborts the statement: sqlite3.OperationalError "interrupted"
        return 0

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn a SQLite error from this database into one `RepoError` naming it.

        Raises:
            RepoError: For any `sqlite3.Error` raised in the block.
        """
        try:
            yield
        except sqlite3.Error as exc:
            over, self._over_time = self._over_time, False
            if over:
                raise RepoError(
                    f"{self.path}: a query took more than {self._time_limit:g} s (limits.source_timeout)"
                ) from exc
            raise RepoError(f"{self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the connection (a read-only database's snapshot ends with it)."""
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
