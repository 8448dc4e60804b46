"""The server process: a warm parent, a pre-forked spare child per request, signals and the code watch.

`serve` runs in the process `client.spawn` (or `control.start`) starts, whose
entry point (`vcrdt.daemon.__main__`) gives it the `Commands` to run. The
parent holds the lock, listens, answers ``status`` on the control socket and
keeps one spare child forked ahead (`_fork_spare`), which takes the next
connection, checks the code is unchanged (`_CodeWatch`) and runs the
command (`_child`). See the package docstring for the exchange.
"""

from __future__ import annotations

import os
import struct
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from vcrdt.daemon.protocol import (
    CHECK_SECONDS,
    CONTROL_SECONDS,
    EXIT,
    IDLE_SECONDS,
    INTERNAL_EXIT,
    MAX_REQUEST,
    PID,
    PROFILE_VAR,
    PROTOCOL,
    WATCH_CLIENT,
    control_path,
    decode_request,
    lock_path,
    pack_int,
    package_dir,
    remove_dead,
    socket_key,
    socket_path,
    unpack_int,
)
from vcrdt.daemon.stdio import open_streams, receive_descriptors, take_descriptors

if TYPE_CHECKING:
    import socket

    from vcrdt.daemon.monitor import MonitorClient


@dataclass(frozen=True)
class Commands:
    """What the server runs, given by its process entry point (the one place that knows the CLI).

    Attributes:
        preload: Imports everything a command may need; called once, before the
            server listens, so that every child has it imported.
        run: Runs one command line in this process (stdio, directory and
            environment already the client's) and returns its exit code; never raises.
        reset: Forgets the state a command kept in this process; called before each command.
        use_monitor: Hands a forked child's file-system monitor to the commands it runs (kept
            across `reset`).
    """

    preload: Callable[[], None]
    run: Callable[[Sequence[str]], int]
    reset: Callable[[], None]
    use_monitor: Callable[[MonitorClient], None]


def code_stamp() -> str:
    """Return a stamp of the code a server would run: it changes with any edit or upgrade."""
    package = package_dir()
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


class _CodeWatch:
    """Tells a spare child whether vcrdt's code or the installed packages changed since startup.

    With inotify (Linux) it reads the events on the package's directories and
    the site-packages directories; without it, it compares `code_stamp`s. The
    event queue is shared by all spares and each reads what is pending when it
    takes a request; a spare that finds a change stops the server, so no change
    goes unnoticed. An event on a file that is not Python source (a
    ``__pycache__`` directory, an editor's backup) does not count.
    """

    def __init__(self, stamp: str) -> None:
        from vcrdt.daemon import monitor

        self.stamp = stamp
        self.package_watches: set[int] = set()
        self.inotify = monitor.Inotify()
        if self.inotify.fd < 0:
            return  # a stamp per request instead
        dirs = []
        for dirpath, subdirs, _ in os.walk(package_dir()):
            dirs.append(dirpath)
            subdirs[:] = [d for d in subdirs if d != "__pycache__"]
        sites = [e for e in sys.path if e.endswith(("site-packages", "dist-packages")) and os.path.isdir(e)]
        for path in [*dirs, *sites]:
            wd = self.inotify.add(path, monitor.CHANGES)
            if wd < 0:
                self.inotify.close()  # a stamp per request instead
                return
            if path in dirs:
                self.package_watches.add(wd)

    def _counts(self, wd: int, mask: int, name: bytes) -> bool:
        from vcrdt.daemon.monitor import DELETE_SELF, IGNORED, ISDIR, MOVE_SELF, Q_OVERFLOW

        if mask & (DELETE_SELF | MOVE_SELF | Q_OVERFLOW | IGNORED):
            return True  # a watched directory went away, or events were lost
        if name == b"__pycache__":
            return False
        return wd not in self.package_watches or name.endswith(b".py") or bool(mask & ISDIR)

    def changed(self) -> bool:
        """Tell whether anything that `code_stamp` covers changed."""
        if self.inotify.fd < 0:
            return code_stamp() != self.stamp
        events = self.inotify.read()
        return events is None or any(self._counts(wd, mask, name) for wd, mask, name in events)


