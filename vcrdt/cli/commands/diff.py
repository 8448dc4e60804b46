"""`vcrdt diff`."""

from __future__ import annotations

from typing import Annotated

from vcrdt.cli import render, views
from vcrdt.cli.base import STATE, JsonOption, app, open_repo, typer
from vcrdt.cli.pager import paged
from vcrdt.cli.render import Text


@app.command()
def diff(
    revisions: Annotated[
        list[str] | None,
        typer.Argument(
            help="No revision: HEAD against the work tree; one: that commit against the work tree; two: A B."
        ),
    ] = None,
    paths: Annotated[list[str] | None, typer.Option("--path", "-p", help="Limit to these paths.")] = None,
    stat: Annotated[bool, typer.Option("--stat", help="Show a diffstat instead of the patch.")] = False,
    name_only: Annotated[bool, typer.Option("--name-only", help="Show only the changed paths.")] = False,
    context: Annotated[int, typer.Option("--unified", "-U", help="Lines of context.")] = 3,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when there are differences.")] = False,
    json: JsonOption = False,
) -> int:
    """Show changes between the work tree and HEAD, a commit and the work tree, or two commits.

    Coloured and paged on a terminal (as `log`), plain unified diff (as `git diff`) otherwise.
    """
    from vcrdt import porcelain
    from vcrdt.diff.lines import stat_from

    revs = revisions or []
    if len(revs) > 2:
        raise typer.BadParameter("at most two revisions", param_hint="REVISIONS")
    old = revs[0] if revs else None
    new = revs[1] if len(revs) == 2 else None
    repo = open_repo()
    diffs = porcelain.diff(repo, old, new, paths=paths, cwd=STATE.cwd, context=max(context, 0))
    if json:
        render.emit_json({"schema": 1, "files": [views.diff_json(d) for d in diffs]})
        return 1 if exit_code and diffs else 0
    with paged(repo):
        if name_only:
            for d in diffs:
                render.data().print(Text(render.quote(d.path)))
        elif stat:
            views.print_stats([stat_from(d) for d in diffs])
        else:
            views.print_diffs(diffs)
    return 1 if exit_code and diffs else 0
