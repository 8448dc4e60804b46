"""The command server: a warm process that forks a child per command (Mercurial's chg model).

Starting Python and importing typer, click, rich and the core costs more than
most commands' own work. So `vcrdt` first asks a per-user server, which has
everything imported already and holds no open repository, to run the command.
The server is opt-in: only ``vcrdt daemon start`` (`start`) or ``core.daemon =
true`` in a config file (`auto_start`) starts one; a running one is used.
Two clients speak the same protocol: this module's `request` (the console
script), and the native client `vcrdt/cli/client.c`, which `make` builds as
``.venv/bin/vcrdt`` (see `vcrdt.cli.native`) so that a command does not pay for
starting Python at all.

- The client connects to a Unix socket in ``$XDG_RUNTIME_DIR/vcrdt`` (or
  ``/tmp/vcrdt-<uid>``; a directory of mode 0700 owned by the user, else no
  server is used). The socket is named by a key (`socket_key`) of everything
  fixed when an interpreter starts: the protocol, the interpreter, the
  package directory, the file-system encoding, UTF-8 mode and the ``PYTHON*``
  variables other than `PER_REQUEST_VARS`. Clients that differ in any of
  them never share a server.
- It sends argv, the environment and its umask (`encode_request`), with its
  stdin, stdout, stderr and current directory as file descriptors
  (SCM_RIGHTS). The server first checks that its code is still what it
  imported (`code_stamp`: the path, mtime and size of every ``.py`` file of
  vcrdt and the site-packages directories); if not, it closes the connection
  without running anything and exits. Otherwise it forks; the child takes the
  descriptors as 0, 1, 2 and its working directory, replaces its environment,
  sets up stdio as Python would have for that environment (`stdio_modes`),
  runs the same in-process entry `vcrdt.cli.run(argv)`, and sends back its pid
  first and its exit code last. The client forwards SIGINT, SIGTERM and SIGHUP
  to the child and exits with the child's code.
- Some commands always run in the client (`runs_here`; both clients apply
  the same rule to argv): the command word is the first argument that is not
  an option nor the value of a global option that takes one
  (`VALUE_OPTIONS`). `LOCAL_COMMANDS` (``daemon``) always run in the client;
  `TERMINAL_COMMANDS` (``merge``, ``resolve``, which may prompt and start
  ``$EDITOR``) run in the client when its stdin is a terminal, because a
  server child has no controlling terminal: job control (SIGTSTP, SIGCONT),
  window-size changes and ``/dev/tty`` would not reach them.
- When no server answers, the client runs the command itself and then,
  if `auto_start` says so, starts a detached server for next time; that one
  exits after `IDLE_SECONDS` without requests. Any server exits as soon as its
  stamp no longer matches the files on disk, and on SIGTERM (``vcrdt daemon
  stop``). The server parent answers ``status`` on a second socket
  (`control_path`, `query`).

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

PROTOCOL = 3
# How long a client waits for the server to connect, take the request and acknowledge it (the
# child's pid) before it gives up on the server and runs the command itself; nothing ran then.
# ``VCRDT_SERVER_TIMEOUT`` (seconds) sets it per command.
ACK_SECONDS = 1.0
# How long a server started by `core.daemon` stays up without requests (`vcrdt daemon start`: no limit).
IDLE_SECONDS = 600.0
# How long `daemon status` waits for the server to answer on its control socket.
CONTROL_SECONDS = 1.0
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
# Python start-up variables that a server child applies per command (so they are not in the key).
PER_REQUEST_VARS = (b"PYTHONIOENCODING", b"PYTHONUNBUFFERED", b"PYTHONDONTWRITEBYTECODE")
# The server spawned for a client gets these variables of the client's, and no others.
_SERVER_ENV = (b"LANG", b"PATH", b"TZ")
_FORWARDED = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)
# What a child sends the server parent, with its connection to the client, before it runs a command.
WATCH_CLIENT = b"watch\n"
_INT = struct.Struct("!i")
# The server process: the same vcrdt as the client (its package directory first on the path).
# `-P`: no current directory on the path, ever (each child runs in a client's directory, which
# may be a work tree full of someone else's files).
_SERVE = "import sys; sys.path.insert(0, sys.argv[1]); import vcrdt.cli.server as s; s.serve()"


# Commands the client runs itself, never on a server (`runs_here`): `daemon` manages the server.
LOCAL_COMMANDS = ("daemon",)
# Commands the client runs itself when its stdin is a terminal: they may prompt and start
# $EDITOR, which need the terminal as the controlling one (job control, /dev/tty, resizing).
TERMINAL_COMMANDS = ("merge", "resolve")
# Global options that take a value: the command word is the first argument that is neither an
# option nor the value of one of these (a test checks them against the typer app).
VALUE_OPTIONS = ("-C", "--color")


def command_word(argv: Sequence[str]) -> str | None:
    """Return the command of a command line (its first argument that is no option or option value)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def runs_here(argv: Sequence[str], stdin_tty: bool) -> bool:
    """Tell whether the client runs `argv` itself rather than hand it to a server (see the module docstring)."""
    word = command_word(argv)
    return word in LOCAL_COMMANDS or (stdin_tty and word in TERMINAL_COMMANDS)


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


