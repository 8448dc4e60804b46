"""Descriptors 0-2 and the streams on them: kept occupied in the client, handed over to a server child.

The client sends its descriptors 0, 1 and 2 and its current directory with
`protocol.GO` (`send_descriptors`); the child receives them
(`receive_descriptors`), makes them its own (`take_descriptors`) and opens
``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` on them as Python would have
at start-up for the client's environment (`open_streams`, `stdio_modes`).

Imports only the standard library at module level (the client runs on every command).
"""

from __future__ import annotations

import io
import os
import sys

from vcrdt.daemon.protocol import GO

# Not typing's TYPE_CHECKING: importing typing costs the client milliseconds.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    import socket
    from collections.abc import Sequence
    from typing import Any

# The locales Python coerces a C locale to, in which it also uses surrogateescape on stdio.
_COERCION_TARGETS = ("C.UTF-8", "C.utf8", "UTF-8")


def occupy_stdio() -> None:
    """Open /dev/null on each of descriptors 0, 1 and 2 that is closed (as git does).

    A closed one would be the number the next open file or socket gets: the
    socket to the server would become the command's stdout, and the command's
    output would go into it. Python starts with ``sys.stdout`` (etc.) None
    for a descriptor closed at start-up; it gets a stream on /dev/null.
    """
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
    if not closed:
        return
    for fd in closed:
        null = os.open(os.devnull, os.O_RDWR)  # the lowest free number: `fd`, unless a later one is taken
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    modes = stdio_modes(dict(os.environ), (False, False, False))
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, text_stream(fd, mode, modes[fd]))


def send_descriptors(sock: _socket.socket, cwd_fd: int) -> None:
    """Send `protocol.GO` with descriptors 0, 1, 2 and `cwd_fd` (the current directory).

    Raises:
        OSError: The other end is gone, or a descriptor is closed.
    """
    import _socket  # here: only the server's client sends them (a plain command never loads _socket)
    import struct

    fds = struct.pack("4i", 0, 1, 2, cwd_fd)
    sock.sendmsg([GO], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])


def receive_descriptors(conn: socket.socket) -> list[int] | None:
    """Wait for the client's `protocol.GO` with its descriptors (stdin, stdout, stderr, directory); None: it gave up."""
    import socket

    try:
        data, fds, _, _ = socket.recv_fds(conn, 1, 4)
    except OSError:
        return None
    if data == GO and len(fds) == 4:
        return fds
    for fd in fds:
        os.close(fd)
    return None


def take_descriptors(fds: Sequence[int]) -> None:
    """Make the client's descriptors this process's 0, 1 and 2 and its directory the current one (then close them)."""
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    os.fchdir(fds[3])
    for fd in fds:
        os.close(fd)


def open_streams(env: dict[str, str]) -> None:
    """Set ``sys.stdin``, ``sys.stdout`` and ``sys.stderr`` up on descriptors 0-2 as Python would for `env`."""
    ttys = (os.isatty(0), os.isatty(1), os.isatty(2))
    modes = stdio_modes(env, ttys)
    sys.stdin = text_stream(0, "r", modes[0])
    sys.stdout = text_stream(1, "w", modes[1])
    sys.stderr = text_stream(2, "w", modes[2])


def stdio_modes(env: dict[str, str], ttys: tuple[bool, bool, bool]) -> list[tuple[str, str, bool, bool]]:
    """Return (encoding, errors, line_buffering, write_through) for stdin, stdout and stderr.

    What CPython 3.11 sets up at start-up for a process with environment
    `env`, whose descriptors 0-2 are terminals as `ttys` says, and with this
    process's file-system encoding and UTF-8 mode (the socket key makes them
    the client's): ``PYTHONIOENCODING`` first; else the locale encoding, with
    ``surrogateescape`` in UTF-8 mode or a C/POSIX (or coerced) locale and
    ``strict`` otherwise; stderr always ``backslashreplace``. Output is line
    buffered on a terminal (stderr always), and written through under
    ``PYTHONUNBUFFERED``.
    """
    encoding = getattr(sys.__stdout__, "encoding", None) or sys.getfilesystemencoding()
    if sys.flags.utf8_mode:
        errors = "surrogateescape"  # whatever the locale
    else:
        errors = "surrogateescape" if _client_locale(env) in ("C", "POSIX", *_COERCION_TARGETS) else "strict"
    io_encoding, colon, io_errors = env.get("PYTHONIOENCODING", "").partition(":")
    if io_encoding:
        encoding = io_encoding
        errors = "strict"
    if colon and io_errors:
        errors = io_errors
    buffered = not env.get("PYTHONUNBUFFERED")
    return [
        (encoding, "backslashreplace" if fd == 2 else errors, buffered and (ttys[fd] or fd == 2), not buffered)
        for fd in range(3)
    ]


def _client_locale(env: dict[str, str]) -> str:
    """Return the LC_CTYPE locale name `setlocale` gives for `env` ("C" when it fails)."""
    import _locale

    saved = None if env == os.environ else os.environ.copy()
    previous = _locale.setlocale(_locale.LC_CTYPE)
    try:
        if saved is not None:
            os.environ.clear()
            os.environ.update(env)
        try:
            return _locale.setlocale(_locale.LC_CTYPE, "")
        except Exception:  # _locale.Error: the locale is not installed
            return "C"
    finally:
        _locale.setlocale(_locale.LC_CTYPE, previous)
        if saved is not None:
            os.environ.clear()
            os.environ.update(saved)


def text_stream(fd: int, mode: str, spec: Sequence[Any]) -> io.TextIOWrapper:
    """Return a text stream on descriptor `fd` (which it does not close) with `spec` from `stdio_modes`."""
    encoding, errors, line_buffering, write_through = spec
    raw = open(fd, mode + "b", closefd=False, buffering=0 if write_through and mode == "w" else -1)
    return io.TextIOWrapper(
        raw, encoding=encoding, errors=errors, line_buffering=line_buffering, write_through=write_through
    )
