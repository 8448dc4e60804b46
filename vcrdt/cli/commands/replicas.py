"""`vcrdt fetch` and `vcrdt concurrent`: joining another replica's history, and how two commits relate causally."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from vcrdt.cli.base import STATE, JsonOption, app, open_repo, typer


@app.command()
def fetch(
    source: Annotated[Path, typer.Argument(help="Another replica: the directory of its repository.")],
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Bring in another replica's commits and join its branches into this one.

    Copies every commit (with its trees and blobs) reachable from the other replica's branches and
    tags that this one lacks, then joins each branch as a CRDT: heads are unioned, heads that are
    ancestors of another are dropped, and a branch deleted on either side stays deleted unless the
    other side has commits the deletion never saw. A branch both replicas moved ends with two
    heads, siblings; `vcrdt merge` (or `vcrdt merge --auto`) joins them. All in one transaction.
    When the checked-out branch moves forward the work tree follows (it must be clean).

    What the other replica holds is checked before it is stored: an object larger than config
    `limits.max_object_size` (default 1G), a tree or commit larger than `limits.max_tree_size`
    (64M), or more than `limits.max_fetch_size` (16G) in all is refused, and nothing is kept.
    The other replica's database is only read (read-only, never converted or extended), and
    each query of it may run `limits.source_timeout` seconds (30).
    """
    from vcrdt import porcelain
    from vcrdt.cli import render
    from vcrdt.ids import short

    repo = open_repo()
    with render.progress("Fetching") as on_progress:
        result = porcelain.fetch(repo, STATE.cwd / source, on_progress=on_progress)
    if json:
        render.emit_json(
            {
                "schema": 1,
                "source": str(result.source),
                "objects": result.objects,
                "branches": [
                    {
                        "name": b.name,
                        "before": sorted(h.hex() for h in b.before),
                        "after": sorted(h.hex() for h in b.after),
                    }
                    for b in result.branches
                ],
                "tags": result.tags,
                "warnings": result.warnings,
                "checkout": result.checkout.hex() if result.checkout else None,
            }
        )
        return
    out = render.data()
    out.print(
        f"fetched {result.objects} object{'s' if result.objects != 1 else ''} from {render.quote(str(result.source))}"
    )
    for b in result.branches:
        heads = ", ".join(short(h) for h in sorted(b.after))
        if not b.after:
            out.print(f"  {render.quote(b.name)}: deleted")
        elif len(b.after) > 1:
            out.print(f"  {render.quote(b.name)}: {len(b.after)} concurrent heads ({heads}); `vcrdt merge` joins them")
        else:
            out.print(f"  {render.quote(b.name)}: {'new' if not b.before else 'now'} at {heads}")
    for t in result.tags:
        out.print(f"  tag {render.quote(t)}: new")
    for w in result.warnings:
        render.err().print(f"warning: {render.escape_text(w)}", markup=False)


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

    Answered from the commits' vector clocks (one count per replica), without walking history.
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
