"""`vcrdt gc`: drop unreachable objects and expired operations, and compact the database."""

from __future__ import annotations

from typing import Annotated

from vcrdt.cli import render
from vcrdt.cli.base import JsonOption, app, open_repo, typer
from vcrdt.cli.render import Text


def human_bytes(n: int) -> str:
    """Bytes as git prints sizes: ``512 bytes``, ``1.50 KiB``, ``3.25 MiB``.

    >>> human_bytes(512), human_bytes(1536), human_bytes(3 * 1024 * 1024)
    ('512 bytes', '1.50 KiB', '3.00 MiB')
    """
    if n < 1024:
        return f"{n} byte{'s' if n != 1 else ''}"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.2f} {unit}"


def _objects(n: int) -> str:
    return f"{n} object{'s' if n != 1 else ''}"


@app.command()
def gc(
    prune: Annotated[
        str,
        typer.Option(
            "--prune",
            help="Expire operations, and unreachable objects gc has seen unreachable, older than this:"
            " now, never, 2.weeks.ago, 3.days.ago, or a date (2026-01-31).",
            metavar="EXPIRY",
        ),
    ] = "2.weeks.ago",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="List what would be removed; change nothing.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Remove unreachable objects and expired undo-log entries, then compact the database.

    Kept is everything reachable from a ref (branches and their siblings, tags), a detached
    HEAD, a branch's stored entries, the undo log (`vcrdt oplog`) younger than EXPIRY, a merge
    in progress and its conflicts, and the work tree. Operations older than EXPIRY are deleted
    from the undo log (`vcrdt undo` can no longer reach them), so what only they kept goes.

    An unreachable object is removed once gc has seen it unreachable for EXPIRY (default two
    weeks, as git's gc.pruneExpire), so a command running at the same time never loses what it
    just stored; --prune=now removes every unreachable object at once: use it only when nothing
    else is writing to the repository. Everything is deleted in one transaction: an interrupted
    gc leaves the repository as it was.
    """
    import time

    from vcrdt.porcelain.gc import gc as collect
    from vcrdt.porcelain.gc import parse_expiry

    now = time.time()
    expiry = parse_expiry(prune, now)
    result = collect(open_repo(), expiry, now=now, dry_run=dry_run)
    if json:
        render.emit_json(
            {
                "schema": 1,
                "dry_run": result.dry_run,
                "objects": result.objects,
                "reachable": result.reachable,
                "removed": result.removed,
                "removed_bytes": result.removed_bytes,
                "removed_ids": [oid.hex() for oid in result.removed_ids],
                "kept_recent": result.kept_recent,
                "rewritten_deltas": result.rewritten,
                "expired_operations": result.expired_ops,
                "size_before": result.size_before,
                "size_after": result.size_after,
            }
        )
        return
    if result.dry_run:
        for oid in result.removed_ids:
            render.data().print(Text(f"would remove {oid.hex()}"))
    verb = "would remove" if result.dry_run else "removed"
    ops = result.expired_ops
    line = (
        f"{verb} {_objects(result.removed)} ({human_bytes(result.removed_bytes)})"
        f" of {result.objects - result.reachable} unreachable;"
        f" {'would expire' if result.dry_run else 'expired'} {ops} operation{'s' if ops != 1 else ''}"
    )
    render.err().print(Text(line))
    kept = []
    if result.kept_recent:
        kept.append(f"{_objects(result.kept_recent)} not yet unreachable for {prune}")
    if kept:
        render.err().print(Text(f"kept {' and '.join(kept)}"))
    if result.rewritten:
        verb = "would store" if result.dry_run else "stored"
        render.err().print(Text(f"{verb} {_objects(result.rewritten)} whole (a delta of a removed one)"))
    if not result.dry_run and result.size_before != result.size_after:
        render.err().print(Text(f"database: {human_bytes(result.size_before)} -> {human_bytes(result.size_after)}"))
