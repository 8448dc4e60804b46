"""`vcrdt cherry-pick`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from vcrdt.cli import render
from vcrdt.cli.base import JsonOption, app, open_repo, typer
from vcrdt.cli.render import Text
from vcrdt.ids import short

if TYPE_CHECKING:
    from collections.abc import Callable

    from vcrdt.porcelain.picking import CherryPickResult
    from vcrdt.repo import Repository

_EDIT_HELP = [
    "Please enter the commit message for your changes. Lines starting",
    "with '#' will be ignored, and an empty message aborts the commit.",
]


def _editor(repo: Repository) -> Callable[[str], str]:
    """A function opening the message editor on a proposed message (an empty result aborts)."""
    from vcrdt.cli import editor

    def edit(text: str) -> str:
        return editor.edit(repo.meta, editor.template(text, _EDIT_HELP), config=repo.config_get("core.editor"))

    return edit


def _print_made(repo: Repository, oid: bytes) -> None:
    """Print a commit made as `vcrdt commit` does: ``[BRANCH ID] SUMMARY``."""
    from vcrdt import porcelain
    from vcrdt.dag import read_commit
    from vcrdt.ids import ObjectId

    branch = porcelain.branch_of(repo)
    where = branch + " " if branch else "detached HEAD "
    summary = read_commit(repo.store, ObjectId(oid)).summary
    render.data().print(Text(f"[{render.escape_text(where)}{short(ObjectId(oid))}] {render.escape_text(summary)}"))


def _report(repo: Repository, result: CherryPickResult, json: bool) -> int:
    if json:
        render.emit_json(
            {
                "schema": 1,
                "picked": [{"commit": a.hex(), "new": b.hex()} for a, b in result.picked],
                "applied": [a.hex() for a in result.applied],
                "stopped": result.stopped.hex() if result.stopped else None,
                "reason": result.stop,
                "conflicts": [c.path for c in result.conflicts],
                "remaining": result.remaining,
            }
        )
        return 1 if result.stopped else 0
    out = render.data()
    err = render.err()
    for _, new in result.picked:
        _print_made(repo, new)
    if result.applied:
        n = len(result.changed)
        err.print(Text(f"applied {len(result.applied)} commit(s) to the work tree ({n} file{'s' if n != 1 else ''})"))
    if result.stopped is None:
        return 0
    what = f"{short(result.stopped)}... {render.escape_text(result.summary)}"
    if result.stop == "empty":
        err.print(Text(f"The previous cherry-pick is now empty: HEAD already has the change of {what}"))
        err.print(
            Text(
                "hint: `vcrdt cherry-pick --skip` to drop it, or `vcrdt cherry-pick --allow-empty` /"
                " `vcrdt commit --allow-empty` to keep it"
            )
        )
        return 1
    for c in result.conflicts:
        out.print(Text(f"CONFLICT ({c.kind}): {render.quote(c.path)}"))
    err.print(Text(f"error: could not apply {what}"))
    err.print(
        Text(
            "hint: after resolving the conflicts, mark them with `vcrdt resolve PATH`,"
            ' then run "vcrdt cherry-pick --continue".'
        )
    )
    err.print(Text('hint: You can instead skip this commit with "vcrdt cherry-pick --skip".'))
    err.print(Text('hint: To abort and get back to the state before "vcrdt cherry-pick",'))
    err.print(Text('hint: run "vcrdt cherry-pick --abort".'))
    return 1


@app.command("cherry-pick")
def cherry_pick(
    revisions: Annotated[
        list[str] | None,
        typer.Argument(help="The commits to apply, in order; A..B (or ^A B): those B has and A lacks, oldest first."),
    ] = None,
    mainline: Annotated[
        int | None, typer.Option("--mainline", "-m", help="For a merge: the parent (from 1) to diff against.")
    ] = None,
    no_commit: Annotated[
        bool, typer.Option("--no-commit", "-n", help="Apply the changes to the work tree without committing.")
    ] = False,
    record_origin: Annotated[
        bool, typer.Option("-x", help='Append "(cherry picked from commit ...)" to the message.')
    ] = False,
    edit: Annotated[bool, typer.Option("--edit", "-e", help="Edit each message before committing.")] = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Commit a pick that changes nothing instead of stopping.")
    ] = False,
    continue_: Annotated[bool, typer.Option("--continue", help="Commit the resolved pick and pick the rest.")] = False,
    skip: Annotated[bool, typer.Option("--skip", help="Drop the stopped pick and pick the rest.")] = False,
    abort: Annotated[
        bool, typer.Option("--abort", help="Put HEAD and the work tree back where the cherry-pick started.")
    ] = False,
    json: JsonOption = False,
) -> int:
    """Apply the changes of existing commits.

    Onto HEAD, one new commit each, in the order given; a range (`A..B`, or `^A B`) picks the
    commits B has and A lacks, oldest first, as git does. Each commit's change is a diff3 of HEAD and the commit
    with its parent as base (a merge commit needs -m N: the change against parent N); what
    diff3 leaves in conflict goes by the merge policy and the CRDT rules, as in `vcrdt merge`. Each new commit keeps the
    picked commit's author and message (-x appends where it came from; -e opens the editor).
    On conflicts the cherry-pick stops with the files marked and the merge in progress: fix
    them, `vcrdt resolve PATH`, then `vcrdt cherry-pick --continue` (which opens the editor on
    a terminal, else keeps the message), or `--skip` the commit, or `--abort` to put HEAD and
    the work tree back. A commit whose change HEAD already has stops the same way (skip it, or
    keep it with --allow-empty). A plain `vcrdt commit` also ends a stopped pick, and with it
    the cherry-pick. Each commit made is an operation in `vcrdt oplog` (`vcrdt undo` removes
    it). Exit 1 when the cherry-pick stopped.
    """
    import sys

    from vcrdt import porcelain
    from vcrdt.errors import EmptyMessageError

    revs = revisions or []
    actions = continue_ + skip + abort
    if actions > 1:
        raise typer.BadParameter("give at most one of --continue, --skip and --abort", param_hint="--continue")
    if actions and revs:
        raise typer.BadParameter("--continue, --skip and --abort take no revision", param_hint="REVISIONS")
    if not actions and not revs:
        raise typer.BadParameter("name at least one commit to cherry-pick", param_hint="REVISIONS")
    repo = open_repo()
    try:
        with render.progress("Updating files") as on_progress:
            if abort:
                at = porcelain.cherry_pick_abort(repo, on_progress=on_progress)
                render.err().print(Text(f"HEAD is now at {short(at)}"))
                return 0
            if skip:
                return _report(repo, porcelain.cherry_pick_skip(repo, on_progress=on_progress), json)
            if continue_:
                message = None
                if sys.stdin.isatty() and sys.stdout.isatty() and not json:
                    message = _editor(repo)(porcelain.stopped_message(repo))
                made, result = porcelain.cherry_pick_continue(repo, message=message, on_progress=on_progress)
                if made is not None and not json:
                    _print_made(repo, made)
                return _report(repo, result, json)
            options = porcelain.PickOptions(mainline, no_commit, record_origin, allow_empty)
            result = porcelain.cherry_pick(
                repo,
                revs,
                options=options,
                edit_message=_editor(repo) if edit else None,
                on_progress=on_progress,
            )
    except EmptyMessageError as exc:
        from vcrdt.cli import editor

        return editor.report_empty(exc)
    return _report(repo, result, json)
