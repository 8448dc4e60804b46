"""Read a command line without importing click or typer, by a table generated from the typer app.

typer is the one definition of the command line. `generate` derives a parse
table from the click command typer builds (every command's module and
function, its options, arguments, value kinds and defaults), written to
`vcrdt/cli/argv_table.py` (`python -m vcrdt.cli.argv` rewrites it; a test
regenerates it and compares). `parse` reads a command line with that table
the way click's parser does, and gives up (returns None) on anything it
does not read exactly as click would: an unknown option or command, ``-h``
or ``--help``, an option that needs a callback (``--version``), a missing or
extra argument, a value click would refuse. The caller then runs the typer
app, which prints help or the usage error.
"""

from __future__ import annotations

import os
import stat
import sys

from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    import click

TABLE_PATH = os.path.join(os.path.dirname(__file__), "argv_table.py")

# Value kinds in the table: "flag" (stores True), "unflag" (stores False), ("const", VALUE) (one
# flag of a switch: stores VALUE), "str", "int", "path", "refuse" (an option or argument the fast
# reader leaves to click).
_PATH_CHECKS = ("exists", "file_okay", "dir_okay", "readable", "writable", "executable")


class _Refused(Exception):
    """The command line needs click: help, an error, or something the table does not describe."""


@value_class(frozen=True, init=False, repr=False, eq=False)
class Plan(Value):
    """A command line read by the table: the global options' values, the command and its keyword arguments."""

    __slots__ = ("global_kwargs", "global_args", "name", "module", "function", "kwargs", "rest")  # noqa: RUF023 (field order)

    global_kwargs: dict[str, Any]
    global_args: list[str]
    name: str
    module: str
    function: str
    kwargs: dict[str, Any]
    rest: list[str]

    def __init__(
        self,
        global_kwargs: dict[str, Any],
        global_args: list[str],
        name: str,
        module: str,
        function: str,
        kwargs: dict[str, Any],
        rest: list[str],
    ) -> None:
        object.__setattr__(self, "global_kwargs", global_kwargs)
        object.__setattr__(self, "global_args", global_args)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "module", module)
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "kwargs", kwargs)
        object.__setattr__(self, "rest", rest)


def _convert(kind: str | tuple[Any, ...], value: str) -> Any:
    """Convert one value as click's type and then typer's convertor would, or refuse."""
    if isinstance(kind, tuple) and kind[0] == "path":
        return _convert_path(kind, value)
    if kind == "str":
        return value
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            raise _Refused from None
    raise _Refused


def _convert_path(kind: tuple[Any, ...], value: str) -> Path:
    """Convert a path value as typer would (a `Path`: pathlib is loaded for the commands that take one)."""
    from pathlib import Path

    exists, file_okay, dir_okay, readable, writable, executable = kind[1:]
    try:
        st = os.stat(value)
    except OSError:
        if exists:
            raise _Refused from None
        return Path(value)
    except Exception:
        raise _Refused from None
    if (not file_okay and stat.S_ISREG(st.st_mode)) or (not dir_okay and stat.S_ISDIR(st.st_mode)):
        raise _Refused
    for wanted, mode in ((readable, os.R_OK), (writable, os.W_OK), (executable, os.X_OK)):
        if wanted and not os.access(value, mode):
            raise _Refused
    return Path(value)


def _read_options(
    args: list[str], options: dict[str, Any], *, interspersed: bool
) -> tuple[dict[str, Any], list[str], list[str]]:
    """Read options as click's OptionParser does; return (values by dest, positional args, args left unread)."""
    values: dict[str, Any] = {}
    positional: list[str] = []
    rargs = list(args)

    def take(opt: str, spec: Any, explicit: str | None) -> None:
        dest, kind, multiple = spec
        if kind == "refuse":
            raise _Refused
        if kind in ("flag", "unflag") or kind[0] == "const":
            if explicit is not None:
                raise _Refused  # "option does not take a value"
            values[dest] = kind[1] if kind[0] == "const" else kind == "flag"
            return
        if explicit is not None:
            rargs.insert(0, explicit)
        if not rargs:
            raise _Refused  # "option requires an argument"
        value = _convert(kind, rargs.pop(0))
        if multiple:
            values.setdefault(dest, []).append(value)
        else:
            values[dest] = value

    while rargs:
        arg = rargs.pop(0)
        if arg == "--":
            if not interspersed:
                raise _Refused  # rare at the group level; click's reading of it is left to click
            break
        if arg[:1] == "-" and len(arg) > 1:
            long_opt, eq, explicit = arg.partition("=")
            spec = options.get(long_opt)
            if spec is not None and len(long_opt) > 2:  # a long option (a short one is read below, as click does)
                take(long_opt, spec, explicit if eq else None)
                continue
            if arg[:2] == "--":
                raise _Refused  # no such option
            # Short options, clustered: -abc, or -mVALUE.
            for i, ch in enumerate(arg[1:], start=2):
                spec = options.get("-" + ch)
                if spec is None or spec[1] == "refuse":
                    raise _Refused
                if spec[1] in ("flag", "unflag") or spec[1][0] == "const":
                    take("-" + ch, spec, None)
                    continue
                if i < len(arg):
                    rargs.insert(0, arg[i:])
                take("-" + ch, spec, None)
                break
            continue
        if interspersed:
            positional.append(arg)
        else:
            rargs.insert(0, arg)
            break
    return values, positional, rargs


