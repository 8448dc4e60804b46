"""Directories made whole or not at all: laid out under a scratch name beside their target, then renamed.

A process killed while it lays out a new directory (a repository's ``.vcrdt``, a git repository
an export creates) must not leave a half-made one that later commands can neither open nor
create over. The layout goes into a scratch directory beside the target,
``.NAME.vcrdt-init-HOST-PID-RANDOM`` (NAME without its leading dots), and one `os.rename` puts it
in place (over an empty directory too). A kill leaves only the scratch directory; the next
creation of the same target on the same host removes those whose process no longer exists.
Each creation has a directory of its own (the random part), so two in one process (threads) or a
pid reused after a kill never share one. Imports nothing of vcrdt.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Iterator

SCRATCH_MARK = ".vcrdt-init-"
"""What a scratch directory's name has between its target's name and the host."""


def scratch_prefix(target: str) -> str:
    """The name a scratch directory for `target` (a path) starts with, before the host.

    Args:
        target: The directory to be made.

    Returns:
        ``.NAME.vcrdt-init-``, NAME the target's name without its leading dots.
    """
    return f".{os.path.basename(target).lstrip('.')}{SCRATCH_MARK}"


@contextmanager
def made_whole(target: str) -> Iterator[str]:
    """Lay a new directory out for `target` in a scratch directory beside it, then put it in place.

    The parent of `target` is created if missing. When the block ends without an exception the
    scratch directory is renamed to `target` (missing, or an empty directory it replaces);
    otherwise, or if the rename fails, it is removed.

    Args:
        target: The directory to be made.

    Yields:
        The scratch directory to lay the new one out in.

    Raises:
        OSError: If the scratch directory cannot be made or the rename fails (``ENOTEMPTY`` or
            ``EEXIST`` when `target` filled meanwhile; its ``filename2`` is `target`).
    """
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    scratch = make_scratch(target)
    try:
        yield scratch
        os.rename(scratch, target)
    except BaseException:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
        raise


def make_scratch(target: str) -> str:
    """Create an empty scratch directory beside `target` for this call, after removing orphaned ones.

    Args:
        target: The directory to be made (its parent must exist).

    Returns:
        The scratch directory's path, to be renamed to `target` once laid out (or removed).

    Raises:
        OSError: If it cannot be created.
    """
    parent = os.path.dirname(target) or "."
    prefix = scratch_prefix(target)
    remove_orphaned(parent, prefix)
    while True:
        path = os.path.join(parent, f"{prefix}{_host()}-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            os.mkdir(path)
        except FileExistsError:
            continue  # 32 random bits taken: draw again
        return path


def remove_orphaned(parent: str, prefix: str) -> None:
    """Remove the scratch directories ``PREFIX<host>-<pid>-<random>`` in `parent` left by dead processes.

    Only those of this host whose process no longer exists: a process of another host (a
    shared file system) cannot be asked, and this process's own may be another thread's.

    Args:
        parent: The directory the scratch directories are in.
        prefix: Their names' start (`scratch_prefix`).
    """
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    host, me = _host(), os.getpid()
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        parts = entry.name[len(prefix) :].rsplit("-", 2)
        if len(parts) != 3 or parts[0] != host or not _is_pid(parts[1]) or not _is_random(parts[2]):
            continue
        pid = int(parts[1])
        if pid == me:
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            os.kill(pid, 0)
        except ProcessLookupError:
            import shutil

            shutil.rmtree(entry.path, ignore_errors=True)
        except (OSError, OverflowError):
            continue  # alive but not ours to signal, no such pid at all, or gone from under us: leave it


def _host() -> str:
    return os.uname().nodename.replace("/", "_") or "localhost"


def _is_pid(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < len(text) <= 10


def _is_random(text: str) -> bool:
    return len(text) == 8 and all(c in "0123456789abcdef" for c in text)
