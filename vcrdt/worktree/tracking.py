"""Edits to the tracked set: which paths a command names, and adding, removing, moving and committing them."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection, Iterable

from vcrdt.errors import BadPathError, IgnoredPathsError, WorktreeError
from vcrdt.ids import ObjectId
from vcrdt.paths import check_path
from vcrdt.worktree.dirs import Disk
from vcrdt.worktree.ignore import IgnoreRules
from vcrdt.worktree.rows import FlatTree, Row, RowTable
from vcrdt.worktree.scan import Scan, scan_tree

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from vcrdt.worktree.writing import Writer


class Tracking:
    """Changes to which paths are tracked, and to the HEAD entries the rows record."""

    def __init__(self, table: RowTable, disk: Disk, writer: Callable[[], Writer], warnings: list[str]) -> None:
        """Edit the rows of `table` for the files of `disk` (deleting them through `writer()`, made on first use)."""
        self.table = table
        self.disk = disk
        self.writer = writer
        self.warnings = warnings

    def expand(
        self, specs: Iterable[str], rows: Collection[str], *, untracked_ok: bool, force: bool = False
    ) -> list[str]:
        """Turn command-line paths (files or directories, repo-relative) into tracked or addable files.

        With `force` (``add -f``), ignored files count as addable too: a given
        path that is ignored, and the ignored files under a given directory.

        Raises:
            WorktreeError: If a given path matches nothing.
            IgnoredPathsError: If given paths (without `force`) are ignored; all of them are named.
        """
        out: set[str] = set()
        scan: Scan | None = None
        ignored: list[str] = []
        if force and untracked_ok:
            scan = scan_tree(self.disk, rows, self.warnings, tracked_stats=False, want_ignored=True)
            out.update(self._ignored_files(scan.ignored, specs))
        for spec in specs:
            spec = spec.strip("/")
            if spec in ("", "."):
                out.update(rows)
                if untracked_ok:
                    scan = scan or scan_tree(self.disk, rows, self.warnings, tracked_stats=False)
                    out.update(scan.untracked)
                continue
            check_path(spec)
            prefix = spec + "/"
            hits = [p for p in rows if p == spec or p.startswith(prefix)]
            if untracked_ok:
                scan = scan or scan_tree(self.disk, rows, self.warnings, tracked_stats=False)
                hits += [p for p in scan.untracked if p == spec or p.startswith(prefix)]
            if not hits:
                st = self.disk.lstat(spec)
                if st is not None and untracked_ok and self._is_ignored(spec, stat.S_ISDIR(st.st_mode)):
                    if force and any(p == spec or p.startswith(prefix) for p in out):
                        continue
                    if not force:
                        ignored.append(spec)
                        continue
                raise WorktreeError(spec, "did not match any file" + ("" if untracked_ok else " tracked by vcrdt"))
            out.update(hits)
        if ignored:
            raise IgnoredPathsError(ignored)
        return sorted(out)

    def addable(self, specs: Iterable[str], untracked: Collection[str]) -> tuple[list[str], list[str]] | None:
        """What `add` of `specs` would track, given every untracked file, without reading every row.

        The same paths as `expand` (with `untracked_ok`) less those already
        tracked: the untracked files under each spec, and the removed rows
        (``rm --cached``) under it.

        Returns:
            The new paths and the removed ones to track again (each sorted), or
            None when a spec names no tracked path and no untracked file (only
            `expand` can say why: ignored, or no such file).

        Raises:
            BadPathError: If a spec breaks a path rule.
        """
        removed = sorted(self.table.select("WHERE state = 'removed'"))
        new: set[str] = set()
        revived: set[str] = set()
        for spec in specs:
            spec = spec.strip("/")
            if spec in ("", "."):
                new.update(untracked)
                revived.update(removed)
                continue
            check_path(spec)
            prefix = spec + "/"
            hits = [p for p in untracked if p == spec or p.startswith(prefix)]
            if not hits and not (self.table.is_tracked(spec) or self.table.has_tracked_under(spec)):
                return None
            new.update(hits)
            revived.update(p for p in removed if p == spec or p.startswith(prefix))
        return sorted(new), sorted(revived)

    def _is_ignored(self, path: str, is_dir: bool) -> bool:
        rules = IgnoreRules(self.disk.root, self.warnings)
        return rules.is_ignored(path) or (is_dir and rules.is_ignored(path, is_dir=True))

    def _ignored_files(self, ignored: list[str], specs: Iterable[str]) -> list[str]:
        """The ignored files (and the files under ignored directories) that the given paths name."""
        wanted = [s.strip("/") for s in specs]
        out: list[str] = []

        def named(path: str) -> bool:
            return any(s in ("", ".") or path == s or path.startswith(s + "/") for s in wanted)

        for entry in ignored:
            if not entry.endswith("/"):
                if named(entry):
                    out.append(entry)
                continue
            top = entry.rstrip("/")
            if not (named(top) or any(s.startswith(top + "/") for s in wanted)):
                continue
            out += [p for p in self._files_under(top) if named(p)]
        return out

    def _files_under(self, top: str) -> list[str]:
        """Every regular file and symlink under the directory `top`, never following a symlink.

        Names that break a path rule are left out with a warning.
        """
        out: list[str] = []
        todo = [top]
        while todo:
            d = todo.pop()
            try:
                entries = list(os.scandir(os.path.join(self.disk.root, d)))
            except OSError as exc:
                self.warnings.append(f"{d}: cannot read: {exc.strerror}")
                continue
            for de in entries:
                rel = f"{d}/{de.name}"
                try:
                    check_path(rel)
                except BadPathError as exc:
                    self.warnings.append(str(exc))
                    continue
                if de.is_dir(follow_symlinks=False):
                    todo.append(rel)
                elif de.is_file(follow_symlinks=False) or de.is_symlink():
                    out.append(rel)
        return out

    def remove(self, paths: list[str], *, keep_files: bool) -> list[str]:
        """Stop tracking files (and delete them unless `keep_files`); return the paths."""
        rows = self.table.all()
        drop: list[str] = []
        mark: list[Row] = []
        if not keep_files:
            with self.disk.opened() as dirs:
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
        self.table.delete(drop, head_same=True)  # added paths: no HEAD entry
        self.table.save(mark, head_same=True)  # their state only
        if not keep_files:
            with self.disk.opened():
                for p in paths:
                    self.writer().delete_file(p)
        return list(paths)

    def rename(self, src: str, dst: str) -> None:
        """Move a tracked file in the work tree and the tracked set.

        Neither path is reached through a symlink.

        Raises:
            WorktreeError: If `src` is not tracked or `dst` exists.
            BadPathError: If a parent of either is a symlink.
        """
        rows = self.table.all()
        if src not in rows or rows[src].state == "removed":
            raise WorktreeError(src, "is not tracked")
        check_path(dst)
        with self.disk.opened() as dirs:
            at = dirs.parent(src, strict=True, missing_ok=True)
            if at is None:
                raise WorktreeError(src, "cannot move: No such file or directory")
            if self.disk.lstat(dst) is not None:
                raise WorktreeError(dst, "already exists")
            fd, name = self.disk.ensure_parent(dst)
            try:
                os.rename(at[1], name, src_dir_fd=at[0], dst_dir_fd=fd)
            except OSError as exc:
                raise WorktreeError(src, f"cannot move: {exc.strerror}") from exc
        self.remove([src], keep_files=True)
        self.table.track([dst], self.table.states())

    def record_head(
        self,
        new_head: FlatTree,
        committed: Iterable[str],
        cache: dict[str, Row],
        rows: dict[str, Row] | None = None,
        trees: tuple[ObjectId | None, ObjectId] | None = None,
    ) -> None:
        """After a commit: set the HEAD entry of every committed path and save refreshed caches.

        With `trees` (the tree the commit was built on, the commit's tree): when the rows
        recorded the first, they record the second (the commit changed the rows as it changed
        that tree).
        """
        keep = trees is not None and self.table.head_tree() == (True, trees[0])
        rows = self.table.all() if rows is None else rows
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
        self.table.update_pack(drop, save)
        if keep:
            assert trees is not None
            self.table.set_head_tree(trees[1])
