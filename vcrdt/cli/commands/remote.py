"""`vcrdt remote`: name other replicas (`add NAME URL`, `remove NAME`, `list`).

A typer group, so it imports typer; kept apart from `vcrdt.cli.commands.sync` so that
`sync`, `fetch` and `clone` start without it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from vcrdt.cli.base import app, complete_remotes, open_repo

_Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]

remote_app = typer.Typer(help="Name other replicas: `vcrdt remote add NAME URL`, `remove NAME`, `list`.")
app.add_typer(remote_app, name="remote")


@remote_app.command("add")
def remote_add(
    name: Annotated[str, typer.Argument(help="The remote's name.")],
    url: Annotated[str, typer.Argument(help="A path, ssh://[user@]host[:port]/path, user@host:path or http(s) URL.")],
) -> None:
    """Record a remote (config `remote.NAME`)."""
    from vcrdt import porcelain

    porcelain.remote_add(open_repo(), name, url)


@remote_app.command("remove")
def remote_remove(
    name: Annotated[str, typer.Argument(help="The remote's name.", autocompletion=complete_remotes)],
) -> None:
    """Forget a remote."""
    from vcrdt import porcelain

    porcelain.remote_remove(open_repo(), name)


@remote_app.command("list")
def remote_list(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show each remote's URL.")] = False,
    json: _Json = False,
) -> None:
    """List the remotes (with -v, their URLs)."""
    from vcrdt import porcelain
    from vcrdt.cli import render

    found = porcelain.remotes(open_repo())
    if json:
        render.emit_json({"schema": 1, "remotes": [{"name": n, "url": u} for n, u in found.items()]})
        return
    out = render.data()
    for n, u in found.items():
        out.print(f"{render.quote(n)}\t{render.quote(u)}" if verbose else render.quote(n))
