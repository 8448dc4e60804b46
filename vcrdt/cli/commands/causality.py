"""`vcrdt concurrent`: the causal relation of two commits."""

from __future__ import annotations

from typing import Annotated

from vcrdt.cli.base import JsonOption, app, open_repo, typer


@app.command()
def concurrent(
    a: Annotated[str, typer.Argument(help="The first commit.")],
    b: Annotated[str, typer.Argument(help="The second commit.")],
    check: Annotated[
        str | None,
        typer.Option("--check", help="Exit 0 if the relation is REL, 1 otherwise.", metavar="REL"),
    ] = None,
    json: JsonOption = False,
) -> int:
    """Print how commit A relates to commit B: before, after, equal or concurrent.

    Answered from the commits' vector clocks (one count per replica, and the counters a history
    lacks); only an automatic merge as A may need a short walk down from B.
    With --check REL (before, after, equal or concurrent) the exit status answers the question,
    for scripts.
    """
    from vcrdt import porcelain
    from vcrdt.cli import render
    from vcrdt.crdt.vclock import RELATIONS

    if check is not None and check not in RELATIONS:
        raise typer.BadParameter(f"must be one of {', '.join(RELATIONS)}", param_hint="--check")
    result = porcelain.concurrent(open_repo(), a, b)
    if json:
        render.emit_json({"schema": 1, "a": result.a.hex(), "b": result.b.hex(), "relation": result.relation})
    else:
        render.data().print(result.relation)
    if check is not None:
        return 0 if result.relation == check else 1
    return 0
