"""`vcrdt fetch` and `vcrdt concurrent`: joining another replica's history, and how two commits relate causally."""

from __future__ import annotations

from vcrdt.cli.base import JsonOption, app, complete_remotes, open_repo, typer

TYPE_CHECKING = False  # as typing's (mypy reads it so); `Registry.build` gives the annotations Annotated
if TYPE_CHECKING:
    from typing import Annotated


@app.command()
def fetch(
    source: Annotated[
        str | None,
        typer.Argument(
            help="Another replica: a remote's name, the directory of its repository, or an ssh URL "
            "(default: the branch's upstream, then origin).",
            show_default=False,
            autocompletion=complete_remotes,
        ),
    ] = None,
    exec_cmd: Annotated[
        str | None,
        typer.Option(
            "--exec", help="Run CMD (a shell command) and speak the protocol on its stdin/stdout.", metavar="CMD"
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
    stats: Annotated[
        bool, typer.Option("--stats", help="Print round trips, bytes each way (objects and overhead), objects, time.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would move; change nothing.")] = False,
    verify: Annotated[
        bool, typer.Option("--verify", help="End by comparing both sides' Merkle roots; exit 1 if they differ.")
    ] = False,
    auto_merge: Annotated[
        bool, typer.Option("--auto-merge", help="Join siblings left by the fetch with the convergent `merge --auto`.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> int:
    """Bring in another replica's commits and join its branches into this one.

    Copies every commit (with its trees and blobs) reachable from the other replica's branches and
    tags that this one lacks, then joins each branch as a CRDT: heads are unioned, heads that are
    ancestors of another are dropped, and a branch deleted on either side stays deleted unless the
    other side has commits the deletion never saw. A branch both replicas moved ends with two
    heads, siblings; `vcrdt merge` (or `vcrdt merge --auto`) joins them. Objects are stored before
    any ref moves. When the checked-out branch moves forward the work tree follows (it must be clean).
    It runs the sync protocol (docs/protocol.md); a local path is served in this process.

    What the other replica holds is checked before it is stored: an object larger than config
    `limits.max_object_size` (default 1G), a tree or commit larger than `limits.max_tree_size`
    (64M), or more than `limits.max_fetch_size` (16G) in all is refused, and nothing is kept.
    A local replica's database is only read (read-only, never converted or extended), and
    each query of it may run `limits.source_timeout` seconds (30).
    """
    from vcrdt.cli.commands.sync import exchange, print_result, result_json

    show = not quiet and not json
    _, result = exchange(
        "fetch", source, exec_cmd, dry_run=dry_run, verify=verify, auto_merge=auto_merge, progress=show
    )
    from vcrdt.cli import render
    from vcrdt.ids import short

    got = result.received
    if json:
        doc = {
            "schema": 1,
            "source": result.peer,
            "objects": result.stats.objects_received,
            "branches": [
                {
                    "name": b.name,
                    "before": sorted(h.hex() for h in b.before),
                    "after": sorted(h.hex() for h in b.after),
                }
                for b in got.branches
            ],
            "tags": got.tags,
            "warnings": got.warnings,
            "checkout": got.checkout.hex() if got.checkout else None,
        }
        if stats or verify or dry_run:
            full = result_json(result, stats=stats)
            doc.update({k: v for k, v in full.items() if k in ("stats", "verify", "dry_run", "noop")})
        render.emit_json(doc)
    elif dry_run or verify:
        print_result(result, "fetch", stats=stats)
    else:
        out = render.data()
        n = result.stats.objects_received
        out.print(f"fetched {n} object{'s' if n != 1 else ''} from {render.quote(result.peer)}")
        for b in got.branches:
            heads = ", ".join(short(h) for h in sorted(b.after))
            if not b.after:
                out.print(f"  {render.quote(b.name)}: deleted")
            elif len(b.after) > 1:
                out.print(
                    f"  {render.quote(b.name)}: {len(b.after)} concurrent heads ({heads}); `vcrdt merge` joins them"
                )
            else:
                out.print(f"  {render.quote(b.name)}: {'new' if not b.before else 'now'} at {heads}")
        for t in got.tags:
            out.print(f"  tag {render.quote(t)}: new")
        for w in got.warnings:
            render.err().print(f"warning: {render.escape_text(w)}", markup=False)
        if stats:
            d = result.stats.as_dict()
            render.err().print(
                f"stats: {d['round_trips']} round trips, sent {d['bytes_sent']} bytes, received "
                f"{d['bytes_received']} bytes ({d['payload_received']} object, {d['overhead_received']} protocol), "
                f"{d['objects_received']} objects received, {d['seconds']} s",
                markup=False,
            )
    if result.verified and result.differs is not None:
        render.err().print(f"error: verify: the Merkle roots differ, first at bucket {result.differs}", markup=False)
        return 1
    return 0


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
