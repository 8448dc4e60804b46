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
`vcrdt.paths`. No read, write, rename or delete goes through a symlink: the
parents of a path are opened one name at a time from the work-tree root with
``O_NOFOLLOW | O_DIRECTORY`` (`_Dirs`), a symlinked parent hides the path from
reads and is refused for writes and deletes ("is beyond a symbolic link", as
git says). No symlink is created that resolves outside the work tree or into
``.vcrdt``, judged with the other links around it (`vcrdt.paths.resolve_link`):
a checkout judges all the links of the target tree together before it writes
anything (`Worktree.writing`), and a single link written on its own is judged
against HEAD's links and the links on disk.
A checkout checks every path before it writes any, and goes through the
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol

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
from vcrdt.paths import (
    MAX_PATH_BYTES,
    META_DIR,
    ancestor_dirs,
    check_component,
    check_path,
    encode,
    parent_dirs,
    resolve_link,
)
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
    """``.vcrdtignore`` files (gitignore syntax), at the root and in subdirectories.

    A line that is not a valid pattern (``!``, a trailing ``\\``) is skipped: an
    ignore file is repository content, which a fetched replica can bring. Each
    skipped line adds a message to `warnings` (``FILE:LINE: invalid pattern
    ...``) for the caller to show.
    """

    def __init__(self, root: Path, warnings: list[str] | None = None) -> None:
        """Prepare to read ignore files under `root`, adding messages to `warnings` (when given)."""
        self.root = root
        self._specs: dict[str, Any] = {}
        self.warnings = warnings if warnings is not None else []

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

                try:
                    self._specs[directory] = GitIgnoreSpec.from_lines(lines)
                except ValueError:  # pathspec's pattern error: find the lines, skip them
                    name = f"{directory}/{IGNORE_FILE}" if directory else IGNORE_FILE
                    self._specs[directory] = GitIgnoreSpec.from_lines(self._valid_lines(name, lines))
            except FileNotFoundError:
                self._specs[directory] = None
            except OSError as exc:
                raise WorktreeError(path, f"cannot read ignore file: {exc.strerror}") from exc
        return self._specs[directory]

    def _valid_lines(self, name: str, lines: list[str]) -> list[str]:
        """Return the lines of ignore file `name` that are valid patterns; warn about the others."""
        from pathspec import GitIgnoreSpec

        valid = []
        for number, line in enumerate(lines, 1):
            try:
                GitIgnoreSpec.from_lines([line])
            except ValueError:
                message = f"{name}:{number}: invalid pattern {line!r} (skipped)"
                if message not in self.warnings:
                    self.warnings.append(message)
                continue
            valid.append(line)
        return valid

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
        # What the scans found but skipped (invalid ignore lines, paths too long): for the caller to show.
        self.warnings: list[str] = []
        self._dirs: _Dirs | None = None  # directories kept open during one operation (`_opened`)
        self._judged: dict[str, ObjectId] = {}  # links judged with their whole tree (`writing`)
        self._head_links: dict[str, tuple[ObjectId, str]] | None = None  # HEAD's links, per `_opened`

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
        self._head_links = None
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

    def _refresh_caches(self, rows: Iterable[Row]) -> None:
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

    def _delete_rows(self, paths: Iterable[str]) -> None:
        keys = [(encode(p),) for p in paths]
        if not keys:
            return
        self._head_links = None
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
        ignore = IgnoreRules(self.root, self.warnings)
        tracked_dirs = ancestor_dirs(rows)
        stack: list[str] = [""]
        while stack:
            rel_dir = stack.pop()
            abs_dir = os.path.join(self._root_s, rel_dir) if rel_dir else self._root_s
            try:
                it = os.scandir(abs_dir)
            except OSError as exc:
                if exc.errno == errno.ENAMETOOLONG:
                    self._not_tracked(rel_dir, self._path_max())
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
                    except OSError as exc:
                        if exc.errno == errno.ENAMETOOLONG:  # past PATH_MAX: cannot be opened by name
                            self._not_tracked(rel, self._path_max())
                        continue
                    if rel in rows and not stat.S_ISDIR(st.st_mode):
                        # Tracked names were checked when they were added or checked out.
                        files[rel] = st
                        continue
                    try:
                        check_component(name, rel)
                        if len(rel) > MAX_PATH_BYTES // 4 and len(encode(rel)) > MAX_PATH_BYTES:
                            raise BadPathError(rel, f"path longer than {MAX_PATH_BYTES} bytes")
                    except BadPathError as exc:
                        result.invalid.append(rel)
                        if not ignore.is_ignored(rel, is_dir=stat.S_ISDIR(st.st_mode)):
                            self._not_tracked(rel, reason=exc.rule)
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

    def _not_tracked(self, path: str, limit: int = 0, *, reason: str = "") -> None:
        """Warn (once) that the scan leaves `path` out: longer than `limit` bytes, or the path rule `reason`."""
        message = f"{path}: {reason or f'path longer than {limit} bytes'}; not tracked"
        if message not in self.warnings:
            self.warnings.append(message)

    def _path_max(self) -> int:
        """Return the file system's limit on a path's length (PATH_MAX), in bytes."""
        try:
            return os.pathconf(self._root_s, "PC_PATH_MAX")
        except (OSError, ValueError):
            return 4096

    def lstat(self, path: str) -> os.stat_result | None:
        """Return the lstat of a repository path, or None if it is missing or a parent is not a real directory.

        A path beyond a symlink is missing, as git sees it: the file it would
        reach lies elsewhere (perhaps outside the work tree).

        Raises:
            WorktreeError: If a parent cannot be opened or the path cannot be stat'ed.
        """
        with self._opened() as dirs:
            at = dirs.parent(path, strict=False)
            if at is None:
                return None
            try:
                return os.stat(at[1], dir_fd=at[0], follow_symlinks=False)
            except (FileNotFoundError, NotADirectoryError):
                return None
            except OSError as exc:
                raise WorktreeError(path, f"cannot stat: {exc.strerror}") from exc

    @contextmanager
    def _opened(self) -> Iterator[_Dirs]:
        """The directories kept open for the current operation (a new set, closed at the end, if none)."""
        if self._dirs is not None:
            yield self._dirs
            return
        dirs = _Dirs(self._root_s)
        self._dirs = dirs
        try:
            yield dirs
        finally:
            self._dirs = None
            self._head_links = None
            dirs.close()

    # --- hashing ----------------------------------------------------------------------

    def _open(self, path: str) -> int:
        """Open a work-tree file for reading without following a symlink (itself or a parent)."""
        with self._opened() as dirs:
            fd, name = dirs.parent(path, strict=True) or (-1, "")
            if fd < 0:
                raise WorktreeError(path, "cannot read: No such file or directory")
            try:
                return os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise WorktreeError(path, "changed into a symlink while being read") from exc
                raise WorktreeError(path, f"cannot read: {exc.strerror}") from exc

    def open_file(self, path: str) -> BinaryIO:
        """Open a regular work-tree file for reading, never through a symlink.

        Raises:
            WorktreeError: If it is missing, a symlink, or cannot be read.
            BadPathError: If it is beyond a symbolic link.
        """
        return os.fdopen(self._open(path), "rb")

    def read_link(self, path: str) -> bytes:
        """Return the target of a work-tree symlink, never read through a symlinked parent.

        Raises:
            WorktreeError: If it is missing or not a symlink.
            BadPathError: If it is beyond a symbolic link.
        """
        with self._opened() as dirs:
            fd, name = dirs.parent(path, strict=True) or (-1, "")
            if fd < 0:
                raise WorktreeError(path, "cannot read symlink: No such file or directory")
            try:
                return os.fsencode(os.readlink(name, dir_fd=fd))
            except OSError as exc:
                raise WorktreeError(path, f"cannot read symlink: {exc.strerror}") from exc

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
        if kind is EntryKind.SYMLINK:
            target = self.read_link(path)
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
        with self._opened():
            return self._current(rows, paths, files, store=store, on_progress=on_progress)

    def _current(
        self,
        rows: dict[str, Row],
        paths: Iterable[str],
        files: dict[str, os.stat_result] | None,
        *,
        store: bool,
        on_progress: Progress | None,
    ) -> tuple[dict[str, tuple[EntryKind, ObjectId] | None], list[Row]]:
        now_ns = self.clock_ns()
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
            st = files.get(path) if files is not None else self.lstat(path)
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
        keys: dict[str, tuple[int, int, int, int] | None] = {}
        pending: list[str] = []
        # One pass over the table, stats only: the few rows a stat cannot settle are read whole afterwards.
        for raw, size, mtime, ino, ctime, settled in self.db.conn.execute(
            f"SELECT path, size, mtime_ns, ino, ctime_ns, {_SETTLED} FROM worktree"
        ):
            path = raw.decode("utf-8", "surrogateescape")
            if settled:
                keys[path] = (size, mtime, ino, ctime)
            else:
                keys[path] = None
                pending.append(path)
        others = self._rows_of(pending) if pending else {}
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
        """Return the rows of those of `paths` that are tracked (all rows, filtered, when they are many).

        A path without a row (an untracked file or directory a monitor named,
        a temporary file) is left out, whichever way the rows are read.
        """
        if len(paths) > 2000:
            every = self.rows()
            return {p: every[p] for p in paths if p in every}
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
                watched = self._watched_suspects(changed, token)
            if watched is not None:
                found, rows, _, _ = watched
                out = sorted(found)
                return out, {p: rows[p] for p in out}
        keys, rows = self._stat_keys()
        with self._opened():
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
        if changed is not None:
            watched = self._watched_status(changed, token)
            if watched is not None:
                return watched
        # A full look; it saves the token for the next status (events since its counter are looked at
        # again then, which only costs time).
        return self._full_status(token=token)

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
            # A file with other hard links can change through one the monitor does not see (outside the
            # tree) or that names another path: every watched status looks at it again.
            linked = [p for p in keys if (st := files.get(p)) is not None and st.st_nlink > 1]
            token = dataclasses.replace(token, untracked=scan.untracked, suspects=sorted({*suspect, *linked}))
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
                        self._refresh_caches(dirty)
                    if token is not None:
                        self._save_token(token)
        return st

    def _save_token(self, token: _Token) -> None:
        import json

        self.db.set_meta(MONITOR_TOKEN, json.dumps(dataclasses.asdict(token), sort_keys=True))

    def _watched_status(self, changed: frozenset[str], token: _Token) -> WorktreeStatus | None:
        """Status from the paths a monitor says changed since the token, and what the token's status saw.

        The same answer as `_full_status` (a property test holds them equal).
        A path can differ from HEAD only if its row is not settled, or the
        token's status could not settle it by its stat (`token.suspects`), or
        it changed since. Those are read whole and compared as a full status
        would; each changed path that is not tracked is classified as the scan
        would classify it; the token's untracked files stay untracked unless
        they changed or became tracked since. None when a full look is needed
        (see `_watched_suspects`).
        """
        with self.db.read():
            watched = self._watched_suspects(changed, token)
            if watched is None:
                return None
            suspect, rows, changed_rows, files = watched
            now_tracked = self._rows_of(token.untracked)
            out = set(token.untracked).difference(now_tracked)
            ignore = IgnoreRules(self.root, self.warnings)
            with self._opened():
                for path in changed:
                    if path in changed_rows:
                        continue
                    out.discard(path)
                    if self._is_untracked(path, ignore):
                        out.add(path)
        return self._compare(sorted(suspect), rows, files, untracked=sorted(out), ignored=[], token=None)

    def _watched_suspects(
        self, changed: frozenset[str], token: _Token
    ) -> tuple[set[str], dict[str, Row], dict[str, Row], dict[str, os.stat_result]] | None:
        """The tracked paths that may differ from HEAD, from a monitor's changes and the token.

        Returns the paths, their rows, the rows of the changed paths that are
        tracked, and the lstat of every path looked at. The paths include every
        path `_unsettled` would return (and may include more: a token suspect
        whose stat matches again), so commit may use them as well as status.
        None when a tracked file looked at has gained hard links since the
        token (it is not among the token's suspects), or a changed path is a
        regular file with several links: a write through another link changes
        a file with no event naming it, so only a full look, which makes every
        multiply-linked tracked file a suspect of the next token, can be
        trusted. (A link made from outside the work tree after the token, to
        a file not written since, sends no event at all: as with git's
        fsmonitor, that is not seen until the next full look.)
        """
        rows = self._select_rows(f"WHERE NOT ({_SETTLED})")
        suspect = set(rows)
        changed_rows = self._rows_of(sorted(changed))
        rows.update(self._rows_of(token.suspects))
        suspect.update(p for p in token.suspects if p in rows)
        files: dict[str, os.stat_result] = {}
        with self._opened():
            for path in {*rows, *changed_rows}:
                st = self.lstat_in_tree(path)
                if st is not None and not stat.S_ISDIR(st.st_mode):
                    files[path] = st
            known = set(token.suspects)
            if any(st.st_nlink > 1 and p not in known for p, st in files.items()):
                return None
            for path in changed.difference(files):
                # A new link in the tree to a tracked file: writes through it would name only the link.
                st = self.lstat_in_tree(path)
                if st is not None and stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                    return None
        for path, row in changed_rows.items():
            if path not in rows:
                st = files.get(path)
                if st is None or not row.matches(st):
                    rows[path] = row
                    suspect.add(path)
        return suspect, rows, changed_rows, files

    def lstat_in_tree(self, path: str) -> os.stat_result | None:
        """Return the lstat of a path as a walk of the tree finds it: None if missing or below a non-directory.

        As with `lstat`, a symlink among the parents hides the path, as it does from `scan`;
        unlike it, an error reads as missing.
        """
        try:
            return self.lstat(path)
        except VcrdtError:
            return None

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
                if st is not None and untracked_ok and IgnoreRules(self.root, self.warnings).is_ignored(spec):
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
        if not keep_files:
            with self._opened() as dirs:
                for p in paths:  # a file beyond a symlink is refused before anything changes
                    dirs.parent(p, strict=True, missing_ok=True)
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
            with self._opened():
                for p in paths:
                    self.delete_file(p)
        return list(paths)

    def rename(self, src: str, dst: str) -> None:
        """Move a tracked file in the work tree and the tracked set.

        Neither path is reached through a symlink.

        Raises:
            WorktreeError: If `src` is not tracked or `dst` exists.
            BadPathError: If a parent of either is a symlink.
        """
        rows = self.rows()
        if src not in rows or rows[src].state == "removed":
            raise WorktreeError(src, "is not tracked")
        check_path(dst)
        with self._opened() as dirs:
            at = dirs.parent(src, strict=True, missing_ok=True)
            if at is None:
                raise WorktreeError(src, "cannot move: No such file or directory")
            if self.lstat(dst) is not None:
                raise WorktreeError(dst, "already exists")
            fd, name = self._ensure_parent(dst)
            try:
                os.rename(at[1], name, src_dir_fd=at[0], dst_dir_fd=fd)
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

    def _ensure_parent(self, path: str) -> tuple[int, str]:
        """Open (creating) the parent directory of `path`; return its descriptor and the last name.

        Raises:
            BadPathError: If a parent is a symlink.
            WorktreeError: If a parent is a file, or cannot be created or opened.
        """
        with self._opened() as dirs:
            at = dirs.parent(path, strict=True, create=True)
            assert at is not None  # strict and create: a missing parent is made
            return at

    @contextmanager
    def writing(self, target: FlatTree | None = None) -> Iterator[None]:
        """Scope a run of writes and deletes, such as one checkout.

        Directories opened inside stay open until the end (one ``open`` per
        directory, not per file). With `target`, the whole tree about to be
        written, its symlinks are judged first, all together (`check_links`),
        so a tree with a bad chain is refused before anything is written;
        `write_file` then does not judge those links again.

        Raises:
            BadPathError: If a link of `target` is refused.
        """
        with self._opened():
            judged = self.check_links(target) if target is not None else {}
            saved = self._judged
            self._judged = {**saved, **judged}
            try:
                yield
            finally:
                self._judged = saved

    def check_links(self, target: FlatTree) -> dict[str, ObjectId]:
        """Judge the symlinks of a tree about to be checked out, all together; return the links judged.

        Each link of `target` is resolved against the other links of `target`
        and, for the paths `target` does not hold, the links on disk (a path
        HEAD tracks and `target` drops counts as gone). A link that leaves the
        work tree or enters ``.vcrdt`` is refused when the checkout writes it
        (it differs from HEAD's) or when it goes through one the checkout
        writes; a link already in HEAD that was bad before stays the user's.

        Raises:
            BadPathError: If a link is refused.
        """
        links = {p: oid for p, (kind, oid) in target.items() if kind is EntryKind.SYMLINK}
        if not links:
            return {}
        head = self._head_link_entries()
        texts = {
            p: head[p][1] if p in head and head[p][0] == oid else self._link_text(p, oid) for p, oid in links.items()
        }
        written = {p for p, oid in links.items() if p not in head or head[p][0] != oid}
        dirs = ancestor_dirs(target)

        def link_at(p: str) -> str | None:
            if p in texts:
                return texts[p]
            if p in target or p in dirs or self._is_tracked(p):
                return None
            return self._disk_link(p)[1]

        for p in sorted(texts):
            _judge(p, texts[p], link_at, written)
        return links

    def check_link_target(self, path: str, target: bytes) -> None:
        """Refuse a symlink target that is absolute, escapes the work tree or enters ``.vcrdt`` on its own text.

        This judges the text alone (as if no other link existed); `check_links`
        and `write_file` also resolve the links around it.

        Raises:
            BadPathError: If the target breaks a rule.
        """
        resolve_link(path, os.fsdecode(target), lambda _: None)

    def _link_text(self, path: str, oid: ObjectId) -> str:
        """The target stored in the blob `oid` of the link at `path`.

        Raises:
            BadPathError: If it is longer than a path may be.
        """
        _, size = self.store.info(oid)
        if size > MAX_PATH_BYTES:
            raise BadPathError(path, f"symlink target longer than {MAX_PATH_BYTES} bytes")
        return os.fsdecode(self.store.get(oid)[1])

    def _disk_link(self, path: str) -> tuple[bool, str | None]:
        """Whether `path` exists on disk (not beyond a symlink), and its target if it is a symlink."""
        try:
            with self._opened() as dirs:
                at = dirs.parent(path, strict=False)
                if at is None:
                    return False, None
                st = os.stat(at[1], dir_fd=at[0], follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    return True, None
                return True, os.readlink(at[1], dir_fd=at[0])
        except (OSError, VcrdtError):
            return False, None

    def _is_tracked(self, path: str) -> bool:
        return self.db.conn.execute("SELECT 1 FROM worktree WHERE path = ?", (encode(path),)).fetchone() is not None

    def _judge_link(self, path: str, text: str) -> None:
        """Judge one link written on its own, against the links on disk and HEAD's.

        A name is looked up on disk, and, where the disk has nothing, in HEAD
        (whose missing links a restore may bring back). The new link is
        resolved, and so is each of HEAD's links that goes through it, since
        the new one may complete a chain (``x -> .`` under ``up -> x/..``).

        Raises:
            BadPathError: If the new link, or a link of HEAD with it, is refused.
        """
        head = self._head_link_entries()

        def link_at(p: str) -> str | None:
            if p == path:
                return text
            exists, on_disk = self._disk_link(p)
            return on_disk if exists else (head[p][1] if p in head else None)

        _judge(path, text, link_at, {path})
        for p in sorted(head):
            if p != path:
                exists, on_disk = self._disk_link(p)
                if not exists or on_disk is not None:
                    _judge(p, on_disk if on_disk is not None else head[p][1], link_at, {path})

    def _head_link_entries(self) -> dict[str, tuple[ObjectId, str]]:
        """HEAD's symlinks with their blob ids and targets (read once per `_opened` scope, until the rows change)."""
        if self._head_links is not None:
            return self._head_links
        links: dict[str, tuple[ObjectId, str]] = {}
        for raw, oid in self.db.conn.execute(
            "SELECT path, head_oid FROM worktree WHERE head_kind = ? AND head_oid IS NOT NULL",
            (EntryKind.SYMLINK.value,),
        ).fetchall():
            p = raw.decode("utf-8", "surrogateescape")
            try:
                links[p] = (ObjectId(oid), self._link_text(p, ObjectId(oid)))
            except BadPathError:
                continue  # never checked out: nothing on disk to follow
        if self._dirs is not None:
            self._head_links = links
        return links

    def write_file(self, path: str, kind: EntryKind, oid: ObjectId) -> os.stat_result:
        """Write one entry into the work tree atomically (temp file, then rename), never through a symlink.

        The parents are opened (and made) one name at a time from the root; a
        symlink among them is refused. A symlink's target is judged with the
        links around it (see `writing` and `_judge_link`) before anything is
        written.

        Raises:
            BadPathError: If the path or a symlink target breaks a path rule, or a parent is a symlink.
            WorktreeError: If the file cannot be written.
        """
        check_path(path)
        with self._opened():
            target = b""
            if kind is EntryKind.SYMLINK:
                text = self._link_text(path, oid)
                if self._judged.get(path) != oid:
                    self._judge_link(path, text)
                target = os.fsencode(text)
            fd, name = self._ensure_parent(path)
            try:
                existing: os.stat_result | None = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                existing = None
            except OSError as exc:
                raise WorktreeError(path, f"cannot stat: {exc.strerror}") from exc
            if existing is not None and stat.S_ISDIR(existing.st_mode):
                raise WorktreeError(path, "is a directory in the work tree", hint="move it away and try again")
            if existing is None and kind is not EntryKind.SYMLINK:
                # A new name: written in place, no reader had a version of it to lose. A write cut
                # short leaves a partial file that the checkout journal (`finish_checkout`) rewrites.
                # A file that appeared meanwhile is replaced below, as any existing one is.
                written = self._write_new(path, fd, name, kind, oid)
                if written is not None:
                    return written
            tmp = f".{name}.vcrdt-{os.getpid()}.tmp"
            try:
                if kind is EntryKind.SYMLINK:
                    os.symlink(target, tmp, dir_fd=fd)
                else:
                    mode = 0o777 if kind is EntryKind.EXECUTABLE else 0o666
                    out = os.open(
                        tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=fd
                    )
                    try:
                        for chunk in self.store.iter_content(oid):
                            _write_all(out, chunk)
                    finally:
                        os.close(out)
                os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
                return os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                _unlink_quiet(tmp, fd)
                raise WorktreeError(path, f"cannot write: {exc.strerror}") from exc
            except VcrdtError:
                _unlink_quiet(tmp, fd)
                raise

    def _write_new(self, path: str, fd: int, name: str, kind: EntryKind, oid: ObjectId) -> os.stat_result | None:
        """Create the regular file `name` (in the directory `fd`) with the content `oid`; return its stat.

        Returns None, having written nothing, if `name` exists by then.
        """
        mode = 0o777 if kind is EntryKind.EXECUTABLE else 0o666
        try:
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=fd)
        except FileExistsError:
            return None
        except OSError as exc:
            raise WorktreeError(path, f"cannot write: {exc.strerror}") from exc
        try:
            try:
                for chunk in self.store.iter_content(oid):
                    _write_all(out, chunk)
            finally:
                os.close(out)
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError as exc:
            _unlink_quiet(name, fd)
            raise WorktreeError(path, f"cannot write: {exc.strerror}") from exc
        except VcrdtError:
            _unlink_quiet(name, fd)
            raise

    def delete_file(self, path: str) -> None:
        """Delete a file (not a directory) and any directories it leaves empty, never through a symlink.

        A missing file, or one below a file, is already gone.

        Raises:
            BadPathError: If a parent is a symlink (the file is beyond it, perhaps outside the work tree).
            WorktreeError: If the file cannot be deleted.
        """
        with self._opened() as dirs:
            at = dirs.parent(path, strict=True, missing_ok=True)
            if at is None:
                return
            fd, name = at
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                return
            if stat.S_ISDIR(st.st_mode):
                return
            try:
                os.unlink(name, dir_fd=fd)
            except OSError as exc:
                raise WorktreeError(path, f"cannot delete: {exc.strerror}") from exc
            for d in reversed(parent_dirs(path)):
                up = dirs.parent(d, strict=True)
                assert up is not None  # opened on the way down
                try:
                    os.rmdir(up[1], dir_fd=up[0])
                except OSError:
                    break
                dirs.forget(d)

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
                                state = _LINK_IN_THE_WAY
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
                link = next((d for d in parent_dirs(path) if dirs.get(d) == _LINK_IN_THE_WAY), None)
                if link is not None:
                    # The same refusal `write_file` would give: nothing is written through a symlink.
                    raise BadPathError(
                        path, f"is beyond a symbolic link ({link!r} is a symlink; vcrdt never goes through one)"
                    )
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
            if kind is EntryKind.SYMLINK and self._judged.get(path) != oid:
                # Not judged with a whole tree (`writing(target)`): judged on its own, against the
                # disk and HEAD, as `write_file` will judge it.
                self._judge_link(path, self._link_text(path, oid))
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
                with self.writing():  # directories opened once each, never through a symlink
                    for p in deletes:
                        self.delete_file(p)
                # A process killed between deleting a file and removing its emptied directory left
                # that directory behind: remove the empty ones, and any that stand where a file goes.
                # (Outside the scope above: no directory handle it kept may outlive its directory.)
                self._prune_empty_dirs(ancestor_dirs(deletes) | {p for p, _ in writes})
                now_ns = self.clock_ns()
                # Links were judged with their whole tree before the journal was written; here each is
                # judged again against HEAD (the new one, for a checkout) and the disk.
                with self.writing():
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
        for p in changing:
            check_path(p)  # the others are HEAD's own, checked when they were written; none is written now
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
        with self.writing(target):  # every link of the new tree judged with the others, before the rows change
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


