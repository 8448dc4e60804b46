"""`vcrdt reset`, `vcrdt revert`, `vcrdt oplog` and `vcrdt undo`."""

from __future__ import annotations

from typing import Annotated, Literal

from vcrdt.cli import render
from vcrdt.cli.base import JsonOption, app, complete_revisions, open_repo, typer
from vcrdt.cli.render import Text
from vcrdt.ids import short


@app.command()
def reset(
    revision: Annotated[
        str, typer.Argument(help="The commit to move HEAD's branch to.", autocompletion=complete_revisions)
    ],
    soft: Annotated[bool, typer.Option("--soft", help="Move the branch only: files and tracked set stay.")] = False,
    mixed: Annotated[
        bool, typer.Option("--mixed", help="Move the branch; files stay; stop tracking what REVISION lacks (default).")
    ] = False,
    hard: Annotated[
        bool, typer.Option("--hard", help="Move the branch and make the tracked files match REVISION.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Move the checked-out branch (or a detached HEAD) to REVISION.

    vcrdt has no staging area, so --soft and --mixed both leave every file as it is:
    --soft also keeps every file tracked (what REVISION lacks shows as added), --mixed (the
    default) stops tracking the files REVISION lacks (they show as untracked), as git's
    index reset does. --hard makes the tracked files match REVISION: like git, it DISCARDS
    uncommitted changes to tracked files (the operation log keeps their content, so
    `vcrdt undo` brings them back); it refuses to overwrite an untracked file, and abandons a
    merge in progress.

    Moving a branch backwards is a local rewrite: the replaced head is tombstoned for the
    branch (as `branch -d` does), so the next sync or fetch does not bring it back; the
    branch's other concurrent heads stay. The commits this leaves behind stay reachable from
    the operation log (`vcrdt oplog`; `vcrdt undo` puts them back) until a future `gc` expires
    them.
    """
    from vcrdt import porcelain

    if soft + mixed + hard > 1:
        raise typer.BadParameter("give at most one of --soft, --mixed and --hard", param_hint="--soft/--mixed/--hard")
    mode: Literal["soft", "mixed", "hard"] = "soft" if soft else "hard" if hard else "mixed"
    with render.progress("Updating files") as on_progress:
        result = porcelain.reset(open_repo(), revision, mode=mode, on_progress=on_progress)
    if json:
        render.emit_json(
            {
                "schema": 1,
                "branch": result.branch,
                "old": result.old.hex() if result.old else None,
                "new": result.new.hex(),
                "mode": mode,
                "written": result.written,
            }
        )
        return
    files = f" ({len(result.written)} files updated)" if hard else ""
    render.err().print(Text(f"HEAD is now at {short(result.new)}{files}"))


@app.command()
def revert(
    revision: Annotated[str, typer.Argument(help="The commit to undo.")],
    mainline: Annotated[
        int | None, typer.Option("--mainline", "-m", help="For a merge: the parent (from 1) whose side is kept.")
    ] = None,
    message: Annotated[str | None, typer.Option("--message", help="The message (no editor).")] = None,
    edit: Annotated[
        bool | None,
        typer.Option("--edit/--no-edit", "-e", help="Open the editor on the message (default: on a terminal)."),
    ] = None,
    json: JsonOption = False,
) -> int:
    """Make a new commit that undoes REVISION's changes (diff3 of HEAD against REVISION's parent).

    A merge commit needs -m N: the changes are undone against its parent N. What diff3 leaves
    in conflict goes by the merge policy, as in a merge; what is left is written with
    markers: fix the files, `vcrdt resolve PATH`, then `vcrdt commit` (an ordinary commit);
    or `vcrdt merge --abort`. The message editor opens on git's "Revert ..." message
    ($VCRDT_EDITOR, $VISUAL, $EDITOR, then vi) when stdin and stdout are terminals or --edit
    is given, as git does, unless --no-edit or --message; an empty message aborts with nothing
    changed.
    """
    import sys

    from vcrdt import porcelain
    from vcrdt.errors import EmptyMessageError

    repo = open_repo()
    if edit is None:
        edit = sys.stdin.isatty() and sys.stdout.isatty() and not json
    if message is None and edit:
        from vcrdt.cli import editor

        lines = [
            "Please enter the commit message for your changes. Lines starting",
            "with '#' will be ignored, and an empty message aborts the commit.",
        ]
        try:
            message = editor.edit(
                repo.meta,
                editor.template(porcelain.revert_message(repo, revision), lines),
                config=repo.config_get("core.editor"),
            )
        except EmptyMessageError as exc:
            return editor.report_empty(exc)
    with render.progress("Updating files") as on_progress:
        result = porcelain.revert(repo, revision, mainline=mainline, message=message, on_progress=on_progress)
    if json:
        render.emit_json(
            {
                "schema": 1,
                "commit": result.commit.hex() if result.commit else None,
                "reverted": result.reverted.hex(),
                "conflicts": [c.path for c in result.conflicts],
            }
        )
        return 1 if result.conflicts else 0
    if result.commit is None:
        out = render.data()
        for c in result.conflicts:
            out.print(Text(f"CONFLICT ({c.kind}): {render.quote(c.path)}"))
        render.err().print(
            Text(
                f"error: could not revert {short(result.reverted)}; fix the conflicts, `vcrdt resolve PATH`,"
                " then `vcrdt commit` (or `vcrdt merge --abort`)"
            )
        )
        return 1
    summary = result.message.split("\n", 1)[0]
    render.data().print(Text(f"[{short(result.commit)}] {summary}"))
    n = len(result.changed)
    render.data().print(Text(f" {n} file{'s' if n != 1 else ''} changed"))
    return 0


@app.command()
def oplog(
    max_count: Annotated[int | None, typer.Option("-n", "--max-count", help="Show at most N operations.")] = None,
    json: JsonOption = False,
) -> None:
    """List the operations that moved a ref or rewrote the work tree, newest first.

    Each commit, merge, reset, revert, amend, switch, restore, branch and tag change, fetch,
    sync and pull, and undo is recorded with the refs it changed (before -> after). `vcrdt
    undo` reverts the newest. The commits the log names stay reachable (fsck counts them)
    until a future `gc` expires old operations.
    """
    from vcrdt import porcelain

    repo = open_repo()
    ops = porcelain.operations(repo, limit=max_count)
    if json:
        render.emit_json(
            [
                {
                    "seq": op.seq,
                    "time": op.time,
                    "kind": op.kind,
                    "summary": op.summary,
                    "head_before": op.head_before.split("\n")[0],
                    "head_after": op.head_after.split("\n")[0],
                    "refs": {
                        name: {"before": sorted(h.hex() for h in b), "after": sorted(h.hex() for h in a)}
                        for name, (b, a) in op.refs.items()
                    },
                    "worktree_before": op.wt_before.hex() if op.wt_before else None,
                    "worktree_after": op.wt_after.hex() if op.wt_after else None,
                    "undoes": op.undoes,
                }
                for op in ops
            ]
        )
        return
    out = render.data()
    for op in ops:
        when = render.format_date(int(op.time), 0)
        out.print(Text(f"{op.seq:>4} {op.kind:<8} {render.escape_text(op.summary)}  ({when})"))
        for name, (b, a) in sorted(op.refs.items()):
            was = ",".join(sorted(short(h) for h in b)) or "(none)"
            now = ",".join(sorted(short(h) for h in a)) or "(none)"
            out.print(Text(f"       {render.quote(name.removeprefix('refs/heads/'))}: {was} -> {now}"))


@app.command()
def undo(json: JsonOption = False) -> None:
    """Revert the last operation in `vcrdt oplog`: its refs, HEAD and the files it wrote go back.

    An undo is itself an operation, so undoing twice redoes (as jj does). The refs are set back
    as a local rewrite (the heads they had are tombstoned for their branches: a sync does not
    bring them back). Refused when a file the operation wrote was edited since, and while a
    merge is in progress. Nothing committed is lost: the commits an undo leaves behind stay
    in the operation log until a future `gc` expires them.
    """
    from vcrdt import porcelain

    with render.progress("Updating files") as on_progress:
        result = porcelain.undo(open_repo(), on_progress=on_progress)
    if json:
        render.emit_json({"schema": 1, "undone": result.undone.seq, "operation": result.seq, "written": result.written})
        return
    render.err().print(
        Text(f"Undid operation {result.undone.seq}: {render.escape_text(result.undone.summary)}"),
    )
