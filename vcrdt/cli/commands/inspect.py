"""`vcrdt cat` and `vcrdt fsck`: looking at objects and checking the store."""

from __future__ import annotations

from typing import Annotated

from vcrdt.cli import render, views
from vcrdt.cli.base import JsonOption, app, open_repo, typer
from vcrdt.cli.render import Text


@app.command()
def cat(
    obj: Annotated[
        str, typer.Argument(help="A revision, REV:path, or an object id (or unique prefix).", metavar="OBJECT")
    ],
    kind: Annotated[bool, typer.Option("--type", "-t", help="Print only the object's kind.")] = False,
    json: JsonOption = False,
) -> None:
    """Print an object: a blob's bytes, a tree's entries, or a commit's canonical text."""
    from vcrdt import porcelain
    from vcrdt.objects import Commit, Tree

    result = porcelain.cat(open_repo(), obj)
    if kind:
        typer.echo(result.kind)
        return
    if json:
        doc: dict[str, object] = {"schema": 1, "id": result.oid.hex(), "kind": result.kind, "size": len(result.body)}
        if isinstance(result.value, Tree):
            doc["entries"] = [
                {"name": views.jpath(e.name), "kind": e.kind.value, "id": e.oid.hex()} for e in result.value.entries
            ]
        elif isinstance(result.value, Commit):
            doc["commit"] = views.commit_json(result.oid, result.value)
        else:
            doc["text"] = result.body.decode("utf-8", "backslashreplace")
        render.emit_json(doc)
        return
    if isinstance(result.value, Tree):
        for e in result.value.entries:
            render.data().print(Text(f"{e.kind.value:4} {e.oid.hex()}  {render.quote(e.name)}"))
        return
    render.write_bytes(result.body)


@app.command()
def fsck(json: JsonOption = False) -> int:
    """Check the repository: decode and hash-check every object, check every ref's history is complete.

    Each problem is printed with the object id or ref it concerns; exit 1 if there is any.
    """
    from vcrdt import porcelain

    with render.progress("Checking objects") as on_progress:
        result = porcelain.fsck(open_repo(), on_progress=on_progress)
    if json:
        render.emit_json(
            {
                "schema": 1,
                "objects": result.objects,
                "reachable": result.reachable,
                "unreachable": result.unreachable,
                "problems": [{"object": p.what, "message": p.message} for p in result.problems],
            }
        )
    else:
        for p in result.problems:
            render.data().print(Text(f"error: {render.quote(p.what)}: {render.escape_text(p.message)}"))
        render.err().print(
            Text(
                f"checked {result.objects} objects ({result.reachable} reachable, {result.unreachable} unreachable):"
                f" {len(result.problems)} problem{'s' if len(result.problems) != 1 else ''}"
            )
        )
    return 1 if result.problems else 0
