"""The command-line edge: `main()` runs the typer app and turns errors into exit codes.

This module imports nothing heavy at import time, so `vcrdt --version`
starts fast; the typer app lives in `vcrdt.cli.app`. Exit codes (see
`ExitCode`): 0 success, 1 a user-facing failure or unresolved conflicts,
2 usage error, 3 broken pipe, 255 internal error.
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Sequence


class ExitCode(enum.IntEnum):
    """Process exit codes, shared by every command."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    BROKEN_PIPE = 3
    INTERRUPTED = 130
    INTERNAL = 255


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
        return ExitCode.OK
    from vcrdt.cli.app import invoke

    return invoke(args)


def main() -> None:
    """Console-script entry point."""
    code = run()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout at exit; point it at devnull so that cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = ExitCode.BROKEN_PIPE
    sys.exit(code)