def serve(commands: Commands, directory: str, idle: float = IDLE_SECONDS, ready_fd: int = -1) -> None:
    """Run the server for the key of this process, in the socket directory `directory`.

    Args:
        commands: What a child runs (and what the server imports and runs
            once before it listens).
        directory: The socket directory (`protocol.runtime_dir`).
        idle: Seconds without requests after which the server exits (0: never).
        ready_fd: A descriptor to write the pid on once the server listens
            (-1: none); see `client.spawn`.

    The server process never accepts a connection itself. It keeps one *spare*
    child forked ahead of time, which accepts the next connection; the parent
    forks a new spare as soon as one takes a request. So a command does not
    pay for the fork (bench/README.md: status 1.8 x, commit 1.3-1.4 x slower
    without). Copying the spare's memory ahead (``MADV_POPULATE_WRITE``) and
    tuning malloc were measured and dropped: they bought under 10 % and cost
    commit 10-30 % (and 30 MB per spare).
    """
    import contextlib
    import fcntl
    import select
    import signal
    import socket

    started = time.time()
    stamp = code_stamp()
    key = socket_key()

    lock_fd = os.open(lock_path(directory, key), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server for this key is running
    os.ftruncate(lock_fd, 0)
    os.write(lock_fd, f"{os.getpid()}\n".encode())
    remove_dead(directory)
    commands.preload()
    _warm_up(directory, commands)
    watch = _CodeWatch(stamp)
    if code_stamp() != stamp:
        return  # the code changed while this server was importing it
    path = socket_path(directory, key)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a dead server's socket (we hold the lock, so no live one uses it)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    listener.setblocking(False)
    ino = os.stat(path).st_ino
    control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(control_path(directory, key))
    control.bind(control_path(directory, key))
    control.listen(8)
    control.setblocking(False)
    import gc

    gc.collect()
    gc.freeze()  # children then leave the imported objects' pages shared
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_serving)  # `vcrdt daemon stop`: clean up, then exit
    # Spares write b"T" when they take a request and b"S" when they find the code changed;
    # they stop waiting when `stop_w` is closed. Each child asks the file-system monitor over
    # its own socket pair, and hands over its client connection on it (`_Children`).
    notify_r, notify_w = os.pipe()
    stop_r, stop_w = os.pipe()
    pipes = (notify_r, notify_w, stop_r, stop_w)
    from vcrdt.daemon.monitor import Watcher

    watcher = Watcher()
    children = _Children()
    # A child must not hold the lock: one left running after the server died would keep any
    # new server from starting (flock locks belong to the open file, which a fork shares).
    inherited = (control.fileno(), lock_fd)
    if ready_fd >= 0:
        os.write(ready_fd, b"%d\n" % os.getpid())  # `vcrdt daemon start` returns now
        os.close(ready_fd)
    spare, spare_fd = _fork_spare(listener, watch, pipes, children, inherited, commands, directory)
    deadline = time.monotonic() + idle if idle > 0 else float("inf")
    checked = time.monotonic()
    try:
        while True:
            waiting = [notify_r, control.fileno(), *children.waiting(), *([watcher.fd] if watcher.fd >= 0 else [])]
            try:
                ready, _, _ = select.select(waiting, [], [], CHECK_SECONDS)
            except InterruptedError:
                continue
            now = time.monotonic()
            if control.fileno() in ready:
                _control(control, {"pid": os.getpid(), "spare": spare, "started": started, "idle": idle}, watcher)
            if notify_r in ready:  # before the askers: the spare that took a request is no longer the spare
                events = os.read(notify_r, 4096)
                if b"S" in events:
                    break
                deadline = now + idle if idle > 0 else float("inf")
                spare, spare_fd = _fork_spare(listener, watch, pipes, children, inherited, commands, directory)
            for fd in ready:
                if fd in children.clients:
                    children.client_gone(fd)
                elif fd in children.askers and not children.answer(watcher, fd) and fd == spare_fd:
                    # The spare died before taking a request (killed): replace it now, not at the next timeout.
                    spare, spare_fd = _fork_spare(listener, watch, pipes, children, inherited, commands, directory)
            if watcher.fd in ready:
                watcher.drain()
            if not ready and not _alive(spare):
                spare, spare_fd = _fork_spare(listener, watch, pipes, children, inherited, commands, directory)
            if now >= deadline:
                break
            if now - checked >= CHECK_SECONDS:
                checked = now
                if code_stamp() != stamp or not _still_ours(path, ino):
                    break
    except _Stopped:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.close(stop_w)  # a waiting spare exits; one that took a request finishes it
        listener.close()
        control.close()
        if _still_ours(path, ino):
            with contextlib.suppress(OSError):
                os.unlink(path)
            with contextlib.suppress(OSError):
                os.unlink(control_path(directory, key))
        os.close(lock_fd)


