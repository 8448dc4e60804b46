"""`vcrdt merge-file`: three-way merges of plain files, usable as a git merge driver."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from vcrdt.cli.base import STATE, app

MAX_EXIT = 127


@app.command("merge-file")
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
) -> int:
    """Merge the changes from BASE to OTHER into CURRENT, like `git merge-file`.

    The exit status is the number of conflicts (at most 127), 0 for a clean merge, and 255 for an
    error (a missing or binary file). Line diffs and conflict hunks match `git merge-file`, so it can
    serve as a git merge driver; see the README.
    """
    from vcrdt import porcelain
    from vcrdt.cli import render
    from vcrdt.merge.diff3 import STYLES

    style = "diff3" if diff3 else "zdiff3" if zdiff3 else conflict_style
    if style not in STYLES:
        raise typer.BadParameter(f"must be one of {', '.join(STYLES)}", param_hint="--conflict-style")
    given = list(label or [])
    if len(given) > 3:
        raise typer.BadParameter("at most three labels", param_hint="-L")
    names = [str(current), str(base), str(other)]
    names[: len(given)] = given
    result = porcelain.merge_file(
        STATE.cwd / current,
        STATE.cwd / base,
        STATE.cwd / other,
        style=style,
        labels=(names[0], names[1], names[2]),
        write=not stdout,
    )
    if stdout:
        render.write_bytes(result.data)
    elif result.conflicts:
        render.err().print(
            f"{current}: {result.conflicts} conflict{'s' if result.conflicts != 1 else ''}", markup=False
        )
    sys.stdout.flush()
    return min(result.conflicts, MAX_EXIT)