def package_dir() -> str:
    """Return the directory of the vcrdt package this module belongs to."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fnv1a64(data: bytes) -> int:
    """Return the 64-bit FNV-1a hash of `data` (the native client computes the same)."""
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def key_text(environb: os._Environ[bytes] | dict[bytes, bytes] = os.environb) -> bytes:
    """Return what names this interpreter's server: what is fixed when Python starts.

    Lines: the protocol, the interpreter path, the package directory, the
    file-system encoding, UTF-8 mode (0 or 1), then every ``PYTHON*`` variable
    but `PER_REQUEST_VARS`, as ``NAME=value``, sorted.
    """
    lines = [
        b"%d" % PROTOCOL,
        os.fsencode(sys.executable),
        os.fsencode(package_dir()),
        sys.getfilesystemencoding().encode(),
        b"%d" % sys.flags.utf8_mode,
    ]
    lines += sorted(
        name + b"=" + value
        for name, value in environb.items()
        if name.startswith(b"PYTHON") and name not in PER_REQUEST_VARS
    )
    return b"".join(line + b"\n" for line in lines)


def socket_key(environb: os._Environ[bytes] | dict[bytes, bytes] = os.environb) -> str:
    """Return the name of this interpreter's server: 16 hex digits of `key_text`'s hash."""
    return f"{fnv1a64(key_text(environb)):016x}"


def socket_path(directory: str, key: str) -> str:
    """Return the socket of the server for `key` in `directory`."""
    return os.path.join(directory, f"{key}.sock")


def lock_path(directory: str, key: str) -> str:
    """Return the lock file a running server holds (it contains the server's pid)."""
    return os.path.join(directory, f"{key}.lock")


def control_path(directory: str, key: str) -> str:
    """Return the control socket of the server for `key` (`daemon status` asks it; the server parent answers)."""
    return os.path.join(directory, f"{key}.ctl")


_TRUE = ("true", "1", "yes", "on")


def _config_daemon(path: str) -> bool | None:
    """Return the ``core.daemon`` setting of one TOML config file (None when it does not say)."""
    import tomllib

    try:
        with open(path, "rb") as f:
            core = tomllib.load(f).get("core")
    except (OSError, ValueError):
        return None  # missing or unreadable: the command itself reports a broken config
    if not isinstance(core, dict) or "daemon" not in core:
        return None
    value = core["daemon"]
    return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)


