"""Walking the work tree: which files are tracked, untracked or ignored, and the stat of each.

A name that breaks a path rule, or a path longer than the file system lets a
program open, is left out with a warning (`warnings`, for the caller to
show). vcrdt's own temporary files are never listed; one whose writer died is
removed.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Collection, Mapping

from vcrdt.errors import BadPathError
from vcrdt.objects import EntryKind
from vcrdt.paths import MAX_PATH_BYTES, ancestor_dirs, check_component, encode, reserved_at_root
from vcrdt.values import Record
from vcrdt.worktree.dirs import Disk
from vcrdt.worktree.ignore import IgnoreRules
from vcrdt.worktree.rows import PackedKeys, RowTable, SettleKey

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    import re

# The temporary file `write_file` renames into place: ``.NAME.vcrdt-PID.tmp``.
# Matched with `re.fullmatch` (compiled on first use, when such a name is met: compiling it costs every walk).
TEMP_PATTERN = r"\..+\.vcrdt-([0-9]+)\.tmp"
_ABSENT: SettleKey = (b"", -2, -2, -2, -2, 0)  # compared by identity: "no such key"


class Scan(Record):
    """What a walk of the work tree found."""

    __slots__ = ("files", "untracked", "ignored", "invalid")  # noqa: RUF023 (field order)

    files: dict[str, os.stat_result]
    untracked: list[str]
    ignored: list[str]
    invalid: list[str]

    def __init__(
        self,
        files: dict[str, os.stat_result] | None = None,
        untracked: list[str] | None = None,
        ignored: list[str] | None = None,
        invalid: list[str] | None = None,
    ) -> None:
        self.files = {} if files is None else files
        self.untracked = [] if untracked is None else untracked
        self.ignored = [] if ignored is None else ignored
        self.invalid = [] if invalid is None else invalid


def _stale(key: SettleKey, st: os.stat_result) -> bool:
    """Tell whether a file's stat differs from its row's settle key (size, mtime, inode, ctime)."""
    return key[1] != st.st_size or key[2] != st.st_mtime_ns or key[3] != st.st_ino or key[4] != st.st_ctime_ns


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
    return name[0] == "." and name.endswith(".tmp") and _temp_match(name) is not None


def _temp_match(name: str) -> re.Match[str] | None:
    import re  # here: only a name that looks like a temporary file needs it (`re` costs millions of instructions)

    return re.fullmatch(TEMP_PATTERN, name)


def settle_dir_py(
    abs_dir: str, prefix: str, missing: dict[str, SettleKey | None], compare: bool
) -> tuple[list[str], list[str]]:
    """Settle the tracked files of one directory that need no classifying; return the other names.

    The pure-Python twin of ``vcrdt.worktree._scan.settle_dir`` (a property
    test holds them equal). An entry is settled (removed from `missing`, and
    its path listed in the second list when it has other hard links) when it
    is tracked (a key of `missing`), is not a directory, does not look like a
    temporary file, and, with `compare`, its lstat matches its row (a None row
    never does); without `compare` its type, from the directory entry, is
    enough (an entry whose type cannot be read is settled too: left out).

    Args:
        abs_dir: The directory.
        prefix: Its repository path and a slash ("" at the root).
        missing: The tracked paths not settled yet, with their rows (`RowTable.settle_keys`).
        compare: Compare the lstat with the row.

    Returns:
        The names of the entries left for `walk` to classify, and the settled
        paths with more than one link.

    Raises:
        OSError: If the directory cannot be read.
    """
    others: list[str] = []
    linked: list[str] = []
    with os.scandir(abs_dir) as it:
        for de in it:
            name = de.name
            if name[0] == "." and name.endswith(".tmp"):
                others.append(name)
                continue
            rel = prefix + name
            key = missing.get(rel, _ABSENT)
            if key is _ABSENT:
                others.append(name)
                continue
            marked = compare and (key is SETTLED or key is SETTLED_LINKED)
            if not compare or marked:
                try:
                    if de.is_dir(follow_symlinks=False):
                        others.append(name)
                        continue
                except OSError:
                    pass
                del missing[rel]
                if key is SETTLED_LINKED:
                    linked.append(rel)
                continue
            if key is None:
                others.append(name)
                continue
            try:
                st = de.stat(follow_symlinks=False)
            except OSError:
                others.append(name)
                continue
            if stat.S_ISDIR(st.st_mode) or _stale(key, st):
                others.append(name)
                continue
            del missing[rel]
            if st.st_nlink > 1:
                linked.append(rel)
    return others, linked


def preload_py(root: str, missing: dict[str, SettleKey | None], threads: int) -> int:
    """Stat the tracked files before the walk, marking each row whose stat matches (``_scan.preload``'s twin).

    The C twin makes these ``lstat`` calls on `threads` threads with the GIL
    released (as git's preload-index does), so they overlap on several CPUs;
    this one makes them in turn. Each path whose row is a stat (not None, not
    a marker, its name not like a temporary file's) is stat'ed by its full
    path; when the stat matches the row and is not a directory, the row
    becomes `SETTLED` (`SETTLED_LINKED` when the file has other hard links),
    which `settle_dir` then settles without a stat of its own. The walk still
    reads every directory and settles only the entries it meets, so the
    result of a walk is the same with or without a preload.

    Args:
        root: The work tree's root.
        missing: The tracked paths with their rows (changed in place).
        threads: How many threads the C twin may use (unused here).

    Returns:
        How many rows it marked.
    """
    del threads
    marked = 0
    for rel, key in missing.items():
        if key is None or key is SETTLED or key is SETTLED_LINKED:
            continue
        name = rel.rpartition("/")[2]
        if not name or (name[0] == "." and name.endswith(".tmp")) or "\0" in rel:
            continue
        try:
            st = os.lstat(root + "/" + rel)
        except (OSError, ValueError):
            continue
        if stat.S_ISDIR(st.st_mode) or _stale(key, st):
            continue
        missing[rel] = SETTLED_LINKED if st.st_nlink > 1 else SETTLED
        marked += 1
    return marked


SettleDir = Callable[[str, str, dict[str, "SettleKey | None"], bool], tuple[list[str], list[str]]]
Preload = Callable[[str, dict[str, "SettleKey | None"], int], int]
# A row `preload` found matching: no stat matches these (size -1), so code that does not know them sees a stale row.
SETTLED: SettleKey = (b"", -1, -1, -1, -1, 2)
SETTLED_LINKED: SettleKey = (b"", -1, -1, -1, -1, 3)
settle_dir: SettleDir = settle_dir_py  # the ones the walks use (tests switch them to compare the twins)
preload: Preload = preload_py
try:  # the C twins (vcrdt/worktree/_scan.c), built by `pip install` when a C compiler is there
    from vcrdt.worktree._scan import SETTLED, SETTLED_LINKED, preload, settle_dir
except ImportError:  # pragma: no cover - an install without a C compiler walks in Python
    pass
# A preload pays when several CPUs share the stats: a thread per PRELOAD_PER_THREAD tracked files at most.
PRELOAD_PER_THREAD = 500
PRELOAD_MAX_THREADS = 8


class Sweep(Record):
    """What a walk of the work tree found: the tracked paths a stat does not settle, and the files not tracked."""

    __slots__ = ("unsettled", "files", "linked", "untracked", "ignored", "invalid")  # noqa: RUF023 (field order)

    unsettled: list[str]
    files: dict[str, os.stat_result]
    linked: list[str]
    untracked: list[str]
    ignored: list[str]
    invalid: list[str]

    def __init__(
        self,
        unsettled: list[str] | None = None,
        files: dict[str, os.stat_result] | None = None,
        linked: list[str] | None = None,
        untracked: list[str] | None = None,
        ignored: list[str] | None = None,
        invalid: list[str] | None = None,
    ) -> None:
        self.unsettled = [] if unsettled is None else unsettled
        self.files = {} if files is None else files
        self.linked = [] if linked is None else linked
        self.untracked = [] if untracked is None else untracked
        self.ignored = [] if ignored is None else ignored
        self.invalid = [] if invalid is None else invalid


def scan_tree(
    disk: Disk,
    rows: Collection[str],
    warnings: list[str],
    *,
    want_ignored: bool = False,
    tracked_stats: bool = True,
) -> Scan:
    """Walk the work tree, classifying every file as tracked, untracked or ignored (see `sweep`).

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
    found = walk(disk, dict.fromkeys(rows), warnings, want_ignored=want_ignored, compare=tracked_stats)
    links = gitlinks(rows)
    return Scan(
        files=found.files,
        untracked=outside(found.untracked, links),
        ignored=outside(found.ignored, links),
        invalid=found.invalid,
    )


def gitlinks(rows: Collection[str]) -> list[str]:
    """The git submodules among `rows` (when it holds rows): their directories belong to the submodule."""
    if not isinstance(rows, Mapping):
        return []
    return [p for p, r in rows.items() if getattr(r, "head_kind", None) is EntryKind.GITLINK]


def outside(paths: list[str], dirs: Collection[str]) -> list[str]:
    """The paths not under any of `dirs`.

    >>> outside(["sub/x", "subway", "a"], ["sub"])
    ['subway', 'a']
    """
    if not dirs:
        return paths
    prefixes = tuple(d + "/" for d in dirs)
    return [p for p in paths if not p.startswith(prefixes)]


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
        and the untracked (and ignored) files as `scan_tree` lists them. A
        settled file costs one ``lstat`` and a comparison with its row as
        read, nothing kept.
    """
    return walk(disk, keys, warnings, want_ignored=want_ignored, compare=True)


def walk(
    disk: Disk,
    keys: Mapping[str, SettleKey | None],
    warnings: list[str],
    *,
    want_ignored: bool,
    compare: bool,
) -> Sweep:
    """The one walk of the work tree behind `scan_tree` and `sweep`: one classifier for every entry.

    `settle_dir` reads each directory and settles what needs no classifying
    (see `settle_dir_py`); each other entry is classified here: vcrdt's own
    temporary files skipped (removed when their writer died), a tracked file
    found (unsettled, with its stat, when `compare`; else left out), a name
    breaking a path rule left out with a warning unless ignored, a directory
    walked unless it is ignored and holds nothing tracked, a file ignored or
    untracked.

    Args:
        disk: The work tree.
        keys: The tracked paths with their rows (as `sweep`'s).
        warnings: Where to add a message for each path left out.
        want_ignored: List the ignored files and directories too.
        compare: Settle a tracked file only when its lstat matches its row;
            without it, every tracked file found is left out, unstat'ed.

    Returns:
        What the walk found; `unsettled` then holds, with `compare`, the
        tracked paths not settled, found or not.
    """
    root_s = disk.root_s
    result = Sweep()
    files = result.files
    unsettled = result.unsettled
    ignore = IgnoreRules(disk.root, warnings)
    tracked_dirs: set[str] | None = None  # made when an ignored directory is met
    index = keys.index if isinstance(keys, PackedKeys) else None
    settle = settle_dir
    if index is not None:
        # Still packed (a status's keys): the files whose lstat matches are marked in C (every
        # tracked path without `compare`), and the walk's `missing` holds only the others; the
        # index settles the marked ones as it meets them.
        if compare:
            threads = min(preload_threads(), len(index) // PRELOAD_PER_THREAD, PRELOAD_MAX_THREADS)
            index.preload(root_s, max(threads, 1))
        else:
            index.mark_all()
        missing = index.rest()
        settle = index.settle_dir
    else:
        missing = dict(keys)  # the tracked paths not found (or settled) yet
        if compare:
            threads = min(preload_threads(), len(missing) // PRELOAD_PER_THREAD, PRELOAD_MAX_THREADS)
            if threads > 1:
                preload(root_s, missing, threads)
    stack: list[str] = [""]
    while stack:
        rel_dir = stack.pop()
        abs_dir = os.path.join(root_s, rel_dir) if rel_dir else root_s
        prefix = rel_dir + "/" if rel_dir else ""
        try:
            others, linked = settle(abs_dir, prefix, missing, compare)
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                not_tracked(warnings, rel_dir, path_max(root_s))
            continue
        if linked:
            result.linked.extend(linked)
        for name in others:
            rel = prefix + name
            if not rel_dir and reserved_at_root(name):
                continue
            if name[0] == "." and name.endswith(".tmp"):
                temp = _temp_match(name)
                if temp is not None:
                    # Our own temporary file: never listed; removed when its writer died (a kill
                    # between creating it and renaming it into place).
                    _remove_if_orphaned(os.path.join(abs_dir, name), int(temp.group(1)))
                    continue
            try:
                st = os.lstat(os.path.join(abs_dir, name))
            except OSError as exc:
                if exc.errno == errno.ENAMETOOLONG:  # past PATH_MAX: cannot be opened by name
                    not_tracked(warnings, rel, path_max(root_s))
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            key = missing.pop(rel, _ABSENT)
            if key is not _ABSENT:
                if not is_dir:
                    # Tracked names were checked when they were added or checked out.
                    if compare and (key is None or _stale(key, st)):
                        unsettled.append(rel)
                        files[rel] = st
                    if compare and st.st_nlink > 1:
                        result.linked.append(rel)
                    continue
                missing[rel] = key  # a directory where a tracked file was
            try:
                check_component(name, rel)
                if len(rel) > MAX_PATH_BYTES // 4 and len(encode(rel)) > MAX_PATH_BYTES:
                    raise BadPathError(rel, f"path longer than {MAX_PATH_BYTES} bytes")
            except BadPathError as exc:
                result.invalid.append(rel)
                if not ignore.is_ignored(rel, is_dir=is_dir):
                    not_tracked(warnings, rel, reason=exc.rule)
                continue
            if is_dir:
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
    if compare:
        unsettled.extend(missing)
        if index is not None:
            unsettled.extend(index.unmet())  # marked, but not met: below a symlink or a file now
        unsettled.sort()
    result.untracked.sort()
    result.ignored.sort()
    return result


def preload_threads() -> int:
    """Return how many CPUs this process may run on (threads for `preload`)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def is_untracked(disk: Disk, table: RowTable, path: str, ignore: IgnoreRules) -> bool:
    """Tell whether `scan` would list the untracked `path` (the caller knows it is not tracked)."""
    parts = path.split("/")
    if reserved_at_root(parts[0]):
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
