"""Writing and deleting work-tree files, never through a symlink, and judging the symlinks written.

Every write goes through `Disk`: the parents of a path are opened (and made)
one name at a time from the root, and a symlink among them is refused. No
symlink is created that resolves outside the work tree or into ``.vcrdt``,
judged with the other links around it (`vcrdt.paths.resolve_link`): a
checkout judges all the links of the target tree together before it writes
anything (`Writer.writing`), and a single link written on its own is judged
against HEAD's links and the links on disk.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager

from vcrdt.errors import BadPathError, VcrdtError, WorktreeError
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.paths import MAX_PATH_BYTES, ancestor_dirs, check_path, parent_dirs, resolve_link
from vcrdt.store import ObjectStore
from vcrdt.worktree.dirs import Disk
from vcrdt.worktree.rows import FlatTree, Row, RowTable

# Paths `check_path` passed in this process (it depends on the text alone): a checkout checks each
# path it changes when it plans, when it checks the writes, and when it writes, once each.
_PASSED: set[str] = set()
_PASSED_KEPT = 100_000


def check_path_once(path: str) -> None:
    """`check_path`, remembering the paths that pass so a path is judged once per process.

    Raises:
        BadPathError: If the path breaks a rule.
    """
    if path in _PASSED:
        return
    check_path(path)
    if len(_PASSED) >= _PASSED_KEPT:
        _PASSED.clear()
    _PASSED.add(path)


class Writer:
    """Writes, deletes and link judgements in the work tree."""

    def __init__(self, disk: Disk, table: RowTable, store: ObjectStore) -> None:
        """Write the files of `disk` from `store`; HEAD's links are read from `table`."""
        self.disk = disk
        self.table = table
        self.store = store
        self.judged: dict[str, ObjectId] = {}  # links judged with their whole tree (`writing`)
        # HEAD's links, kept for one `opened` scope while the rows do not change: ((scope, version), links).
        self._head_links: tuple[tuple[int, int], dict[str, tuple[ObjectId, str]]] | None = None

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
        with self.disk.opened():
            judged = self.check_links(target) if target is not None else {}
            saved = self.judged
            self.judged = {**saved, **judged}
            try:
                yield
            finally:
                self.judged = saved

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
            p: head[p][1] if p in head and head[p][0] == oid else self.link_text(p, oid) for p, oid in links.items()
        }
        written = {p for p, oid in links.items() if p not in head or head[p][0] != oid}
        dirs = ancestor_dirs(target)

        def link_at(p: str) -> str | None:
            if p in texts:
                return texts[p]
            if p in target or p in dirs or self.table.is_tracked(p):
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

    def link_text(self, path: str, oid: ObjectId) -> str:
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
            with self.disk.opened() as dirs:
                at = dirs.parent(path, strict=False)
                if at is None:
                    return False, None
                st = os.stat(at[1], dir_fd=at[0], follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    return True, None
                return True, os.readlink(at[1], dir_fd=at[0])
        except (OSError, VcrdtError):
            return False, None

    def judge_link(self, path: str, text: str) -> None:
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
        """HEAD's symlinks with their blob ids and targets (read once per `opened` scope, until the rows change)."""
        key = (self.disk.scope, self.table.version)
        if self._head_links is not None and self.disk.in_scope and self._head_links[0] == key:
            return self._head_links[1]
        links: dict[str, tuple[ObjectId, str]] = {}
        for p, oid in self.table.head_links():
            try:
                links[p] = (oid, self.link_text(p, oid))
            except BadPathError:
                continue  # never checked out: nothing on disk to follow
        if self.disk.in_scope:
            self._head_links = (key, links)
        return links

    def write_file(self, path: str, kind: EntryKind, oid: ObjectId, body: bytes | None = None) -> os.stat_result:
        """Write one entry into the work tree, never through a symlink; return its stat.

        A file is written in place of the old one (deleted first, as git does); a symlink is
        made under a temporary name, then renamed over the old entry. `body`, when given, is
        the content of `oid` already read (and verified) by the caller.

        The parents are opened (and made) one name at a time from the root; a
        symlink among them is refused. A symlink's target is judged with the
        links around it (see `writing` and `judge_link`) before anything is
        written.

        Raises:
            BadPathError: If the path or a symlink target breaks a path rule, or a parent is a symlink.
            WorktreeError: If the file cannot be written.
        """
        check_path_once(path)
        if (kind is EntryKind.FILE or kind is EntryKind.EXECUTABLE) and self.disk.in_scope:
            return self._write_file(path, kind, oid, body)  # the common case, inside a checkout's scope
        with self.disk.opened():
            return self._write_file(path, kind, oid, body)

    def _write_file(self, path: str, kind: EntryKind, oid: ObjectId, body: bytes | None) -> os.stat_result:
        """`write_file` inside a scope of opened directories."""
        target = b""
        if kind is EntryKind.SYMLINK:
            text = self.link_text(path, oid)
            if self.judged.get(path) != oid:
                self.judge_link(path, text)
            target = os.fsencode(text)
        fd, name = self.disk.ensure_parent(path)
        if kind is EntryKind.FILE or kind is EntryKind.EXECUTABLE:
            # As git does: the old file (or link) goes, and the new one is written in its
            # place, with no temporary file and rename. The checkout journal
            # (`finish_checkout`) rewrites a file that a write cut short left missing or partial.
            # (unlink never follows a symlink, and refuses a directory.)
            try:
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                pass
            except OSError as exc:
                if _is_dir(name, fd):
                    raise WorktreeError(
                        path, "is a directory in the work tree", hint="move it away and try again"
                    ) from None
                raise WorktreeError(path, f"cannot write: {exc.strerror}") from exc
            # A file that appeared meanwhile is replaced below, through a temporary file.
            written = self._write_new(path, fd, name, kind, oid, body)
            if written is not None:
                return written
        try:
            existing: os.stat_result | None = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            existing = None
        except OSError as exc:
            raise WorktreeError(path, f"cannot stat: {exc.strerror}") from exc
        if kind is EntryKind.GITLINK:
            return self._write_gitlink(path, fd, name, existing)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise WorktreeError(path, "is a directory in the work tree", hint="move it away and try again")
        tmp = f".{name}.vcrdt-{os.getpid()}.tmp"
        try:
            if kind is EntryKind.SYMLINK:
                os.symlink(target, tmp, dir_fd=fd)
            else:
                mode = 0o777 if kind is EntryKind.EXECUTABLE else 0o666
                out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=fd)
                try:
                    self._write_content(out, oid, body)
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

    def _write_gitlink(self, path: str, fd: int, name: str, existing: os.stat_result | None) -> os.stat_result:
        """A git submodule, not initialised: an empty directory, as git leaves one (a directory there is kept)."""
        try:
            if existing is not None and not stat.S_ISDIR(existing.st_mode):
                os.unlink(name, dir_fd=fd)  # the file this path was (checked: HEAD's, or --force)
                existing = None
            if existing is None:
                os.mkdir(name, 0o777, dir_fd=fd)
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError as exc:
            raise WorktreeError(path, f"cannot make the submodule directory: {exc.strerror}") from exc

    def _write_content(self, out: int, oid: ObjectId, body: bytes | None) -> None:
        """Write the content of `oid` (`body`, when the caller has read it) to the open file `out`."""
        if body is not None:
            _write_all(out, body)
            return
        for chunk in self.store.iter_content(oid):
            _write_all(out, chunk)

    def _write_new(
        self, path: str, fd: int, name: str, kind: EntryKind, oid: ObjectId, body: bytes | None = None
    ) -> os.stat_result | None:
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
                self._write_content(out, oid, body)
                st = os.fstat(out)  # the file just written (no lookup by name: nothing can swap it)
            finally:
                os.close(out)
            return st
        except OSError as exc:
            _unlink_quiet(name, fd)
            raise WorktreeError(path, f"cannot write: {exc.strerror}") from exc
        except VcrdtError:
            _unlink_quiet(name, fd)
            raise

    def delete_file(self, path: str) -> None:
        """Delete a file and any directories it leaves empty, never through a symlink.

        A missing file, or one below a file, is already gone. A directory (a git submodule's) is
        removed only when empty: one the user filled stays, as git leaves it.

        Raises:
            BadPathError: If a parent is a symlink (the file is beyond it, perhaps outside the work tree).
            WorktreeError: If the file cannot be deleted.
        """
        with self.disk.opened() as dirs:
            at = dirs.parent(path, strict=True, missing_ok=True)
            if at is None:
                return
            fd, name = at
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                return
            if stat.S_ISDIR(st.st_mode):
                try:
                    os.rmdir(name, dir_fd=fd)
                except OSError:
                    return
                dirs.forget(path)
            else:
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
        st = self.disk.lstat(path)
        if st is None:
            return False
        if not stat.S_ISDIR(st.st_mode):
            return True
        for dirpath, _, filenames in os.walk(self.disk.abspath(path)):
            for name in filenames:
                rel = os.path.relpath(os.path.join(dirpath, name), self.disk.root_s).replace(os.sep, "/")
                if rel not in rows or rel in target:
                    return True
        return False

    def prune_empty_dirs(self, candidates: Iterable[str]) -> None:
        """Remove each candidate that is a directory holding nothing but empty directories, deepest first.

        A candidate below a symlink or a file is left alone (nothing is removed through a link).
        """
        for d in sorted(candidates, key=lambda p: (-p.count("/"), p)):
            if not self.disk.is_real_dir(d) or not all(self.disk.is_real_dir(a) for a in parent_dirs(d)):
                continue
            self._remove_empty_tree(d)

    def _remove_empty_tree(self, directory: str) -> bool:
        """Remove `directory` if it holds only (empty) directories; True if it is gone.

        A git submodule's empty directory (a tracked path) is kept.
        """
        row = self.table.of([directory]).get(directory)
        if row is not None and row.head_kind is EntryKind.GITLINK:
            return False
        full = self.disk.abspath(directory)
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


def _write_all(fd: int, data: bytes) -> None:
    n = os.write(fd, data)
    if n == len(data):
        return
    view = memoryview(data)[n:]
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


def _is_dir(name: str, dir_fd: int) -> bool:
    """Tell whether `name` in the directory `dir_fd` is a directory (not a symlink to one)."""
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _unlink_quiet(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass
