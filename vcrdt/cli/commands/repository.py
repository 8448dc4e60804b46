"""`vcrdt init` and `vcrdt config`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from vcrdt.cli import render
from vcrdt.cli.base import STATE, JsonOption, app, open_repo, settings, typer


@app.command()
def init(
    directory: Annotated[Path | None, typer.Argument(help="Where to create the repository (default: here).")] = None,
    initial_branch: Annotated[
        str | None,
        typer.Option("--initial-branch", "-b", help="Name of the first branch (default: main).", show_default=False),
    ] = None,
    from_git: Annotated[
        Path | None,
        typer.Option(
            "--from-git",
            help="Import this git repository (as `vcrdt git import`) and check out its current branch.",
            show_default=False,
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Create an empty repository (a .vcrdt directory) in DIRECTORY, or one with a git history (--from-git)."""
    from vcrdt import porcelain

    target = (STATE.cwd / directory) if directory else STATE.cwd
    if from_git is not None:
        from vcrdt.cli.commands.git import new_repo_from_git

        new_repo_from_git(
            target.resolve(), STATE.cwd / from_git, initial_branch=initial_branch, refs=None, quiet=False, json=json
        )
        return
    initial_branch = initial_branch or "main"
    result = porcelain.init(target.resolve(), settings(), initial_branch=initial_branch)
    if json:
        render.emit_json({"schema": 1, "path": str(result.root), "replica": result.replica, "branch": result.branch})
    else:
        render.err().print(
            f"Initialized empty vcrdt repository in {render.quote(f'{result.root}/.vcrdt')}", markup=False
        )


@app.command()
def config(
    key: Annotated[str, typer.Argument(help="The key, such as user.name.")],
    value: Annotated[str | None, typer.Argument(help="The new value; omit it to print the current one.")] = None,
    unset: Annotated[bool, typer.Option("--unset", help="Remove the key from the repository config.")] = False,
) -> int:
    """Get or set a repository config value (.vcrdt/config.toml).

    Reading falls back to the global config file. Exit 1 when the key is unset.
    """
    repo = open_repo()
    if unset:
        repo.config_set(key, None)
        return 0
    if value is None:
        current = repo.config_get(key)
        if current is None:
            return 1
        typer.echo(current)
        return 0
    repo.config_set(key, value)
    return 0