def auto_start(env: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Tell whether a command that found no server should start one: ``core.daemon = true``, not under CI.

    The repository's config (``.vcrdt/config.toml`` of the first directory
    from the current one up that has a ``.vcrdt``) wins over the global file
    (``$XDG_CONFIG_HOME/vcrdt/config.toml``, default ``~/.config/vcrdt/config.toml``).
    Read only after a command ran without a server, so it costs nothing on the
    fast path. ``CI=true`` (any value but empty, 0 or false) never starts one.
    """
    if env.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    try:
        here = os.getcwd()
    except OSError:
        here = None
    while here:
        meta = os.path.join(here, ".vcrdt")
        if os.path.isdir(meta):
            setting = _config_daemon(os.path.join(meta, "config.toml"))
            if setting is not None:
                return setting
            break
        parent = os.path.dirname(here)
        here = parent if parent != here else None
    config_home = env.get("XDG_CONFIG_HOME") or (os.path.join(env["HOME"], ".config") if env.get("HOME") else "")
    if not config_home:
        return False
    return bool(_config_daemon(os.path.join(config_home, "vcrdt", "config.toml")))


def encode_request(argv: Sequence[bytes], environ: Sequence[bytes], umask: int) -> bytes:
    """Return the request message: a 4-byte big-endian length, then NUL-terminated fields.

    The fields are the protocol, the argument count, the arguments, the number
    of environment entries, the entries (``NAME=value``) and the umask, numbers
    in decimal.
    """
    fields = [b"%d" % PROTOCOL, b"%d" % len(argv), *argv, b"%d" % len(environ), *environ, b"%d" % umask]
    body = b"".join(field + b"\0" for field in fields)
    return _INT.pack(len(body)) + body


def decode_request(body: bytes) -> tuple[list[bytes], list[bytes], int]:
    """Return the arguments, environment entries and umask of a request body (after the length).

    Raises:
        ValueError: The body is not a well-formed request of this protocol.
    """
    fields = body.split(b"\0")
    if len(fields) < 5 or fields.pop() != b"" or fields[0] != b"%d" % PROTOCOL:
        raise ValueError("malformed request")
    argc = _count(fields[1])
    argv = fields[2 : 2 + argc]
    envc = _count(fields[2 + argc]) if len(fields) > 2 + argc else -1
    environ = fields[3 + argc : 3 + argc + envc]
    if envc < 0 or len(fields) != 4 + argc + envc:
        raise ValueError("malformed request")
    return argv, environ, _count(fields[-1])


def _count(field: bytes) -> int:
    if not field.isdigit() or len(field) > 9:
        raise ValueError("malformed request")
    return int(field)


# --- client -------------------------------------------------------------------------------


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
            setattr(sys, name, _text_stream(fd, mode, modes[fd]))


def request(argv: Sequence[str]) -> int | None:
    """Run `argv` on a running server; return its exit code, or None if no server took it.

    None means nothing was run: the caller runs the command itself. That is
    also the outcome when the server does not acknowledge the request within
    `ACK_SECONDS` (stopped, or overloaded). Once the client has told the
    server's child to go, the child's exit code is returned whatever happens.
    SIGINT, SIGTERM or SIGHUP before that ends the client by that signal.
    """
    directory = runtime_dir()
    if directory is None:
        return None
    path = socket_path(directory, socket_key())
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
                fds = struct.pack("4i", 0, 1, 2, cwd_fd)
                sock.sendmsg([b"G"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
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
    `ACK_SECONDS`: a server that is stopped or overloaded is given up on.
    The descriptors go with "go", not with the request, so a request given up
    on holds none of them (a reader of the client's stdout would wait for it).
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
    tag, value = buf[:1], _INT.unpack(buf[1:5])[0]
    return int(value) if tag == b"P" else None


def ack_seconds(env: os._Environ[str] | dict[str, str] = os.environ) -> float:
    """Return how long a client waits for the server's acknowledgement (`ACK_SECONDS`, or the variable)."""
    try:
        value = float(env.get("VCRDT_SERVER_TIMEOUT", ""))
    except ValueError:
        return ACK_SECONDS
    return value if 0 < value <= 3600 else ACK_SECONDS


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
            tag, value = buf[:1], _INT.unpack(buf[1:5])[0]
            buf = buf[5:]
            if tag == b"X":
                return int(value)
    if forwarder.received is not None:
        # The child died of the signal we passed on: end the same way.
        forwarder.restore()
        _signal.signal(forwarder.received, _signal.SIG_DFL)
        os.kill(os.getpid(), forwarder.received)
    sys.stderr.write("vcrdt: the command server lost the command (set VCRDT_NO_SERVER=1 to run without it)\n")
    return 255


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


