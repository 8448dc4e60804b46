"""The Python client: hand a command to a running server (`request`), or start one for next time (`spawn`).

The console script's `vcrdt.cli.main` asks `request` first; None means that
nothing ran on a server (none answers within `protocol.ack_seconds`, or it
refused), and the command then runs in-process. The native client
(``client.c``) does the same in C. See the package docstring.

Imports only the standard library at module level (the client runs on every command).
"""

from __future__ import annotations

import os
import sys
import time

from vcrdt.daemon.protocol import (
    EXIT,
    IDLE_SECONDS,
    INTERNAL_EXIT,
    LOST_MESSAGE,
    PER_REQUEST_VARS,
    PID,
    ack_seconds,
    encode_request,
    package_dir,
    runtime_dir,
    socket_key,
    socket_path,
    unpack_int,
)
from vcrdt.daemon.stdio import send_descriptors

# The client runs on every command: it imports the C modules under `socket` and `signal`
# (whose Python layers import enum), and not typing (hence this constant, not typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    import signal as _signal
    from collections.abc import Sequence
    from types import FrameType
    from typing import Any
else:
    import _signal

# The server spawned for a client gets these variables of the client's, and no others.
_SERVER_ENV = (b"LANG", b"PATH", b"TZ")
_FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)
# The server process (`vcrdt.daemon.__main__`): the same vcrdt as the client (its package
# directory first on the path). `-P`: no current directory on the path, ever (each child runs in
# a client's directory, which may be a work tree full of someone else's files).
_SERVE = "import sys; sys.path.insert(0, sys.argv[1]); from vcrdt.daemon.__main__ import main; main(sys.argv[2:])"


class _Interrupted(Exception):
    """A forwarded signal arrived before the server's child was known: nothing has run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _Forwarder:
    """Signal handlers that pass SIGINT/SIGTERM/SIGHUP on to the child at once.

    Before the child is known (and told to go), a signal ends the wait
    (`_Interrupted`): the client gives up on the server, which runs nothing.
    """

    def __init__(self) -> None:
        self.pid: int | None = None
        self.received: int | None = None
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        for sig in _FORWARDED:
            self._old[sig] = _signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._old.items():
            _signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        if self.pid is None:
            raise _Interrupted(signum)
        _kill(self.pid, signum)


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass  # the child has just finished


def request(argv: Sequence[str]) -> int | None:
    """Run `argv` on a running server; return its exit code, or None if no server took it.

    None means nothing was run: the caller runs the command itself. That is
    also the outcome when the server does not acknowledge the request within
    `protocol.ack_seconds` (stopped, or overloaded). Once the client has told
    the server's child to go, the child's exit code is returned whatever
    happens. SIGINT, SIGTERM or SIGHUP before that ends the client by that signal.
    """
    directory = runtime_dir()
    if directory is None:
        return None
    path = socket_path(directory, socket_key())
    import _socket  # here: a command that asks no server (auto_start alone) never loads it

    forwarder = _Forwarder()
    forwarder.install()
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            pid = _hand_over(sock, path, argv)
            if pid is None:
                return None  # the child never hears "go": nothing runs there
            try:
                cwd_fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                return None
            # From "go" on, a signal is the child's: none may arrive between sending it and knowing the pid.
            _signal.pthread_sigmask(_signal.SIG_BLOCK, _FORWARDED)
            try:
                send_descriptors(sock, cwd_fd)
            except OSError:
                return None  # the child is gone before it started, or a descriptor is closed
            finally:
                os.close(cwd_fd)
                forwarder.pid = pid
                _signal.pthread_sigmask(_signal.SIG_UNBLOCK, _FORWARDED)
        except _Interrupted as exc:
            # Nothing ran: end as the signal would have ended the client.
            sock.close()
            forwarder.restore()
            _signal.signal(exc.signum, _signal.SIG_DFL)
            os.kill(os.getpid(), exc.signum)
            raise SystemExit(128 + exc.signum) from None
        return _wait(sock, forwarder)
    finally:
        forwarder.restore()
        sock.close()


def _hand_over(sock: _socket.socket, path: str, argv: Sequence[str]) -> int | None:
    """Send the request; return the child's pid once the server sends it (None: nothing will run).

    Connecting, sending and the acknowledgement each wait at most
    `protocol.ack_seconds`: a server that is stopped or overloaded is given up
    on. The descriptors go with "go", not with the request, so a request given
    up on holds none of them (a reader of the client's stdout would wait for it).
    """
    limit = ack_seconds()
    sock.settimeout(limit)
    try:
        sock.connect(path)
    except OSError:
        return None
    umask = os.umask(0o022)
    os.umask(umask)
    environ = [name + b"=" + value for name, value in os.environb.items()]
    try:
        sock.sendall(encode_request([os.fsencode(arg) for arg in argv], environ, umask))
    except OSError:
        return None  # the server went away: nothing ran
    deadline = time.monotonic() + limit
    buf = b""
    while len(buf) < 5:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(5 - len(buf))
        except OSError:  # the time is up, or the server went away
            return None
        if not chunk:
            return None
        buf += chunk
    tag, value = buf[:1], unpack_int(buf[1:5])
    return int(value) if tag == PID else None


def _wait(sock: _socket.socket, forwarder: _Forwarder) -> int:
    """Wait for the exit code of the child, which runs the command (signals are forwarded to it)."""
    sock.settimeout(None)
    buf = b""
    while True:
        try:
            chunk = sock.recv(64)
        except OSError:
            chunk = b""
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 5:
            tag, value = buf[:1], unpack_int(buf[1:5])
            buf = buf[5:]
            if tag == EXIT:
                return int(value)
    if forwarder.received is not None:
        # The child died of the signal we passed on: end the same way.
        forwarder.restore()
        _signal.signal(forwarder.received, _signal.SIG_DFL)
        os.kill(os.getpid(), forwarder.received)
    sys.stderr.write(LOST_MESSAGE)
    return INTERNAL_EXIT


# --- a server for next time ---------------------------------------------------------------


def spawn(*, idle: float = IDLE_SECONDS, ready_fd: int = -1) -> bool:
    """Start a detached server for the current code; False if it could not be (an unsafe socket directory).

    Args:
        idle: Seconds without requests after which the server exits (0: never).
        ready_fd: A pipe's write end: the server writes its pid and a newline on
            it once it listens, and closes it (without writing, if it does not
            start: another server holds the lock, or the code changed).

    Returns:
        Whether a server process was started.
    """
    directory = runtime_dir()
    if directory is None:
        return False
    package_parent = os.path.dirname(package_dir())
    # The key's PYTHON* variables (not the per-request ones) and the locale, so that the server
    # starts as this interpreter did; `-X utf8` because Python may have coerced a C locale.
    env = {
        name: value
        for name, value in os.environb.items()
        if (name.startswith(b"PYTHON") and name not in PER_REQUEST_VARS)
        or name.startswith(b"LC_")
        or name in _SERVER_ENV
    }
    import subprocess

    command = [sys.executable, "-P", "-X", f"utf8={sys.flags.utf8_mode}", "-c", _SERVE, package_parent, directory]
    try:
        subprocess.Popen(
            [*command, repr(float(idle)), str(ready_fd)],
            cwd="/",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
            pass_fds=(ready_fd,) if ready_fd >= 0 else (),
        )
    except OSError:
        return False  # no server this time; the command has run
    return True