def _unpack(args: list[str], nargs_spec: list[int]) -> tuple[list[Any], list[str]]:
    """Split positional args among arguments as click's `_unpack_args` does (None for a missing one)."""
    rest = list(args)
    front: list[Any] = []
    back: list[Any] = []
    star = None
    for i, nargs in enumerate(nargs_spec):
        if nargs < 0:
            star = i
            break
        front.append(rest.pop(0) if rest else None)
    if star is not None:
        for _nargs in reversed(nargs_spec[star + 1 :]):
            back.insert(0, rest.pop() if rest else None)
        return [*front, tuple(rest), *back], []
    return front, rest


def _read_command(args: list[str], spec: tuple[Any, ...]) -> dict[str, Any]:
    _module, _function, options, defaults, arguments = spec
    values, positional, unread = _read_options(args, options, interspersed=True)
    parsed, extra = _unpack(positional + unread, [a[1] for a in arguments])
    if extra:
        raise _Refused  # "got unexpected extra argument"
    kwargs = dict(defaults)
    for (dest, nargs, kind, required), value in zip(arguments, parsed, strict=True):
        if nargs < 0:
            if not value:
                if required:
                    raise _Refused
                continue
            kwargs[dest] = [_convert(kind, v) for v in value]
        elif value is None:
            if required:
                raise _Refused
        else:
            kwargs[dest] = _convert(kind, value)
    kwargs.update(values)
    return kwargs


def parse(args: list[str], table: Any = None) -> Plan | None:
    """Read `args` (after the program name) by the parse table; None when click must read them.

    Args:
        args: The command line.
        table: The table module (default: `vcrdt.cli.argv_table`).

    Returns:
        What to call, or None.
    """
    if table is None:
        plan = _serve_stdio(args)
        if plan is not None:
            return plan
        from vcrdt.cli import argv_table as table
    try:
        g_options, g_defaults, _ = table.GLOBAL
        values, _, rest = _read_options(args, g_options, interspersed=False)
        if not rest:
            return None  # no command: help
        name = rest[0]
        words = 1
        spec = table.COMMANDS.get(name)
        if spec is None and len(rest) > 1:  # a group's command: `git import`
            name = f"{rest[0]} {rest[1]}"
            words = 2
            spec = table.COMMANDS.get(name)
        if spec is None:
            return None
        kwargs = _read_command(rest[words:], spec)
    except _Refused:
        return None
    global_kwargs = dict(g_defaults) | values
    return Plan(global_kwargs, args[: len(args) - len(rest)], name, spec[0], spec[1], kwargs, rest[words:])


def _serve_stdio(args: list[str]) -> Plan | None:
    """Read ``serve --stdio PATH`` (no other option, PATH no option-like word) as the table reads it, or None.

    The command line of the peer of every fetch, sync, push and pull over ``--exec`` or ssh
    (`vcrdt.sync.transport`): read without loading the table, about 1.3 million instructions of
    each session's start-up. What the table and typer read it as is tested to be this
    (tests/cli/test_argv_table.py), so a change to `serve` or the global options fails there.
    """
    if len(args) != 3 or args[0] != "serve" or args[1] != "--stdio" or args[2][:1] in ("", "-"):
        return None
    options = {"directory": None, "verbose": False, "color": "auto", "version": False, "no_pager": False}
    kwargs = {"paths": [args[2]], "stdio": True, "host": "127.0.0.1", "port": 8765, "public": False, "read_only": False}
    return Plan(options, [], "serve", "vcrdt.cli.commands.serve", "serve", kwargs, args[1:])


# --- generation -----------------------------------------------------------------------------------


def _kind(param: click.Parameter) -> str | tuple[Any, ...]:
    import click

    if param.callback is not None or param.envvar or param.is_eager or getattr(param, "prompt", None):
        return "refuse"
    value = getattr(param, "flag_value", None)
    if getattr(param, "is_flag", False) and isinstance(value, str):
        return ("const", value)  # one flag of a switch (`Registry.command`)
    t = param.type
    if isinstance(t, click.types.BoolParamType):
        return "flag" if getattr(param, "is_flag", False) else "refuse"
    if isinstance(t, click.Path):
        if t.resolve_path or t.allow_dash or getattr(t, "type", None) not in (None, str):
            return "refuse"
        return ("path", *(bool(getattr(t, check)) for check in _PATH_CHECKS))
    if isinstance(t, click.types.StringParamType):
        return "str"
    if isinstance(t, click.types.IntParamType) and not isinstance(t, click.types._NumberRangeBase):
        return "int"
    return "refuse"


