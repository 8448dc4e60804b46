"""The command registry (the typer app's definition), the global options and the helpers every command shares.

Here, and only here, the environment is read (author identity, config path,
busy timeout) and turned into `Settings` for the core.

Importing this module (or a command module) does not import typer, click or
rich: commands register with `app`, a `Registry`, and their parameter
annotations (``Annotated[..., typer.Option(...)]``) stay unevaluated strings
until `Registry.build` makes the typer app (help, usage errors, man pages);
a command line the generated parse table (`vcrdt.cli.argv`) reads exactly
calls the command function without it. In the command bodies, `typer` is a
stand-in that imports typer on first use (to raise `typer.BadParameter`).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    # For annotations only: collections (about 6 million instructions) is not loaded before a
    # fetch over a command starts its peer (`vcrdt.cli.run`).
    from collections.abc import Callable
    from pathlib import Path
    from typing import Annotated, Any

    import typer as typer

    from vcrdt.repo import Repository, Settings
    from vcrdt.worktree import FsMonitor

HELP = """vcrdt: a versioned store with content-addressed history, diff3 merges and CRDT resolution.

Exit codes: 0 success; 1 failure (an error was printed) or conflicts remain; 2 usage error;
3 broken pipe; 255 internal error (please report).

Environment: VCRDT_AUTHOR_NAME and VCRDT_AUTHOR_EMAIL set the author (over the config files);
NO_COLOR turns colour off; VCRDT_EDITOR, VISUAL, EDITOR choose the message editor (then
config core.editor, then vi); VCRDT_PAGER, config core.pager, PAGER choose the pager (then
`less -FRX`, only when stdout is a terminal); the global config is
$XDG_CONFIG_HOME/vcrdt/config.toml (default ~/.config/vcrdt/config.toml). Every command runs in its own process unless a
command server runs: `vcrdt daemon start` starts one (or core.daemon = true in a config
file, never under CI=true); VCRDT_NO_SERVER=1 ignores a running one.
"""


class _LazyModule:
    """A module imported on first attribute access (typer, for the error paths of command bodies)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._name), attr)


if not TYPE_CHECKING:
    typer = _LazyModule("typer")


