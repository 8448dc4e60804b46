"""The work tree: tracked paths, the stat cache, ignore rules, scanning, status and checkout.

There is no staging area. The modules, each owning one concept:

- `rows`: the ``worktree`` table (one row per tracked path: its HEAD entry,
  stat cache and state) and every read or write of it.
- `ignore`: ``.vcrdtignore`` rules.
- `dirs`: reaching paths without following a symlink (directory descriptors
  opened one name at a time from the root).
- `scan`: walking the tree, classifying files as tracked, untracked or ignored.
- `reading`: hashing files through the stat cache, and its racy-clean rule.
- `status`: the comparison with HEAD, by a full look or from a file-system
  monitor's events (the monitor is passed in: `Worktree(monitor=...)`).
- `writing`: writing and deleting files, and judging the symlinks written.
- `checkout`: moving the work tree to a new HEAD through the checkout journal.
- `tracking`: adding, removing and moving tracked paths, and recording a commit.

`Worktree` joins them for the rest of vcrdt. Every path read from the disk, a
tree or the command line is checked with `vcrdt.paths`. The package imports
`store`, `objects`, `paths`, `hashing`, `ids` and `errors`; never the
repository or anything above.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager

from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.store import ObjectStore
from vcrdt.store.db import Database
from vcrdt.worktree.dirs import Disk
from vcrdt.worktree.ignore import IGNORE_FILE, IgnoreRules
from vcrdt.worktree.reading import COARSE_RACY_NS, RACY_NS, Entries, Reader
from vcrdt.worktree.rows import ROWS_EPOCH, FlatTree, Progress, Row, RowTable
from vcrdt.worktree.scan import Scan, kind_of, scan_tree
from vcrdt.worktree.status import MONITOR_TOKEN, Changes, FsMonitor, StatusCheck, WorktreeStatus
from vcrdt.worktree.tracking import Tracking

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import BinaryIO

    from vcrdt.worktree.checkout import Checkout
    from vcrdt.worktree.writing import Writer

__all__ = [
    "COARSE_RACY_NS",
    "IGNORE_FILE",
    "MONITOR_TOKEN",
    "RACY_NS",
    "ROWS_EPOCH",
    "Changes",
    "FlatTree",
    "FsMonitor",
    "IgnoreRules",
    "Progress",
    "Row",
    "Scan",
    "Worktree",
    "WorktreeStatus",
    "kind_of",
]


class Worktree:
    """The checked-out files of a repository and the table that tracks them."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        db: Database,
        store: ObjectStore,
        clock_ns: Callable[[], int],
        *,
        monitor: FsMonitor | None = None,
    ) -> None:
        """Bind the work tree at `root` to the database and store.

        Args:
            root: The work tree.
            db: The repository's database (its ``worktree`` and ``checkout_journal`` tables).
            store: The object store.
            clock_ns: The current time in nanoseconds (for the stat cache's racy rule).
            monitor: A file-system monitor that `status` asks what changed (None: look at every file).
        """
        self.root = os.fspath(root)  # a string: the work tree goes through `os.path`, never pathlib
        self.db = db
        self.store = store
        self.clock_ns = clock_ns
        # What the scans found but skipped (invalid ignore lines, paths too long): for the caller to show.
        self.warnings: list[str] = []
        self.table = RowTable(db)
        self.disk = Disk(root)
        self.reader = Reader(self.disk, store, clock_ns)
        self.tracking = Tracking(self.table, self.disk, lambda: self.writer, self.warnings)
        self.checker = StatusCheck(self.table, self.disk, self.reader, self.warnings, monitor)
        # Made on first use: their modules load only when a command writes the work tree.
        self._writer: Writer | None = None
        self._checkouts: Checkout | None = None

    @property
    def writer(self) -> Writer:
        """What writes and deletes the work tree's files (made on first use)."""
        if self._writer is None:
            from vcrdt.worktree.writing import Writer

            self._writer = Writer(self.disk, self.table, self.store)
        return self._writer

    @property
    def checkouts(self) -> Checkout:
        """What moves the work tree to a new HEAD through the checkout journal (made on first use)."""
        if self._checkouts is None:
            from vcrdt.worktree.checkout import Checkout

            self._checkouts = Checkout(self.table, self.disk, self.reader, self.writer, self.store, self.clock_ns)
        return self._checkouts

    @property
    def monitor(self) -> FsMonitor | None:
        """The file-system monitor `status` asks (None: it looks at every file)."""
        return self.checker.monitor

    @monitor.setter
    def monitor(self, monitor: FsMonitor | None) -> None:
        self.checker.monitor = monitor

    # --- rows -----------------------------------------------------------------------

    def rows(self) -> dict[str, Row]:
        """Return every tracked path's row."""
        return self.table.all()

    def head_flat(self, rows: dict[str, Row] | None = None) -> FlatTree:
        """Return HEAD's flat tree as recorded in the rows (the caller's `rows` when given)."""
        return self.table.head_flat(rows)

    def states(self) -> dict[str, str]:
        """Return every tracked path's state (``tracked`` or ``removed``), without loading whole rows."""
        return self.table.states()

    def forget(self, paths: Iterable[str]) -> None:
        """Stop tracking paths without touching their files."""
        self.table.delete(paths)

    def reset_states(self) -> None:
        """Mark every row tracked again (undoes `remove` on all paths)."""
        self.table.reset_states()

    # --- reading --------------------------------------------------------------------

    def abspath(self, path: str) -> str:
        """Return the absolute file-system path of a repository path."""
        return self.disk.abspath(path)

    def scan(self, rows: Collection[str], *, want_ignored: bool = False, tracked_stats: bool = True) -> Scan:
        """Walk the work tree, classifying every file as tracked, untracked or ignored (see `scan.scan_tree`)."""
        return scan_tree(self.disk, rows, self.warnings, want_ignored=want_ignored, tracked_stats=tracked_stats)

    def lstat(self, path: str) -> os.stat_result | None:
        """Return the lstat of a repository path, or None if it is missing or beyond a symlink.

        Raises:
            WorktreeError: If a parent cannot be opened or the path cannot be stat'ed.
        """
        return self.disk.lstat(path)

    def lstat_in_tree(self, path: str) -> os.stat_result | None:
        """Return the lstat of a path as a walk of the tree finds it (an error reads as missing)."""
        return self.disk.lstat_in_tree(path)

    def open_file(self, path: str) -> BinaryIO:
        """Open a regular work-tree file for reading, never through a symlink.

        Raises:
            WorktreeError: If it is missing, a symlink, or cannot be read.
            BadPathError: If it is beyond a symbolic link.
        """
        return self.disk.open_file(path)

    def read_link(self, path: str) -> bytes:
        """Return the target of a work-tree symlink, never read through a symlinked parent.

        Raises:
            WorktreeError: If it is missing or not a symlink.
            BadPathError: If it is beyond a symbolic link.
        """
        return self.disk.read_link(path)

    def read_entry(self, path: str, st: os.stat_result, *, store: bool) -> tuple[EntryKind, ObjectId, os.stat_result]:
        """Hash (and with `store`, save) the work-tree file at `path`; see `Reader.read_entry`.

        Raises:
            WorktreeError: If the file cannot be read, is not a regular file or symlink, or changes.
        """
        return self.reader.read_entry(path, st, store=store)

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
        return self.reader.current(rows, paths, files, store=store, on_progress=on_progress)

    # --- status ---------------------------------------------------------------------

    def status(self, *, want_ignored: bool = False) -> WorktreeStatus:
        """Compare the work tree with HEAD, updating the stat cache when the lock is free (see `StatusCheck`)."""
        return self.checker.status(want_ignored=want_ignored)

    def cache_problems(self) -> list[str]:
        """Return what is wrong with the stat-cache pack (for fsck; see `RowTable.pack_problems`)."""
        return self.table.pack_problems()

    def suspects(self) -> tuple[list[str], dict[str, Row]]:
        """Return the tracked paths that may differ from HEAD (sorted) and their rows.

        Raises:
            WorktreeError: If a file cannot be stat'ed.
        """
        return self.checker.suspects()

    # --- edits to the tracked set ---------------------------------------------------

    def track(self, paths: list[str], states: dict[str, str]) -> list[str]:
        """Start tracking files given the current `states` (updated in place); return the paths newly tracked."""
        return self.table.track(paths, states)

    def add(self, paths: list[str]) -> list[str]:
        """Start tracking files; return the paths newly tracked."""
        return self.table.track(paths, self.table.states())

    def expand(
        self, specs: Iterable[str], rows: Collection[str], *, untracked_ok: bool, force: bool = False
    ) -> list[str]:
        """Turn command-line paths (files or directories, repo-relative) into tracked or addable files.

        With `force`, ignored files are addable too (``add -f``).

        Raises:
            WorktreeError: If a given path matches nothing.
            IgnoredPathsError: If given paths are ignored (without `force`).
        """
        return self.tracking.expand(specs, rows, untracked_ok=untracked_ok, force=force)

    def addable_watched(self, specs: Iterable[str]) -> tuple[list[str], list[str]] | None:
        """What `add` of `specs` would track (new paths, removed ones), from the monitor without a walk.

        Returns:
            None when the monitor cannot tell or a spec needs `expand` (see `Tracking.addable`).

        Raises:
            BadPathError: If a spec breaks a path rule.
        """
        untracked = self.checker.watched_untracked()
        return None if untracked is None else self.tracking.addable(specs, untracked)

    def add_watched(self, specs: Iterable[str]) -> list[str] | None:
        """`add` of `specs` without reading every row: the paths newly tracked, or None (`expand` instead).

        The untracked files come from the monitor's answer, or else from a walk that knows the
        tracked paths from the stat-cache pack (`StatusCheck.walked_untracked`).

        Raises:
            BadPathError: If a spec breaks a path rule.
        """
        specs = list(specs)
        found = self.addable_watched(specs)
        if found is None:
            # No monitor: the untracked files by a walk that reads the tracked paths from the
            # stat-cache pack, not from every row.
            untracked = self.checker.walked_untracked()
            found = None if untracked is None else self.tracking.addable(specs, untracked)
        if found is None:
            return None
        new, revived = found
        return self.table.track(new + revived, dict.fromkeys(revived, "removed"))

    def remove(self, paths: list[str], *, keep_files: bool) -> list[str]:
        """Stop tracking files (and delete them unless `keep_files`); return the paths."""
        return self.tracking.remove(paths, keep_files=keep_files)

    def rename(self, src: str, dst: str) -> None:
        """Move a tracked file in the work tree and the tracked set, never through a symlink.

        Raises:
            WorktreeError: If `src` is not tracked or `dst` exists.
            BadPathError: If a parent of either is a symlink.
        """
        self.tracking.rename(src, dst)

    def record_head(
        self,
        new_head: FlatTree,
        committed: Iterable[str],
        cache: dict[str, Row],
        rows: dict[str, Row] | None = None,
        trees: tuple[ObjectId | None, ObjectId] | None = None,
    ) -> None:
        """After a commit: set the HEAD entry of every committed path and save refreshed caches.

        With `trees` (the parent's tree the commit was built on, the commit's tree), the rows
        record the commit's tree when they recorded the parent's.
        """
        self.tracking.record_head(new_head, committed, cache, rows, trees)

    # --- writing --------------------------------------------------------------------

    @contextmanager
    def writing(self, target: FlatTree | None = None) -> Iterator[None]:
        """Scope a run of writes and deletes, such as one checkout (see `Writer.writing`).

        Raises:
            BadPathError: If a link of `target` is refused.
        """
        with self.writer.writing(target):
            yield

    def check_links(self, target: FlatTree) -> dict[str, ObjectId]:
        """Judge the symlinks of a tree about to be checked out, all together; return the links judged.

        Raises:
            BadPathError: If a link is refused.
        """
        return self.writer.check_links(target)

    def check_link_target(self, path: str, target: bytes) -> None:
        """Refuse a symlink target that is absolute, escapes the work tree or enters ``.vcrdt`` on its own text.

        Raises:
            BadPathError: If the target breaks a rule.
        """
        self.writer.check_link_target(path, target)

    def write_file(self, path: str, kind: EntryKind, oid: ObjectId) -> os.stat_result:
        """Write one entry into the work tree atomically, never through a symlink; return its stat.

        Raises:
            BadPathError: If the path or a symlink target breaks a path rule, or a parent is a symlink.
            WorktreeError: If the file cannot be written.
        """
        return self.writer.write_file(path, kind, oid)

    def delete_file(self, path: str) -> None:
        """Delete a file (not a directory) and any directories it leaves empty, never through a symlink.

        Raises:
            BadPathError: If a parent is a symlink.
            WorktreeError: If the file cannot be deleted.
        """
        self.writer.delete_file(path)

    def in_the_way(self, path: str, rows: dict[str, Row], target: FlatTree) -> bool:
        """Tell whether writing `path` would destroy something untracked."""
        return self.writer.in_the_way(path, rows, target)

    # --- checkout -------------------------------------------------------------------

    def check_writes(self, writes: Mapping[str, tuple[EntryKind, ObjectId] | None], rows: dict[str, Row]) -> None:
        """Refuse, before anything is written, a set of writes (None: delete) that cannot all be done.

        Raises:
            WorktreeError: If a path is in the way or cannot be written (naming the first).
            BadPathError: If a path or a symlink target breaks a path rule.
            ObjectNotFoundError: If an entry's object is missing.
        """
        self.checkouts.check_writes(writes, rows)

    def journal_writes(self, writes: Mapping[str, tuple[EntryKind, ObjectId] | None]) -> None:
        """Record paths to write (None: delete) in the checkout journal, in the caller's transaction."""
        self.checkouts.journal_writes(writes)

    def pending_checkout(self) -> bool:
        """Tell whether the checkout journal holds work (a checkout was cut short)."""
        return self.checkouts.pending_checkout()

    def finish_checkout(self, on_progress: Progress | None = None) -> int:
        """Write and delete the files the checkout journal names, then clear it; return how many paths.

        Raises:
            RepoError: If a file cannot be written or deleted (the checkout stays unfinished).
        """
        return self.checkouts.finish_checkout(on_progress)

    def begin_checkout(self, target: FlatTree, *, force: bool) -> list[str]:
        """Check a checkout of `target` as the new HEAD, then set the rows and journal the files.

        Returns:
            The paths to be written or deleted, sorted.

        Raises:
            DirtyWorktreeError: If uncommitted changes would be lost.
            WorktreeError: If something is in the way of a path.
        """
        return self.checkouts.begin_checkout(target, force=force)

    def begin_checkout_tree(
        self,
        tree: ObjectId | None,
        *,
        force: bool,
        flat: FlatTree | None = None,
        expect: ObjectId | bool | None = False,
    ) -> dict[str, tuple[EntryKind, ObjectId] | None]:
        """`begin_checkout` of the tree `tree`, through a tree diff when the rows' tree is known.

        See `Checkout.begin_checkout_tree` (`flat`: the flat `tree`, if the caller has it;
        `expect`: HEAD's tree as the caller knows it).

        Returns:
            The paths to be written (with their new entries) or deleted (None), in path order.

        Raises:
            DirtyWorktreeError: If uncommitted changes would be lost.
            WorktreeError: If something is in the way of a path.
        """
        return self.checkouts.begin_checkout_tree(tree, force=force, flat=flat, expect=expect)

    def head_tree(self) -> tuple[bool, ObjectId | None]:
        """Return whether the tree the rows' HEAD entries are is known, and that tree (see `RowTable.head_tree`)."""
        return self.table.head_tree()

    def begin_checkout_trees(self, old_tree: ObjectId | None, new_tree: ObjectId | None, *, force: bool) -> list[str]:
        """`begin_checkout` of `new_tree` from HEAD's tree `old_tree`, reading only the rows of changed paths.

        Raises:
            DirtyWorktreeError: If uncommitted changes would be lost.
            WorktreeError: If something is in the way of a path.
        """
        return self.checkouts.begin_checkout_trees(old_tree, new_tree, force=force)

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
