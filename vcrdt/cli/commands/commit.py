"""`vcrdt commit`."""

from __future__ import annotations

from typing import Annotated

from vcrdt.cli import render
from vcrdt.cli.base import STATE, JsonOption, app, open_repo, typer
from vcrdt.cli.render import Text
from vcrdt.cli.views import jpath
from vcrdt.ids import short


@app.command()
def commit(
    paths: Annotated[list[str] | None, typer.Argument(help="Commit only changes under these paths.")] = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="The commit message.")] = None,
    addremove: Annotated[
        bool, typer.Option("--addremove", "-A", help="Also track new files and drop missing ones.")
    ] = False,
    allow_empty: Annotated[bool, typer.Option("--allow-empty", help="Record a commit with no changes.")] = False,
    json: JsonOption = False,
) -> None:
    """Record every change to tracked files (or only those under PATHS) as a new commit.

    Missing tracked files are recorded as deleted. Fails when nothing changed unless
    --allow-empty is given, and when no author identity is configured.
    """
    from vcrdt import porcelain

    if message is None:
        raise typer.BadParameter("a commit message is required", param_hint="--message")
    repo = open_repo()
    with render.progress("Recording files") as on_progress:
        result = porcelain.commit(
            repo,
            message,
            paths=paths or None,
            cwd=STATE.cwd,
            addremove=addremove,
            allow_empty=allow_empty,
            on_progress=on_progress,
        )
    if json:
        render.emit_json(
            {
                "schema": 1,
                "id": result.oid.hex(),
                "branch": result.branch,
                "changes": [{"path": jpath(c.path), "status": c.status} for c in result.changes],
            }
        )
        return
    where = render.quote(result.branch) if result.branch else "detached HEAD"
    root = " (root-commit)" if not result.commit.parents else ""
    con = render.data()
    con.print(Text(f"[{where}{root} {short(result.oid)}] {result.commit.summary}"))
    counts: dict[str, int] = {}
    for c in result.changes:
        counts[c.status] = counts.get(c.status, 0) + 1
    n = len(result.changes)
    detail = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    con.print(Text(f" {n} file{'s' if n != 1 else ''} changed" + (f" ({detail})" if detail else "")))
