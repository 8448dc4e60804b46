"""The server process: ``python -P -m vcrdt.daemon DIRECTORY [IDLE [READY_FD]]`` (see `server.serve`).

The composition root of the command server, and the one module of the
package that knows the command line: it hands `server.serve` the `Commands`
of `vcrdt.cli` (run a command line, forget per-command state, import what
commands need). `client.spawn` starts it with the package's parent directory
first on the path, so that the server runs the client's vcrdt, and with its
stdio on /dev/null: run by hand, it prints the output of its warm-up.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from vcrdt.daemon.monitor import MonitorClient
from vcrdt.daemon.protocol import IDLE_SECONDS
from vcrdt.daemon.server import Commands, serve

# Imported before the server listens, so that no forked command imports them: the rest of
# what a command may need, beyond the CLI itself.
_PRELOAD = (
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


def _preload() -> None:
    """Import everything a command may need, and build the click command once."""
    import contextlib

    import vcrdt.cli.app as app

    for name in _PRELOAD:
        with contextlib.suppress(ImportError):
            __import__(name)
    app.command()


def _run(argv: Sequence[str]) -> int:
    """Run one command line as `vcrdt.cli.main` does in-process; return its exit code."""
    from vcrdt.cli import finish, run

    return finish(run(argv))


def _reset() -> None:
    from vcrdt.cli.base import reset_state

    reset_state()


def _use_monitor(monitor: MonitorClient) -> None:
    from vcrdt.cli.base import STATE

    STATE.monitor = monitor


COMMANDS = Commands(preload=_preload, run=_run, reset=_reset, use_monitor=_use_monitor)


def main(args: Sequence[str]) -> None:
    """Serve the CLI's commands until the server stops.

    Args:
        args: The socket directory, then optionally the idle seconds (0: never
            idle out) and the descriptor to write the pid on once listening.
    """
    directory = args[0]
    idle = float(args[1]) if len(args) > 1 else IDLE_SECONDS
    ready_fd = int(args[2]) if len(args) > 2 else -1
    serve(COMMANDS, directory, idle, ready_fd)


if __name__ == "__main__":
    main(sys.argv[1:])
