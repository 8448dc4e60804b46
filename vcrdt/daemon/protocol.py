"""What the clients and the server agree on: the key, the socket directory, the messages, the timeouts.

Both clients follow this module: the Python one (`vcrdt.daemon.client`)
imports it, and the native one (``client.c``) is compiled with its constants
(`vcrdt.daemon.native` generates them from here), so a value changes in one
place. See the package docstring for the whole exchange.

A connection, after the client connected:

1. The client sends a request (`encode_request`).
2. The server's child answers `PID` and its pid (`INT`: a 4-byte big-endian
   signed number), or closes the connection (nothing will run). A client
   that hears nothing within `ack_seconds` gives up: nothing runs.
3. The client sends `GO` with its descriptors 0, 1, 2 and its current
   directory (SCM_RIGHTS); from then on the command is the child's.
4. The child sends `EXIT` and the exit code once the command has finished.

Imports only the standard library (the client runs on every command).
"""

from __future__ import annotations

import os
import stat
import sys

# Not typing's TYPE_CHECKING: importing typing costs the client milliseconds.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

PROTOCOL = 3
# How long a client waits for the server to connect, take the request and acknowledge it (the
# child's pid) before it gives up on the server and runs the command itself; nothing ran then.
# `TIMEOUT_VAR` (seconds, at most `MAX_TIMEOUT_SECONDS`) sets it per command.
ACK_SECONDS = 1.0
MAX_TIMEOUT_SECONDS = 3600.0
# How long a server started by `core.daemon` stays up without requests (`vcrdt daemon start`: no limit).
IDLE_SECONDS = 600.0
# How long `daemon status` waits for the server to answer on its control socket.
CONTROL_SECONDS = 1.0
# How often an idle server re-checks its stamp against the files on disk.
CHECK_SECONDS = 5.0
MAX_REQUEST = 16 * 1024 * 1024

# The variables a client reads itself.
NO_SERVER_VAR = "VCRDT_NO_SERVER"  # any value but empty or 0: run in-process
TIMEOUT_VAR = "VCRDT_SERVER_TIMEOUT"  # seconds to wait for the acknowledgement
RUNTIME_VAR = "XDG_RUNTIME_DIR"  # where the socket directory is
# The socket directory: `RUNTIME_SUBDIR` under `RUNTIME_VAR`, else `FALLBACK_DIR_PREFIX` and the uid.
RUNTIME_SUBDIR = "vcrdt"
FALLBACK_DIR_PREFIX = "/tmp/vcrdt-"
SOCKET_SUFFIX = ".sock"
LOCK_SUFFIX = ".lock"
CONTROL_SUFFIX = ".ctl"

# The messages of a connection (see the module docstring), each a tag byte and, but for `GO`, an `INT`.
PID = b"P"
GO = b"G"
EXIT = b"X"
INT_SIZE = 4  # an `INT`: a signed 32-bit integer, big-endian
# What a child sends the server parent, with its connection to the client, before it runs a command.
WATCH_CLIENT = b"watch\n"
# The exit code of a client that fails itself, or whose command the server lost (the child died
# without an exit code), as `vcrdt.cli.codes.ExitCode.INTERNAL`; and what it says in the second case.
INTERNAL_EXIT = 255
LOST_MESSAGE = "vcrdt: the command server lost the command (set VCRDT_NO_SERVER=1 to run without it)\n"
# Read by a server child from the client's environment, for measuring the server path only: the
# command runs under cProfile, whose stats go to VALUE.<pid> (bench/README.md).
PROFILE_VAR = "VCRDT_DAEMON_PROFILE"

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
    # Not read at import time, but a shell-completion request: answered in-process, by click.
    "_VCRDT_COMPLETE",
)
# Python start-up variables that a server child applies per command (so they are not in the key).
PER_REQUEST_VARS = (b"PYTHONIOENCODING", b"PYTHONUNBUFFERED", b"PYTHONDONTWRITEBYTECODE")
# Variables that change how Python picks its encodings. The native client, which cannot tell
# what Python would make of them, leaves a command with any of them set to Python itself.
ENCODING_VARS = ("PYTHONUTF8", "PYTHONCOERCECLOCALE")

# Commands the client runs itself, never on a server (`runs_here`): `daemon` manages the server.
LOCAL_COMMANDS = ("daemon",)
# Commands the client runs itself when its stdin is a terminal: they may prompt, start the
# message editor, page their output (`vcrdt.cli.editor`, `vcrdt.cli.pager`) or show a man page (`help`), which need the
# terminal as the controlling one (job control, /dev/tty, resizing).
TERMINAL_COMMANDS = (
    "blame",
    "cherry-pick",
    "commit",
    "conflicts",
    "diff",
    "help",
    "log",
    "merge",
    "resolve",
    "revert",
    "show",
    "stash",
    "tag",
)
# Global options that take a value: the command word is the first argument that is neither an
# option nor the value of one of these (a test checks them against the typer app).
VALUE_OPTIONS = ("-C", "--color", "--install-completion", "--show-completion")

