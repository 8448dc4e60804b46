"""`vcrdt serve`: repositories over HTTP (Starlette on uvicorn), or one session on stdin/stdout."""

from __future__ import annotations

import os
import sys

from vcrdt.cli.base import STATE, app, settings, typer

TYPE_CHECKING = False  # as typing's (mypy reads it so); `Registry.build` gives the annotations Annotated
if TYPE_CHECKING:
    from typing import Annotated


@app.command()
def serve(
    paths: Annotated[
        list[str], typer.Argument(help="The repositories to serve (their work-tree directories).", show_default=False)
    ],
    stdio: Annotated[bool, typer.Option("--stdio", help="Serve one session on stdin and stdout (one PATH).")] = False,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The TCP port to listen on (0: any free port).")] = 8765,
    public: Annotated[bool, typer.Option("--public", help="Allow reads without a token (never pushes).")] = False,
    read_only: Annotated[bool, typer.Option("--read-only", help="Refuse pushes (with --stdio).")] = False,
) -> int:
    """Serve repositories to sync clients: over HTTP, or with --stdio one session on stdin/stdout.

    Over HTTP each repository is served under its directory name: `vcrdt clone
    http://HOST:PORT/NAME` and `sync`, `fetch`, `push` with that URL. Every request needs a
    token made in the served repository with `vcrdt token create` (sent as `Authorization:
    Bearer`; the client reads it from VCRDT_TOKEN or config `token.REMOTE`), except reads with
    --public; a push always needs a write token. Once listening, prints one line per repository,
    `serving NAME at URL`, and serves until interrupted. Limits (`limits.*`) are read at start.

    With --stdio, reads requests (docs/protocol.md) from stdin and writes the responses to
    stdout until stdin ends: what `vcrdt sync user@host:path` runs over ssh, and what `--exec`
    commands speak. A request that fails is answered with an error frame, and the session ends.
    """
    # Plain strings up to here: a session on stdio (what `--exec` and ssh run, for each sync) loads
    # neither pathlib nor the HTTP server.
    if stdio:
        if len(paths) != 1:
            raise typer.BadParameter("--stdio serves exactly one PATH", param_hint="PATH")
        from vcrdt.repo import Repository
        from vcrdt.sync.limits import SyncLimits
        from vcrdt.sync.responder import serve_stream

        repo = Repository.discover(os.path.join(STATE.cwd, paths[0]), settings())
        STATE.open_repos.append(repo)
        serve_stream(repo, sys.stdin.buffer, sys.stdout.buffer, SyncLimits.from_config(repo), writable=not read_only)
        return 0
    if not 0 <= port <= 65535:
        raise typer.BadParameter(f"{port} is not a TCP port", param_hint="--port")
    from pathlib import Path

    from vcrdt.sync import http_server

    repos = http_server.served([Path(STATE.cwd, p) for p in paths], settings())
    sock = http_server.bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    for name in repos:
        sys.stdout.write(f"serving {name} at http://{shown}:{bound}/{name}\n")
    sys.stdout.flush()
    http_server.run(http_server.make_app(repos, settings(), public=public), sock)
    return 0
