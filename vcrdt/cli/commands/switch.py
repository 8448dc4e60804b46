"""`vcrdt switch`."""

from __future__ import annotations

from vcrdt.cli import render
from vcrdt.cli.base import app, complete_branches, open_repo, typer
from vcrdt.cli.render import Text
from vcrdt.ids import short

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Annotated


@app.command()
def switch(
    target: Annotated[
        str, typer.Argument(help="The branch (or with --detach, any commit).", autocompletion=complete_branches)
    ],
    start: Annotated[
        str | None, typer.Argument(help="With -c, the commit the new branch starts at (default HEAD).")
    ] = None,
    create: Annotated[
        bool, typer.Option("--create", "-c", help="Create the branch first, at START (default HEAD).")
    ] = False,
    detach: Annotated[bool, typer.Option("--detach", help="Check out a commit without a branch.")] = False,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite uncommitted changes that are in the way.")
    ] = False,
) -> None:
    """Switch the work tree to another branch.

    Local changes to files the switch does not touch are carried over; if a change would be
    overwritten the switch stops before writing anything, unless --force. `switch -c NAME START`
    creates NAME at START and switches to it, as git does.
    """
    from vcrdt import porcelain

    if start is not None and not create:
        raise typer.BadParameter("a start point is only taken with -c", param_hint="START")

    with render.progress("Updating files") as on_progress:
        result = porcelain.switch(
            open_repo(), target, create=create, start=start, detach=detach, force=force, on_progress=on_progress
        )
    con = render.err()
    if result.branch is None:
        con.print(Text(f"HEAD is now at {short(result.oid) if result.oid else '(none)'}"))
    elif result.created:
        con.print(Text(f"Switched to a new branch '{render.quote(result.branch)}'"))
    else:
        con.print(Text(f"Switched to branch '{render.quote(result.branch)}' ({len(result.written)} files updated)"))
