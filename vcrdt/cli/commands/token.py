"""`vcrdt token create | list | revoke`: who may read or push a repository served over HTTP."""

from __future__ import annotations

import json as jsonlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vcrdt.cli.base import STATE, JsonOption, app, open_repo, settings

if TYPE_CHECKING:
    from vcrdt.repo import Repository
    from vcrdt.sync.tokens import TokenInfo

token_app = typer.Typer(help="Access tokens for `vcrdt serve`: create, list, revoke.", no_args_is_help=True)
app.add_typer(token_app, name="token")

_Repo = Annotated[
    Path | None,
    typer.Option(
        "--repo",
        help="The served repository (its work-tree directory; served under its name). Default: this one.",
        show_default=False,
    ),
]


def _open(path: Path | None) -> Repository:
    if path is None:
        return open_repo()
    from vcrdt.repo import Repository

    repo = Repository.discover(Path(STATE.cwd, path), settings())
    STATE.open_repos.append(repo)
    return repo


def _when(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _doc(info: TokenInfo) -> dict[str, object]:
    return {
        "id": info.id,
        "scope": info.scope,
        "state": info.state(time.time()),
        "created": _when(info.created),
        "expires": _when(info.expires),
        "revoked": _when(info.revoked),
    }


@token_app.command("create")
def create(
    read: Annotated[bool, typer.Option("--read", help="Allow reads (clone, fetch).")] = False,
    write: Annotated[bool, typer.Option("--write", help="Allow reads and pushes.")] = False,
    repo_path: _Repo = None,
    expires: Annotated[
        float | None, typer.Option("--expires", help="Expire after DAYS days.", metavar="DAYS", show_default=False)
    ] = None,
    json: JsonOption = False,
) -> int:
    """Make an access token; print it once (only its SHA-256 is stored, in the repository).

    The token is printed alone on stdout (with --json, in an object with its id); give it to the
    client in VCRDT_TOKEN or its config `token.REMOTE`. It works for this repository only.
    """
    from vcrdt.sync import tokens

    if read == write:
        raise typer.BadParameter("give exactly one of --read and --write", param_hint="--read/--write")
    repo = _open(repo_path)
    info, secret = tokens.create(repo, "write" if write else "read", expires_days=expires)
    if json:
        typer.echo(jsonlib.dumps({"schema": 1, "token": secret, **_doc(info)}))
    else:
        typer.echo(secret)
        typer.echo(f"token {info.id} ({info.scope}) for {repo.root.name}: shown once, keep it secret", err=True)
    return 0


@token_app.command("list")
def list_(repo_path: _Repo = None, json: JsonOption = False) -> int:
    """List the repository's tokens: id, scope, state (active, expired, revoked), times. Never secrets."""
    from vcrdt.sync import tokens

    repo = _open(repo_path)
    docs = [_doc(t) for t in tokens.listing(repo)]
    if json:
        typer.echo(jsonlib.dumps({"schema": 1, "tokens": docs}))
        return 0
    for d in docs:
        until = f" until {d['expires']}" if d["expires"] else ""
        typer.echo(f"{d['id']}  {d['scope']:<5}  {d['state']:<7}  created {d['created']}{until}")
    return 0


@token_app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (`vcrdt token list`).")],
    repo_path: _Repo = None,
) -> int:
    """Revoke a token: the next request that sends it is refused."""
    from vcrdt.sync import tokens

    info = tokens.revoke(_open(repo_path), token_id)
    typer.echo(f"revoked token {info.id} ({info.scope})")
    return 0
