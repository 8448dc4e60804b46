"""Assemble the command tree and run it behind the one error edge.

`invoke()` is the only place that turns exceptions into messages and exit
codes: `VcrdtError` becomes ``error: ...`` (+ ``hint: ...``) and exit 1,
usage errors exit 2, a closed pipe exits 3 quietly, anything else is an
internal error (exit 255) with a traceback and a request to report it.
"""

from __future__ import annotations

import functools
import sqlite3
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import click
import typer

from vcrdt.cli import render
from vcrdt.cli.base import STATE, app
from vcrdt.cli.codes import ExitCode
from vcrdt.cli.commands import (
    branch,
    causality,
    commit,
    daemon,  # noqa: F401  (registers `vcrdt daemon`)
    diff,
    files,
    inspect,
    log,
    merging,
    repository,
    status,
    switch,
)
from vcrdt.errors import VcrdtError

_COMMAND_MODULES = (repository, status, files, commit, log, diff, branch, switch, inspect, merging, causality)


@functools.cache
def command() -> click.Command:
    """Return the click command behind the typer app, built once (the command server builds it ahead)."""
    cmd = typer.main.get_command(app)
    if isinstance(cmd, click.Group):
        # Registration order depends on import order; help and man pages list commands by name.
        cmd.commands = dict(sorted(cmd.commands.items()))
    return cmd


def _print_error(exc: VcrdtError) -> None:
    """Print an error and its hint: the one place messages reach stderr, so the one place they are made safe.

    A message may embed a name or path from anywhere (a file name, a peer's ref
    name): control characters, bytes that are not UTF-8 and bidirectional-text
    controls are escaped (`render.escape_text`), and the text is never read as
    rich markup.
    """
    from rich.text import Text

    from vcrdt.cli import render

    console = render.err()
    console.print(Text("error:", style="error") + Text(" " + render.escape_text(str(exc))))
    if exc.hint:
        console.print(Text("hint:", style="hint") + Text(" " + render.escape_text(exc.hint)))
    if STATE.verbose:
        cause = exc.__cause__
        while cause is not None:
            console.print(Text(f"  caused by: {render.escape_text(repr(cause))}"))
            cause = cause.__cause__


def invoke(args: Sequence[str]) -> int:
    """Run the command line `args`; return the exit code."""
    cmd = command()
    try:
        result = cmd.main(args=list(args), prog_name="vcrdt", standalone_mode=False)
        return int(result) if isinstance(result, int) else ExitCode.OK
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        sys.stderr.write("aborted\n")
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE if isinstance(exc, click.UsageError) else ExitCode.FAILURE
    except VcrdtError as exc:
        _print_error(exc)
        return exc.exit_code
    except (BrokenPipeError, render.PipeClosedError):
        return ExitCode.BROKEN_PIPE
    except sqlite3.DatabaseError as exc:
        # The database failed outside any transaction (a damaged page, an I/O error, a full disk):
        # the disk's fault, not a bug.
        from vcrdt.store.db import database_error

        path = STATE.open_repos[-1].db.path if STATE.open_repos else Path(".vcrdt", "store.db")
        _print_error(
            database_error(
                exc,
                path,
                f"repository database error: {exc}",
                hint="run `vcrdt fsck`; restore from a backup",
                rolled_back=False,
            )
        )
        return ExitCode.FAILURE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return ExitCode.INTERRUPTED
    except Exception:
        sys.stderr.write("vcrdt: internal error, please report it with the traceback below\n")
        traceback.print_exc()
        return ExitCode.INTERNAL
    finally:
        for repo in STATE.open_repos:
            _print_warnings(repo.worktree.warnings)
            repo.close()
        STATE.open_repos.clear()


def _print_warnings(warnings: list[str]) -> None:
    """Show what the core skipped and collected (invalid ignore lines, paths too long), once each."""
    for message in warnings:
        try:
            render.err().print(f"warning: {_printable(message)}", markup=False)
        except OSError:
            break  # stderr is gone: nothing to tell
    warnings.clear()


def _printable(text: str) -> str:
    """Return `text` with control characters (and undecodable bytes) as escapes: warnings name files."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
