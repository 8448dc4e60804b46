"""Managing the server from the outside (``vcrdt daemon start | stop | status``).

`start` spawns a server that never exits for idleness and waits until it
listens; `stop` ends it with SIGTERM (SIGKILL if it does not go); `query`
asks it about itself on its control socket; `holder` names the process that
holds its lock, answering or not.
"""

from __future__ import annotations

import os
import time
from typing import Any

from vcrdt.daemon.client import spawn
from vcrdt.daemon.protocol import CONTROL_SECONDS, control_path, lock_path, remove_dead, runtime_dir, socket_key


def _where() -> tuple[str, str] | None:
    directory = runtime_dir()
    return None if directory is None else (directory, socket_key())


def query() -> dict[str, Any] | None:
    """Ask the running server about itself; None if no server answers within `CONTROL_SECONDS`.

    Returns:
        ``pid``, ``spare`` (the spare child's pid, or None), ``started`` (a
        Unix time), ``idle`` (seconds without requests before it exits, 0 for
        never), ``trees`` (the work trees it watches) and ``socket``.
    """
    import json
    import socket

    where = _where()
    if where is None:
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONTROL_SECONDS)
    try:
        sock.connect(control_path(*where))
        sock.sendall(b"status\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(1 << 16)
            if not chunk:
                return None
            reply += chunk
        info = json.loads(reply)
    except (OSError, ValueError):
        return None
    finally:
        sock.close()
    return info if isinstance(info, dict) else None


def holder() -> int | None:
    """Return the pid of the server holding this key's lock, or None when no server holds it."""
    import fcntl

    where = _where()
    if where is None:
        return None
    try:
        fd = os.open(lock_path(*where), os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.pread(fd, 32, 0).strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None  # no one holds it: no server
    finally:
        os.close(fd)


def start(timeout: float = 120.0) -> tuple[int, bool]:
    """Make sure a server runs (one started here never exits for idleness); return its pid and whether it is new.

    Returns once the server listens (it says so on a pipe), so the next command is served. A
    server spawned while another still held the lock (a stopping one, or one a command started
    that is warming up) exits without listening: then this waits for the other to listen, or,
    once the lock is free, spawns again.

    Raises:
        OSError: No server could be started, or it did not come up within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    for _ in range(3):  # a server that exits without listening while no other holds the lock is broken
        info = query()
        if info is not None:
            return int(info["pid"]), False
        pid = _spawn_and_wait(deadline)
        if pid is not None:
            return pid, True
        # Another server holds the lock: wait for it to listen, or to let the lock go.
        while holder() is not None and time.monotonic() < deadline:
            info = query()
            if info is not None:
                return int(info["pid"]), False
            time.sleep(0.05)
        if time.monotonic() >= deadline:
            break
    raise OSError("the command server did not start")


def _spawn_and_wait(deadline: float) -> int | None:
    """Spawn a server and wait until it listens; return its pid, or None if it exited without listening.

    Raises:
        OSError: No server could be started, or it did not say it listens before `deadline`.
    """
    import select

    read_fd, write_fd = os.pipe()
    try:
        started = spawn(idle=0, ready_fd=write_fd)
        os.close(write_fd)
        write_fd = -1
        if not started:
            raise OSError("cannot start the command server (no private socket directory)")
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                raise OSError("the command server did not start in time")
            chunk = os.read(read_fd, 64)
            if not chunk:
                break  # it exited without listening
            line += chunk
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    return int(line) if line.strip().isdigit() else None


def _wait_exit(pid: int, timeout: float) -> bool:
    """Wait until process `pid` has exited; False if it still runs after `timeout` seconds."""
    import select

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def stop(timeout: float = 10.0) -> int | None:
    """Stop the running server and its spare; return the server's pid (None if none ran).

    Commands it is running finish. Returns once the server has exited and its
    socket is gone; a server that does not exit within `timeout` seconds
    (stopped, or stuck) is killed.
    """
    import contextlib
    import signal

    pid = holder()
    if pid is None:
        return None
    info = query()
    spare = info.get("spare") if info else None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGCONT)  # a stopped server cannot act on SIGTERM
    if not _wait_exit(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_exit(pid, timeout)
    if isinstance(spare, int) and not _wait_exit(spare, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(spare, signal.SIGKILL)
    where = _where()
    if where is not None and holder() is None:
        remove_dead(where[0])  # what a killed server left behind
    return pid


def memory(pid: int) -> int | None:
    """Return the resident memory of process `pid` in bytes (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
