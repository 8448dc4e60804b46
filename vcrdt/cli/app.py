"""Assemble the command tree and run it behind the one error edge.

`invoke()` is the only place that turns exceptions into messages and exit
codes: `VcrdtError` becomes ``error: ...`` (+ ``hint: ...``) and exit 1,
usage errors exit 2, a closed pipe exits 3 quietly, anything else is an
internal error (exit 255) with a traceback and a request to report it.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see vcrdt.store.db
import os
import sys

from vcrdt.cli import render
from vcrdt.cli.base import STATE, app, completion_options
from vcrdt.cli.codes import ExitCode
from vcrdt.errors import VcrdtError
from vcrdt.extensions import cache  # functools', not loaded

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    import click

    from vcrdt.cli.argv import Plan

# The variable click reads a shell-completion request from (``_{PROG}_COMPLETE``).
COMPLETE_VAR = "_VCRDT_COMPLETE"

COMMAND_MODULES = tuple(
    f"vcrdt.cli.commands.{name}"
    for name in (
        "repository",
        "status",
        "files",
        "commit",
        "log",
        "blame",
        "diff",
        "branch",
        "switch",
        "inspect",
        "merge_file",
        "merge",
        "conflicts",
        "replicas",
        "sync",
        "remote",
        "serve",
        "token",
        "daemon",
        "replica",
        "git",
        "undo",
        "gitverbs",
        "stash",
        "cherry_pick",
        "gc",
        "help",
    )
)


@cache
def command() -> click.Command:
    """Return the click command behind the typer app, built once (the command server builds it ahead)."""
    import importlib

    import click
    import typer

    for name in COMMAND_MODULES:
        importlib.import_module(name)
    cmd = typer.main.get_command(app.build())
    completion_options(cmd)
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
    from vcrdt.cli.render import Text

    console = render.err()
    console.print(Text("error:", style="error") + Text(" " + render.escape_text(str(exc))))
    if exc.hint:
        console.print(Text("hint:", style="hint") + Text(" " + render.escape_text(exc.hint)))
    if STATE.verbose:
        cause = exc.__cause__
        while cause is not None:
            console.print(Text(f"  caused by: {render.escape_text(repr(cause))}"))
            cause = cause.__cause__


# The global options that take a value (the command word comes after them).
_GLOBAL_WITH_VALUE = frozenset({"-C", "--color"})


def _count_shorthand(args: Sequence[str]) -> list[str]:
    """Read git's `log -<n>` (`log -3`) as `log -n <n>`; any other command line is kept as it is."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += 2 if args[i] in _GLOBAL_WITH_VALUE else 1
    if i >= len(args) or args[i] != "log":
        return list(args)
    out = list(args[: i + 1])
    rest = iter(args[i + 1 :])
    for arg in rest:
        if arg == "--":
            out += [arg, *rest]
        elif len(arg) > 1 and arg[0] == "-" and arg[1:].isdigit():
            out += ["-n", arg[1:]]
        else:
            out.append(arg)
    return out


def invoke(args: Sequence[str]) -> int:
    """Run the command line `args`; return the exit code.

    A command line the generated parse table reads exactly (`vcrdt.cli.argv`)
    calls the command without importing typer or click; anything else (help,
    a usage error, an option it does not know) goes through the typer app.
    """
    args = _count_shorthand(args)
    # A shell-completion request (`vcrdt --show-completion`'s script sets it) is answered by click.
    completing = COMPLETE_VAR in os.environ
    plan = None if completing else _parse(args)
    STATE.args = list(args)
    try:
        if plan is not None:
            return _run_plan(plan)
        cmd = command()
        result = cmd.main(args=list(args), prog_name="vcrdt", standalone_mode=False)
        return int(result) if isinstance(result, int) else ExitCode.OK
    except SystemExit as exc:
        # Completion answers (and --show-completion / --install-completion print) then exit.
        return exc.code if isinstance(exc.code, int) else ExitCode.OK if exc.code is None else ExitCode.FAILURE
    except _ClickExit as exc:
        return exc.code
    except VcrdtError as exc:
        _print_error(exc)
        return STATE.error_exit
    except (BrokenPipeError, render.PipeClosedError):
        return ExitCode.BROKEN_PIPE
    except sqlite3.DatabaseError as exc:
        # The database failed outside any transaction (a damaged page, an I/O error, a full disk):
        # the disk's fault, not a bug.
        from vcrdt.store.db import database_error

        path = STATE.open_repos[-1].db.path if STATE.open_repos else os.path.join(".vcrdt", "store.db")
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
    except Exception as exc:
        code = _click_exception(exc)
        if code is not None:
            return code
        import traceback

        sys.stderr.write("vcrdt: internal error, please report it with the traceback below\n")
        traceback.print_exc()
        return ExitCode.INTERNAL
    finally:
        for repo in STATE.open_repos:
            if "worktree" in vars(repo):  # made on first use: a command that never looked has nothing to say
                _print_warnings(repo.worktree.warnings)
            repo.close()
        STATE.open_repos.clear()
        STATE.error_exit = ExitCode.FAILURE


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


