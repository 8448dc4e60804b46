"""Reading and hashing work-tree files, and the stat cache's rule.

`status` and `commit` rehash a file only when its size, mtime, inode or ctime
changed since it was cached. A file whose mtime is within `RACY_NS` (two
seconds on file systems with whole-second timestamps) of the moment it was
hashed is not cached, since a later edit in the same clock tick would not
change its stat (git's "racy clean" problem). Files are read without
following a symlink (`Disk`), and a file that changes while it is read is
refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator

from vcrdt.errors import CorruptObjectError, WorktreeError
from vcrdt.hashing import StreamingObjectHasher, object_id
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.store import LARGE_OBJECT, ObjectStore, Storing
from vcrdt.worktree.dirs import Dirs, Disk
from vcrdt.worktree.rows import Progress, Row
from vcrdt.worktree.scan import kind_of

# Timestamps come from the kernel's coarse clock (one tick is 4-10 ms), so a file
# hashed less than this long after its mtime may change again without its mtime moving.
RACY_NS = 50_000_000
COARSE_RACY_NS = 2_000_000_000
READ_CHUNK = 1024 * 1024
# Files are hashed and compressed in batches (in parallel) of at most this much.
BATCH_BYTES = 32 * 1024 * 1024
BATCH_FILES = 512

Entries = dict[str, tuple[EntryKind, ObjectId] | None]


def cache_stat(row: Row, kind: EntryKind, oid: ObjectId, st: os.stat_result, now_ns: int) -> bool:
    """Record the stat of a freshly hashed file unless it is racily recent; True if the row changed."""
    new: tuple[EntryKind | None, ObjectId | None, int, int, int, int]
    if kind is EntryKind.GITLINK:
        return False  # a submodule's directory: read again each time (`Reader.current`)
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


class Reader:
    """Hashes work-tree files (and saves their content, when asked) through the stat cache."""

    def __init__(self, disk: Disk, store: ObjectStore, clock_ns: Callable[[], int]) -> None:
        """Read files of `disk` into `store`; `clock_ns` says when a hash was taken (for the racy rule)."""
        self.disk = disk
        self.store = store
        self.clock_ns = clock_ns

    def read_small(self, path: str, st: os.stat_result) -> tuple[EntryKind, bytes, os.stat_result] | None:
        """Read a regular file of at most `LARGE_OBJECT` bytes; None for anything else.

        Raises:
            WorktreeError: If the file cannot be read or changes while it is read.
        """
        if not stat.S_ISREG(st.st_mode) or st.st_size > LARGE_OBJECT:
            return None
        fd = self.disk.open_fd(path)
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
            target = self.disk.read_link(path)
            oid = self.store.put("blob", target) if store else object_id("blob", target)
            return kind, oid, st
        if kind is None or kind is EntryKind.TREE:
            what = "a directory" if kind is EntryKind.TREE else "not a regular file or symlink"
            raise WorktreeError(path, f"is {what}", hint="remove it or `vcrdt rm` the path")
        small = self.read_small(path, st)
        if small is not None:
            kind, data, fst = small
            return kind, self.store.put("blob", data) if store else object_id("blob", data), fst
        fd = self.disk.open_fd(path)
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

    def current(
        self,
        rows: dict[str, Row],
        paths: Iterable[str],
        files: dict[str, os.stat_result] | None,
        *,
        store: bool,
        on_progress: Progress | None = None,
    ) -> tuple[Entries, list[Row]]:
        """Return the current entry of each path (None if missing) and the rows whose cache changed.

        Raises:
            WorktreeError: If a file cannot be read.
        """
        with self.disk.opened() as dirs:
            return self._current(dirs, rows, paths, files, store=store, on_progress=on_progress)

    def _current(
        self,
        dirs: Dirs,
        rows: dict[str, Row],
        paths: Iterable[str],
        files: dict[str, os.stat_result] | None,
        *,
        store: bool,
        on_progress: Progress | None,
    ) -> tuple[Entries, list[Row]]:
        now_ns = self.clock_ns()
        out: Entries = {}
        dirty: list[Row] = []
        todo = list(paths)
        batch: list[tuple[str, EntryKind, bytes, os.stat_result]] = []
        batch_bytes = 0

        # One batch is compressed on the store's workers while the next is read (on a machine with
        # two cores, a first commit's reading and compressing overlap instead of taking turns).
        storing: list[tuple[list[tuple[str, EntryKind, bytes, os.stat_result]], Storing]] = []

        def settle() -> None:
            stored, started = storing.pop()
            for (p, kind, _, fst), oid in zip(stored, started.finish(), strict=True):
                out[p] = (kind, oid)
                row = rows.get(p)
                if row is not None and cache_stat(row, kind, oid, fst, now_ns):
                    dirty.append(row)

        def flush() -> None:
            nonlocal batch
            nonlocal batch_bytes
            hints = [rows[p].head_oid if p in rows else None for p, _, _, _ in batch]
            started = self.store.start_put_many(
                [("blob", data, hint) for (_, _, data, _), hint in zip(batch, hints, strict=True)]
            )
            if storing:
                settle()
            storing.append((batch, started))
            batch = []
            batch_bytes = 0

        for i, path in enumerate(todo):
            if on_progress is not None and i % 256 == 0:
                on_progress(i, len(todo))
            st = files.get(path) if files is not None else dirs.lstat(path)
            row = rows.get(path)
            if st is None or stat.S_ISDIR(st.st_mode):
                # A git submodule (not initialised here) is a directory: as recorded, whatever it holds.
                if row is not None and row.head_kind is EntryKind.GITLINK and row.head_oid is not None:
                    if _is_dir(dirs.lstat(path)):
                        out[path] = (EntryKind.GITLINK, row.head_oid)
                        continue
                out[path] = None
                continue
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
            if row is not None and cache_stat(row, kind, oid, fst, now_ns):
                dirty.append(row)
        if batch:
            flush()
        if storing:
            settle()
        if on_progress is not None:
            on_progress(len(todo), len(todo))
        return out, dirty


def _is_dir(st: os.stat_result | None) -> bool:
    return st is not None and stat.S_ISDIR(st.st_mode)


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
