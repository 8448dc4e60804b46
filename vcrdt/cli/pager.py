"""The pager: `log`, `diff`, `show`, `blame` and `conflicts` page their output when stdout is a terminal.

The pager is ``$VCRDT_PAGER``, then config ``core.pager``, then ``$PAGER``, then
``less -FRX`` (git's order, with ``LESS=FRX`` set when unset, as git does); an empty
value or ``cat`` turns it off, as does the global option ``--no-pager``. Nothing is
paged when stdout is not a terminal, or when this process has no controlling
terminal for the pager to read keys from (a command server's child: the client
runs these commands itself when its stdin is a terminal, see `vcrdt.daemon`).
Colour chosen for the terminal stays on through the pager (``less -R`` shows it).
"""

from __future__ import annotations

import os
import sys

from vcrdt.cli import render
from vcrdt.cli.base import STATE
from vcrdt.extensions import contextmanager  # contextlib on first use

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

    from vcrdt.repo import Repository

DEFAULT_PAGER = "less -FRX"


def pager_command(repo: Repository | None) -> str | None:
    """The pager to run, or None: ``$VCRDT_PAGER``, ``core.pager``, ``$PAGER``, then ``less -FRX``."""
    value = os.environ.get("VCRDT_PAGER")
    if value is None and repo is not None:
        value = repo.config_get("core.pager")
    if value is None:
        value = os.environ.get("PAGER")
    if value is None:
        value = DEFAULT_PAGER
    value = value.strip()
    return None if value in ("", "cat") else value


def _has_terminal() -> bool:
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def paged(repo: Repository | None) -> AbstractContextManager[None]:
    """Send stdout through the pager for the block, when stdout is a terminal (see the module doc).

    The pager quitting before the output ends (``q`` in less) is not an error.
    """
    try:
        tty = os.isatty(sys.stdout.fileno())
    except (OSError, ValueError):
        tty = False
    command = pager_command(repo) if tty and not STATE.no_pager else None
    if command is None or not _has_terminal():
        return _Unpaged()
    return _paging(command)


class _Unpaged:
    """A block whose output is not paged: nothing around it (contextlib's nullcontext, without contextlib)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@contextmanager
def _paging(command: str) -> Iterator[None]:
    """Send stdout through the pager `command` for the block."""
    import subprocess  # here: a command that does not page does not pay for it

    if render.color_enabled():
        render.set_color_mode("always")  # the pager's stdin is a pipe; the colour is for the terminal behind it
    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    if "COLUMNS" not in os.environ:
        # Output is laid out for the terminal behind the pager, whose width the pipe does not tell.
        try:
            os.environ["COLUMNS"] = str(os.get_terminal_size(sys.stdout.fileno()).columns)
        except OSError:
            pass
        render.out.cache_clear()  # a console made before this read the old width
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        proc = subprocess.Popen(["sh", "-c", command], stdin=subprocess.PIPE, env=env)
    except OSError:
        os.close(saved)
        yield
        return
    assert proc.stdin is not None
    os.dup2(proc.stdin.fileno(), 1)
    proc.stdin.close()
    try:
        yield
        sys.stdout.flush()
    except (BrokenPipeError, render.PipeClosedError):
        pass
    finally:
        try:
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            pass
        os.dup2(saved, 1)  # the pipe's last writer closes: the pager sees the end
        os.close(saved)
        proc.wait()
