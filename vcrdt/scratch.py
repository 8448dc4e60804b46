"""Directories made whole or not at all: laid out under a scratch name beside their target, then renamed.

A process killed while it lays out a new directory (a repository's ``.vcrdt``, a git repository
an export creates) must not leave a half-made one that later commands can neither open nor
create over. The layout goes into ``.NAME.vcrdt-init-PID`` beside the target and one `os.rename`
puts it in place (over an empty directory too). A kill leaves only the scratch directory; the next creation of the same
target removes those whose process no longer exists. Imports nothing of vcrdt.
"""

from __future__ import annotations

import os

SCRATCH_MARK = ".vcrdt-init-"
"""What a scratch directory's name has between its target's name (without a leading dot) and the pid."""


def scratch_prefix(target: str) -> str:
    """The name a scratch directory for `target` (a path) starts with, before the pid."""
    return f".{os.path.basename(target).lstrip('.')}{SCRATCH_MARK}"


def scratch_for(target: str) -> str:
    """A scratch directory's path for `target`, owned by this process (not created here).

    Scratch directories of the same target left by processes that no longer exist are removed.
    """
    parent = os.path.dirname(target) or "."
    prefix = scratch_prefix(target)
    remove_orphaned(parent, prefix)
    return os.path.join(parent, f"{prefix}{os.getpid()}")


def remove_orphaned(parent: str, prefix: str) -> None:
    """Remove the ``PREFIX<pid>`` directories in `parent` whose process no longer exists."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(prefix) :]
        if not entry.name.startswith(prefix) or not (pid.isascii() and pid.isdigit()) or int(pid) == os.getpid():
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            os.kill(int(pid), 0)
        except ProcessLookupError:
            import shutil

            shutil.rmtree(entry.path, ignore_errors=True)
        except (OSError, OverflowError):
            continue  # alive but not ours to signal, no pid at all, or gone from under us: leave it