class _Stopped(Exception):
    """SIGTERM reached the server: it stops serving."""


def _stop_serving(signum: int, frame: FrameType | None) -> None:
    raise _Stopped


def _control(control: socket.socket, about: dict[str, Any], watcher: Any) -> None:
    """Answer one question on the control socket (``status``) with one JSON line; this user only."""
    import json
    import socket

    try:
        conn, _ = control.accept()
    except (BlockingIOError, InterruptedError):
        return
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] != os.getuid():
            return
        conn.settimeout(CONTROL_SECONDS)  # the server waits for no one longer than that
        question = b""
        while not question.endswith(b"\n") and len(question) < 64:
            chunk = conn.recv(64)
            if not chunk:
                return
            question += chunk
        if question.strip() == b"status":
            reply = about | {"trees": watcher.roots(), "socket": control.getsockname().removesuffix(".ctl") + ".sock"}
            conn.sendall(json.dumps(reply).encode("utf-8", "surrogateescape") + b"\n")
    except OSError:
        pass
    finally:
        conn.close()


class _Children:
    """The server parent's view of its children: each one's monitor socket, pid and client connection."""

    def __init__(self) -> None:
        self.askers: dict[int, tuple[socket.socket, bytearray]] = {}
        self.pids: dict[int, int] = {}  # asker descriptor -> pid
        self.clients: dict[int, tuple[socket.socket, int]] = {}  # client connection descriptor -> (it, asker)

    def add(self, sock: socket.socket, pid: int) -> None:
        self.askers[sock.fileno()] = (sock, bytearray())
        self.pids[sock.fileno()] = pid

    def waiting(self) -> list[int]:
        return [*self.askers, *self.clients]

    def forget(self, fd: int) -> None:
        sock, _ = self.askers.pop(fd)
        self.pids.pop(fd, None)
        for client, (conn, asker) in list(self.clients.items()):
            if asker == fd:
                conn.close()
                del self.clients[client]
        sock.close()

    def client_gone(self, fd: int) -> None:
        """The connection of a running command's client is readable: if it was closed, end the command."""
        import signal
        import socket

        conn, asker = self.clients[fd]
        try:
            data = conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        conn.close()
        del self.clients[fd]
        if data or asker not in self.pids:
            return  # the client sent something (it never does): no longer watched
        try:
            os.killpg(self.pids[asker], signal.SIGKILL)  # the child leads its group
        except OSError:
            pass  # it has just exited

    def answer(self, watcher: Any, fd: int) -> bool:
        """Read what a child sent (monitor questions, its client connection), and answer each question.

        Returns:
            False once the child has exited (its socket is closed and forgotten).
        """
        import socket

        sock, pending = self.askers[fd]
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 1, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return True  # a descriptor number reused within one round: nothing to read yet
        except OSError:
            data, fds = b"", []
        for conn_fd in fds:
            self.clients[conn_fd] = (socket.socket(fileno=conn_fd), fd)
        if not data:
            self.forget(fd)  # the child has exited
            return False
        pending += data
        while b"\n" in pending:
            line, _, rest = bytes(pending).partition(b"\n")
            pending[:] = rest
            if line + b"\n" == WATCH_CLIENT:
                continue
            try:
                sock.sendall(watcher.answer(line))
            except OSError:
                pass
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# A representative session, run once in a scratch repository before the server listens.
_WARM_UP = (
    ("init",),
    ("commit", "-A", "-m", "one"),
    ("status",),
    ("diff",),
    ("commit", "-m", "two"),
    ("log", "-n", "5"),
    ("log", "--oneline"),
    ("show",),
    ("diff", "HEAD~1"),
    ("merge-file", "-p", "ours", "base", "theirs"),
    ("status", "--json"),
)