_LINK_IN_THE_WAY = "a symlink is in the way of a directory to create"
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


def _judge(path: str, text: str, link_at: Callable[[str], str | None], written: Collection[str]) -> None:
    """Resolve a link; refuse it if it is bad and it, or a link it goes through, is among `written`.

    Raises:
        BadPathError: If the link is refused.
    """
    through: list[str] = []

    def watch(p: str) -> str | None:
        text = link_at(p)
        if text is not None and p in written:
            through.append(p)
        return text

    try:
        resolve_link(path, text, watch)
    except BadPathError:
        if path in written or through:
            raise


def _unlink_quiet(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass


# O_PATH (Linux): a directory needs only search permission to be opened, as it does to be walked.
_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NOT_NAMES = frozenset(("", ".", ".."))


class _Dirs:
    """Directories of the work tree, opened one name at a time from the root, never through a symlink.

    Each directory is opened relative to its parent's descriptor with
    ``O_NOFOLLOW | O_DIRECTORY``, so a symlink (or file) anywhere among a
    path's parents is seen rather than followed, and the ``*at`` calls made
    with the descriptors (``dir_fd=``) cannot be redirected by one. The
    descriptors stay open for one operation (`Worktree._opened`), so a checkout
    opens each directory once; `forget` drops one this process removed.
    """

    def __init__(self, root: str) -> None:
        """Open the work-tree root (itself it may be reached through links: the user chose it).

        Raises:
            WorktreeError: If the root cannot be opened.
        """
        try:
            self._fds: dict[str, int] = {"": os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)}
        except OSError as exc:
            raise WorktreeError(root, f"cannot open the work tree: {exc.strerror}") from exc

    def parent(
        self, path: str, *, strict: bool, create: bool = False, missing_ok: bool = False
    ) -> tuple[int, str] | None:
        """Return the descriptor of the directory holding `path`, and `path`'s last name.

        Args:
            path: A repository path.
            strict: Refuse a symlinked parent (else the path is missing: None).
            create: Make missing parents.
            missing_ok: With `strict`, return None (rather than refuse) for a
                parent that is missing or a file: nothing is there to delete.

        Returns:
            The descriptor and name, or None if a parent is missing (or, when
            not `strict`, a symlink or file).

        Raises:
            BadPathError: If `strict` and a parent is a symlink.
            WorktreeError: If `strict` and a parent is a file (unless
                `missing_ok`), or a directory cannot be made or opened.
        """
        directory, _, name = path.rpartition("/")
        if name in _NOT_NAMES:  # row and command-line paths were checked; this holds for any other
            raise BadPathError(path, f"{name!r} component not allowed")
        fd = self._open(directory, path, strict=strict, create=create, missing_ok=missing_ok)
        return None if fd is None else (fd, name)

    def _open(self, d: str, path: str, *, strict: bool, create: bool, missing_ok: bool) -> int | None:
        fd = self._fds.get(d)
        if fd is not None:
            return fd
        up, _, name = d.rpartition("/")
        if name in _NOT_NAMES:
            raise BadPathError(path, f"{name!r} component not allowed")
        parent = self._open(up, path, strict=strict, create=create, missing_ok=missing_ok)
        if parent is None:
            return None
        try:
            fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                return None
            try:
                os.mkdir(name, 0o777, dir_fd=parent)
                fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
            except OSError as exc:
                raise WorktreeError(d, f"cannot create directory: {exc.strerror}") from exc
        except OSError as exc:
            if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
                raise WorktreeError(d, f"cannot open directory: {exc.strerror}") from exc
            if not strict:
                return None
            try:
                is_link = stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
            except OSError:
                is_link = False
            if is_link:
                raise BadPathError(
                    path, f"is beyond a symbolic link ({d!r} is a symlink; vcrdt never goes through one)"
                ) from None
            if missing_ok:
                return None
            raise WorktreeError(d, "is in the way: a file where a directory is needed") from None
        self._fds[d] = fd
        return fd

    def forget(self, d: str) -> None:
        """Close a directory this process removed, and any below it."""
        below = d + "/"
        for key in [k for k in self._fds if k == d or k.startswith(below)]:
            os.close(self._fds.pop(key))

    def close(self) -> None:
        """Close every descriptor."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
