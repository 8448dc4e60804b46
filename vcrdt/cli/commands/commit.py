"""`vcrdt commit`."""

from __future__ import annotations

from vcrdt.cli import render
from vcrdt.cli.base import STATE, JsonOption, app, open_repo, typer
from vcrdt.cli.render import Text
from vcrdt.cli.views import jpath
from vcrdt.ids import short

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Annotated

    from vcrdt.repo import Repository


@app.command()
def commit(
    paths: Annotated[list[str] | None, typer.Argument(help="Commit only changes under these paths.")] = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="The commit message.")] = None,
    addremove: Annotated[
        bool, typer.Option("--addremove", "-A", help="Also track new files and drop missing ones.")
    ] = False,
    all_tracked: Annotated[
        bool,
        typer.Option(
            "--all",
            "-a",
            help="Accepted for git's habit (`commit -am MSG`): every change to tracked files is committed.",
        ),
    ] = False,
    allow_empty: Annotated[bool, typer.Option("--allow-empty", help="Record a commit with no changes.")] = False,
    amend: Annotated[
        bool, typer.Option("--amend", help="Replace HEAD by a new commit with its changes plus the current ones.")
    ] = False,
    no_edit: Annotated[
        bool, typer.Option("--no-edit", help="With --amend, keep HEAD's message without opening the editor.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print no summary of the commit and no progress bar.")
    ] = False,
    json: JsonOption = False,
) -> int:
    """Record every change to tracked files (or only those under PATHS) as a new commit.

    Missing tracked files are recorded as deleted. Fails when nothing changed unless
    --allow-empty is given, and when no author identity is configured.

    Without -m, the message editor opens ($VCRDT_EDITOR, $VISUAL, $EDITOR, then vi) on a
    template; lines starting with '#' are dropped, and an empty message aborts the commit.

    --amend replaces HEAD by a new commit: HEAD's parents and author, its tree plus the
    current changes, and -m MSG (or, without -m, HEAD's message in the editor; --no-edit keeps
    it as it is). This is a local rewrite: the replaced commit is tombstoned for the branch, so
    a later sync or fetch does not bring it back, and it stays reachable from the operation log
    (`vcrdt oplog`; `vcrdt undo` puts it back) until a future `gc` expires it.
    """
    from vcrdt import porcelain
    from vcrdt.errors import EmptyMessageError

    del all_tracked  # no staging area: always so
    repo = open_repo()
    if message is None and not (amend and no_edit):
        try:
            message = _edit_message(repo, amend=amend)
        except EmptyMessageError as exc:
            from vcrdt.cli.editor import report_empty

            return report_empty(exc)
    with render.progress("Recording files", enabled=not quiet) as on_progress:
        result = porcelain.commit(
            repo,
            message,
            paths=paths or None,
            cwd=STATE.cwd,
            addremove=addremove,
            allow_empty=allow_empty,
            amend=amend,
            on_progress=on_progress,
        )
    if json:
        render.emit_json(
            {
                "schema": 1,
                "id": result.oid.hex(),
                "branch": result.branch,
                "changes": [{"path": jpath(c.path), "status": c.status} for c in result.changes],
            }
        )
        return 0
    if quiet:
        return 0
    where = render.quote(result.branch) if result.branch else "detached HEAD"
    root = " (root-commit)" if not result.commit.parents else ""
    con = render.data()
    con.print(Text(f"[{where}{root} {short(result.oid)}] {result.commit.summary}"))
    counts: dict[str, int] = {}
    for c in result.changes:
        counts[c.status] = counts.get(c.status, 0) + 1
    n = len(result.changes)
    detail = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    con.print(Text(f" {n} file{'s' if n != 1 else ''} changed" + (f" ({detail})" if detail else "")))
    return 0


def _edit_message(repo: Repository, *, amend: bool) -> str:
    """Open the editor on the commit template; return the message saved.

    Raises:
        EmptyMessageError: If it is empty.
    """
    from vcrdt import porcelain
    from vcrdt.cli import editor

    proposed = porcelain.proposed_message(repo, amend=amend)
    where = porcelain.status(repo)
    lines = [
        "Please enter the commit message for your changes. Lines starting",
        "with '#' will be ignored, and an empty message aborts the commit.",
        "",
        f"On branch {where.branch}" if where.branch else "HEAD detached",
    ]
    changed = [("modified", p) for p in where.changes.modified] + [("new file", p) for p in where.changes.added]
    changed += [("deleted", p) for p in where.changes.deleted + where.changes.removed]
    if changed:
        lines += ["", "Changes to be committed:"] + [
            f"\t{kind}:   {p}" for kind, p in sorted(changed, key=lambda c: c[1])
        ]
    return editor.edit(repo.meta, editor.template(proposed, lines), config=repo.config_get("core.editor"))
