"""The typer app object, the global options and the helpers every command shares.

Here, and only here, the environment is read (author identity, config path,
busy timeout) and turned into `Settings` for the core.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from vcrdt.repo import Repository, Settings

HELP = """vcrdt: a versioned store with content-addressed history, diff3 merges and CRDT resolution.

Exit codes: 0 success; 1 failure (an error was printed) or conflicts remain; 2 usage error;
3 broken pipe; 255 internal error (please report).

Environment: VCRDT_AUTHOR_NAME and VCRDT_AUTHOR_EMAIL set the author (over the config files);
NO_COLOR turns colour off; the global config is $XDG_CONFIG_HOME/vcrdt/config.toml
(default ~/.config/vcrdt/config.toml). Every command runs in its own process unless a
command server runs: `vcrdt daemon start` starts one (or core.daemon = true in a config
file, never under CI=true); VCRDT_NO_SERVER=1 ignores a running one.
"""

app = typer.Typer(
    name="vcrdt",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class GlobalState:
    """Options given before the command."""

    cwd: Path = field(default_factory=Path.cwd)
    verbose: bool = False
    open_repos: list[Repository] = field(default_factory=list)


STATE = GlobalState()


def reset_state() -> None:
    """Forget the global options and colour choice (a command-server child, forked from a server, starts here)."""
    from vcrdt.cli import render

    try:
        STATE.cwd = Path.cwd()
    except OSError:
        pass  # deleted: `vcrdt.cli.run` refuses to run a command there
    STATE.verbose = False
    STATE.open_repos.clear()
    render.set_color_mode("auto")


def _version_callback(value: bool) -> None:
    if value:
        from vcrdt import __version__

        typer.echo(f"vcrdt {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    directory: Annotated[
        Path | None, typer.Option("-C", help="Run as if vcrdt was started in DIRECTORY.", metavar="DIRECTORY")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the cause chain of errors.")] = False,
    color: Annotated[
        str, typer.Option("--color", help="Colour output: auto, always or never.", metavar="WHEN")
    ] = "auto",
    version: Annotated[
        bool, typer.Option("--version", "-V", help="Print the version and exit.", callback=_version_callback)
    ] = False,
) -> None:
    """Global options."""
    from vcrdt.cli import render

    if color not in ("auto", "always", "never"):
        raise typer.BadParameter("must be auto, always or never", param_hint="--color")
    render.set_color_mode(color)
    STATE.cwd = (Path.cwd() / directory).resolve() if directory else Path.cwd()
    STATE.verbose = verbose


def settings() -> Settings:
    """Build the core's settings from the environment."""
    from vcrdt.repo import Settings

    env = os.environ
    config_home = env.get("XDG_CONFIG_HOME") or (os.path.join(env["HOME"], ".config") if env.get("HOME") else None)
    global_config = Path(config_home) / "vcrdt" / "config.toml" if config_home else None
    timeout = env.get("VCRDT_BUSY_TIMEOUT")
    try:
        busy = float(timeout) if timeout else 10.0
    except ValueError:
        busy = 10.0
    return Settings(
        author_name=env.get("VCRDT_AUTHOR_NAME") or None,
        author_email=env.get("VCRDT_AUTHOR_EMAIL") or None,
        global_config=global_config,
        busy_timeout=busy,
    )


def open_repo() -> Repository:
    """Open the repository containing the current directory; closed when the command ends."""
    from vcrdt.repo import Repository

    repo = Repository.discover(STATE.cwd, settings())
    STATE.open_repos.append(repo)
    return repo


JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
