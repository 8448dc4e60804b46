"""`vcrdt merge-file`: three-way merges of plain files, usable as a git merge driver."""

from __future__ import annotations

import sys
from pathlib import Path

from vcrdt.cli.base import STATE, app, typer

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Annotated

    from vcrdt.merge.diff3 import Favor

MAX_EXIT = 127

# git's --ours, --theirs and --union set one variable, so the last one given wins: a switch.
FAVOR_FLAGS = {
    "--ours": ("ours", "Settle every conflict with our lines."),
    "--theirs": ("theirs", "Settle every conflict with their lines."),
    "--union": ("union", "Settle every conflict with our lines then theirs."),
}
FAVOURS: dict[str, Favor] = {"ours": "ours", "theirs": "theirs", "union": "union"}

# git merge-file's exit status for an error (a binary or unreadable file): the conflict counts stop at 127.
MERGE_FILE_ERROR = 255


@app.command("merge-file", switches={"favor": FAVOR_FLAGS})
def merge_file(
    current: Annotated[Path, typer.Argument(help="Our version; receives the result unless -p.")],
    base: Annotated[Path, typer.Argument(help="The common ancestor.")],
    other: Annotated[Path, typer.Argument(help="Their version.")],
    stdout: Annotated[
        bool, typer.Option("-p", "--stdout", help="Print the result instead of writing CURRENT.")
    ] = False,
    conflict_style: Annotated[
        str, typer.Option("--conflict-style", help="merge, diff3 (with the base) or zdiff3.", metavar="STYLE")
    ] = "merge",
    diff3: Annotated[bool, typer.Option("--diff3", help="Same as --conflict-style diff3.")] = False,
    zdiff3: Annotated[bool, typer.Option("--zdiff3", help="Same as --conflict-style zdiff3.")] = False,
    label: Annotated[
        list[str] | None, typer.Option("-L", help="Labels for the markers (up to three: current, base, other).")
    ] = None,
    favor: Annotated[str | None, typer.Option(help="--ours, --theirs or --union (the last given).")] = None,
    marker_size: Annotated[
        int, typer.Option("--marker-size", help="Conflict markers this long (default 7).", metavar="N")
    ] = 7,
    diff_algorithm: Annotated[
        str,
        typer.Option("--diff-algorithm", help="myers (default), minimal, patience or histogram.", metavar="ALGORITHM"),
    ] = "myers",
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print no warning and no error.")] = False,
    rule: Annotated[
        str | None,
        typer.Option(
            "--rule",
            help="Settle conflicts automatically: union, set, json, lww, ours or theirs (see vcrdt-merge(1)).",
            metavar="RULE",
        ),
    ] = None,
) -> int:
    """Merge the changes from BASE to OTHER into CURRENT, like `git merge-file`.

    The exit status is the number of conflicts (at most 127), 0 for a clean merge, and 255 for an
    error (a missing or binary file). The result and the exit status are git merge-file's, flag for
    flag, so it can serve as a git merge driver; see the README. --ours, --theirs and --union
    settle each conflict git's way (the last given wins); with --rule, a CRDT rule settles what
    diff3 leaves in conflict (the result is the same whichever file is CURRENT and which OTHER); a
    `json` file that does not parse falls back to conflict markers, with a message.
    """
    STATE.error_exit = MERGE_FILE_ERROR
    from vcrdt import porcelain
    from vcrdt.cli import render
    from vcrdt.diff.matchers import DIFF_ALGORITHMS
    from vcrdt.errors import VcrdtError
    from vcrdt.merge.diff3 import STYLES

    style = "diff3" if diff3 else "zdiff3" if zdiff3 else conflict_style
    if style not in STYLES:
        raise typer.BadParameter(f"must be one of {', '.join(STYLES)}", param_hint="--conflict-style")
    if diff_algorithm not in DIFF_ALGORITHMS:
        raise typer.BadParameter(f"must be one of {', '.join(DIFF_ALGORITHMS)}", param_hint="--diff-algorithm")
    given = list(label or [])
    if len(given) > 3:
        raise typer.BadParameter("at most three labels", param_hint="-L")
    names = [str(current), str(base), str(other)]
    names[: len(given)] = given
    if rule is not None:
        from vcrdt.merge.rules import RULES

        if rule not in RULES:
            raise typer.BadParameter(f"must be one of {', '.join(RULES)}", param_hint="--rule")
    favoured: Favor = "markers" if favor is None else FAVOURS[favor]
    if rule is not None and favoured != "markers":
        raise typer.BadParameter(f"--{favoured} settles the conflicts already", param_hint="--rule")
    try:
        result = porcelain.merge_file(
            Path(STATE.cwd, current),
            Path(STATE.cwd, base),
            Path(STATE.cwd, other),
            style=style,
            labels=(names[0], names[1], names[2]),
            write=not stdout,
            rule=rule,
            marker_len=marker_size,
            favor=favoured,
            algorithm=diff_algorithm,
            names=(str(current), str(base), str(other)),
        )
    except VcrdtError:
        if quiet:  # as git's -q, which sends all of stderr to /dev/null
            raise typer.Exit(MERGE_FILE_ERROR) from None
        raise
    if result.note and not quiet:
        # The rule did not apply and the file was merged line by line: say so, and claim conflict
        # markers only when that merge left some.
        outcome = "conflict markers written" if result.conflicts else "merged line by line"
        render.err().print(f"warning: {current}: {result.note}; {outcome}", markup=False)
    if stdout:
        render.write_bytes(result.data)
    elif result.conflicts and not quiet:
        render.err().print(
            f"{current}: {result.conflicts} conflict{'s' if result.conflicts != 1 else ''}", markup=False
        )
    sys.stdout.flush()
    return min(result.conflicts, MAX_EXIT)
