"""`vcrdt stash [push | list | show | pop | apply | drop | clear]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from vcrdt.cli import render
from vcrdt.cli.base import STATE, app, open_repo
from vcrdt.cli.render import Text
from vcrdt.ids import short

if TYPE_CHECKING:
    from vcrdt.porcelain.stash import StashApplyResult, StashEntry

# The group's help is the callback's docstring.
stash_app = typer.Typer()
app.add_typer(stash_app, name="stash")
# Written out, not base's `JsonOption` (a string the registry resolves): typer reads these commands itself.
_Json = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
_Entry = Annotated[
    str | None, typer.Argument(help="The entry: N or stash@{N} (default: stash@{0}, the newest).", show_default=False)
]
_Message = Annotated[str | None, typer.Option("--message", "-m", help="The entry's description.")]
_Untracked = Annotated[
    bool, typer.Option("--include-untracked", "-u", help="Stash untracked files too (and delete them).")
]


def _entry_json(e: StashEntry) -> dict[str, Any]:
    return {
        "index": e.index,
        "name": e.name,
        "commit": e.commit.hex(),
        "parent": e.parent.hex(),
        "message": e.message,
        "untracked": e.untracked.hex() if e.untracked else None,
    }


def _push(message: str | None, paths: list[str] | None, include_untracked: bool) -> int:
    from vcrdt import porcelain

    with render.progress("Updating files") as on_progress:
        entry = porcelain.stash_push(
            open_repo(),
            message=message,
            paths=paths,
            cwd=STATE.cwd,
            include_untracked=include_untracked,
            on_progress=on_progress,
        )
    if entry is None:
        render.err().print(Text("No local changes to save"))
        return 0
    render.err().print(Text(f"Saved working directory state {render.escape_text(entry.message)}"))
    return 0


@stash_app.callback(invoke_without_command=True)
def stash(
    ctx: typer.Context,
    message: _Message = None,
    include_untracked: _Untracked = False,
) -> int:
    """Put local changes aside and bring them back.

    `vcrdt stash` alone is `vcrdt stash push`; then list, show, pop, apply, drop and clear.

    vcrdt has no staging area: an entry records the changes to tracked files (with -u, the
    untracked files too) as a commit on HEAD, kept as the local ref refs/stash/N (no sync sends
    it). `pop` or `apply` merges it back by diff3 against the commit it was made on, with the
    merge policy and CRDT rules, as a merge does; conflicts are left as a merge leaves them
    (`vcrdt conflicts`, `vcrdt resolve`; resolving the last one ends it, with no commit), and
    `pop` then keeps the entry. Entries are named N or stash@{N}, 0 the newest. Push, pop,
    drop and clear are operations in `vcrdt oplog` (`vcrdt undo` reverts them).
    """
    if ctx.invoked_subcommand is not None:
        if message is not None or include_untracked:
            raise typer.BadParameter("-m and -u go after `push`", param_hint="-m/-u")
        return 0
    return _push(message, None, include_untracked)


@stash_app.command("push")
def stash_push(
    paths: Annotated[list[str] | None, typer.Argument(help="Stash only the changes under these paths.")] = None,
    message: _Message = None,
    include_untracked: _Untracked = False,
) -> int:
    """Stash the local changes as stash@{0}.

    Only the changes under PATHS, if given. Prints "No local changes to save" (exit 0) when there is nothing to stash.
    """
    return _push(message, paths, include_untracked)


@stash_app.command("list")
def stash_list(json: _Json = False) -> None:
    """List the stash entries, newest first.

    One line each, as git prints them: stash@{N}: MESSAGE.
    """
    from vcrdt import porcelain

    entries = porcelain.stash_list(open_repo())
    if json:
        render.emit_json({"schema": 1, "entries": [_entry_json(e) for e in entries]})
        return
    out = render.data()
    for e in entries:
        out.print(Text(f"{e.name}: {render.escape_text(e.message)}"))


@stash_app.command("show")
def stash_show(
    entry: _Entry = None,
    patch: Annotated[bool, typer.Option("--patch", "-p", help="Show the patch.")] = False,
    stat: Annotated[bool, typer.Option("--stat", help="Show a diffstat (the default).")] = False,
    json: _Json = False,
) -> None:
    """Show an entry's changes.

    Against the commit it was made on: a diffstat (the default), the patch with -p.
    """
    from vcrdt import porcelain
    from vcrdt.cli import views
    from vcrdt.cli.pager import paged
    from vcrdt.diff.lines import stat_from

    repo = open_repo()
    found, diffs = porcelain.stash_show(repo, entry)
    if json:
        render.emit_json({"schema": 1, "entry": _entry_json(found), "files": [views.diff_json(d) for d in diffs]})
        return
    with paged(repo):
        if stat or not patch:
            views.print_stats([stat_from(d) for d in diffs])
        if patch:
            views.print_diffs(diffs)


def _apply(entry: str | None, pop: bool) -> int:
    from vcrdt import porcelain

    with render.progress("Updating files") as on_progress:
        result = porcelain.stash_apply(open_repo(), entry, pop=pop, on_progress=on_progress)
    return _report(result, pop)


def _report(result: StashApplyResult, pop: bool) -> int:
    err = render.err()
    if result.conflicts:
        out = render.data()
        for c in result.conflicts:
            out.print(Text(f"CONFLICT ({c.kind}): {render.quote(c.path)}"))
        err.print(Text("hint: fix the conflicts and mark them with `vcrdt resolve PATH`"))
        if pop:
            err.print(Text("The stash entry is kept in case you need it again."))
        return 1
    n = len(result.changed) + len(result.restored)
    err.print(Text(f"Applied {result.entry.name} ({n} file{'s' if n != 1 else ''} changed)"))
    if result.dropped:
        err.print(Text(f"Dropped {result.entry.name} ({short(result.entry.commit)})"))
    return 0


@stash_app.command("pop")
def stash_pop(entry: _Entry = None) -> int:
    """Apply an entry and drop it.

    As `apply`; on conflicts the entry is kept, as git keeps it (exit 1).
    """
    return _apply(entry, pop=True)


@stash_app.command("apply")
def stash_apply(entry: _Entry = None) -> int:
    """Apply an entry, keeping it.

    Merges the entry's changes into the work tree (exit 1 on conflicts). Local changes to
    files the entry does not change stay; local changes to files it changes are refused, as
    git refuses them.
    """
    return _apply(entry, pop=False)


@stash_app.command("drop")
def stash_drop(entry: _Entry = None) -> None:
    """Delete an entry.

    `vcrdt undo` brings it back.
    """
    from vcrdt import porcelain

    found = porcelain.stash_drop(open_repo(), entry)
    render.err().print(Text(f"Dropped {found.name} ({short(found.commit)})"))


@stash_app.command("clear")
def stash_clear() -> None:
    """Delete every entry.

    `vcrdt undo` brings them back.
    """
    from vcrdt import porcelain

    porcelain.stash_clear(open_repo())