# --- managing the server (`vcrdt daemon`) --------------------------------------------------


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

    where = _where()
    if where is None:
        return None
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
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

    Returns once the server listens (it says so on a pipe), so the next command is served.

    Raises:
        OSError: No server could be started, or it did not come up within `timeout` seconds.
    """
    import select

    info = query()
    if info is not None:
        return int(info["pid"]), False
    read_fd, write_fd = os.pipe()
    try:
        started = spawn(idle=0, ready_fd=write_fd)
        os.close(write_fd)
        write_fd = -1
        if not started:
            raise OSError("cannot start the command server (no private socket directory)")
        line = b""
        deadline = time.monotonic() + timeout
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
    if line.strip().isdigit():
        return int(line), True
    # Another server holds the lock (one a command started is still warming up): wait for it.
    while holder() is not None and time.monotonic() < deadline:
        info = query()
        if info is not None:
            return int(info["pid"]), False
        time.sleep(0.05)
    raise OSError("the command server did not start")


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
        _remove_dead(where[0])  # what a killed server left behind
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
        from vcrdt.cli import fsmonitor

        self.stamp = stamp
        self.package_watches: set[int] = set()
        self.inotify = fsmonitor.Inotify()
        if self.inotify.fd < 0:
            return  # a stamp per request instead
        dirs = []
        for dirpath, subdirs, _ in os.walk(package_dir()):
            dirs.append(dirpath)
            subdirs[:] = [d for d in subdirs if d != "__pycache__"]
        sites = [e for e in sys.path if e.endswith(("site-packages", "dist-packages")) and os.path.isdir(e)]
        for path in [*dirs, *sites]:
            wd = self.inotify.add(path, fsmonitor.CHANGES)
            if wd < 0:
                self.inotify.close()  # a stamp per request instead
                return
            if path in dirs:
                self.package_watches.add(wd)

    def _counts(self, wd: int, mask: int, name: bytes) -> bool:
        from vcrdt.cli.fsmonitor import DELETE_SELF, IGNORED, ISDIR, MOVE_SELF, Q_OVERFLOW

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


def serve() -> None:
    """Run the server for the key of this process.

    Arguments (`sys.argv`): the package's parent directory, the socket
    directory, the idle seconds before it exits (0: never) and a descriptor
    to write the pid on once it listens (-1: none); see `spawn`.

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

    directory = sys.argv[2]
    idle = float(sys.argv[3]) if len(sys.argv) > 3 else IDLE_SECONDS
    ready_fd = int(sys.argv[4]) if len(sys.argv) > 4 else -1
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
    _remove_dead(directory)
    _preload()
    _warm_up(directory)
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
    from vcrdt.cli.fsmonitor import Watcher

    watcher = Watcher()
    children = _Children()
    # A child must not hold the lock: one left running after the server died would keep any
    # new server from starting (flock locks belong to the open file, which a fork shares).
    inherited = (control.fileno(), lock_fd)
    if ready_fd >= 0:
        os.write(ready_fd, b"%d\n" % os.getpid())  # `vcrdt daemon start` returns now
        os.close(ready_fd)
    spare, spare_fd = _fork_spare(listener, watch, pipes, children, inherited)
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
                spare, spare_fd = _fork_spare(listener, watch, pipes, children, inherited)
            for fd in ready:
                if fd in children.clients:
                    children.client_gone(fd)
                elif fd in children.askers and not children.answer(watcher, fd) and fd == spare_fd:
                    # The spare died before taking a request (killed): replace it now, not at the next timeout.
                    spare, spare_fd = _fork_spare(listener, watch, pipes, children, inherited)
            if watcher.fd in ready:
                watcher.drain()
            if not ready and not _alive(spare):
                spare, spare_fd = _fork_spare(listener, watch, pipes, children, inherited)
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


def _warm_up(directory: str) -> None:
    """Run `_WARM_UP` in a scratch repository, so that children start warm.

    The first run of a code path in a fresh process is slow: Python's
    specialising interpreter has not adapted its bytecode, caches are empty and
    the pages the path writes are not yet the process's own. Running the
    commands once here, in a private directory and with output to /dev/null
    (the server's stdio), leaves those in every child. The state a command
    keeps between calls is reset per child (`vcrdt.cli.base.reset_state`); any
    failure here only means a colder start.
    """
    import contextlib
    import shutil
    import tempfile

    from vcrdt import diff
    from vcrdt.cli import finish, run
    from vcrdt.cli.base import reset_state

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
            reset_state()
            with contextlib.suppress(Exception):
                finish(run(args))
    except OSError:
        pass
    finally:
        os.chdir("/")
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(scratch, ignore_errors=True)
        reset_state()


