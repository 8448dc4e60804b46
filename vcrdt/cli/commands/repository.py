"""`vcrdt init` and `vcrdt config`."""

from __future__ import annotations

import os
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
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only errors and warnings (no summary, no progress bar).")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Create an empty repository (a .vcrdt directory) in DIRECTORY, or one with a git history (--from-git)."""
    from vcrdt import porcelain

    target = Path(STATE.cwd, directory) if directory else Path(STATE.cwd)
    if from_git is not None:
        from vcrdt.cli.commands.git import new_repo_from_git

        new_repo_from_git(
            target.resolve(),
            Path(STATE.cwd, from_git),
            initial_branch=initial_branch,
            refs=None,
            quiet=quiet,
            json=json,
        )
        return
    initial_branch = initial_branch or "main"
    result = porcelain.init(target.resolve(), settings(), initial_branch=initial_branch)
    if json:
        render.emit_json({"schema": 1, "path": str(result.root), "replica": result.replica, "branch": result.branch})
    elif not quiet:
        render.err().print(
            f"Initialized empty vcrdt repository in {render.quote(f'{result.root}/.vcrdt')}", markup=False
        )


@app.command()
def config(
    key: Annotated[str | None, typer.Argument(help="The key, such as user.name.", show_default=False)] = None,
    value: Annotated[str | None, typer.Argument(help="The new value; omit it to print the current one.")] = None,
    unset: Annotated[bool, typer.Option("--unset", help="Remove the key from the config file.")] = False,
    list_: Annotated[
        bool, typer.Option("--list", "-l", help="List every key and value (global file first, then the repository).")
    ] = False,
    global_: Annotated[
        bool,
        typer.Option("--global", help="Use only the global file ($XDG_CONFIG_HOME/vcrdt/config.toml)."),
    ] = False,
    show_origin: Annotated[
        bool, typer.Option("--show-origin", help="With --list, prefix each line with the file it comes from.")
    ] = False,
    json: JsonOption = False,
) -> int:
    """Get or set a config value (.vcrdt/config.toml, or the global file with --global), or list them (--list).

    Reading falls back to the global config file. Exit 1 when the key is unset. --list prints
    key=value lines as git's does (outside a repository: the global file only); --json prints
    each entry with its scope and file.
    """
    from vcrdt.errors import ConfigError

    if list_:
        if key is not None or unset:
            raise ConfigError("config --list takes no KEY, VALUE or --unset")
        return _config_list(global_only=global_, show_origin=show_origin, json=json)
    if key is None:
        raise ConfigError("config: give a KEY (and a VALUE to set it), or --list")
    if json:
        raise ConfigError("config: --json goes with --list")
    if global_:
        return _config_global(key, value, unset=unset)
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


def _config_scalar(value: object) -> str:
    """A config value as ``config --list`` prints it (TOML booleans as true/false)."""
    import json as json_module

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json_module.dumps(value, default=str)
    return str(value)


def _config_entries(table: dict[str, object], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten a TOML table into (dotted key, value) pairs, sorted by key."""
    out: list[tuple[str, str]] = []
    for name in sorted(table):
        item = table[name]
        if isinstance(item, dict):
            out += _config_entries(item, f"{prefix}{name}.")
        else:
            out.append((f"{prefix}{name}", _config_scalar(item)))
    return out


def _config_list(*, global_only: bool, show_origin: bool, json: bool) -> int:
    from vcrdt.errors import NotARepositoryError
    from vcrdt.repo import CONFIG_FILE, read_toml

    files: list[tuple[str, str | os.PathLike[str]]] = []
    glob = settings().global_config
    if glob is not None:
        files.append(("global", glob))
    if not global_only:
        try:
            repo = open_repo()
        except NotARepositoryError:
            pass  # as git's: outside a repository, the global file alone
        else:
            files.append(("repository", os.path.join(repo.meta_dir, CONFIG_FILE)))
    entries = [(scope, path, k, v) for scope, path in files for k, v in _config_entries(read_toml(path))]
    if json:
        render.emit_json(
            {
                "schema": 1,
                "entries": [{"key": k, "value": v, "scope": scope, "file": str(path)} for scope, path, k, v in entries],
            }
        )
        return 0
    out = render.data()
    for _scope, path, k, v in entries:
        line = f"{render.escape_text(k)}={render.escape_text(v)}"
        out.print(f"file:{render.escape_text(str(path))}\t{line}" if show_origin else line)
    return 0


def _config_global(key: str, value: str | None, *, unset: bool) -> int:
    """Read, set or unset `key` in the global file."""
    from vcrdt.errors import ConfigError
    from vcrdt.repo import read_toml, split_key, write_config

    section, name = split_key(key)
    path = settings().global_config
    if path is None:
        raise ConfigError("no global config file: set HOME or XDG_CONFIG_HOME")
    raw = read_toml(path)
    if value is None and not unset:
        table = raw.get(section)
        if not isinstance(table, dict) or name not in table:
            return 1
        typer.echo(_config_scalar(table[name]))
        return 0
    data: dict[str, dict[str, str]] = {}
    for sec, values in raw.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: {sec!r} must be a table")
        data[sec] = {str(k): _config_scalar(v) for k, v in values.items()}
    if unset:
        data.get(section, {}).pop(name, None)
    else:
        data.setdefault(section, {})[name] = value or ""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_config(path, {k: v for k, v in data.items() if v})
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write: {exc.strerror}") from exc
    return 0