# 64-bit FNV-1a, which names a server's socket (`socket_key`).
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


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
    """Tell whether the client runs `argv` itself rather than hand it to a server (see the package docstring)."""
    word = command_word(argv)
    return word in LOCAL_COMMANDS or (stdin_tty and word in TERMINAL_COMMANDS)


def disabled(env: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """Tell whether this command must run in-process (opt-out, or import-time variables set)."""
    if env.get(NO_SERVER_VAR, "") not in ("", "0"):
        return True
    return any(name in env for name in IMPORT_TIME_VARS)


_TRUE = ("true", "1", "yes", "on")


def _config_daemon(path: str) -> bool | None:
    """Return the ``core.daemon`` setting of one TOML config file (None when it does not say)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None  # missing or unreadable: the command itself reports a broken config
    if b"daemon" not in data and b"\\" not in data:
        # Cannot say it (no such word, and no escape that could spell it in a quoted key): an
        # empty file, as `init` writes it, does not load the parser.
        return None
    import tomllib

    try:
        core = tomllib.loads(data.decode()).get("core")
    except ValueError:
        return None  # unreadable: the command itself reports a broken config
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
    fast path; here rather than in `vcrdt.daemon.client`, which a command run without a
    server then need not import. ``CI=true`` (any value but empty, 0 or false) never starts one.
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


def ack_seconds(env: os._Environ[str] | dict[str, str] = os.environ) -> float:
    """Return how long a client waits for the server's acknowledgement (`ACK_SECONDS`, or `TIMEOUT_VAR`)."""
    try:
        value = float(env.get(TIMEOUT_VAR, ""))
    except ValueError:
        return ACK_SECONDS
    return value if 0 < value <= MAX_TIMEOUT_SECONDS else ACK_SECONDS


# --- where the server lives ---------------------------------------------------------------


def runtime_dir(env: os._Environ[str] | dict[str, str] = os.environ) -> str | None:
    """Return the user's private socket directory (created 0700), or None when it is not safe."""
    base = env.get(RUNTIME_VAR)
    path = os.path.join(base, RUNTIME_SUBDIR) if base else f"{FALLBACK_DIR_PREFIX}{os.getuid()}"
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
    h = FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
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
    return os.path.join(directory, key + SOCKET_SUFFIX)


def lock_path(directory: str, key: str) -> str:
    """Return the lock file a running server holds (it contains the server's pid)."""
    return os.path.join(directory, key + LOCK_SUFFIX)


def control_path(directory: str, key: str) -> str:
    """Return the control socket of the server for `key` (`daemon status` asks it; the server parent answers)."""
    return os.path.join(directory, key + CONTROL_SUFFIX)


def remove_dead(directory: str) -> None:
    """Delete the lock files and sockets of servers that have exited (no one holds their lock)."""
    import fcntl

    for name in os.listdir(directory):
        if not name.endswith(LOCK_SUFFIX):
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
        stem = path[: -len(LOCK_SUFFIX)]
        for dead in (path, stem + SOCKET_SUFFIX, stem + CONTROL_SUFFIX):
            try:
                os.unlink(dead)
            except OSError:
                pass
        os.close(fd)


# --- the request --------------------------------------------------------------------------


def pack_int(value: int) -> bytes:
    """Return `value` as an `INT` (its `INT_SIZE` bytes).

    Not `struct`: a plain command, which imports this module to know it runs here, would load
    it for nothing.

    Raises:
        OverflowError: If `value` does not fit in 32 bits.
    """
    return value.to_bytes(INT_SIZE, "big", signed=True)


def unpack_int(data: bytes) -> int:
    """Return the integer of an `INT` (`data` is its `INT_SIZE` bytes)."""
    return int.from_bytes(data, "big", signed=True)


def encode_request(argv: Sequence[bytes], environ: Sequence[bytes], umask: int) -> bytes:
    """Return the request message: a 4-byte big-endian length, then NUL-terminated fields.

    The fields are the protocol, the argument count, the arguments, the number
    of environment entries, the entries (``NAME=value``) and the umask, numbers
    in decimal.
    """
    fields = [b"%d" % PROTOCOL, b"%d" % len(argv), *argv, b"%d" % len(environ), *environ, b"%d" % umask]
    body = b"".join(field + b"\0" for field in fields)
    return pack_int(len(body)) + body


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