def _fork_spare(
    listener: socket.socket,
    watch: _CodeWatch,
    pipes: tuple[int, int, int, int],
    children: _Children,
    inherited: tuple[int, ...],
) -> tuple[int, int]:
    """Fork a spare child that waits for the next connection and serves it; return its pid and asker descriptor.

    The asker descriptor (the server's end of the child's monitor socket) reads
    end-of-file when the child exits.

    The child closes `inherited`, descriptors of the server's that it must not keep.
    """
    import contextlib
    import socket

    ours, theirs = socket.socketpair()
    pid = os.fork()
    if pid:
        theirs.close()
        children.add(ours, pid)
        return pid, ours.fileno()
    code = 255
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
        from vcrdt.cli.base import STATE
        from vcrdt.cli.fsmonitor import MonitorClient

        STATE.monitor = MonitorClient(theirs.fileno())
        conn = _take(listener, stop_r)
        if conn is None:
            os._exit(0)
        listener.close()
        if watch.changed():
            os.write(notify_w, b"S")  # nothing ran: the client runs the command itself
            os._exit(0)
        os.write(notify_w, b"T")
        os.close(notify_w)
        ran = _child(conn, theirs)
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
                conn.sendall(b"X" + _INT.pack(code))
        os._exit(0)


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
        for dead in (path, path[: -len(".lock")] + ".sock", path[: -len(".lock")] + ".ctl"):
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


def _recv_request(conn: socket.socket) -> tuple[list[str], dict[str, str], int]:
    data = conn.recv(65536)
    if len(data) < 4:
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
    argv, environ, umask = decode_request(bytes(body))
    env: dict[str, str] = {}
    for entry in environ:
        name, sep, value = entry.partition(b"=")
        if sep and name:
            env[os.fsdecode(name)] = os.fsdecode(value)
    return [os.fsdecode(arg) for arg in argv], env, umask


def _recv_go(conn: socket.socket) -> list[int] | None:
    """Wait for the client's "go" and its descriptors (stdin, stdout, stderr, directory); None if it gave up."""
    import socket

    try:
        data, fds, _, _ = socket.recv_fds(conn, 1, 4)
    except OSError:
        return None
    if data == b"G" and len(fds) == 4:
        return fds
    for fd in fds:
        os.close(fd)
    return None


def _child(conn: socket.socket, server: socket.socket) -> int | None:
    """Take over the client's descriptors, directory and environment, and run its command.

    Once told to go, the child leads a process group of its own and hands a
    copy of the connection to the server parent over `server` (its monitor
    socket): the parent kills the group if the client goes away (the
    connection reads end-of-file before the exit code was sent), so a command
    never outlives its client.

    Returns:
        The exit code; None if the client did not say "go" (nothing ran).
    """
    import signal
    import socket

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    argv, env, umask = _recv_request(conn)
    conn.sendall(b"P" + _INT.pack(os.getpid()))
    fds = _recv_go(conn)
    if fds is None:
        return None  # the client gave up waiting (or went away): it runs the command itself
    os.setpgid(0, 0)
    server.sendmsg([WATCH_CLIENT], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", conn.fileno()))])
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    os.fchdir(fds[3])
    for fd in fds:
        os.close(fd)
    _drop_cwd_from_path()
    os.umask(umask)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    sys.dont_write_bytecode = bool(env.get("PYTHONDONTWRITEBYTECODE"))
    ttys = (os.isatty(0), os.isatty(1), os.isatty(2))
    modes = stdio_modes(env, ttys)
    sys.stdin = _text_stream(0, "r", modes[0])
    sys.stdout = _text_stream(1, "w", modes[1])
    sys.stderr = _text_stream(2, "w", modes[2])
    sys.argv = ["vcrdt", *argv]
    from vcrdt.cli import finish, run
    from vcrdt.cli.base import reset_state

    reset_state()
    return finish(run(argv))


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


# The locales Python coerces a C locale to, in which it also uses surrogateescape on stdio.
_COERCION_TARGETS = ("C.UTF-8", "C.utf8", "UTF-8")


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


def _text_stream(fd: int, mode: str, spec: Sequence[Any]) -> io.TextIOWrapper:
    encoding, errors, line_buffering, write_through = spec
    raw = open(fd, mode + "b", closefd=False, buffering=0 if write_through and mode == "w" else -1)
    return io.TextIOWrapper(
        raw, encoding=encoding, errors=errors, line_buffering=line_buffering, write_through=write_through
    )
