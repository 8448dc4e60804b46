"""Reaching work-tree paths without following a symlink: directories opened one name at a time.

No read, write, rename or delete goes through a symlink: the parents of a
path are opened one name at a time from the work-tree root with
``O_NOFOLLOW | O_DIRECTORY`` (`Dirs`); a symlinked parent hides the path from
reads and is refused for writes and deletes ("is beyond a symbolic link", as
git says). `Disk` keeps one set of them open for an operation and answers the
questions every other module asks of a path (its lstat, its content).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

from vcrdt.errors import BadPathError, VcrdtError, WorktreeError

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import BinaryIO


class Disk:
    """The work tree's files as seen from its root, never through a symlink."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """Reach the work tree at `root`."""
        self.root = self.root_s = os.fspath(root)
        self.scope = 0  # grows with each operation that opens a new set of directories (`opened`)
        self._dirs: Dirs | None = None

    def abspath(self, path: str) -> str:
        """Return the absolute file-system path of a repository path."""
        return os.path.join(self.root_s, path)

    @property
    def in_scope(self) -> bool:
        """True while an operation keeps directories open (inside `opened`)."""
        return self._dirs is not None

    @contextmanager
    def opened(self) -> Iterator[Dirs]:
        """The directories kept open for the current operation (a new set, closed at the end, if none)."""
        if self._dirs is not None:
            yield self._dirs
            return
        dirs = Dirs(self.root_s)
        self._dirs = dirs
        self.scope += 1
        try:
            yield dirs
        finally:
            self._dirs = None
            dirs.close()

    def lstat(self, path: str) -> os.stat_result | None:
        """Return the lstat of a repository path, or None if it is missing or a parent is not a real directory.

        A path beyond a symlink is missing, as git sees it: the file it would
        reach lies elsewhere (perhaps outside the work tree).

        Raises:
            WorktreeError: If a parent cannot be opened or the path cannot be stat'ed.
        """
        if self._dirs is not None:  # inside an operation's scope (as `opened`, without its cost per path)
            return self._dirs.lstat(path)
        with self.opened() as dirs:
            return dirs.lstat(path)

    def lstat_in_tree(self, path: str) -> os.stat_result | None:
        """Return the lstat of a path as a walk of the tree finds it: None if missing or below a non-directory.

        As with `lstat`, a symlink among the parents hides the path, as it does from a scan;
        unlike it, an error reads as missing.
        """
        try:
            return self.lstat(path)
        except VcrdtError:
            return None

    def is_real_dir(self, path: str) -> bool:
        """Tell whether `path` is a directory (not a symlink to one); its parents are not checked."""
        try:
            return stat.S_ISDIR(os.lstat(self.abspath(path)).st_mode)
        except OSError:
            return False

    def open_fd(self, path: str) -> int:
        """Open a work-tree file for reading without following a symlink (itself or a parent).

        Raises:
            WorktreeError: If it is missing, a symlink, or cannot be opened.
            BadPathError: If it is beyond a symbolic link.
        """
        with self.opened() as dirs:
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
        return os.fdopen(self.open_fd(path), "rb")

    def read_link(self, path: str) -> bytes:
        """Return the target of a work-tree symlink, never read through a symlinked parent.

        Raises:
            WorktreeError: If it is missing or not a symlink.
            BadPathError: If it is beyond a symbolic link.
        """
        with self.opened() as dirs:
            fd, name = dirs.parent(path, strict=True) or (-1, "")
            if fd < 0:
                raise WorktreeError(path, "cannot read symlink: No such file or directory")
            try:
                return os.fsencode(os.readlink(name, dir_fd=fd))
            except OSError as exc:
                raise WorktreeError(path, f"cannot read symlink: {exc.strerror}") from exc

    def ensure_parent(self, path: str) -> tuple[int, str]:
        """Open (creating) the parent directory of `path`; return its descriptor and the last name.

        Raises:
            BadPathError: If a parent is a symlink.
            WorktreeError: If a parent is a file, or cannot be created or opened.
        """
        if self._dirs is not None:  # inside an operation's scope (as `opened`, without its cost per path)
            at = self._dirs.parent(path, strict=True, create=True)
        else:
            with self.opened() as dirs:
                at = dirs.parent(path, strict=True, create=True)
        assert at is not None  # strict and create: a missing parent is made
        return at


# O_PATH (Linux): a directory needs only search permission to be opened, as it does to be walked.
DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NOT_NAMES = frozenset(("", ".", ".."))


class Dirs:
    """Directories of the work tree, opened one name at a time from the root, never through a symlink.

    Each directory is opened relative to its parent's descriptor with
    ``O_NOFOLLOW | O_DIRECTORY``, so a symlink (or file) anywhere among a
    path's parents is seen rather than followed, and the ``*at`` calls made
    with the descriptors (``dir_fd=``) cannot be redirected by one. The
    descriptors stay open for one operation (`Disk.opened`), so a checkout
    opens each directory once; `forget` drops one this process removed.
    """

    def __init__(self, root: str) -> None:
        """Open the work-tree root (itself it may be reached through links: the user chose it).

        Raises:
            WorktreeError: If the root cannot be opened.
        """
        try:
            self._fds: dict[str, int] = {"": os.open(root, DIR_FLAGS & ~os.O_NOFOLLOW)}
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
        if name in NOT_NAMES:  # row and command-line paths were checked; this holds for any other
            raise BadPathError(path, f"{name!r} component not allowed")
        fd = self._open(directory, path, strict=strict, create=create, missing_ok=missing_ok)
        return None if fd is None else (fd, name)

    def _open(self, d: str, path: str, *, strict: bool, create: bool, missing_ok: bool) -> int | None:
        fd = self._fds.get(d)
        if fd is not None:
            return fd
        up, _, name = d.rpartition("/")
        if name in NOT_NAMES:
            raise BadPathError(path, f"{name!r} component not allowed")
        parent = self._open(up, path, strict=strict, create=create, missing_ok=missing_ok)
        if parent is None:
            return None
        try:
            fd = os.open(name, DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                return None
            try:
                os.mkdir(name, 0o777, dir_fd=parent)
                fd = os.open(name, DIR_FLAGS, dir_fd=parent)
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

    def lstat(self, path: str) -> os.stat_result | None:
        """`Disk.lstat`, with these directories (for a loop over many paths).

        Raises:
            WorktreeError: If a parent cannot be opened or the path cannot be stat'ed.
        """
        at = self.parent(path, strict=False)
        if at is None:
            return None
        try:
            return os.stat(at[1], dir_fd=at[0], follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise WorktreeError(path, f"cannot stat: {exc.strerror}") from exc

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
