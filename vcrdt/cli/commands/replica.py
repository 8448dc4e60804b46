"""`vcrdt replica id | renew`: this repository's replica id, and a new one for a copy."""

from __future__ import annotations

from typing import Annotated

import typer

from vcrdt.cli import render
from vcrdt.cli.base import app, open_repo

replica_app = typer.Typer(
    help="Show this repository's replica id, or give it a new one (for a copy vcrdt cannot tell).",
    no_args_is_help=True,
)
app.add_typer(replica_app, name="replica")
# Written out, not base's `JsonOption` (a string the registry resolves): typer reads these commands itself.
_Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


@replica_app.command("id")
def replica_id(json: _Json = False) -> None:
    """Print this repository's replica id (32 hex digits): the name its commits and branch moves carry."""
    repo = open_repo()
    if json:
        render.emit_json({"schema": 1, "replica": repo.replica})
    else:
        typer.echo(repo.replica)


@replica_app.command("renew")
def renew(json: _Json = False) -> None:
    """Give this repository a new replica id, and start new clock actors.

    A copy made with `cp -a` (or restored beside its original) is found when a
    command opens it, by the inode of its .vcrdt directory, and renewed with a
    warning. Run this yourself in every copy but one of those vcrdt cannot
    tell: a clone of a whole disk or machine, or a copy of a repository made by
    an earlier build. It is always safe: it costs one clock key.
    """
    from vcrdt import porcelain

    result = porcelain.renew_replica(open_repo())
    if json:
        render.emit_json({"schema": 1, "old": result.old, "new": result.new})
    else:
        render.err().print(f"replica {result.old[:12]} is now replica {result.new[:12]}", markup=False)
