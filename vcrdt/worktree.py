"""The work tree: tracked paths, the stat cache, ignore rules, scanning and checkout.

There is no staging area. The ``worktree`` table holds one row per tracked
path: its entry in HEAD (NULL for a newly added path), the id and stat of the
work-tree file when it was last hashed, and its state (``tracked``, or
``removed`` after `vcrdt rm`). `status` and `commit` rehash a file only when
its size, mtime, inode or ctime changed since it was cached. A file whose
mtime is within `RACY_NS` (two seconds on file systems with whole-second
timestamps) of the moment it was hashed is not cached, since a
later edit in the same clock tick would not change its stat (git's "racy
clean" problem).

Every path read from the disk, a tree or the command line is checked with
`vcrdt.paths`; checkout never writes through a symlink and never creates a
symlink that points outside the work tree or into ``.vcrdt``. A checkout
checks every path before it writes any, and goes through the
``checkout_journal`` table so that one cut short is finished by the next
command (see "the checkout journal" below and docs/format.md).

Imports `store`, `objects`, `paths`, `hashing`, `ids` and `errors`; never
the repository or anything above.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import sqlite3
import stat
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from vcrdt.errors import (
    BadPathError,
    CorruptObjectError,
    DirtyWorktreeError,
    RepoError,
    VcrdtError,
    WorktreeError,
)
from vcrdt.hashing import StreamingObjectHasher, object_id
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.paths import META_DIR, ancestor_dirs, check_component, check_path, encode, parent_dirs
from vcrdt.store import LARGE_OBJECT, ObjectStore
from vcrdt.store.db import Database

IGNORE_FILE = ".vcrdtignore"
# Timestamps come from the kernel's coarse clock (one tick is 4-10 ms), so a file
# hashed less than this long after its mtime may change again without its mtime moving.
RACY_NS = 50_000_000
COARSE_RACY_NS = 2_000_000_000
READ_CHUNK = 1024 * 1024
# Files are hashed and compressed in batches (in parallel) of at most this much.
BATCH_BYTES = 32 * 1024 * 1024
BATCH_FILES = 512

_KINDS: dict[str | None, EntryKind] = {k.value: k for k in EntryKind}
FlatTree = dict[str, tuple[EntryKind, ObjectId]]
Progress = Callable[[int, int], None]


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


@dataclass(frozen=True, slots=True)
class WorktreeStatus:
    """The state of the work tree against HEAD (every list sorted)."""

    modified: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    untracked: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        """True when nothing tracked differs from HEAD (untracked files aside)."""
        return not (self.modified or self.added or self.deleted or self.removed)


@dataclass(frozen=True, slots=True)
class Changes:
    """A file-system monitor's answer: the paths with an event after a counter.

    `paths` (relative, files and directories) is None when the monitor cannot
    tell (it just started watching, or lost track): everything may have changed.
    """

    generation: str
    counter: int
    paths: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class _Token:
    """What a status with a monitor saw, kept in `meta` for the next one (see `MONITOR_TOKEN`)."""

    generation: str
    counter: int
    epoch: str
    untracked: list[str]
    suspects: list[str]  # tracked paths its stat did not settle


class FsMonitor(Protocol):
    """What `Worktree.status` asks when a file-system monitor runs (the command server's)."""

    def changes(self, root: str, generation: str, counter: int) -> Changes | None:
        """Return what changed in the work tree at `root` after `counter` of `generation` (None: unknown)."""
        ...


_monitor: FsMonitor | None = None


def set_monitor(monitor: FsMonitor | None) -> None:
    """Make `status` in this process ask `monitor` which paths changed (None: look at every file)."""
    global _monitor
    _monitor = monitor


# The monitor token in `meta`: the generation and counter a status saw, the rows epoch (bumped
# whenever rows are deleted, which can make a kept file untracked without an event), the
# untracked files then and the tracked paths their stat did not settle. Only a full status
# with a monitor writes it; a stale token only means a full status.
MONITOR_TOKEN = "fsmonitor"
ROWS_EPOCH = "rows_epoch"
# A row a matching stat settles: tracked, and its cached entry is HEAD's.
_SETTLED = "state = 'tracked' AND kind IS NOT NULL AND oid IS NOT NULL AND kind IS head_kind AND oid IS head_oid"


def kind_of(st: os.stat_result) -> EntryKind | None:
    """Return the entry kind for a stat result, or None for unsupported files."""
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        return EntryKind.SYMLINK
    if stat.S_ISREG(mode):
        return EntryKind.EXECUTABLE if mode & stat.S_IXUSR else EntryKind.FILE
    if stat.S_ISDIR(mode):
        return EntryKind.TREE
    return None


class IgnoreRules:
    """``.vcrdtignore`` files (gitignore syntax), at the root and in subdirectories."""

    def __init__(self, root: Path) -> None:
        """Prepare to read ignore files under `root`."""
        self.root = root
        self._specs: dict[str, Any] = {}

    def _spec(self, directory: str) -> Any:
        if directory not in self._specs:
            path = (
                os.path.join(self.root, directory, IGNORE_FILE) if directory else os.path.join(self.root, IGNORE_FILE)
            )
            try:
                with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                    lines = fh.read().splitlines()
                # Imported only when an ignore file exists: it costs 15 ms of start-up.
                from pathspec import GitIgnoreSpec

                self._specs[directory] = GitIgnoreSpec.from_lines(lines)
            except FileNotFoundError:
                self._specs[directory] = None
            except OSError as exc:
                raise WorktreeError(path, f"cannot read ignore file: {exc.strerror}") from exc
        return self._specs[directory]

    def is_ignored(self, path: str, is_dir: bool = False) -> bool:
        """Tell whether `path` is ignored; the deepest ignore file that matches wins."""
        result = False
        dirs = ["", *parent_dirs(path)]
        for d in dirs:
            spec = self._spec(d)
            if spec is None:
                continue
            rel = path[len(d) + 1 :] if d else path
            check = spec.check_file(rel + "/" if is_dir else rel)
            if check.include is not None:
                result = bool(check.include)
        return result


@dataclass(slots=True)
class Scan:
    """What a walk of the work tree found."""

    files: dict[str, os.stat_result] = field(default_factory=dict)
    untracked: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


class Worktree:
    """The checked-out files of a repository and the table that tracks them."""

    def __init__(self, root: Path, db: Database, store: ObjectStore, clock_ns: Callable[[], int]) -> None:
        """Bind the work tree at `root` to the database and store."""
        self.root = root
        self._root_s = os.fspath(root)
        # Row paths were checked when they were stored: joining them is a concatenation.
        self._prefix = self._root_s if self._root_s.endswith(os.sep) else self._root_s + os.sep
        self.db = db
        self.store = store
        self.clock_ns = clock_ns

    # --- rows -----------------------------------------------------------------------

    def rows(self) -> dict[str, Row]:
        """Return every tracked path's row."""
        return self._select_rows()

    def head_flat(self, rows: dict[str, Row] | None = None) -> FlatTree:
        """Return HEAD's flat tree as recorded in the rows (the caller's `rows` when given)."""
        return {
            p: (r.head_kind, r.head_oid)
            for p, r in (self.rows() if rows is None else rows).items()
            if r.head_kind is not None and r.head_oid is not None
        }

    def _save_rows(self, rows: Iterable[Row]) -> None:
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

    def _delete_rows(self, paths: Iterable[str]) -> None:
        keys = [(encode(p),) for p in paths]
        if not keys:
            return
        with self.db.write() as conn:
            conn.executemany("DELETE FROM worktree WHERE path = ?", keys)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, '1')"
                " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                (ROWS_EPOCH,),
            )

    def forget(self, paths: Iterable[str]) -> None:
        """Stop tracking paths without touching their files."""
        self._delete_rows(paths)

    def reset_states(self) -> None:
        """Mark every row tracked again (undoes `remove` on all paths)."""
        with self.db.write() as conn:
            conn.execute("UPDATE worktree SET state = 'tracked' WHERE state != 'tracked'")

    # --- scanning -------------------------------------------------------------------

    def abspath(self, path: str) -> str:
        """Return the absolute file-system path of a repository path."""
        return os.path.join(self._root_s, path)

    def scan(self, rows: Collection[str], *, want_ignored: bool = False, tracked_stats: bool = True) -> Scan:
        """Walk the work tree, classifying every file as tracked, untracked or ignored.

        `rows` is the set of tracked paths (a dict of rows will do). Without
        `tracked_stats`, tracked files are not stat'ed (and are absent from
        `files`): the directory entry's type says enough for a caller that only
        wants the untracked files.
        """
        result = Scan()
        files = result.files
        ignore = IgnoreRules(self.root)
        tracked_dirs = ancestor_dirs(rows)
        stack: list[str] = [""]
        while stack:
            rel_dir = stack.pop()
            abs_dir = os.path.join(self._root_s, rel_dir) if rel_dir else self._root_s
            try:
                it = os.scandir(abs_dir)
            except OSError:
                continue
            with it:
                for de in it:
                    name = de.name
                    rel = f"{rel_dir}/{name}" if rel_dir else name
                    if not rel_dir and name == META_DIR:
                        continue
                    temp = _TEMP_RE.fullmatch(name) if name[0] == "." and name.endswith(".tmp") else None
                    if temp is not None:
                        # Our own temporary file: never listed; removed when its writer died (a kill
                        # between creating it and renaming it into place).
                        _remove_if_orphaned(os.path.join(abs_dir, name), int(temp.group(1)))
                        continue
                    if not tracked_stats and rel in rows:
                        try:
                            if not de.is_dir(follow_symlinks=False):
                                continue
                        except OSError:
                            continue
                    try:
                        st = de.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if rel in rows and not stat.S_ISDIR(st.st_mode):
                        # Tracked names were checked when they were added or checked out.
                        files[rel] = st
                        continue
                    try:
                        check_component(name, rel)
                    except BadPathError:
                        result.invalid.append(rel)
                        continue
                    if stat.S_ISDIR(st.st_mode):
                        if rel not in tracked_dirs and ignore.is_ignored(rel, is_dir=True):
                            if want_ignored:
                                result.ignored.append(rel + "/")
                            continue
                        stack.append(rel)
                        continue
                    if ignore.is_ignored(rel):
                        if want_ignored:
                            result.ignored.append(rel)
                    elif kind_of(st) is not None:
                        result.untracked.append(rel)
                        result.files[rel] = st
        result.untracked.sort()
        result.ignored.sort()
        return result

    def lstat(self, path: str) -> os.stat_result | None:
        """Return the lstat of a repository path, or None if it is missing or a parent is not a directory."""
        try:
            return os.lstat(self.abspath(path))
        except FileNotFoundError:
            return None
        except NotADirectoryError:
            return None
        except OSError as exc:
            raise WorktreeError(path, f"cannot stat: {exc.strerror}") from exc

    # --- hashing ----------------------------------------------------------------------

    def _open(self, path: str) -> int:
        """Open a work-tree file for reading without following a symlink."""
        try:
            return os.open(self.abspath(path), os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise WorktreeError(path, "changed into a symlink while being read") from exc
            raise WorktreeError(path, f"cannot read: {exc.strerror}") from exc

    def read_small(self, path: str, st: os.stat_result) -> tuple[EntryKind, bytes, os.stat_result] | None:
        """Read a regular file of at most `LARGE_OBJECT` bytes; None for anything else.

        Raises:
            WorktreeError: If the file cannot be read or changes while it is read.
        """
        if not stat.S_ISREG(st.st_mode) or st.st_size > LARGE_OBJECT:
            return None
        fd = self._open(path)
        try:
            fst = os.fstat(fd)
            if not stat.S_ISREG(fst.st_mode) or fst.st_size > LARGE_OBJECT:
                return None
            data = _read_all(fd, path)
            after = os.fstat(fd)
        except OSError as exc:
            raise WorktreeError(path, f"cannot read: {exc.strerror}") from exc
        finally:
            os.close(fd)
        if after.st_mtime_ns != fst.st_mtime_ns or after.st_size != fst.st_size or len(data) != fst.st_size:
            raise WorktreeError(path, "changed while being read", hint="try again")
        kind = EntryKind.EXECUTABLE if fst.st_mode & stat.S_IXUSR else EntryKind.FILE
        return kind, data, fst

    def read_entry(self, path: str, st: os.stat_result, *, store: bool) -> tuple[EntryKind, ObjectId, os.stat_result]:
        """Hash (and with `store`, save) the work-tree file at `path`.

        Returns:
            The entry kind, the blob id and the stat that describes the content read.

        Raises:
            WorktreeError: If the file cannot be read, is not a regular file or
                symlink, or changes while it is read.
        """
        kind = kind_of(st)
        full = self.abspath(path)
        if kind is EntryKind.SYMLINK:
            try:
                target = os.fsencode(os.readlink(full))
            except OSError as exc:
                raise WorktreeError(path, f"cannot read symlink: {exc.strerror}") from exc
            oid = self.store.put("blob", target) if store else object_id("blob", target)
            return kind, oid, st
        if kind is None or kind is EntryKind.TREE:
            what = "a directory" if kind is EntryKind.TREE else "not a regular file or symlink"
            raise WorktreeError(path, f"is {what}", hint="remove it or `vcrdt rm` the path")
        small = self.read_small(path, st)
        if small is not None:
            kind, data, fst = small
            return kind, self.store.put("blob", data) if store else object_id("blob", data), fst
        fd = self._open(path)
        try:
            fst = os.fstat(fd)
            if not stat.S_ISREG(fst.st_mode):
                raise WorktreeError(path, "is not a regular file")
            kind = EntryKind.EXECUTABLE if fst.st_mode & stat.S_IXUSR else EntryKind.FILE
            size = fst.st_size
            # Large: stream it with bounded memory.
            chunks = _iter_fd(fd)
            try:
                if store:
                    oid = self.store.put_stream("blob", size, chunks)
                else:
                    hasher = StreamingObjectHasher("blob", size)
                    for chunk in chunks:
                        hasher.update(chunk)
                    if hasher.seen != size:
                        raise CorruptObjectError(path, "size changed")
                    oid = hasher.digest()
            except CorruptObjectError as exc:
                raise WorktreeError(path, "changed while being read", hint="try again") from exc
            after = os.fstat(fd)
        except OSError as exc:
            raise WorktreeError(path, f"cannot read: {exc.strerror}") from exc
        finally:
            os.close(fd)
        if after.st_mtime_ns != fst.st_mtime_ns or after.st_size != fst.st_size:
            raise WorktreeError(path, "changed while being read", hint="try again")
        return kind, oid, fst

    def _cache(self, row: Row, kind: EntryKind, oid: ObjectId, st: os.stat_result, now_ns: int) -> bool:
        """Record the stat of a freshly hashed file unless it is racily recent; True if the row changed."""
        new: tuple[EntryKind | None, ObjectId | None, int, int, int, int]
        # A whole-second mtime suggests a file system with coarse timestamps: widen the window.
        window = RACY_NS if st.st_mtime_ns % 1_000_000_000 else COARSE_RACY_NS
        if st.st_mtime_ns >= now_ns - window:
            new = (None, None, -1, -1, -1, -1)
        else:
            new = (kind, oid, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
        old = (row.kind, row.oid, row.size, row.mtime_ns, row.ino, row.ctime_ns)
        if new == old:
            return False
        row.kind, row.oid, row.size, row.mtime_ns, row.ino, row.ctime_ns = new
        return True

    def current(
        self,
        rows: dict[str, Row],
        paths: Iterable[str],
        files: dict[str, os.stat_result] | None,
        *,
        store: bool,
        on_progress: Progress | None = None,
    ) -> tuple[dict[str, tuple[EntryKind, ObjectId] | None], list[Row]]:
        """Return the current entry of each path (None if missing) and the rows whose cache changed.

        Raises:
            WorktreeError: If a file cannot be read.
        """
        now_ns = self.clock_ns()
        prefix = self._prefix
        out: dict[str, tuple[EntryKind, ObjectId] | None] = {}
        dirty: list[Row] = []
        todo = list(paths)
        batch: list[tuple[str, EntryKind, bytes, os.stat_result]] = []
        batch_bytes = 0

        def flush() -> None:
            nonlocal batch_bytes
            hints = [rows[p].head_oid if p in rows else None for p, _, _, _ in batch]
            oids = self.store.put_many(
                [("blob", data, hint) for (_, _, data, _), hint in zip(batch, hints, strict=True)]
            )
            for (p, kind, _, fst), oid in zip(batch, oids, strict=True):
                out[p] = (kind, oid)
                row = rows.get(p)
                if row is not None and self._cache(row, kind, oid, fst, now_ns):
                    dirty.append(row)
            batch.clear()
            batch_bytes = 0

        for i, path in enumerate(todo):
            if on_progress is not None and i % 256 == 0:
                on_progress(i, len(todo))
            if files is not None:
                st = files.get(path)
            else:
                try:
                    st = os.lstat(prefix + path)  # a row path: checked when stored
                except (FileNotFoundError, NotADirectoryError):
                    st = None
                except OSError as exc:
                    raise WorktreeError(path, f"cannot stat: {exc.strerror}") from exc
            if st is None or stat.S_ISDIR(st.st_mode):
                out[path] = None
                continue
            row = rows.get(path)
            if row is not None and row.kind is not None and row.oid is not None and row.matches(st):
                # A cached id equal to HEAD's is in the store; another may come from a status run.
                if not store or row.oid == row.head_oid or self.store.has(row.oid):
                    out[path] = (row.kind, row.oid)
                    continue
            small = self.read_small(path, st) if store else None
            if small is not None:
                batch.append((path, small[0], small[1], small[2]))
                batch_bytes += len(small[1])
                if batch_bytes >= BATCH_BYTES or len(batch) >= BATCH_FILES:
                    flush()
                continue
            kind, oid, fst = self.read_entry(path, st, store=store)
            out[path] = (kind, oid)
            if row is not None and self._cache(row, kind, oid, fst, now_ns):
                dirty.append(row)
        if batch:
            flush()
        if on_progress is not None:
            on_progress(len(todo), len(todo))
        return out, dirty

    # --- status -----------------------------------------------------------------------

    def _stat_keys(self) -> tuple[dict[str, tuple[int, int, int, int] | None], dict[str, Row]]:
        """Return every tracked path with its cached stat when a stat match means "same as HEAD", and the other rows.

        The first map holds ``(size, mtime_ns, ino, ctime_ns)`` for each path
        that is tracked and whose cached entry equals its HEAD entry (so a
        matching stat settles it), and None for every other path; those come
        whole in the second map. Status reads ten thousand stat tuples much
        faster than ten thousand full rows.
        """
        keys: dict[str, tuple[int, int, int, int] | None] = {
            raw.decode("utf-8", "surrogateescape"): (size, mtime, ino, ctime)
            for raw, size, mtime, ino, ctime in self.db.conn.execute(
                f"SELECT path, size, mtime_ns, ino, ctime_ns FROM worktree WHERE {_SETTLED}"
            )
        }
        others = self._select_rows(f"WHERE NOT ({_SETTLED})")
        keys.update(dict.fromkeys(others))
        return keys, others

    def _select_rows(self, where: str = "", args: Sequence[bytes] = ()) -> dict[str, Row]:
        kinds = _KINDS
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

    def _rows_of(self, paths: list[str]) -> dict[str, Row]:
        """Return the rows of some tracked paths (all rows, filtered, when they are many)."""
        if len(paths) > 2000:
            every = self.rows()
            return {p: every[p] for p in paths}
        out: dict[str, Row] = {}
        for i in range(0, len(paths), 500):
            batch = paths[i : i + 500]
            out.update(self._select_rows(f"WHERE path IN ({','.join('?' * len(batch))})", [encode(p) for p in batch]))
        return out

    def suspects(self) -> tuple[list[str], dict[str, Row]]:
        """Return the tracked paths that may differ from HEAD (sorted) and their rows.

        As in `status`: a path whose cached entry equals HEAD's and whose
        lstat still matches the cache is unchanged and is left out, without
        its row being read. Commit uses this to touch only what changed.

        Raises:
            WorktreeError: If a file cannot be stat'ed.
        """
        token, changed = self._ask_monitor() or (None, None)
        if token is not None and changed is not None:
            with self.db.read():
                found, rows, _, _ = self._watched_suspects(changed, token)
            out = sorted(found)
            return out, {p: rows[p] for p in out}
        keys, rows = self._stat_keys()
        out = self._unsettled(keys, rows, self.lstat)
        return out, {p: rows[p] for p in out}

    def _unsettled(
        self,
        keys: dict[str, tuple[int, int, int, int] | None],
        rows: dict[str, Row],
        stat_of: Callable[[str], os.stat_result | None],
    ) -> list[str]:
        """The paths of `keys` that a stat does not settle, sorted; their rows are added to `rows`."""
        out: list[str] = []
        for path, key in keys.items():
            if key is None:
                out.append(path)
                continue
            st = stat_of(path)
            if st is None or key != (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns):
                out.append(path)
        missing = [p for p in out if p not in rows]
        if missing:
            rows.update(self._rows_of(missing))
        out.sort()
        return out

    def status(self, *, want_ignored: bool = False) -> WorktreeStatus:
        """Compare the work tree with HEAD, updating the stat cache when the lock is free.

        A path whose cached entry equals HEAD's and whose stat still matches
        the cache is clean without reading its row; only the rest (changed
        stat, missing file, added, removed, or cached as different from HEAD)
        get their full rows and go through `current`. With a file-system
        monitor (`set_monitor`) and a token from an earlier status, only the
        paths the monitor names are looked at (`_watched_status`).
        """
        if want_ignored:
            return self._full_status(want_ignored=True)
        asked = self._ask_monitor()
        if asked is None:
            return self._full_status()
        token, changed = asked
        if changed is None:
            return self._full_status(token=token)
        return self._watched_status(changed, token)

    def _ask_monitor(self) -> tuple[_Token, frozenset[str] | None] | None:
        """Ask the monitor what changed since the saved token (None: there is no monitor, or it cannot tell).

        Returns the saved token and the paths changed since it, or, when a
        full look is needed, a new token (without its untracked files and
        suspects, which the full look fills in) and None.
        """
        monitor = _monitor
        if monitor is None:
            return None
        with self.db.read():
            token = self._monitor_token()
            epoch = self.db.get_meta(ROWS_EPOCH) or "0"
        changes = monitor.changes(self._root_s, token.generation if token else "", token.counter if token else -1)
        if changes is None:
            return None
        if (
            token is None
            or changes.paths is None
            or changes.generation != token.generation
            or token.epoch != epoch
            or any(p == IGNORE_FILE or p.endswith("/" + IGNORE_FILE) for p in changes.paths)
        ):
            return _Token(changes.generation, changes.counter, epoch, [], []), None
        return token, changes.paths

    def _monitor_token(self) -> _Token | None:
        import json

        text = self.db.get_meta(MONITOR_TOKEN)
        if text is None:
            return None
        try:
            data = json.loads(text)
            return _Token(
                str(data["generation"]),
                int(data["counter"]),
                str(data["epoch"]),
                [str(p) for p in data["untracked"]],
                [str(p) for p in data["suspects"]],
            )
        except (ValueError, KeyError, TypeError):
            return None

    def _full_status(self, *, want_ignored: bool = False, token: _Token | None = None) -> WorktreeStatus:
        with self.db.read():  # one snapshot for both reads of the rows
            keys, rows = self._stat_keys()
            scan = self.scan(keys, want_ignored=want_ignored)
            files = scan.files
            suspect = self._unsettled(keys, rows, files.get)
        if token is not None:
            token = dataclasses.replace(token, untracked=scan.untracked, suspects=suspect)
        return self._compare(suspect, rows, files, untracked=scan.untracked, ignored=scan.ignored, token=token)

    def _compare(
        self,
        suspect: list[str],
        rows: dict[str, Row],
        files: dict[str, os.stat_result],
        *,
        untracked: list[str],
        ignored: list[str],
        token: _Token | None,
    ) -> WorktreeStatus:
        """Compare the `suspect` paths with HEAD; save refreshed rows, and the monitor `token` when given."""
        live = [p for p in suspect if rows[p].state != "removed"]
        cur, dirty = self.current(rows, live, files, store=False)
        st = WorktreeStatus(untracked=untracked, ignored=ignored)
        for path in suspect:
            row = rows[path]
            if row.state == "removed":
                st.removed.append(path)
                continue
            now = cur[path]
            if now is None:
                st.deleted.append(path)
            elif row.head_oid is None:
                st.added.append(path)
            elif now != (row.head_kind, row.head_oid):
                st.modified.append(path)
        if dirty or token is not None:
            with self.db.try_write() as conn:
                if conn is not None:
                    if dirty:
                        self._save_rows(dirty)
                    if token is not None:
                        self._save_token(token)
        return st

    def _save_token(self, token: _Token) -> None:
        import json

        self.db.set_meta(MONITOR_TOKEN, json.dumps(dataclasses.asdict(token), sort_keys=True))

    def _watched_status(self, changed: frozenset[str], token: _Token) -> WorktreeStatus:
        """Status from the paths a monitor says changed since the token, and what the token's status saw.

        The same answer as `_full_status` (a property test holds them equal).
        A path can differ from HEAD only if its row is not settled, or the
        token's status could not settle it by its stat (`token.suspects`), or
        it changed since. Those are read whole and compared as a full status
        would; each changed path that is not tracked is classified as the scan
        would classify it; the token's untracked files stay untracked unless
        they changed or became tracked since.
        """
        with self.db.read():
            suspect, rows, changed_rows, files = self._watched_suspects(changed, token)
            now_tracked = self._rows_of(token.untracked)
            out = set(token.untracked).difference(now_tracked)
            ignore = IgnoreRules(self.root)
            for path in changed:
                if path in changed_rows:
                    continue
                out.discard(path)
                if self._is_untracked(path, ignore):
                    out.add(path)
        return self._compare(sorted(suspect), rows, files, untracked=sorted(out), ignored=[], token=None)

    def _watched_suspects(
        self, changed: frozenset[str], token: _Token
    ) -> tuple[set[str], dict[str, Row], dict[str, Row], dict[str, os.stat_result]]:
        """The tracked paths that may differ from HEAD, from a monitor's changes and the token.

        Returns the paths, their rows, the rows of the changed paths that are
        tracked, and the lstat of every path looked at. The paths include every
        path `_unsettled` would return (and may include more: a token suspect
        whose stat matches again), so commit may use them as well as status.
        """
        rows = self._select_rows(f"WHERE NOT ({_SETTLED})")
        suspect = set(rows)
        changed_rows = self._rows_of(sorted(changed))
        rows.update(self._rows_of(token.suspects))
        suspect.update(p for p in token.suspects if p in rows)
        files: dict[str, os.stat_result] = {}
        for path in {*rows, *changed_rows}:
            st = self.lstat_in_tree(path)
            if st is not None and not stat.S_ISDIR(st.st_mode):
                files[path] = st
        for path, row in changed_rows.items():
            if path not in rows:
                st = files.get(path)
                if st is None or not row.matches(st):
                    rows[path] = row
                    suspect.add(path)
        return suspect, rows, changed_rows, files

    def lstat_in_tree(self, path: str) -> os.stat_result | None:
        """Return the lstat of a path as a walk of the tree finds it: None if missing or below a non-directory.

        Unlike `lstat`, a symlink among the parents hides the path, as it does from `scan`.
        """
        try:
            st = os.lstat(self._prefix + path)
        except OSError:
            return None
        parent = path.rpartition("/")[0]
        while parent:
            try:
                if not stat.S_ISDIR(os.lstat(self._prefix + parent).st_mode):
                    return None
            except OSError:
                return None
            parent = parent.rpartition("/")[0]
        return st

    def _is_untracked(self, path: str, ignore: IgnoreRules) -> bool:
        """Tell whether `scan` would list the untracked `path` (the caller knows it is not tracked)."""
        parts = path.split("/")
        if parts[0] == META_DIR:
            return False
        name = parts[-1]
        if name[0] == "." and name.endswith(".tmp") and _TEMP_RE.fullmatch(name):
            return False
        st = self.lstat_in_tree(path)
        if st is None or stat.S_ISDIR(st.st_mode) or kind_of(st) is None:
            return False
        for depth in range(1, len(parts) + 1):
            rel = "/".join(parts[:depth])
            try:
                check_component(parts[depth - 1], rel)
            except BadPathError:
                return False
            if depth < len(parts) and ignore.is_ignored(rel, is_dir=True) and not self._has_tracked_under(rel):
                return False
        return not ignore.is_ignored(path)

    def _has_tracked_under(self, directory: str) -> bool:
        low = encode(directory + "/")
        high = encode(directory + "0")  # "0" follows "/" in byte order
        row = self.db.conn.execute("SELECT 1 FROM worktree WHERE path >= ? AND path < ? LIMIT 1", (low, high))
        return row.fetchone() is not None

    # --- edits to the tracked set ---------------------------------------------------

    def states(self) -> dict[str, str]:
        """Return every tracked path's state (``tracked`` or ``removed``), without loading whole rows."""
        return {
            raw.decode("utf-8", "surrogateescape"): state
            for raw, state in self.db.conn.execute("SELECT path, state FROM worktree")
        }

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

    def expand(self, specs: Iterable[str], rows: Collection[str], *, untracked_ok: bool) -> list[str]:
        """Turn command-line paths (files or directories, repo-relative) into tracked or addable files.

        Raises:
            WorktreeError: If a given path matches nothing.
        """
        out: set[str] = set()
        scan: Scan | None = None
        for spec in specs:
            spec = spec.strip("/")
            if spec in ("", "."):
                out.update(rows)
                if untracked_ok:
                    scan = scan or self.scan(rows, tracked_stats=False)
                    out.update(scan.untracked)
                continue
            check_path(spec)
            prefix = spec + "/"
            hits = [p for p in rows if p == spec or p.startswith(prefix)]
            if untracked_ok:
                scan = scan or self.scan(rows, tracked_stats=False)
                hits += [p for p in scan.untracked if p == spec or p.startswith(prefix)]
            if not hits:
                st = self.lstat(spec)
                if st is not None and untracked_ok and IgnoreRules(self.root).is_ignored(spec):
                    raise WorktreeError(spec, "is ignored by .vcrdtignore", hint="edit .vcrdtignore to track it")
                raise WorktreeError(spec, "did not match any file" + ("" if untracked_ok else " tracked by vcrdt"))
            out.update(hits)
        return sorted(out)

    def add(self, paths: list[str]) -> list[str]:
        """Start tracking files; return the paths newly tracked."""
        return self.track(paths, self.states())

    def remove(self, paths: list[str], *, keep_files: bool) -> list[str]:
        """Stop tracking files (and delete them unless `keep_files`); return the paths."""
        rows = self.rows()
        drop: list[str] = []
        mark: list[Row] = []
        for p in paths:
            row = rows.get(p)
            if row is None:
                raise WorktreeError(p, "is not tracked")
            if row.head_oid is None:
                drop.append(p)
            else:
                row.state = "removed"
                mark.append(row)
        self._delete_rows(drop)
        self._save_rows(mark)
        if not keep_files:
            for p in paths:
                self.delete_file(p)
        return list(paths)

    def rename(self, src: str, dst: str) -> None:
        """Move a tracked file in the work tree and the tracked set.

        Raises:
            WorktreeError: If `src` is not tracked or `dst` exists.
        """
        rows = self.rows()
        if src not in rows or rows[src].state == "removed":
            raise WorktreeError(src, "is not tracked")
        check_path(dst)
        if self.lstat(dst) is not None:
            raise WorktreeError(dst, "already exists")
        self._ensure_parent(dst)
        try:
            os.rename(self.abspath(src), self.abspath(dst))
        except OSError as exc:
            raise WorktreeError(src, f"cannot move: {exc.strerror}") from exc
        self.remove([src], keep_files=True)
        self.add([dst])

    # --- committing ----------------------------------------------------------------------

    def record_head(
        self, new_head: FlatTree, committed: Iterable[str], cache: dict[str, Row], rows: dict[str, Row] | None = None
    ) -> None:
        """After a commit: set the HEAD entry of every committed path and save refreshed caches."""
        rows = self.rows() if rows is None else rows
        save: list[Row] = []
        drop: list[str] = []
        for p in committed:
            row = cache.get(p) or rows.get(p)
            if p in new_head:
                kind, oid = new_head[p]
                if row is None:
                    row = Row(p, kind, oid)
                elif (row.head_kind, row.head_oid, row.state) == (kind, oid, "tracked") and p not in cache:
                    continue  # unchanged row: rewriting 10,000 of them would dominate a small commit
                row.head_kind, row.head_oid, row.state = kind, oid, "tracked"
                save.append(row)
            elif row is not None:
                drop.append(p)
        self._delete_rows(drop)
        self._save_rows(save)

    # --- checkout ---------------------------------------------------------------------------

    def _ensure_parent(self, path: str) -> None:
        """Create the parent directories of `path`, refusing to go through a symlink or file."""
        for d in parent_dirs(path):
            full = self.abspath(d)
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                try:
                    os.mkdir(full)
                except OSError as exc:
                    raise WorktreeError(d, f"cannot create directory: {exc.strerror}") from exc
                continue
            if stat.S_ISLNK(st.st_mode):
                raise BadPathError(path, f"parent {d!r} is a symlink; refusing to write through it")
            if not stat.S_ISDIR(st.st_mode):
                raise WorktreeError(d, "is in the way: a file where a directory is needed")

    def check_link_target(self, path: str, target: bytes) -> None:
        """Refuse a symlink target that is absolute, escapes the work tree or enters ``.vcrdt``.

        Raises:
            BadPathError: If the target breaks a rule.
        """
        text = os.fsdecode(target)
        if not text or "\0" in text:
            raise BadPathError(path, "empty symlink target")
        if text.startswith("/") or (len(text) >= 2 and text[1] == ":"):
            raise BadPathError(path, f"symlink target {text!r} is absolute")
        depth = len(parent_dirs(path))
        for part in text.replace("\\", "/").split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                depth -= 1
                if depth < 0:
                    raise BadPathError(path, f"symlink target {text!r} points outside the work tree")
            else:
                if depth == 0 and part.casefold().rstrip(". ") == META_DIR:
                    raise BadPathError(path, f"symlink target {text!r} points into {META_DIR}")
                depth += 1

    def write_file(self, path: str, kind: EntryKind, oid: ObjectId) -> os.stat_result:
        """Write one entry into the work tree atomically (temp file, then rename).

        Raises:
            BadPathError: If the path or a symlink target breaks a path rule.
            WorktreeError: If the file cannot be written.
        """
        check_path(path)
        self._ensure_parent(path)
        full = self.abspath(path)
        existing = self.lstat(path)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise WorktreeError(path, "is a directory in the work tree", hint="move it away and try again")
        tmp = os.path.join(os.path.dirname(full), f".{os.path.basename(full)}.vcrdt-{os.getpid()}.tmp")
        try:
            if kind is EntryKind.SYMLINK:
                _, target = self.store.get(oid)
                self.check_link_target(path, target)
                os.symlink(target, tmp)
            else:
                mode = 0o777 if kind is EntryKind.EXECUTABLE else 0o666
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
                try:
                    for chunk in self.store.iter_content(oid):
                        _write_all(fd, chunk)
                finally:
                    os.close(fd)
            os.replace(tmp, full)
            return os.lstat(full)
        except OSError as exc:
            _unlink_quiet(tmp)
            raise WorktreeError(path, f"cannot write: {exc.strerror}") from exc
        except VcrdtError:
            _unlink_quiet(tmp)
            raise

    def delete_file(self, path: str) -> None:
        """Delete a file (not a directory) and any directories it leaves empty."""
        full = self.abspath(path)
        try:
            st = os.lstat(full)
        except OSError:
            return
        if stat.S_ISDIR(st.st_mode):
            return
        try:
            os.unlink(full)
        except OSError as exc:
            raise WorktreeError(path, f"cannot delete: {exc.strerror}") from exc
        for d in reversed(parent_dirs(path)):
            try:
                os.rmdir(self.abspath(d))
            except OSError:
                break

    def in_the_way(self, path: str, rows: dict[str, Row], target: FlatTree) -> bool:
        """Tell whether writing `path` would destroy something untracked.

        A directory is not in the way when every file under it is tracked and
        will be deleted by the same checkout.
        """
        st = self.lstat(path)
        if st is None:
            return False
        if not stat.S_ISDIR(st.st_mode):
            return True
        for dirpath, _, filenames in os.walk(self.abspath(path)):
            for name in filenames:
                rel = os.path.relpath(os.path.join(dirpath, name), self._root_s).replace(os.sep, "/")
                if rel not in rows or rel in target:
                    return True
        return False

    # --- the checkout journal -----------------------------------------------------------------
    #
    # Every operation that writes or deletes many work-tree files (switch, fetch and merge moving
    # the work tree, restore, merge --abort) goes in three steps. `check_writes` looks at every path
    # first and refuses (nothing written) when one cannot be written. Then, in the operation's
    # transaction, the rows and refs are made to describe the new state and the paths still to
    # write or delete go into the ``checkout_journal`` table (`journal_writes`); that commits
    # before any file is touched. `finish_checkout` then writes the files and clears the journal
    # in one more transaction. A process killed in between leaves the journal behind, and the
    # next command that opens the repository finishes it (roll forward): the database already
    # describes the new state, so only the files are behind.

    def check_writes(self, writes: Mapping[str, tuple[EntryKind, ObjectId] | None], rows: dict[str, Row]) -> None:
        """Refuse, before anything is written, a set of writes (None: delete) that cannot all be done.

        Deletions come first, so a tracked file or symlink that is deleted may
        give way to a directory, and a directory whose every file is deleted
        (and that holds nothing else) may give way to a file. Anything else in
        the way is refused, even with --force: a directory where a file goes, a
        file or symlink where a directory goes, a directory vcrdt cannot write
        in, a symlink target that breaks the rules, a missing object, or less
        free space than the new files need. Untracked files at the paths
        themselves are the caller's business (they are refused without
        --force, as local changes are).

        Raises:
            WorktreeError: If a path is in the way or cannot be written (naming the first).
            BadPathError: If a path or a symlink target breaks a path rule.
            ObjectNotFoundError: If an entry's object is missing.
        """
        deleted = {p for p, e in writes.items() if e is None}
        problems: list[tuple[str, str]] = []
        dirs: dict[str, str] = {}  # directory -> "dir", "missing", or a problem
        checked_writable: dict[str, bool] = {}
        need = 0
        largest = 0

        def writable(directory: str) -> None:
            ok = checked_writable.get(directory)
            if ok is None:
                ok = os.access(self.abspath(directory) if directory else self._root_s, os.W_OK | os.X_OK)
                checked_writable[directory] = ok
                if not ok:
                    problems.append((directory or ".", "cannot write in this directory"))

        def parent_state(path: str) -> tuple[str, str]:
            """The deepest existing directory above `path` and whether every parent is usable."""
            existing = ""
            for d in parent_dirs(path):
                state = dirs.get(d)
                if state is None:
                    parent = d.rpartition("/")[0]
                    if parent and dirs.get(parent) != "dir":
                        state = "missing"
                    else:
                        try:
                            st = os.lstat(self.abspath(d))
                        except (FileNotFoundError, NotADirectoryError):
                            state = "missing"
                        except OSError as exc:
                            state = f"cannot stat: {exc.strerror}"
                        else:
                            if stat.S_ISDIR(st.st_mode):
                                state = "dir"
                            elif d in deleted:
                                state = "missing"  # a tracked file or link deleted first
                            elif stat.S_ISLNK(st.st_mode):
                                state = "a symlink is in the way of a directory to create"
                            else:
                                state = "a file is in the way of a directory to create"
                    dirs[d] = state
                    if state not in ("dir", "missing"):
                        problems.append((d, state))
                if state == "dir":
                    existing = d
                elif state != "missing":
                    return existing, "blocked"
                else:
                    break
            return existing, "ok"

        for path in sorted(writes):
            entry = writes[path]
            check_path(path)
            existing, state = parent_state(path)
            if state == "blocked":
                continue
            parent = path.rpartition("/")[0]
            if entry is None:
                if existing == parent and self.lstat(path) is not None:
                    writable(parent)
                continue
            kind, oid = entry
            if existing == parent:
                st = self.lstat(path)
                if st is not None and stat.S_ISDIR(st.st_mode) and not self._vanishes(path, deleted):
                    problems.append((path, "a directory is in the way of a file to write"))
                    continue
            writable(existing)
            if kind is EntryKind.SYMLINK:
                self.check_link_target(path, self.store.get(oid)[1])
                continue
            size = self.store.info(oid)[1]
            row = rows.get(path)
            old = 0
            if row is not None and row.head_oid is not None and row.head_kind is not EntryKind.SYMLINK:
                try:
                    old = self.store.info(row.head_oid)[1]
                except VcrdtError:
                    old = 0
            need += size - old
            largest = max(largest, size)
        for path in deleted:
            row = rows.get(path)
            if row is not None and row.head_oid is not None and row.head_kind is not EntryKind.SYMLINK:
                try:
                    need -= self.store.info(row.head_oid)[1]
                except VcrdtError:
                    pass
        if problems:
            path, reason = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise WorktreeError(path, reason + more, hint="move it away (or fix it) and try again; nothing was changed")
        try:
            fs = os.statvfs(self._root_s)
        except OSError:
            return
        free = fs.f_bavail * fs.f_frsize
        if need + largest > free:
            raise WorktreeError(
                ".",
                f"not enough free space: the files to write need {need + largest} bytes, {free} are free",
                hint="free some space and try again; nothing was changed",
            )

    def _vanishes(self, directory: str, deleted: Collection[str]) -> bool:
        """Tell whether a directory will be gone once `deleted` are: all it holds is deleted, no empty directory."""
        try:
            it = os.scandir(self.abspath(directory))
        except OSError:
            return False
        found = False
        with it:
            for de in it:
                found = True
                rel = f"{directory}/{de.name}"
                try:
                    is_dir = de.is_dir(follow_symlinks=False)
                except OSError:
                    return False
                if is_dir:
                    if not self._vanishes(rel, deleted):
                        return False
                elif rel not in deleted:
                    return False
        return found

    def journal_writes(self, writes: Mapping[str, tuple[EntryKind, ObjectId] | None]) -> None:
        """Record paths to write (None: delete) in the checkout journal, in the caller's transaction.

        Nothing is written to the work tree here: `finish_checkout`, after the
        transaction commits, does it (or the next command, if this process dies).
        """
        if not writes:
            return
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO checkout_journal(path, kind, oid) VALUES (?, ?, ?)",
                [
                    (encode(p), None, None) if e is None else (encode(p), e[0].value, e[1])
                    for p, e in sorted(writes.items())
                ],
            )

    def pending_checkout(self) -> bool:
        """Tell whether the checkout journal holds work (a checkout was cut short)."""
        try:
            return self.db.conn.execute("SELECT 1 FROM checkout_journal LIMIT 1").fetchone() is not None
        except sqlite3.OperationalError:
            return False  # an older repository opened read-only: it has no journal table yet

    def finish_checkout(self, on_progress: Progress | None = None) -> int:
        """Write and delete the files the checkout journal names, then clear it; return how many paths.

        Runs outside any transaction (the journal must have been committed);
        takes the write lock while it works, so two processes never finish
        the same journal at once. Deletions go first. Each written file's stat
        is cached in its row. On a failure the journal stays, for the next
        command to finish.

        Raises:
            RepoError: If a file cannot be written or deleted (the checkout stays unfinished).
        """
        if self.db.in_transaction:
            raise RuntimeError("finish_checkout runs after the transaction that journaled the checkout")
        if not self.pending_checkout():
            return 0
        with self.db.write() as conn:
            journal: dict[str, tuple[EntryKind, ObjectId] | None] = {}
            for raw, kind, oid in conn.execute("SELECT path, kind, oid FROM checkout_journal"):
                path = raw.decode("utf-8", "surrogateescape")
                journal[path] = None if kind is None else (_KINDS[kind], ObjectId(oid))
            if not journal:
                return 0  # another process finished it meanwhile
            writes = sorted((p, e) for p, e in journal.items() if e is not None)
            rows = self._rows_of([p for p, _ in writes])
            dirty: list[Row] = []
            try:
                deletes = sorted(p for p, e in journal.items() if e is None)
                for p in deletes:
                    self.delete_file(p)
                # A process killed between deleting a file and removing its emptied directory left
                # that directory behind: remove the empty ones, and any that stand where a file goes.
                self._prune_empty_dirs(ancestor_dirs(deletes) | {p for p, _ in writes})
                now_ns = self.clock_ns()
                for i, (p, (kind, oid)) in enumerate(writes):
                    if on_progress is not None and i % 64 == 0:
                        on_progress(i, len(writes))
                    st = self.write_file(p, kind, oid)
                    row = rows.get(p)
                    if row is not None and self._cache(row, kind, oid, st, now_ns):
                        dirty.append(row)
            except (VcrdtError, OSError) as exc:
                what = exc.message if isinstance(exc, VcrdtError) else f"{exc.filename}: {exc.strerror}"
                raise RepoError(
                    f"{what}; the checkout is unfinished",
                    hint="fix the cause; the next vcrdt command (`vcrdt status` will do) finishes it",
                ) from exc
            if on_progress is not None:
                on_progress(len(writes), len(writes))
            self._save_rows(dirty)
            conn.execute("DELETE FROM checkout_journal")
        return len(journal)

    def _prune_empty_dirs(self, candidates: Iterable[str]) -> None:
        """Remove each candidate that is a directory holding nothing but empty directories, deepest first.

        A candidate below a symlink or a file is left alone (nothing is removed through a link).
        """
        for d in sorted(candidates, key=lambda p: (-p.count("/"), p)):
            if not self._is_real_dir(d) or not all(self._is_real_dir(a) for a in parent_dirs(d)):
                continue
            self._remove_empty_tree(d)

    def _is_real_dir(self, path: str) -> bool:
        try:
            return stat.S_ISDIR(os.lstat(self.abspath(path)).st_mode)
        except OSError:
            return False

    def _remove_empty_tree(self, directory: str) -> bool:
        """Remove `directory` if it holds only (empty) directories; True if it is gone."""
        full = self.abspath(directory)
        try:
            if not stat.S_ISDIR(os.lstat(full).st_mode):
                return False
            with os.scandir(full) as it:
                entries = [(de.name, de.is_dir(follow_symlinks=False)) for de in it]
        except OSError:
            return False
        for name, is_dir in entries:
            if not is_dir or not self._remove_empty_tree(f"{directory}/{name}"):
                return False
        try:
            os.rmdir(full)
        except OSError:
            return False
        return True

    def begin_checkout(self, target: FlatTree, *, force: bool) -> list[str]:
        """Check a checkout of `target` as the new HEAD, then set the rows and journal the files.

        Runs in the caller's transaction (which moves the refs too); the files
        are written by `finish_checkout` once it commits. Local changes to
        paths that `target` does not change are carried over. Without `force`,
        refuses when a local change or an untracked file would be
        overwritten; with or without it, refuses when anything is in the way
        (`check_writes`). A refusal changes nothing.

        Returns:
            The paths to be written or deleted, sorted.

        Raises:
            DirtyWorktreeError: If uncommitted changes would be lost.
            WorktreeError: If something is in the way of a path.
        """
        rows = self.rows()
        old = self.head_flat(rows)
        changing = {p for p in old.keys() | target.keys() if old.get(p) != target.get(p)}
        for p in target:
            check_path(p)
        cur, _ = self.current(rows, [p for p in changing if p in rows], None, store=False)
        if not force:
            blocked: list[str] = []
            for p in sorted(changing):
                row = rows.get(p)
                if row is None:
                    st = self.lstat(p)
                    if st is not None and not stat.S_ISDIR(st.st_mode):
                        blocked.append(p)  # an untracked file in the way (a directory: check_writes)
                elif row.state == "removed" or cur.get(p) != old.get(p):
                    blocked.append(p)
            if blocked:
                raise DirtyWorktreeError(
                    f"uncommitted changes would be overwritten: {', '.join(blocked[:5])}"
                    + (f" and {len(blocked) - 5} more" if len(blocked) > 5 else ""),
                    hint="commit them, or use --force to discard them",
                )
        writes = {p: target.get(p) for p in changing}
        self.check_writes(writes, rows)
        with self.db.write():
            self._delete_rows([p for p in rows if p in changing and p not in target])
            self._save_rows([Row(p, *target[p]) for p in sorted(changing) if p in target])
            self.journal_writes(writes)
        return sorted(changing)

    def checkout(self, target: FlatTree, *, force: bool, on_progress: Progress | None = None) -> list[str]:
        """Make the work tree and the rows match `target` as the new HEAD (outside any transaction).

        `begin_checkout` then `finish_checkout`; an operation that moves refs
        calls the two itself, around its transaction.

        Returns:
            The paths written or deleted.

        Raises:
            DirtyWorktreeError: If uncommitted changes would be lost.
            WorktreeError: If something is in the way of a path.
        """
        written = self.begin_checkout(target, force=force)
        self.finish_checkout(on_progress)
        return written


_TEMP_RE = re.compile(r"\..+\.vcrdt-([0-9]+)\.tmp")


def _remove_if_orphaned(path: str, pid: int) -> None:
    """Delete a temporary file whose writing process no longer exists."""
    if pid == os.getpid():
        return
    try:
        os.kill(pid, 0)
        return  # its writer is still running
    except ProcessLookupError:
        pass
    except OSError:
        return  # exists but is not ours to signal: leave it
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_all(fd: int, path: str) -> bytes:
    parts: list[bytes] = []
    while True:
        chunk = os.read(fd, READ_CHUNK * 8)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)


def _iter_fd(fd: int) -> Iterator[bytes]:
    while True:
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            return
        yield chunk


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