def _params(cmd: click.Command, ctx: click.Context) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """The options (by option string), the defaults typer passes, and the arguments of one command."""
    import click

    options: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    arguments: list[Any] = []
    for param in cmd.get_params(ctx):
        name = param.name or ""
        kind = _kind(param)
        if param.nargs not in (1, -1) or getattr(param, "count", False) or not param.expose_value:
            kind = "refuse"
        if not param.expose_value:  # --help: never passed to the function
            for opt in (*param.opts, *param.secondary_opts):
                options[opt] = (name, "refuse", False)
            continue
        if isinstance(param, click.Option):
            if param.required or param.nargs != 1:
                kind = "refuse"
            stores_true = param.flag_value is True or param.flag_value is getattr(click.core, "UNSET", 0)
            if kind == "flag" and not stores_true:
                kind = "refuse"  # a flag storing something else than True
            for opt in param.opts:
                options[opt] = (name, kind, bool(param.multiple))
            for opt in param.secondary_opts:
                options[opt] = (name, "unflag" if kind == "flag" else "refuse", False)
            if param.multiple:
                default: Any = param.default
                defaults[name] = None if default in (None, ()) else list(default)
            else:
                defaults[name] = _default(param, kind)
        else:
            arguments.append((name, param.nargs, kind, bool(param.required)))
            defaults[name] = None if param.nargs < 0 else _default(param, kind)
    if any(a[2] == "refuse" for a in arguments):
        options = {opt: (opt, "refuse", False) for opt in options}  # the whole command goes to click
        arguments = [(a[0], a[1], "refuse", True) for a in arguments]
    return options, defaults, arguments


def _default(param: click.Parameter, kind: str | tuple[Any, ...]) -> Any:
    default = param.default
    if default is None or not isinstance(default, str | int | bool):
        return None
    if isinstance(kind, tuple):
        from pathlib import Path

        return Path(default) if isinstance(default, str) else None
    return default


def generate(group: click.Group) -> str:
    """Return the source of the parse table for the click group typer built.

    Args:
        group: The click group (`vcrdt.cli.app.command()`).

    Returns:
        Python source defining ``GLOBAL`` and ``COMMANDS``.
    """
    import inspect

    import click

    from vcrdt.cli.base import app

    gctx = click.Context(group, info_name="vcrdt", **group.context_settings)
    g_options, g_defaults, g_arguments = _params(group, gctx)
    commands: dict[str, Any] = {}
    # The commands, and those of the groups defined in the registry (`Registry.group`) as "GROUP COMMAND".
    every: list[tuple[str, click.Command, click.Context]] = []
    for name in sorted(group.commands):
        cmd = group.commands[name]
        every.append((name, cmd, gctx))
        if name in {n for n, _, _ in app.subgroups} and isinstance(cmd, click.Group):
            sctx = click.Context(cmd, info_name=name, parent=gctx, **cmd.context_settings)
            every += [(f"{name} {sub}", cmd.commands[sub], sctx) for sub in sorted(cmd.commands)]
    for name, cmd, parent in every:
        ctx = click.Context(cmd, info_name=name.rpartition(" ")[2], parent=parent, **cmd.context_settings)
        callback = getattr(cmd.callback, "__wrapped__", None) or cmd.callback
        if callback is None:
            continue
        module = callback.__module__
        function = callback.__qualname__
        options, defaults, arguments = _params(cmd, ctx)
        if getattr(cmd, "no_args_is_help", False) or not cmd.allow_interspersed_args or cmd.allow_extra_args:
            continue
        if any("Context" in str(p.annotation) for p in inspect.signature(callback).parameters.values()):
            continue  # it takes the click context, which only typer's own call passes
        commands[name] = (module, function, options, defaults, arguments)
    head = f"GLOBAL: Any = {(g_options, g_defaults, g_arguments)!r}"
    body = [f"    {name!r}: {spec!r}," for name, spec in commands.items()]
    uses_path = "PosixPath(" in head or any("PosixPath(" in line for line in body)
    lines = [
        "# fmt: off",
        "# ruff: noqa: E501",
        '"""The parse table of the command line, generated from the typer app by `python -m vcrdt.cli.argv`."""',
        "",
        "from __future__ import annotations",
        "",
        "TYPE_CHECKING = False  # as typing's, without importing typing at run time",
        "if TYPE_CHECKING:",
        "    from typing import Any",
        "",
        *(["from pathlib import PosixPath", ""] if uses_path else []),
        head,
        "",
        "COMMANDS: dict[str, Any] = {",
    ]
    lines += body
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Rewrite `vcrdt/cli/argv_table.py` from the typer app."""
    from vcrdt.cli.app import command

    with open(TABLE_PATH, "w", encoding="utf-8") as fh:
        fh.write(generate(command()))  # type: ignore[arg-type]
    sys.stdout.write(f"wrote {TABLE_PATH}\n")


if __name__ == "__main__":
    main()
