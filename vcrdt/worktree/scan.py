"""Walking the work tree: which files are tracked, untracked or ignored, and the stat of each.

A name that breaks a path rule, or a path longer than the file system lets a
program open, is left out with a warning (`warnings`, for the caller to
show). vcrdt's own temporary files are never listed; one whose writer died is
removed.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from vcrdt.errors import BadPathError
from vcrdt.objects import EntryKind
from vcrdt.paths import MAX_PATH_BYTES, META_DIR, ancestor_dirs, check_component, encode
from vcrdt.worktree.dirs import Disk
from vcrdt.worktree.ignore import IgnoreRules
from vcrdt.worktree.rows import RowTable, SettleKey

# The temporary file `write_file` renames into place: ``.NAME.vcrdt-PID.tmp``.
TEMP_RE = re.compile(r"\..+\.vcrdt-([0-9]+)\.tmp")
_ABSENT: SettleKey = (b"", -2, -2, -2, -2, 0)  # compared by identity: "no such key"


@dataclass(slots=True)
class Scan:
    """What a walk of the work tree found."""

    files: dict[str, os.stat_result] = field(default_factory=dict)
    untracked: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


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


def is_temp_name(name: str) -> bool:
    """Tell whether `name` is one of vcrdt's temporary files."""
    return name[0] == "." and name.endswith(".tmp") and TEMP_RE.fullmatch(name) is not None


def scan_tree(
    disk: Disk,
    rows: Collection[str],
    warnings: list[str],
    *,
    want_ignored: bool = False,
    tracked_stats: bool = True,
) -> Scan:
    """Walk the work tree, classifying every file as tracked, untracked or ignored.

    Args:
        disk: The work tree.
        rows: The set of tracked paths (a dict of rows will do).
        warnings: Where to add a message for each path left out.
        want_ignored: List the ignored files and directories too.
        tracked_stats: Without it, tracked files are not stat'ed (and are
            absent from `files`): the directory entry's type says enough for a
            caller that only wants the untracked files.

    Returns:
        What the walk found.
    """
    root_s = disk.root_s
    result = Scan()
    files = result.files
    ignore = IgnoreRules(disk.root, warnings)
    tracked_dirs = ancestor_dirs(rows)
    stack: list[str] = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root_s, rel_dir) if rel_dir else root_s
        try:
            it = os.scandir(abs_dir)
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                not_tracked(warnings, rel_dir, path_max(root_s))
            continue
        with it:
            for de in it:
                name = de.name
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if not rel_dir and name == META_DIR:
                    continue
                temp = TEMP_RE.fullmatch(name) if name[0] == "." and name.endswith(".tmp") else None
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
                        not_tracked(warnings, rel, path_max(root_s))
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
                        not_tracked(warnings, rel, reason=exc.rule)
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


