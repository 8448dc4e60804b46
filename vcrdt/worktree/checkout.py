"""Checkout: changing the work tree to a new HEAD through the checkout journal.

Every operation that writes or deletes many work-tree files (switch, fetch and merge moving
the work tree, restore, merge --abort) goes in three steps. `check_writes` looks at every path
first and refuses (nothing written) when one cannot be written. Then, in the operation's
transaction, the rows and refs are made to describe the new state and the paths still to
write or delete go into the ``checkout_journal`` table (`journal_writes`); that commits
before any file is touched. `finish_checkout` then writes the files and clears the journal
in one more transaction. A process killed in between leaves the journal behind, and the
next command that opens the repository finishes it (roll forward): the database already
describes the new state, so only the files are behind. (See docs/format.md.)
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see vcrdt.store.db
import os
import stat
from collections.abc import Callable, Collection, Mapping

from vcrdt.diff.tree import Change, flatten_tree, iter_tree_changes
from vcrdt.errors import BadPathError, DirtyWorktreeError, RepoError, VcrdtError, WorktreeError
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.paths import ancestor_dirs, encode, parent_dirs
from vcrdt.store import ObjectStore
from vcrdt.worktree.dirs import Disk
from vcrdt.worktree.reading import Reader, cache_stat
from vcrdt.worktree.rows import KINDS, FlatTree, Progress, Row, RowTable
from vcrdt.worktree.writing import Writer, check_path_once

LINK_IN_THE_WAY = "a symlink is in the way of a directory to create"
# The bodies of the files a checkout writes are read this many at a time, those of at most
# _BATCH_MAX_SIZE bytes (`Checkout._bodies`): at most 16 MiB held.
_BATCH_FILES = 256
_BATCH_MAX_SIZE = 64 * 1024
_READ_AHEAD = (EntryKind.FILE, EntryKind.EXECUTABLE)
Writes = Mapping[str, tuple[EntryKind, ObjectId] | None]


class Checkout:
    """Checks, journals and carries out the writes that move the work tree to a new HEAD."""

    def __init__(
        self,
        table: RowTable,
        disk: Disk,
        reader: Reader,
        writer: Writer,
        store: ObjectStore,
        clock_ns: Callable[[], int],
    ) -> None:
        """Move the work tree of `disk` and the rows of `table`; objects come from `store`."""
        self.table = table
        self.disk = disk
        self.reader = reader
        self.writer = writer
        self.store = store
        self.clock_ns = clock_ns

    def check_writes(self, writes: Writes, rows: dict[str, Row]) -> None:
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
                ok = os.access(self.disk.abspath(directory) if directory else self.disk.root_s, os.W_OK | os.X_OK)
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
                            st = os.lstat(self.disk.abspath(d))
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
                                state = LINK_IN_THE_WAY
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

        # An old file's size is its row's cached one when that cache is of HEAD's blob (the file's
        # bytes are the blob's); the others are asked of the store with the new files'.
        sizes: dict[ObjectId, int] = {}
        for p in writes:
            r = rows.get(p)
            if (
                r is not None
                and r.head_oid is not None
                and r.size >= 0
                and (r.kind, r.oid) == (r.head_kind, r.head_oid)
            ):
                sizes[r.head_oid] = r.size
        sizes.update(
            self._sizes(
                {e[1] for e in writes.values() if e is not None and e[0] is not EntryKind.SYMLINK}
                | {r.head_oid for p in writes if (r := rows.get(p)) is not None and r.head_oid is not None}
                - sizes.keys()
            )
        )
        for path in sorted(writes):
            entry = writes[path]
            check_path_once(path)
            existing, state = parent_state(path)
            if state == "blocked":
                link = next((d for d in parent_dirs(path) if dirs.get(d) == LINK_IN_THE_WAY), None)
                if link is not None:
                    # The same refusal `write_file` would give: nothing is written through a symlink.
                    raise BadPathError(
                        path, f"is beyond a symbolic link ({link!r} is a symlink; vcrdt never goes through one)"
                    )
                continue
            parent = path.rpartition("/")[0]
            if entry is None:
                if existing == parent and self.disk.lstat(path) is not None:
                    writable(parent)
                continue
            kind, oid = entry
            if existing == parent and kind is not EntryKind.GITLINK:  # a submodule is a directory
                st = self.disk.lstat(path)
                if st is not None and stat.S_ISDIR(st.st_mode) and not self._vanishes(path, deleted):
                    problems.append((path, "a directory is in the way of a file to write"))
                    continue
            writable(existing)
            if kind is EntryKind.SYMLINK and self.writer.judged.get(path) != oid:
                # Not judged with a whole tree (`writing(target)`): judged on its own, against the
                # disk and HEAD, as `write_file` will judge it.
                self.writer.judge_link(path, self.writer.link_text(path, oid))
                continue
            size = sizes[oid] if oid in sizes else self.store.info(oid)[1]  # absent: raises
            row = rows.get(path)
            old = 0
            if row is not None and row.head_oid is not None and row.head_kind is not EntryKind.SYMLINK:
                old = sizes.get(row.head_oid, 0)
            need += size - old
            largest = max(largest, size)
        for path in deleted:
            row = rows.get(path)
            if row is not None and row.head_oid is not None and row.head_kind is not EntryKind.SYMLINK:
                need -= sizes.get(row.head_oid, 0)
        if problems:
            path, reason = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise WorktreeError(path, reason + more, hint="move it away (or fix it) and try again; nothing was changed")
        try:
            fs = os.statvfs(self.disk.root_s)
        except OSError:
            return
        free = fs.f_bavail * fs.f_frsize
        if need + largest > free:
            raise WorktreeError(
                ".",
                f"not enough free space: the files to write need {need + largest} bytes, {free} are free",
                hint="free some space and try again; nothing was changed",
            )

    def _sizes(self, oids: set[ObjectId]) -> dict[ObjectId, int]:
        """The sizes of those of `oids` the store holds (a few queries for many ids, when it can)."""
        many = getattr(self.store, "info_many", None)
        if many is not None:
            try:
                return {oid: size for oid, (_, size) in many(oids).items()}
            except VcrdtError:
                pass  # a damaged row among them: one at a time, as below
        out: dict[ObjectId, int] = {}
        for oid in oids:
            try:
                out[oid] = self.store.info(oid)[1]
            except VcrdtError:
                continue
        return out

    def _vanishes(self, directory: str, deleted: Collection[str]) -> bool:
        """Tell whether a directory will be gone once `deleted` are: all it holds is deleted, no empty directory."""
        try:
            it = os.scandir(self.disk.abspath(directory))
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

    def journal_writes(self, writes: Writes) -> None:
        """Record paths to write (None: delete) in the checkout journal, in the caller's transaction.

        Nothing is written to the work tree here: `finish_checkout`, after the
        transaction commits, does it (or the next command, if this process dies).
        """
        if not writes:
            return
        with self.table.db.write() as conn:
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
            return self.table.db.conn.execute("SELECT 1 FROM checkout_journal LIMIT 1").fetchone() is not None
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
        if self.table.db.in_transaction:
            raise RuntimeError("finish_checkout runs after the transaction that journaled the checkout")
        if not self.pending_checkout():
            return 0
        with self.table.db.write() as conn:
            journal: dict[str, tuple[EntryKind, ObjectId] | None] = {}
            for raw, kind, oid in conn.execute("SELECT path, kind, oid FROM checkout_journal"):
                path = raw.decode("utf-8", "surrogateescape")
                journal[path] = None if kind is None else (KINDS[kind], ObjectId(oid))
            if not journal:
                return 0  # another process finished it meanwhile
            writes = sorted((p, e) for p, e in journal.items() if e is not None)
            rows = self.table.of([p for p, _ in writes])
            dirty: list[Row] = []
            try:
                deletes = sorted(p for p, e in journal.items() if e is None)
                with self.writer.writing():  # directories opened once each, never through a symlink
                    for p in deletes:
                        self.writer.delete_file(p)
                # A process killed between deleting a file and removing its emptied directory left
                # that directory behind: remove the empty ones, and any that stand where a file goes.
                # (Outside the scope above: no directory handle it kept may outlive its directory.)
                self.writer.prune_empty_dirs(ancestor_dirs(deletes) | {p for p, _ in writes})
                # Links were judged with their whole tree before the journal was written; here each is
                # judged again against HEAD (the new one, for a checkout) and the disk.
                stats: list[tuple[Row, EntryKind, ObjectId, os.stat_result]] = []
                with self.writer.writing():
                    done = 0
                    for start in range(0, len(writes), _BATCH_FILES):
                        batch = writes[start : start + _BATCH_FILES]
                        bodies = self._bodies(batch)
                        for p, (kind, oid) in batch:
                            if on_progress is not None and done % 64 == 0:
                                on_progress(done, len(writes))
                            done += 1
                            found = bodies.get(oid)
                            st = self.writer.write_file(p, kind, oid, None if found is None else found[1])
                            row = rows.get(p)
                            if row is not None:
                                stats.append((row, kind, oid, st))
                # The racy rule is judged against the end of the writes, as git judges against its index
                # written after the files: a file written well before it is cached (a later edit moves
                # its mtime), one written in its last moments is hashed again by the next command.
                now_ns = self.clock_ns()
                dirty = [row for row, kind, oid, st in stats if cache_stat(row, kind, oid, st, now_ns)]
            except (VcrdtError, OSError) as exc:
                what = exc.message if isinstance(exc, VcrdtError) else f"{exc.filename}: {exc.strerror}"
                raise RepoError(
                    f"{what}; the checkout is unfinished",
                    hint="fix the cause; the next vcrdt command (`vcrdt status` will do) finishes it",
                ) from exc
            if on_progress is not None:
                on_progress(len(writes), len(writes))
            self.table.update_pack([], dirty, head_same=True)  # stat caches only (the pack kept when it can be)
            conn.execute("DELETE FROM checkout_journal")
        return len(journal)

    def _bodies(self, batch: list[tuple[str, tuple[EntryKind, ObjectId]]]) -> dict[ObjectId, tuple[str, bytes]]:
        """The verified bodies of the small files of a run, read with a few queries when the store can.

        A larger file (or one the store cannot read so) is left out: `write_file` reads it itself.
        """
        many = getattr(self.store, "get_many", None)
        if many is None:
            return {}
        return dict(many({oid for _, (kind, oid) in batch if kind in _READ_AHEAD}, _BATCH_MAX_SIZE))

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
        return list(self._begin_flat(target, force=force))

    def _begin_flat(self, target: FlatTree, *, force: bool) -> dict[str, tuple[EntryKind, ObjectId] | None]:
        """`begin_checkout`, comparing every row with `target`; return the writes (path order)."""
        rows = self.table.all()
        old = self.table.head_flat(rows)
        changing = {p for p in old.keys() | target.keys() if old.get(p) != target.get(p)}
        return self._begin({p: target.get(p) for p in changing}, rows, old, target, force=force)

    def begin_checkout_tree(
        self,
        tree: ObjectId | None,
        *,
        force: bool,
        flat: FlatTree | None = None,
        expect: ObjectId | bool | None = False,
    ) -> dict[str, tuple[EntryKind, ObjectId] | None]:
        """`begin_checkout` of the tree `tree` (None: empty), at a cost in what changed when it can.

        When the rows record which tree their HEAD entries are (`RowTable.head_tree`), that
        tree and `tree` are compared with equal subtrees skipped unread (`iter_tree_changes`),
        and only the rows of the paths that differ are read and changed: neither tree is
        flattened, nor every row read (the new tree is flattened only when it or HEAD holds a
        symlink: links are judged with the whole tree). Otherwise (unknown) it is
        `begin_checkout` of the flattened tree (`flat`, when the caller has it). Either way the
        rows then record `tree`. The checks and the result are `begin_checkout`'s.

        `expect`, when given (a tree or None), is the tree the caller knows as HEAD's (its
        commit's): a record naming another tree is not trusted (the rows were set by a writer
        that does not keep it), nor is one whose rows, on the paths compared, do not hold its
        entries.

        Returns:
            The paths to be written (with their new entries) or deleted (None), in path order.

        Raises:
            DirtyWorktreeError: If uncommitted changes would be lost.
            WorktreeError: If something is in the way of a path.
        """
        writes: dict[str, tuple[EntryKind, ObjectId] | None] | None = None
        known, old_tree = self.table.head_tree()
        if known and (expect is False or expect == old_tree):
            diff = list(iter_tree_changes(self.store, old_tree, tree))
            rows = self.table.of([c.path for c in diff])
            old = self.table.head_flat(rows)
            # The rows of the paths compared must hold the old tree's entries; if one does not,
            # the record is stale (a writer that did not keep it): compare every row instead.
            if all(old.get(c.path) == _old_entry(c) for c in diff):
                tree_writes = {c.path: _new_entry(c) for c in diff}
                links = any(e is not None and e[0] is EntryKind.SYMLINK for e in tree_writes.values())
                target = None
                if links or self.table.head_links():
                    target = flat if flat is not None else flatten_tree(self.store, tree) if tree is not None else {}
                writes = self._begin(tree_writes, rows, old, target, force=force)
        if writes is None:
            target = flat if flat is not None else flatten_tree(self.store, tree) if tree is not None else {}
            writes = self._begin_flat(target, force=force)
        with self.table.db.write():
            self.table.set_head_tree(tree)
        return writes

    def begin_checkout_trees(self, old_tree: ObjectId | None, new_tree: ObjectId | None, *, force: bool) -> list[str]:
        """`begin_checkout_tree` of `new_tree` for a caller that holds HEAD's tree `old_tree`.

        The rows' own record of their tree is what is compared (`begin_checkout_tree`), when it
        is `old_tree`; otherwise every row is compared with the flattened new tree.

        Returns:
            The paths to be written or deleted, sorted.

        Raises:
            DirtyWorktreeError: If uncommitted changes would be lost.
            WorktreeError: If something is in the way of a path.
        """
        return list(self.begin_checkout_tree(new_tree, force=force, expect=old_tree))

    def _begin(
        self,
        writes: dict[str, tuple[EntryKind, ObjectId] | None],
        rows: dict[str, Row],
        old: FlatTree,
        target: FlatTree | None,
        *,
        force: bool,
    ) -> dict[str, tuple[EntryKind, ObjectId] | None]:
        """Check and journal `writes` (path -> new entry, None: delete), every path one HEAD changes; return them.

        `rows` and `old` hold (at least) the rows and HEAD entries of those
        paths; `target`, the whole new tree, is needed only for its symlinks
        (None: it has none, and HEAD has none).
        """
        changing = writes.keys()
        for p in changing:
            check_path_once(p)  # the others are HEAD's own, checked when they were written; none is written now
        cur, _ = self.reader.current(rows, [p for p in changing if p in rows], None, store=False)
        if not force:
            blocked: list[str] = []
            for p in sorted(changing):
                row = rows.get(p)
                if row is None:
                    st = self.disk.lstat(p)
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
        with self.writer.writing(target):  # every link of the new tree judged with the others, before the rows change
            self.check_writes(writes, rows)
        with self.table.db.write():
            # The stat-cache pack is kept (written again with these rows) when it can be.
            self.table.update_pack(
                [p for p in sorted(changing) if p in rows and writes[p] is None],
                [Row(p, *e) for p, e in sorted(writes.items()) if e is not None],
            )
            self.journal_writes(writes)
        return {p: writes[p] for p in sorted(changing)}


def _old_entry(change: Change) -> tuple[EntryKind, ObjectId] | None:
    """The entry a tree change found at its path (None: added)."""
    if change.old_kind is None or change.old_oid is None:
        return None
    return change.old_kind, change.old_oid


def _new_entry(change: Change) -> tuple[EntryKind, ObjectId] | None:
    """The entry a tree change leaves at its path (None: deleted)."""
    if change.new_kind is None or change.new_oid is None:
        return None
    return change.new_kind, change.new_oid