def _warm_up(directory: str, commands: Commands) -> None:
    """Run `_WARM_UP` in a scratch repository, so that children start warm.

    The first run of a code path in a fresh process is slow: Python's
    specialising interpreter has not adapted its bytecode, caches are empty and
    the pages the path writes are not yet the process's own. Running the
    commands once here, in a private directory and with output to /dev/null
    (the server's stdio), leaves those in every child. The state a command
    keeps between calls is reset per child (`Commands.reset`); any
    failure here only means a colder start.
    """
    import contextlib
    import shutil
    import tempfile

    from vcrdt import diff

    diff.fill_token_cache()
    saved = os.environ.copy()
    scratch = tempfile.mkdtemp(prefix="warm-up-", dir=directory)
    try:
        os.environ.update(
            HOME=scratch, XDG_CONFIG_HOME=scratch, VCRDT_AUTHOR_NAME="vcrdt", VCRDT_AUTHOR_EMAIL="vcrdt@localhost"
        )
        os.chdir(scratch)
        lines = [f"line {i} of the warm-up file\n" for i in range(200)]
        for n in range(20):
            with open(f"f{n}.txt", "w") as f:
                f.writelines(lines)
        # A three-way merge of a few thousand lines with scattered edits on both sides.
        lines = [f"line {i} of the warm-up file\n" for i in range(5000)]
        for name, start in (("base", None), ("ours", 10), ("theirs", 60)):
            edited = list(lines)
            if start is not None:
                edited[start::97] = [f"changed {i}\n" for i in range(len(edited[start::97]))]
            with open(name, "w") as f:
                f.writelines(edited)
        for args in _WARM_UP:
            if args[:2] == ("commit", "-m"):
                with open("f3.txt", "a") as f:
                    f.write("more\n")
            commands.reset()
            with contextlib.suppress(Exception):
                commands.run(args)
    except OSError:
        pass
    finally:
        os.chdir("/")
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(scratch, ignore_errors=True)
        commands.reset()


def _fork_spare(
    listener: socket.socket,
    watch: _CodeWatch,
    pipes: tuple[int, int, int, int],
    children: _Children,
    inherited: tuple[int, ...],
    commands: Commands,
    directory: str,
) -> tuple[int, int]:
    """Fork a spare child that waits for the next connection and serves it; return its pid and asker descriptor.

    The asker descriptor (the server's end of the child's monitor socket) reads
    end-of-file when the child exits.

    The child closes `inherited`, descriptors of the server's that it must not keep. Before it
    waits, it opens the store of the repository a command last opened (`_StoreAhead`).
    """
    import contextlib
    import socket

    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid:
        theirs.close()
        children.add(ours, pid)
        return pid, ours.fileno()
    code = INTERNAL_EXIT  # unless the command returns one
    conn = None
    try:
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd in inherited:
            os.close(fd)  # the server's own: its control socket and its lock
        notify_r, notify_w, stop_r, stop_w = pipes
        os.close(notify_r)
        os.close(stop_w)
        ours.close()
        for other, _ in children.askers.values():
            other.close()
        for client, _ in children.clients.values():
            client.close()
        from vcrdt.daemon.monitor import MonitorClient

        commands.use_monitor(MonitorClient(theirs.fileno()))
        ahead = _StoreAhead(directory)
        conn = _take(listener, stop_r)
        if conn is None:
            os._exit(0)
        listener.close()
        if watch.changed():
            os.write(notify_w, b"S")  # nothing ran: the client runs the command itself
            os._exit(0)
        os.write(notify_w, b"T")
        os.close(notify_w)
        ran = _child(conn, theirs, commands)
        ahead.settle()
        if ran is None:
            conn = None  # nothing to report
        else:
            code = ran
    except BaseException:
        with contextlib.suppress(BaseException):
            import traceback

            traceback.print_exc()
    finally:
        if conn is not None:
            with contextlib.suppress(BaseException):
                conn.sendall(EXIT + pack_int(code))
        os._exit(0)


# The file in the socket directory naming the store a command last opened (for the next spare).
_LAST_STORE = "last-store"