@dataclass(slots=True)
class Sweep:
    """What a status walk found: the tracked paths a stat does not settle, and the files not tracked."""

    unsettled: list[str] = field(default_factory=list)  # sorted
    files: dict[str, os.stat_result] = field(default_factory=dict)  # of the unsettled found, and the untracked
    linked: list[str] = field(default_factory=list)  # tracked files with more than one link
    untracked: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def sweep(
    disk: Disk, keys: Mapping[str, SettleKey | None], warnings: list[str], *, want_ignored: bool = False
) -> Sweep:
    """Walk the work tree as `scan_tree` does, settling each tracked file by its stat on the way.

    Args:
        disk: The work tree.
        keys: Every tracked path, with its row's ``(path, size, mtime_ns,
            ino, ctime_ns, ...)`` when its cached entry is HEAD's (a matching
            stat then settles it), else None.
        warnings: Where to add a message for each path left out.
        want_ignored: List the ignored files and directories too.

    Returns:
        The tracked paths whose stat does not settle them (changed, missing, a
        directory now, or not cached as HEAD's), with the stat of those found;
        and the untracked (and ignored) files as `scan_tree` lists them. The
        classification is `scan_tree`'s; a settled file costs one ``lstat``
        and a comparison with its row as read, nothing kept.
    """
    root_s = disk.root_s
    result = Sweep()
    files = result.files
    unsettled = result.unsettled
    ignore = IgnoreRules(disk.root, warnings)
    tracked_dirs: set[str] | None = None
    missing = dict(keys)  # the tracked paths not found as files yet
    stack: list[str] = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root_s, rel_dir) if rel_dir else root_s
        prefix = rel_dir + "/" if rel_dir else ""
        try:
            it = os.scandir(abs_dir)
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                not_tracked(warnings, rel_dir, path_max(root_s))
            continue
        with it:
            for de in it:
                name = de.name
                rel = prefix + name
                if not rel_dir and name == META_DIR:
                    continue
                if name[0] == "." and name.endswith(".tmp"):
                    temp = TEMP_RE.fullmatch(name)
                    if temp is not None:
                        # Our own temporary file: never listed; removed when its writer died.
                        _remove_if_orphaned(os.path.join(abs_dir, name), int(temp.group(1)))
                        continue
                try:
                    st = de.stat(follow_symlinks=False)
                except OSError as exc:
                    if exc.errno == errno.ENAMETOOLONG:  # past PATH_MAX: cannot be opened by name
                        not_tracked(warnings, rel, path_max(root_s))
                    continue
                key = missing.pop(rel, _ABSENT)
                if key is not _ABSENT:
                    if not stat.S_ISDIR(st.st_mode):
                        # Tracked names were checked when they were added or checked out.
                        if (
                            key is None
                            or key[1] != st.st_size
                            or key[2] != st.st_mtime_ns
                            or key[3] != st.st_ino
                            or key[4] != st.st_ctime_ns
                        ):
                            unsettled.append(rel)
                            files[rel] = st
                        if st.st_nlink > 1:
                            result.linked.append(rel)
                        continue
                    missing[rel] = key  # a directory where a tracked file was
                try:
                    check_component(name, rel)
                    if len(rel) > MAX_PATH_BYTES // 4 and len(encode(rel)) > MAX_PATH_BYTES:
                        raise BadPathError(rel, f"path longer than {MAX_PATH_BYTES} bytes")
                except BadPathError as exc:
                    if not ignore.is_ignored(rel, is_dir=stat.S_ISDIR(st.st_mode)):
                        not_tracked(warnings, rel, reason=exc.rule)
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if ignore.is_ignored(rel, is_dir=True):
                        if tracked_dirs is None:
                            tracked_dirs = ancestor_dirs(keys)
                        if rel not in tracked_dirs:
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
                    files[rel] = st
    # Not found as files: deleted, a directory now, below a symlink or a file, or left out.
    unsettled.extend(missing)
    unsettled.sort()
    result.untracked.sort()
    result.ignored.sort()
    return result


def is_untracked(disk: Disk, table: RowTable, path: str, ignore: IgnoreRules) -> bool:
    """Tell whether `scan` would list the untracked `path` (the caller knows it is not tracked)."""
    parts = path.split("/")
    if parts[0] == META_DIR:
        return False
    name = parts[-1]
    if is_temp_name(name):
        return False
    st = disk.lstat_in_tree(path)
    if st is None or stat.S_ISDIR(st.st_mode) or kind_of(st) is None:
        return False
    for depth in range(1, len(parts) + 1):
        rel = "/".join(parts[:depth])
        try:
            check_component(parts[depth - 1], rel)
        except BadPathError:
            return False
        if depth < len(parts) and ignore.is_ignored(rel, is_dir=True) and not table.has_tracked_under(rel):
            return False
    return not ignore.is_ignored(path)


def not_tracked(warnings: list[str], path: str, limit: int = 0, *, reason: str = "") -> None:
    """Warn (once) that the scan leaves `path` out: longer than `limit` bytes, or the path rule `reason`."""
    message = f"{path}: {reason or f'path longer than {limit} bytes'}; not tracked"
    if message not in warnings:
        warnings.append(message)


def path_max(root: str) -> int:
    """Return the file system's limit on a path's length (PATH_MAX) under `root`, in bytes."""
    try:
        return os.pathconf(root, "PC_PATH_MAX")
    except (OSError, ValueError):
        return 4096


def _remove_if_orphaned(path: str, pid: int) -> None:
    """Delete a temporary file whose writer process no longer exists."""
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
