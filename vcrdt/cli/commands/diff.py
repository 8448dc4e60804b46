"""`vcrdt diff`."""

from __future__ import annotations

from vcrdt.cli import render, views
from vcrdt.cli.base import STATE, JsonOption, app, open_repo, split_at_dashdash, typer
from vcrdt.cli.pager import paged
from vcrdt.cli.render import Text

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Annotated

    from vcrdt.repo import Repository


@app.command()
def diff(
    revisions: Annotated[
        list[str] | None,
        typer.Argument(
            help="No revision: HEAD against the work tree; one: that commit against the work tree; two, or A..B:"
            " A against B; A...B: B against where it forked from A. After --, paths."
        ),
    ] = None,
    paths: Annotated[list[str] | None, typer.Option("--path", help="Limit to these paths (as paths after --).")] = None,
    patch: Annotated[
        bool, typer.Option("-p", "--patch", help="Show the patch (the default; with --stat, after the stat).")
    ] = False,
    stat: Annotated[bool, typer.Option("--stat", help="Show a diffstat instead of the patch.")] = False,
    name_only: Annotated[bool, typer.Option("--name-only", help="Show only the changed paths.")] = False,
    context: Annotated[int, typer.Option("--unified", "-U", help="Lines of context.")] = 3,
    exit_code: Annotated[bool, typer.Option("--exit-code", help="Exit 1 when there are differences.")] = False,
    staged: Annotated[
        bool,
        typer.Option(
            "--staged",
            "--cached",
            help="Accepted for git's habit: with no staging area, what the next commit records is every change"
            " to tracked files, which `diff` shows anyway.",
        ),
    ] = False,
    json: JsonOption = False,
) -> int:
    """Show changes between the work tree and HEAD, a commit and the work tree, or two commits.

    Revisions and paths as git reads them: `diff A B` and `diff A..B` compare two commits,
    `diff A...B` shows what B changed since it forked from A (against their merge base), and
    `diff [REV] -- PATH...` only the changes at or under the paths. An argument that is no
    revision but an existing path is taken as a path, as git does without `--`.

    Coloured and paged on a terminal (as `log`), plain unified diff (as `git diff`) otherwise.
    """
    from vcrdt import porcelain
    from vcrdt.diff.lines import stat_from

    del staged  # always so
    repo = open_repo()
    revs, given_paths = _revs_and_paths(repo, revisions or [])
    old: str | None
    new: str | None
    if len(revs) == 1 and ".." in revs[0]:
        old, new = porcelain.range_ends(repo, revs[0])
    else:
        old = revs[0] if revs else None
        new = revs[1] if len(revs) == 2 else None
    diffs = porcelain.diff(repo, old, new, paths=[*(paths or []), *given_paths], cwd=STATE.cwd, context=max(context, 0))
    if json:
        render.emit_json({"schema": 1, "files": [views.diff_json(d) for d in diffs]})
        return 1 if exit_code and diffs else 0
    with paged(repo):
        if name_only:
            for d in diffs:
                render.data().print(Text(render.quote(d.path)))
        elif stat:
            views.print_stats([stat_from(d) for d in diffs])
            if patch and diffs:
                render.data().print()
                views.print_diffs(diffs)
        else:
            views.print_diffs(diffs)
    return 1 if exit_code and diffs else 0


def _revs_and_paths(repo: Repository, given: list[str]) -> tuple[list[str], list[str]]:
    """Split the positional arguments into revisions (or ranges) and paths: those after ``--``, or paths that exist.

    Too many revisions is a usage error before any is looked up, as the count is a matter of syntax.

    Raises:
        BadParameter: If there are more than two revisions, or a range and another revision.
        BadRevisionError: If an argument before ``--`` is neither a revision nor an existing path.
    """
    import os

    from vcrdt import porcelain
    from vcrdt.errors import BadRevisionError

    revs, found = split_at_dashdash(given)
    kept: list[str] = []
    unknown: list[BadRevisionError] = []
    for rev in revs:
        try:
            for end in porcelain.range_ends(repo, rev) if ".." in rev else (rev,):
                repo.resolve(end)
        except BadRevisionError as exc:
            if os.path.lexists(os.path.join(STATE.cwd, rev)):
                found.append(rev)
                continue
            unknown.append(exc)
        kept.append(rev)
    if len(kept) > 2 or (len(kept) == 2 and any(".." in r for r in kept)):
        raise typer.BadParameter("at most two revisions, or one range A..B", param_hint="REVISIONS")
    if unknown:
        raise unknown[0]
    return kept, found