class _ClickExit(Exception):
    """Carries an exit code out of `_run_plan` (click's Exit or Abort, already reported)."""

    def __init__(self, code: int) -> None:
        self.code = code


def _parse(args: Sequence[str]) -> Plan | None:
    from vcrdt.cli import argv

    return argv.parse(list(args))


def _click_exception(exc: Exception) -> int | None:
    """Report a click exception as click's main does; None if `exc` is not one (click is never imported for this)."""
    click = sys.modules.get("click")
    if click is None:
        return None
    if isinstance(exc, click.exceptions.Exit):
        return int(exc.exit_code)
    if isinstance(exc, click.exceptions.Abort):
        sys.stderr.write("aborted\n")
        return int(ExitCode.INTERRUPTED)
    no_such = getattr(click.exceptions, "NoSuchCommand", None)
    if no_such is not None and isinstance(exc, no_such):
        _no_such_command(exc)
        return int(ExitCode.USAGE)
    if isinstance(exc, click.ClickException):
        exc.show()
        return int(ExitCode.USAGE if isinstance(exc, click.UsageError) else ExitCode.FAILURE)
    return None


def _no_such_command(exc: Any) -> None:
    """Report an unknown command in git's words, with the closest names (those tied for closest) once.

    ``vcrdt: 'swich' is not a vcrdt command. See 'vcrdt --help'.``, then a blank line and
    ``The most similar command is`` (or ``commands are``) with each name on a tab-indented line.
    """
    from difflib import SequenceMatcher

    path = exc.ctx.command_path if exc.ctx is not None else "vcrdt"
    name = render.escape_text(exc.command_name)
    lines = [f"{path}: '{name}' is not a {path} command. See '{path} --help'.\n"]
    close = list(exc.possibilities or [])
    if close:
        score = {c: SequenceMatcher(None, exc.command_name, c).ratio() for c in close}
        best = [c for c in close if score[c] == max(score.values())]
        lines.append("\nThe most similar command is\n" if len(best) == 1 else "\nThe most similar commands are\n")
        lines += [f"\t{c}\n" for c in best]
    sys.stderr.write("".join(lines))


def _run_plan(plan: Plan) -> int:
    """Call the global options' callback and the command, as click's Group.invoke would after parsing."""
    stage = "global"
    try:
        try:
            if app.callback_func is not None:
                app.callback_func(**plan.global_kwargs)
            stage = "command"
            # `__import__` and `sys.modules`, not `importlib.import_module`: the importlib package
            # (with warnings) is not loaded for it.
            __import__(plan.module)
            func: Any = getattr(sys.modules[plan.module], plan.function)
            result = func(**plan.kwargs)
        except (EOFError, KeyboardInterrupt):
            # click's main: a newline on stderr, then Abort.
            sys.stderr.write("\n")
            sys.stderr.write("aborted\n")
            raise _ClickExit(ExitCode.INTERRUPTED) from None
    except Exception as exc:
        click = sys.modules.get("click")
        if click is not None and isinstance(exc, click.UsageError) and exc.ctx is None:
            exc.ctx = _usage_context(plan, stage)  # what click's augment_usage_errors gives it
        raise
    return int(result) if isinstance(result, int) else ExitCode.OK


def _usage_context(plan: Plan, stage: str) -> click.Context:
    """The click context a usage error raised by the global callback or the command would carry."""
    group: Any = command()
    gctx = group.make_context("vcrdt", list(plan.global_args), resilient_parsing=True)
    if stage == "global":
        return gctx  # type: ignore[no-any-return]
    import click

    ctx: Any = gctx
    *groups, last = plan.name.split(" ")  # "git import": a group's command
    for word in groups:
        group = group.commands[word]
        ctx = click.Context(group, info_name=word, parent=ctx)
    cmd = group.commands[last]
    return cmd.make_context(last, list(plan.rest), parent=ctx, resilient_parsing=True)  # type: ignore[no-any-return]
