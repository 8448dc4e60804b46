"""The command server: a warm process that forks a child per command (Mercurial's chg model).

Starting Python and importing typer, click, rich and the core costs more than
most commands' own work. So `vcrdt` first asks a per-user server, which has
everything imported already and holds no open repository, to run the command:

- The client (`request`) connects to a Unix socket in ``$XDG_RUNTIME_DIR/vcrdt``
  (or ``/tmp/vcrdt-<uid>``; a directory of mode 0700 owned by the user, else no
  server is used). The socket is named after a stamp of the installed code
  (interpreter, file-system encoding, and the path, mtime and size of every
  ``.py`` file of vcrdt and of the site-packages directories), so an upgrade
  or an edit never runs stale code.
- It sends argv, the environment, its umask and stdio encodings, with its
  stdin, stdout, stderr and current directory as file descriptors
  (SCM_RIGHTS). The server forks; the child takes those descriptors as 0, 1,
  2 and its working directory, replaces its environment, runs the same
  in-process entry `vcrdt.cli.run(argv)`, and sends back its pid first and
  its exit code last. The client forwards SIGINT, SIGTERM and SIGHUP to the
  child and exits with the child's code.
- When no server answers, the client runs the command itself and then
  starts a detached server for next time. The server exits after
  `IDLE_SECONDS` without requests, or as soon as its stamp no longer matches
  the files on disk.

Each request runs in a fresh fork of a server that never ran a command, so no
state passes from one command to the next; what the server read at import
time is the only risk. vcrdt's own modules read the environment, the
terminal and the working directory per command; typer reads a few variables
at import (`IMPORT_TIME_VARS`), so a client with any of them set runs
in-process. ``VCRDT_NO_SERVER=1`` turns the server off.

Imports only the standard library at module level (the client runs on every
command); the server side imports the CLI when it starts.
"""

from __future__ import annotations

import _socket
import io
import marshal
import os
import stat
import struct
import sys
import time
import zlib

# The client runs on every command: it imports the C modules under `socket` and `signal`
# (whose Python layers import enum), and not typing (hence this constant, not typing's).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal
    import socket
    from collections.abc import Sequence
    from types import FrameType
    from typing import Any
else:
    import _signal

PROTOCOL = 1
IDLE_SECONDS = 600.0
# How often an idle server re-checks its stamp against the files on disk.
CHECK_SECONDS = 5.0
MAX_REQUEST = 16 * 1024 * 1024
# Read by typer (or the modules it imports) when it is imported, not per command: a server
# imported them under its own environment, so a client that sets any of them runs in-process.
IMPORT_TIME_VARS = (
    "TYPER_USE_RICH",
    "TERMINAL_WIDTH",
    "_TYPER_FORCE_DISABLE_TERMINAL",
    "GITHUB_ACTIONS",
    "FORCE_COLOR",
    "PY_COLORS",
    "TYPER_STANDARD_TRACEBACK",
    "_TYPER_STANDARD_TRACEBACK",
)
_FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)
_INT = struct.Struct("!i")
# The server process: the same vcrdt as the client (its package directory first on the path).
_SERVE = "import sys; sys.path.insert(0, sys.argv[1]); import vcrdt.cli.server as s; s.serve()"


# --- where the server lives ---------------------------------------------------------------


def disabled(env: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Tell whether this command must run in-process (opt-out, or import-time variables set)."""
    if env.get("VCRDT_NO_SERVER", "") not in ("", "0"):
        return True
    return any(name in env for name in IMPORT_TIME_VARS)


def code_stamp() -> str:
    """Return a stamp of the code a server would run: it changes with any edit or upgrade."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parts = [str(PROTOCOL), sys.executable, sys.version, sys.getfilesystemencoding(), str(sys.flags.utf8_mode), package]
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                st = os.stat(os.path.join(dirpath, name))
                parts.append(f"{dirpath}/{name}:{st.st_mtime_ns}:{st.st_size}")
    for entry in sys.path:
        # A site-packages directory changes its mtime whenever a package is installed or removed.
        if entry.endswith(("site-packages", "dist-packages")):
            try:
                parts.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
            except OSError:
                pass
    text = "\n".join(parts).encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}{len(text) & 0xFFFF:04x}"