class Registry:
    """The command line's one definition: the global callback and the commands, turned into a typer app on demand.

    Commands register in import order; `build` imports typer and resolves each
    function's annotations (``Annotated[..., typer.Option(...)]``) then.
    """

    callback_func: Callable[..., Any] | None
    commands: list[tuple[str | None, dict[str, Any], Callable[..., Any]]]
    groups: list[tuple[Any, dict[str, Any]]]

    def __init__(
        self,
        callback_func: Callable[..., Any] | None = None,
        commands: list[tuple[str | None, dict[str, Any], Callable[..., Any]]] | None = None,
        groups: list[tuple[Any, dict[str, Any]]] | None = None,
    ) -> None:
        self.callback_func = callback_func
        self.commands = [] if commands is None else commands
        self.groups = [] if groups is None else groups
        # Command groups defined like the top level (`group`): name, registry, typer options.
        self.subgroups: list[tuple[str, Registry, dict[str, Any]]] = []

    def command(self, name: str | None = None, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a command (named after the function, ``_`` as ``-``, unless `name` is given).

        With ``switches={PARAM: {FLAG: (VALUE, HELP), ...}}``, the option of the function's
        parameter PARAM is made a switch (click's feature switch): one flag per FLAG, each
        storing its VALUE in PARAM, so the last one given wins (git's ``OPT_SET_INT``).

        Args:
            name: The command's name.
            **options: Passed on to `typer.Typer.command` (`switches` aside).

        Returns:
            The decorator.
        """

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self.commands.append((name, options, func))
            return func

        return register

    def add_typer(self, group: Any, **options: Any) -> None:
        """Register a typer app as a command group (`typer.Typer.add_typer`): read by typer, never by the table."""
        self.groups.append((group, options))

    def group(self, name: str, **options: Any) -> Registry:
        """Register a command group whose commands register like the top level's, so the parse table reads them.

        Args:
            name: The group's name (``vcrdt NAME COMMAND``).
            **options: Passed on to `typer.Typer` (help, no_args_is_help).

        Returns:
            The group's registry (its `command` decorator registers a subcommand).
        """
        sub = Registry()
        self.subgroups.append((name, sub, options))
        return sub

    def callback(self) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register the global options' callback."""

        def register(func: Callable[..., Any]) -> Callable[..., Any]:
            self.callback_func = func
            return func

        return register

    def build(self, wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None) -> typer.Typer:
        """Return a new typer app holding every registered command.

        Args:
            wrap: Applied to each command function before typer sees it (tests capture arguments this way).

        Returns:
            The typer app.
        """
        import functools
        import inspect
        import pathlib
        import typing

        import typer as real_typer

        def resolved(func: Callable[..., Any]) -> Callable[..., Any]:
            namespace = {
                # A module that needs `Path` only in its parameters' annotations imports it for
                # type checking alone: pathlib is not loaded by a command the parse table reads.
                "Path": pathlib.Path,
                **func.__globals__,
                "typer": real_typer,
                "Annotated": typing.Annotated,
            }
            hints = {}
            for key, value in func.__annotations__.items():
                while isinstance(value, str):  # an annotation, or an alias defined as a string (`JsonOption`)
                    value = eval(value, namespace)
                hints[key] = value
            signature = inspect.signature(func)
            signature = signature.replace(
                parameters=[
                    p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()
                ],
                return_annotation=hints.get("return", signature.return_annotation),
            )
            target = wrap(func) if wrap else func

            @functools.wraps(func)
            def call(*args: Any, **kwargs: Any) -> Any:
                return target(*args, **kwargs)

            del call.__wrapped__  # typer must read the resolved signature, not the source's strings
            call.__annotations__ = hints
            call.__signature__ = signature  # type: ignore[attr-defined]
            return call

        built = real_typer.Typer(
            name="vcrdt",
            help=HELP,
            no_args_is_help=True,
            # --install-completion / --show-completion (given an optional SHELL by `completion_options`);
            # completion requests go through click, never the parse table (`vcrdt.cli.app.invoke`).
            add_completion=True,
            pretty_exceptions_enable=False,
            pretty_exceptions_show_locals=False,
            rich_markup_mode=None,
            context_settings={"help_option_names": ["-h", "--help"]},
        )
        if self.callback_func is not None:
            built.callback()(resolved(self.callback_func))
        for name, options, func in self.commands:
            built.command(name, **_command_options(options))(resolved(func))
        for group, options in self.groups:
            built.add_typer(group, **options)
        for name, sub, options in self.subgroups:
            group = real_typer.Typer(**options)
            for cname, coptions, func in sub.commands:
                group.command(cname, **_command_options(coptions))(resolved(func))
            built.add_typer(group, name=name)
        return built


def _command_options(options: dict[str, Any]) -> dict[str, Any]:
    """`typer.Typer.command`'s options for a registered command: its `switches` become its command class."""
    if "switches" not in options:
        return options
    switches: dict[str, dict[str, tuple[str, str]]] = options["switches"]
    import click
    from typer.core import TyperCommand

    class SwitchCommand(TyperCommand):
        """A command whose switch parameters are one click flag per value, all storing into the parameter."""

        def __init__(self, *args: Any, params: list[click.Parameter] | None = None, **kwargs: Any) -> None:
            expanded: list[click.Parameter] = []
            for param in params or []:
                flags = switches.get(param.name or "")
                if flags is None:
                    expanded.append(param)
                    continue
                expanded += [
                    click.Option([flag, param.name or ""], flag_value=value, help=text)
                    for flag, (value, text) in flags.items()
                ]
            super().__init__(*args, params=expanded, **kwargs)

    return {k: v for k, v in options.items() if k != "switches"} | {"cls": SwitchCommand}


app = Registry()


class GlobalState:
    """Options given before the command."""

    # The directory the command runs in (absolute: the process's, or -C's), a string: the layers a
    # command's start-up goes through use `os.path`, and pathlib (with re, fnmatch, urllib.parse and
    # ipaddress, which it imports) costs a plain process about 17 M instructions.
    cwd: str
    verbose: bool
    # --no-pager: `log`, `diff`, `show` and `conflicts` write straight to stdout (`vcrdt.cli.pager`).
    no_pager: bool
    # The command line as given (`invoke`): where a command must see `--` (`log -- PATH`).
    args: list[str]
    open_repos: list[Repository]
    # The exit code of a failure (a `VcrdtError`) in this command: 1, unless the command's contract
    # says otherwise (`merge-file` exits 255 as git's does). Set by the command, read by the edge.
    error_exit: int
    # The file-system monitor a command-server child was given (kept across `reset_state`): passed to
    # each repository the command opens (`settings`).
    monitor: FsMonitor | None

    def __init__(
        self,
        cwd: str | None = None,
        verbose: bool = False,
        no_pager: bool = False,
        args: list[str] | None = None,
        open_repos: list[Repository] | None = None,
        error_exit: int = 1,
        monitor: FsMonitor | None = None,
    ) -> None:
        self.cwd = os.getcwd() if cwd is None else cwd
        self.verbose = verbose
        self.no_pager = no_pager
        self.args = [] if args is None else args
        self.open_repos = [] if open_repos is None else open_repos
        self.error_exit = error_exit
        self.monitor = monitor


STATE = GlobalState()


def split_at_dashdash(given: list[str]) -> tuple[list[str], list[str]]:
    """Split a command's positional arguments into those before ``--`` and those after it.

    Click drops the ``--`` itself, so where it stood is read from the command line (`STATE.args`):
    the last N positionals are the N arguments that followed it.
    """
    args = STATE.args
    after = min(len(args) - args.index("--") - 1 if "--" in args else 0, len(given))
    return given[: len(given) - after], given[len(given) - after :]


def reset_state() -> None:
    """Forget the global options and colour choice (a command-server child, forked from a server, starts here)."""
    from vcrdt.cli import render

    try:
        STATE.cwd = os.getcwd()
    except OSError:
        pass  # deleted: `vcrdt.cli.run` refuses to run a command there
    STATE.verbose = False
    STATE.no_pager = False
    STATE.args = []
    STATE.open_repos.clear()
    STATE.error_exit = 1
    render.set_color_mode("auto")


def _version_callback(value: bool) -> bool:
    """Print the version and exit; else return the value unchanged (the parse table passes the default as is)."""
    if value:
        from vcrdt import __version__

        typer.echo(f"vcrdt {__version__}")
        raise typer.Exit()
    return value


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
    no_pager: Annotated[
        bool, typer.Option("--no-pager", help="Do not page the output of log, diff, show and conflicts.")
    ] = False,
) -> None:
    """Global options."""
    from vcrdt.cli import render

    if color not in ("auto", "always", "never"):
        raise typer.BadParameter("must be auto, always or never", param_hint="--color")
    render.set_color_mode(color)
    STATE.cwd = os.path.realpath(os.path.join(os.getcwd(), directory)) if directory else os.getcwd()
    STATE.verbose = verbose
    STATE.no_pager = no_pager


def settings() -> Settings:
    """Build the core's settings from the environment."""
    from vcrdt.repo import Settings

    env = os.environ
    config_home = env.get("XDG_CONFIG_HOME") or (os.path.join(env["HOME"], ".config") if env.get("HOME") else None)
    global_config = os.path.join(config_home, "vcrdt", "config.toml") if config_home else None
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
        monitor=STATE.monitor,
    )


def open_repo() -> Repository:
    """Open the repository containing the current directory; closed when the command ends."""
    from vcrdt.porcelain.copies import bind_replica
    from vcrdt.repo import Repository

    repo = Repository.discover(STATE.cwd, settings())
    STATE.open_repos.append(repo)
    renewal = bind_replica(repo)
    if renewal is not None:
        from vcrdt.cli import render

        render.err().print(
            f"warning: {render.escape_text(renewal.here)} is a copy of replica {renewal.old[:12]}"
            f" (made in {render.escape_text(renewal.origin)}); it is now replica {renewal.new[:12]}",
            markup=False,
        )
    # A checkout cut short (killed, or failed after its checks) is finished before anything else.
    finished = repo.finish_interrupted_checkout()
    if finished:
        from vcrdt.cli import render

        render.err().print(f"note: finished an interrupted checkout ({finished} paths)", markup=False)
    return repo


# --- shell completion -------------------------------------------------------------------------
# Callbacks for `autocompletion=` of arguments that take a ref or remote name. They read the
# repository read-only (never a write, never a message) and answer nothing on any failure: a
# completion request must never print an error into the user's command line.


def _complete_names(ctx: object, incomplete: str, prefixes: tuple[str, ...], remotes: bool = False) -> list[str]:
    # `ctx` is click's context (typed `object`: typer reads these signatures at run time, when the
    # module holds no `click` or `typing` name).
    try:
        from vcrdt.repo import Repository

        find_root = getattr(ctx, "find_root", None)
        params = find_root().params if find_root is not None else {}
        directory = params.get("directory")
        start = os.path.join(os.getcwd(), directory) if directory else os.getcwd()
        with Repository.discover(start, settings(), read_only=True) as repo:
            names = {name[len(p) :] for p in prefixes for name, _ in repo.refs.iter_refs(p)}
            if remotes:
                names |= set(repo.config().get("remote", {}))
    except Exception:  # a completion request answers nothing rather than fail in the user's shell
        return []
    return sorted(n for n in names if n.startswith(incomplete) and n.isprintable() and " " not in n)


COMPLETION_SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def completion_options(cmd: Any) -> None:
    """Let typer's ``--install-completion`` and ``--show-completion`` take an optional SHELL.

    typer's own options only detect the shell they run in; here ``--show-completion zsh``
    prints zsh's script from any shell, and a bare ``--show-completion`` still detects it.

    Args:
        cmd: The click group typer built (its two options are replaced in place).
    """
    import click
    import typer.completion

    def with_shell(callback: Callable[..., Any]) -> Callable[..., Any]:
        def call(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
            if value is None or ctx.resilient_parsing:
                return None
            shell = value or _detect_shell()
            if shell is None:
                raise click.BadParameter("cannot tell which shell this is: name it, as in --show-completion bash")
            if shell not in COMPLETION_SHELLS:
                raise click.BadParameter(f"unsupported shell {shell!r}: use {', '.join(COMPLETION_SHELLS)}")
            return callback(ctx, param, shell)

        return call

    shells = "bash, zsh, fish, powershell or pwsh"
    replacements = {
        "install_completion": (
            "--install-completion",
            typer.completion.install_callback,
            f"Install completion for SHELL ({shells}; default: the shell this runs in).",
        ),
        "show_completion": (
            "--show-completion",
            typer.completion.show_callback,
            f"Print the completion script for SHELL ({shells}; default: the shell this runs in).",
        ),
    }
    for i, param in enumerate(cmd.params):
        if param.name in replacements:
            flag, callback, help_text = replacements[param.name]
            cmd.params[i] = click.Option(
                [flag],
                is_flag=False,
                flag_value="",
                default=None,
                metavar="[SHELL]",
                callback=with_shell(callback),
                expose_value=False,
                is_eager=True,
                help=help_text,
            )


def _detect_shell() -> str | None:
    """The shell this runs in: the nearest shell among the parent processes, else $SHELL's name.

    A command server's child has no shell among its parents; $SHELL (the client's) names it then.
    """
    try:
        import shellingham

        name, _path = shellingham.detect_shell()
        return str(name)
    except Exception:  # not detected (or shellingham missing): fall back on $SHELL
        shell = os.environ.get("SHELL")
        return os.path.basename(shell) if shell else None


def complete_branches(ctx: object, incomplete: str) -> list[str]:
    """Branch names starting with `incomplete` (shell completion of a branch argument)."""
    return _complete_names(ctx, incomplete, ("refs/heads/",))


def complete_tags(ctx: object, incomplete: str) -> list[str]:
    """Tag names starting with `incomplete`."""
    return _complete_names(ctx, incomplete, ("refs/tags/",))


def complete_revisions(ctx: object, incomplete: str) -> list[str]:
    """Branch and tag names starting with `incomplete` (an argument that takes any revision)."""
    return _complete_names(ctx, incomplete, ("refs/heads/", "refs/tags/"))


def complete_remotes(ctx: object, incomplete: str) -> list[str]:
    """Remote names starting with `incomplete` (a peer argument also takes a path or URL)."""
    return _complete_names(ctx, incomplete, (), remotes=True)


if TYPE_CHECKING:
    JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
else:
    JsonOption = 'Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]'  # see build
