"""`vcrdt serve --stdio PATH`: answer one sync session on stdin/stdout (what ssh and --exec run)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from vcrdt.cli.base import STATE, app, settings


@app.command()
def serve(
    path: Annotated[Path, typer.Argument(help="The repository to serve (its work-tree directory).")],
    stdio: Annotated[bool, typer.Option("--stdio", help="Serve one session on stdin and stdout.")] = False,
    read_only: Annotated[bool, typer.Option("--read-only", help="Refuse pushes.")] = False,
) -> int:
    """Serve a repository to sync clients: with --stdio, one session on stdin and stdout.

    Reads requests (docs/protocol.md) from stdin and writes the responses to stdout until stdin
    ends: what `vcrdt sync user@host:path` runs over ssh, and what `--exec` commands speak. A
    request that fails is answered with an error frame, and the session ends.
    """
    from vcrdt.repo import Repository
    from vcrdt.sync.limits import SyncLimits
    from vcrdt.sync.responder import serve_stream

    if not stdio:
        raise typer.BadParameter("only --stdio is supported by this build", param_hint="--stdio")
    repo = Repository.discover(STATE.cwd / path, settings())
    STATE.open_repos.append(repo)
    serve_stream(repo, sys.stdin.buffer, sys.stdout.buffer, SyncLimits.from_config(repo), writable=not read_only)
    return 0
