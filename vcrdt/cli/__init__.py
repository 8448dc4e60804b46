"""The command-line edge: `main()` runs the typer app and turns errors into exit codes.

This module imports nothing heavy at import time, so `vcrdt --version`
starts fast; the typer app lives in `vcrdt.cli.app`. Exit codes (see
`ExitCode`): 0 success, 1 a user-facing failure or unresolved conflicts,
2 usage error, 3 broken pipe, 255 internal error.
"""

from __future__ import annotations

import os
import sys

# Not typing's TYPE_CHECKING: this module is imported by every command, even one the command
# server runs, and importing typing, enum or collections costs the client milliseconds.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

    from vcrdt.cli.codes import ExitCode as ExitCode


def __getattr__(name: str) -> object:
    if name == "ExitCode":  # kept importable from here; defined in vcrdt.cli.codes
        from vcrdt.cli.codes import ExitCode

        return ExitCode
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code (never raises, never exits).

    Args:
        argv: The arguments after the program name (default: `sys.argv[1:]`).

    Returns:
        The exit code.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["-V"]):
        from vcrdt import __version__

        sys.stdout.write(f"vcrdt {__version__}\n")
        return 0
    try:
        os.getcwd()
    except OSError as exc:
        # Every command resolves its paths against it.
        reason = "it has been deleted" if isinstance(exc, FileNotFoundError) else exc.strerror
        sys.stderr.write(f"error: cannot use the current directory: {reason}\n")
        return 1  # ExitCode.FAILURE
    started = _start_peer(args)
    from vcrdt.extensions import load_sqlite3

    load_sqlite3()  # before the app's modules import it, so functools need not load (see there)
    from vcrdt.cli.app import invoke

    try:
        return invoke(args)
    finally:
        if started:  # a peer the command did not take (it failed before its session) is ended
            from vcrdt.sync.spawn import discard_early

            discard_early()


# The commands that may reach their peer through a process (`--exec CMD`, an ssh URL), by the name
# of the argument that names the remote.
_PEER_COMMANDS = {"fetch": "source", "sync": "remote", "push": "remote", "pull": "remote"}


def _start_peer(args: Sequence[str]) -> bool:
    """Start the peer command of a fetch, sync, push or pull now, before the app's imports; True if one may run.

    The peer's start-up (an interpreter and its imports, an ssh connection) then overlaps all of
    this side's, from the typer app's modules on (the first half of a no-op ``fetch --exec``'s
    start-up up to that point); the command's session takes the running process
    (`vcrdt.sync.spawn.start_early`; an ssh URL is read by
    `vcrdt.cli.commands.sync.start_peer_early`). A command line the parse table does not read
    exactly is left to the command, which starts its peer itself.
    """
    if not _PEER_COMMANDS.keys() & set(args):
        return False
    from vcrdt.cli.argv import parse

    plan = parse(list(args))
    if plan is None or plan.name not in _PEER_COMMANDS:
        return False
    exec_cmd = plan.kwargs.get("exec_cmd")
    if exec_cmd is not None:
        # `--exec CMD` names the peer whatever the remote (`vcrdt.sync.transport.parse_remote`): it
        # starts with the spawn module alone, before the error tree, the transport and the
        # command's module load (about 7 M instructions sooner).
        from vcrdt.sync.spawn import shell_argv, start_early

        start_early(shell_argv(exec_cmd))
        return True
    from vcrdt.cli.commands.sync import start_peer_early

    return start_peer_early(plan.kwargs.get(_PEER_COMMANDS[plan.name]), plan.kwargs.get("exec_cmd"))


def finish(code: int) -> int:
    """Flush stdout after a command; return `code`, or 3 if the reader has gone away."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout at exit; point it at devnull so that cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 3  # ExitCode.BROKEN_PIPE
    try:
        sys.stderr.flush()
    except OSError:
        pass
    return code


def main(*, asked: bool = False) -> None:
    """Console-script entry point: on a running command server if one answers, else in this process.

    A server is started afterwards only when the configuration asks for one
    (``core.daemon = true``, see `vcrdt.daemon.protocol.auto_start`); otherwise only
    ``vcrdt daemon start`` starts one.

    Args:
        asked: The native client has already asked the server (which did not
            take the command): do not ask again.
    """
    if not sys.flags.utf8_mode and sys.getfilesystemencoding().lower().replace("-", "") != "utf8":
        # Names are stored as UTF-8 (surrogate-escaped where they are not: docs/format.md). Under a
        # locale with another encoding Python would read the work tree's names, and write output,
        # in that one: run again in Python's UTF-8 mode, which reads and writes them as stored.
        os.execv(sys.executable, [sys.executable, "-X", "utf8", *sys.orig_argv[1:]])
    import gc

    # A command makes tens of thousands of objects that live until it ends (rows, tree entries,
    # modules) and few reference cycles: at the default threshold (700) the collector walks them
    # again and again, about 5% of a status of 10,000 files. Cycles are still collected.
    gc.set_threshold(100_000, *gc.get_threshold()[1:])
    from vcrdt.daemon import protocol, stdio

    stdio.occupy_stdio()  # before any descriptor is opened
    args = sys.argv[1:]
    use_server = not protocol.disabled() and not protocol.runs_here(args, _stdin_is_a_terminal())
    if use_server and not asked:
        from vcrdt.daemon import client  # not imported when no server is wanted (VCRDT_NO_SERVER=1)

        code = client.request(args)
        if code is not None:
            sys.exit(code)
    code = finish(run(args))
    if use_server and protocol.auto_start():
        # Imported only now, when a server is to be started: not before the command (a fetch starts
        # its peer first thing), and not at all when none is wanted or configured.
        from vcrdt.daemon import client

        client.spawn()
    # The process ends here: the interpreter's clean-up collects garbage over every object the
    # command imported and made (millions of instructions, for nothing). Frozen, they are
    # skipped; files, connections and pipes are closed already (`run`, `finish`).
    gc.freeze()
    if "threading" in sys.modules:
        sys.exit(code)  # the interpreter's exit waits for the threads
    end(code)


def end(code: int) -> NoReturn:
    """End a process with no thread but its own after the command, without the interpreter's clean-up.

    The clean-up frees every module, function and object one by one (about 4 M instructions after
    a `log`, against a whole `log -n 1000` of about 100 M) and runs finalizers. What a process
    needs of it is done here: the `atexit` functions (`weakref.finalize`'s among them), then stdout
    and stderr flushed (`finish`). Files, connections and pipes are closed already (`run`).
    """
    import atexit

    atexit._run_exitfuncs()
    os._exit(finish(code))


def _stdin_is_a_terminal() -> bool:
    try:
        return os.isatty(0)
    except OSError:
        return False