def runtime_dir(env: os._Environ[str] | dict[str, str] = os.environ) -> str | None:
    """Return the user's private socket directory (created 0700), or None when it is not safe."""
    base = env.get("XDG_RUNTIME_DIR")
    path = os.path.join(base, "vcrdt") if base else f"/tmp/vcrdt-{os.getuid()}"
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = os.lstat(path)
    except OSError:
        return None
    # Another user could have made /tmp/vcrdt-<uid>: use it only if it is ours and private.
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return path


def socket_path(directory: str, stamp: str) -> str:
    """Return the socket of the server for `stamp` in `directory`."""
    return os.path.join(directory, f"{stamp}.sock")


def lock_path(directory: str, stamp: str) -> str:
    """Return the lock file a running server holds (it contains the server's pid)."""
    return os.path.join(directory, f"{stamp}.lock")


# --- client -------------------------------------------------------------------------------


def _stdio_modes() -> list[tuple[str, str, bool, bool]]:
    modes: list[tuple[str, str, bool, bool]] = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            modes.append((stream.encoding, stream.errors or "strict", stream.line_buffering, stream.write_through))
        else:
            modes.append(("utf-8", "surrogateescape", False, False))
    return modes


class _Forwarder:
    """Signal handlers that pass SIGINT/SIGTERM/SIGHUP on to the child once its pid is known."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.pending: list[int] = []
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
            self.pending.append(signum)
        else:
            _kill(self.pid, signum)

    def child_started(self, pid: int) -> None:
        self.pid = pid
        for signum in self.pending:
            _kill(pid, signum)
        self.pending.clear()


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass  # the child has just finished


def request(argv: Sequence[str]) -> int | None:
    """Run `argv` on a running server; return its exit code, or None if no server took it.

    None means nothing was run: the caller runs the command itself. Once the
    server has accepted the command, its exit code is returned whatever happens.
    """
    directory = runtime_dir()
    if directory is None:
        return None
    path = socket_path(directory, code_stamp())
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            sock.connect(path)
        except OSError:
            return None
        try:
            cwd_fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            umask = os.umask(0o022)
            os.umask(umask)
            payload = marshal.dumps((PROTOCOL, list(argv), dict(os.environ), umask, _stdio_modes()))
            message = _INT.pack(len(payload)) + payload
            try:
                fds = struct.pack("4i", 0, 1, 2, cwd_fd)
                sent = sock.sendmsg([message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
                sock.sendall(message[sent:])
            except OSError:
                return None  # a closed stdio descriptor, or the server went away: nothing ran
        finally:
            os.close(cwd_fd)
        return _wait(sock)
    finally:
        sock.close()


def _wait(sock: _socket.socket) -> int | None:
    forwarder = _Forwarder()
    forwarder.install()
    try:
        buf = b""
        started = False
        while True:
            try:
                chunk = sock.recv(64)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 5:
                tag, value = buf[:1], _INT.unpack(buf[1:5])[0]
                buf = buf[5:]
                if tag == b"P":
                    started = True
                    forwarder.child_started(value)
                elif tag == b"X":
                    return int(value)
        if not started:
            return None  # the server closed without taking the command
        if forwarder.received is not None:
            # The child died of the signal we passed on: end the same way.
            forwarder.restore()
            _signal.signal(forwarder.received, _signal.SIG_DFL)
            os.kill(os.getpid(), forwarder.received)
        sys.stderr.write("vcrdt: the command server lost the command (set VCRDT_NO_SERVER=1 to run without it)\n")
        return 255
    finally:
        forwarder.restore()


def spawn() -> None:
    """Start a detached server for the current code, unless the socket directory is unsafe."""
    directory = runtime_dir()
    if directory is None:
        return
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if k.startswith(("PYTHON", "LC_")) or k in ("PATH", "LANG", "TZ")}
    import subprocess

    try:
        subprocess.Popen(
            [sys.executable, "-c", _SERVE, package_parent, directory],
            cwd="/",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        pass  # no server this time; the command has run


# --- server -------------------------------------------------------------------------------


def _preload() -> Any:
    """Import everything a command may need, and build the click command once."""
    import contextlib

    import vcrdt.cli.app as app

    modules = (
        "vcrdt.porcelain",
        "vcrdt.merge.rules.text",
        "vcrdt.merge.rules.json_doc",
        "pygit2",  # the line differ's C xdiff: about 140 ms to import, so every forked merge or diff saves it
        "rich.console",
        "rich.text",
        "rich.markup",
        "rich.progress",
        "rich.syntax",
        "rich.panel",
        "rich.table",
        "pathspec",
    )
    for name in modules:
        with contextlib.suppress(ImportError):
            __import__(name)
    app.command()
    return app


def serve() -> None:
    """Run the server for the code stamp of this process (arguments: package parent, socket directory)."""
    import contextlib
    import fcntl
    import signal
    import socket

    directory = sys.argv[2]
    stamp = code_stamp()

    lock_fd = os.open(lock_path(directory, stamp), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server for this stamp is running
    os.ftruncate(lock_fd, 0)
    os.write(lock_fd, f"{os.getpid()}\n".encode())
    _remove_dead(directory)
    _preload()
    path = socket_path(directory, stamp)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a dead server's socket (we hold the lock, so no live one uses it)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    ino = os.stat(path).st_ino
    import gc

    gc.collect()
    gc.freeze()  # children then leave the imported objects' pages shared
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listener.settimeout(CHECK_SECONDS)
    deadline = time.monotonic() + IDLE_SECONDS
    checked = time.monotonic()
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                conn = None
            except InterruptedError:
                continue
            now = time.monotonic()
            if conn is not None:
                deadline = now + IDLE_SECONDS
                _fork_child(conn, listener)
            if now >= deadline:
                break
            if now - checked >= CHECK_SECONDS:
                checked = now
                if code_stamp() != stamp or not _still_ours(path, ino):
                    break
    finally:
        listener.close()
        if _still_ours(path, ino):
            with contextlib.suppress(OSError):
                os.unlink(path)
        os.close(lock_fd)


def _remove_dead(directory: str) -> None:
    """Delete the lock files and sockets of servers that have exited (no one holds their lock)."""
    import fcntl

    for name in os.listdir(directory):
        if not name.endswith(".lock"):
            continue
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a live server
        for dead in (path, path[: -len(".lock")] + ".sock"):
            try:
                os.unlink(dead)
            except OSError:
                pass
        os.close(fd)


def _still_ours(path: str, ino: int) -> bool:
    try:
        return os.stat(path).st_ino == ino
    except OSError:
        return False


def _fork_child(conn: socket.socket, listener: socket.socket) -> None:
    import contextlib
    import socket

    uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[1]
    if uid != os.getuid():
        conn.close()
        return
    pid = os.fork()
    if pid:
        conn.close()
        return
    code = 255
    try:
        listener.close()
        code = _child(conn)
    except BaseException:
        with contextlib.suppress(BaseException):
            import traceback

            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            conn.sendall(b"X" + _INT.pack(code))
        os._exit(0)


def _recv_request(conn: socket.socket) -> tuple[list[str], dict[str, str], int, list[Any], list[int]]:
    import socket

    data, fds, _, _ = socket.recv_fds(conn, 65536, 4)
    if len(fds) != 4 or len(data) < 4:
        raise ValueError("malformed request")
    size = _INT.unpack(data[:4])[0]
    if not 0 <= size <= MAX_REQUEST:
        raise ValueError("request too large")
    body = bytearray(data[4:])
    while len(body) < size:
        chunk = conn.recv(min(1 << 20, size - len(body)))
        if not chunk:
            raise ValueError("truncated request")
        body += chunk
    protocol, argv, env, umask, modes = marshal.loads(bytes(body))
    if protocol != PROTOCOL:
        raise ValueError("protocol mismatch")
    return argv, env, umask, modes, fds


def _child(conn: socket.socket) -> int:
    """Take over the client's descriptors, directory and environment, and run its command."""
    import signal

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    argv, env, umask, modes, fds = _recv_request(conn)
    conn.sendall(b"P" + _INT.pack(os.getpid()))
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    os.fchdir(fds[3])
    for fd in fds:
        os.close(fd)
    os.umask(umask)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    sys.stdin = _text_stream(0, "r", modes[0])
    sys.stdout = _text_stream(1, "w", modes[1])
    sys.stderr = _text_stream(2, "w", modes[2])
    sys.argv = ["vcrdt", *argv]
    from vcrdt.cli import finish, run
    from vcrdt.cli.base import reset_state

    reset_state()
    return finish(run(argv))


def _text_stream(fd: int, mode: str, spec: Sequence[Any]) -> io.TextIOWrapper:
    encoding, errors, line_buffering, write_through = spec
    raw = open(fd, mode + "b", closefd=False)
    return io.TextIOWrapper(
        raw, encoding=encoding, errors=errors, line_buffering=line_buffering, write_through=write_through
    )