def _identity(store: str) -> tuple[int, ...]:
    """What a store opened ahead must still be: the file (device, inode, size, mtime), its directory, its WAL files.

    The directory is ``.vcrdt`` (device and inode); the ``-wal`` and ``-shm`` files, device
    and inode (zeros where absent).
    """
    st, dt = os.stat(store), os.stat(os.path.dirname(store))
    out = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, dt.st_dev, dt.st_ino]
    for suffix in ("-wal", "-shm"):
        try:
            wt = os.stat(store + suffix)
            out += [wt.st_dev, wt.st_ino]
        except FileNotFoundError:
            out += [0, 0]
    return tuple(out)


# How often a spare tries to open the last store ahead, and how long each try waits for its lock
# (the spare is idle: a client that finds it busy for longer than the ack timeout runs itself).
_AHEAD_ATTEMPTS = 3
_AHEAD_WAIT = 0.05


def _uri(store: str) -> str:
    """The SQLite URI of an existing store, opened read-write (never created)."""
    quoted = store.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    return f"file:{quoted}?mode=rw"


class _StoreAhead:
    """A spare child's connection to the store a command last opened, opened before the request comes.

    A command's `vcrdt.store.db.Database` takes it (`take`, through ``db.open_ahead``) only
    when the store it opens is the very file the connection was opened on, and sits in the same
    ``.vcrdt`` directory (device and inode numbers of both): a repository deleted and made anew
    at the same path has a new store (the old file, held open here, keeps its inode number),
    so it is opened afresh. Opened after the fork, in the child: no SQLite connection crosses a
    fork. The connection has the schema read and the commit table's query prepared (what
    `log` runs per window); it holds no transaction while it waits.
    """

    def __init__(self, directory: str) -> None:
        from vcrdt.store import db

        self.path = os.path.join(directory, _LAST_STORE)
        self.conn: Any = None
        self.identity: tuple[int, ...] | None = None
        self.named: str | None = None  # what the file named when this spare read it
        self.opened: str | None = None  # the store the command opened
        db.open_ahead = self.take
        try:
            with open(self.path, encoding="utf-8", errors="surrogateescape") as f:
                self.named = f.read()
        except OSError:
            return
        # A command closing or checkpointing that store at this instant (it holds the lock, or
        # changes the file while it is opened here) fails an attempt: a few more, then give up.
        for _ in range(_AHEAD_ATTEMPTS):
            try:
                self._open(self.named)
                return
            except Exception:  # any failure only means that a command opens its store itself
                self._close()

    def _open(self, store: str) -> None:
        import sqlite3

        from vcrdt.store import commits

        before = _identity(store)
        # A short wait for a lock: a store busy for longer is opened by the command instead.
        self.conn = sqlite3.connect(
            _uri(store), uri=True, timeout=_AHEAD_WAIT, isolation_level=None, check_same_thread=False
        )
        self.conn.execute("SELECT count(*) FROM sqlite_master").fetchall()  # reads the schema
        self.conn.execute(commits.SELECT_BEFORE, (bytes(32), 0)).fetchall()  # prepared, in the statement cache
        after = _identity(store)  # with the WAL files, which reading made if they were absent
        if after[:6] != before[:6]:
            raise OSError("the store changed while it was opened")
        self.identity = after

    def _close(self) -> None:
        conn, self.conn, self.identity = self.conn, None, None
        if conn is not None:
            conn.close()

    def take(self, path: Any, busy_timeout: float) -> Any:
        """Return the connection if it was opened on the store at `path` (else None, and close it); once.

        The store is named in the socket directory for the spares forked after this one.
        """
        store = os.path.abspath(os.fspath(path))
        self.opened = store
        if store != self.named:
            self._name(store)
        conn, identity = self.conn, self.identity
        self.conn = self.identity = None
        if conn is None:
            return None
        try:
            same = _identity(store) == identity
        except OSError:
            same = False
        if not same:
            conn.close()
            return None
        conn.execute(f"PRAGMA busy_timeout = {max(0, int(busy_timeout * 1000))}")
        return conn

    def settle(self) -> None:
        """After the command: checkpoint what it left in its store's WAL, as the last connection's close does.

        While a spare holds the store open, a command's connection is not the last to close,
        so SQLite neither checkpoints the WAL nor removes it; a write would then reach the
        store file (and the disk, docs/format.md "Durability") only at a later checkpoint.
        """
        import sqlite3

        if self.opened is None:
            return
        try:
            if os.stat(self.opened + "-wal").st_size == 0:
                return
            conn = sqlite3.connect(_uri(self.opened), uri=True, timeout=1.0, isolation_level=None)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                conn.close()
        except (OSError, sqlite3.Error):
            pass  # as a close that could not checkpoint: the next one does

    def _name(self, store: str) -> None:
        self.named = store
        temp = f"{self.path}.{os.getpid()}"
        try:
            with open(temp, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(store)
            os.replace(temp, self.path)
        except OSError:
            pass  # the next spares only open nothing ahead


def _take(listener: socket.socket, stop_r: int) -> socket.socket | None:
    """Wait for a connection from this user (None once the server stops)."""
    import select
    import socket

    while True:
        try:
            ready, _, _ = select.select([listener.fileno(), stop_r], [], [])
        except InterruptedError:
            continue
        if stop_r in ready:
            return None
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            continue
        conn.setblocking(True)
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        if struct.unpack("3i", creds)[1] == os.getuid():
            return conn
        conn.close()


def _still_ours(path: str, ino: int) -> bool:
    try:
        return os.stat(path).st_ino == ino
    except OSError:
        return False


def _recv_request(conn: socket.socket) -> tuple[list[str], dict[str, str], int]:
    data = conn.recv(65536)
    if len(data) < 4:
        raise ValueError("malformed request")
    size = unpack_int(data[:4])
    if not 0 <= size <= MAX_REQUEST:
        raise ValueError("request too large")
    body = bytearray(data[4:])
    while len(body) < size:
        chunk = conn.recv(min(1 << 20, size - len(body)))
        if not chunk:
            raise ValueError("truncated request")
        body += chunk
    argv, environ, umask = decode_request(bytes(body))
    env: dict[str, str] = {}
    for entry in environ:
        name, sep, value = entry.partition(b"=")
        if sep and name:
            env[os.fsdecode(name)] = os.fsdecode(value)
    return [os.fsdecode(arg) for arg in argv], env, umask


def _child(conn: socket.socket, server: socket.socket, commands: Commands) -> int | None:
    """Take over the client's descriptors, directory and environment, and run its command.

    Once told to go, the child leads a process group of its own and hands a
    copy of the connection to the server parent over `server` (its monitor
    socket): the parent kills the group if the client goes away (the
    connection reads end-of-file before the exit code was sent), so a command
    never outlives its client.

    Returns:
        The exit code; None if the client did not say "go" (nothing ran).
    """
    import contextlib
    import signal
    import socket

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    argv, env, umask = _recv_request(conn)
    conn.sendall(PID + pack_int(os.getpid()))
    fds = receive_descriptors(conn)
    if fds is None:
        return None  # the client gave up waiting (or went away): it runs the command itself
    os.setpgid(0, 0)
    server.sendmsg([WATCH_CLIENT], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", conn.fileno()))])
    take_descriptors(fds)
    _drop_cwd_from_path()
    os.umask(umask)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    open_streams(env)
    sys.argv = ["vcrdt", *argv]
    commands.reset()
    profile = env.get(PROFILE_VAR)
    if not profile:
        return commands.run(argv)
    # For measuring the server path only: the child's command under cProfile, its stats in PROFILE.<pid>.
    import cProfile

    profiler = cProfile.Profile()
    code: int = profiler.runcall(commands.run, argv)
    with contextlib.suppress(OSError):
        profiler.dump_stats(f"{profile}.{os.getpid()}")
    return code


def _drop_cwd_from_path() -> None:
    """Remove from `sys.path` what would find modules in the current directory (the client's).

    The server runs with ``-P``; this also drops a relative entry (``''`` is the
    current directory) and one naming the directory itself, so that a module
    imported lazily is never loaded from a work tree. Site directories stay:
    running a command in one does not make its packages any less installed.
    """
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None  # deleted: nothing absolute can name it
    sys.path[:] = [
        entry
        for entry in sys.path
        if os.path.isabs(entry)
        and (os.path.normpath(entry) != cwd or entry.endswith(("site-packages", "dist-packages")))
    ]
