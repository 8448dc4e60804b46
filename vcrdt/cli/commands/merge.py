"""`vcrdt merge` and `merge --abort`: merging a branch, a commit or a branch's siblings into HEAD."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

from vcrdt.cli.base import STATE, app, complete_revisions, open_repo, typer
from vcrdt.cli.codes import ExitCode

if TYPE_CHECKING:
    from vcrdt.merge.conflicts import AutoResolution


def _auto_json(a: AutoResolution) -> dict[str, object]:
    from vcrdt.cli.views import jpath

    def text(data: bytes) -> str:
        return data.decode("utf-8", "replace")

    return {
        "path": jpath(a.path),
        "rule": a.rule,
        "hunks": [
            {
                "where": h.where,
                "outcome": h.outcome,
                "chosen": text(h.chosen),
                "alternatives": [{"side": side, "text": text(t)} for side, t in h.alternatives],
            }
            for h in a.hunks
        ],
    }


@app.command()
def merge(
    revision: Annotated[
        str | None,
        typer.Argument(
            help="The branch or commit to merge into HEAD (default: the current branch's siblings).",
            autocompletion=complete_revisions,
        ),
    ] = None,
    no_ff: Annotated[
        bool, typer.Option("--no-ff", help="Make a merge commit even when a fast-forward is possible.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write nothing; report per path what the merge would do.")
    ] = False,
    abort: Annotated[bool, typer.Option("--abort", help="Undo a merge stopped by conflicts.")] = False,
    message: Annotated[str | None, typer.Option("--message", "-m", help="Message of the merge commit.")] = None,
    conflict_style: Annotated[
        str, typer.Option("--conflict-style", help="merge, diff3 or zdiff3 markers.", metavar="STYLE")
    ] = "",
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="On conflicts, choose hunk by hunk (as `resolve -i`).")
    ] = False,
    on_conflict: Annotated[
        str | None,
        typer.Option(
            "--on-conflict",
            help="Override the policy for this merge: ask, markers, crdt (every path by its rule) or fail.",
            metavar="MODE",
        ),
    ] = None,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto", help="Convergent merge: rules settle everything; the commit depends only on the two heads."
        ),
    ] = False,
    edit: Annotated[
        bool | None,
        typer.Option(
            "--edit/--no-edit",
            "-e",
            help="Open the editor on the merge commit's message (default: when on a terminal, without -m).",
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> int:
    """Merge another branch or commit into HEAD with diff3; with no argument, join the branch's siblings.

    A fetch can leave a branch with concurrent heads (siblings: `vcrdt status` and `vcrdt branch`
    show them); `vcrdt merge` with no argument merges them into one, earliest in the tie-break
    order first, and `vcrdt merge --auto` folds them all into convergent merge commits.

    Fast-forwards when possible. Otherwise merges against the common ancestor (several ancestors
    after criss-cross merges are first merged into a virtual one) and commits when clean.

    Local changes: as in git, a merge refuses to start when it would write a file that has
    local changes, and leaves local changes to other files as they are. A merge that stops with
    conflicts refuses any local change: there is no staging area, so the commit that ends it
    would take them in.

    What diff3 leaves in conflict goes by the policy file `.vcrdtattributes` (lines of
    `PATTERN ACTION`, last match wins; actions ask, markers, union, lww, set, json, ours,
    theirs): a rule settles the path and the merge commit records each decision (`vcrdt conflicts
    --auto`, `vcrdt reopen`); `ask` prompts hunk by hunk on a terminal; otherwise the merged files,
    with markers, are left in the work tree and listed: see `vcrdt conflicts`, fix the files,
    `vcrdt resolve PATH`, then `vcrdt commit`; or `vcrdt merge --abort`. Paths without a policy
    line get markers, on a terminal too: `merge -i` (or `vcrdt resolve -i` afterwards) goes
    through them hunk by hunk.

    With --auto, every path is settled by its rule (union for text, lww for binary when none is
    set), sides are ordered by the tie-break order (Lamport clock, replica id, commit id), and the
    merge commit is a pure function of the two heads: replicas that auto-merge the same heads, in
    either direction, make the same commit.

    When a merge commit is made and no -m is given, the message editor opens on the proposed
    message ($VCRDT_EDITOR, $VISUAL, $EDITOR, then vi) if stdin and stdout are terminals or
    --edit is given, as git does; an empty message aborts the merge with nothing changed.

    Exit status: 0 merged or up to date, 1 conflicts remain (or --on-conflict=fail / --auto could
    not settle everything; nothing is changed then), 2 an error with --dry-run.
    """
    from vcrdt import porcelain
    from vcrdt.cli import render
    from vcrdt.cli.commands.conflicts import conflict_json, resolve_interactively
    from vcrdt.errors import VcrdtError
    from vcrdt.ids import short
    from vcrdt.merge.diff3 import STYLES

    repo = open_repo()
    if abort:
        restored = porcelain.merge_abort(repo)
        render.err().print(f"merge aborted ({len(restored)} files restored)", markup=False)
        return 0
    style = conflict_style or repo.config_get("merge.conflictstyle") or "merge"
    if style not in STYLES:
        raise typer.BadParameter(f"must be one of {', '.join(STYLES)}", param_hint="--conflict-style")
    from vcrdt.merge.policy import ON_CONFLICT

    if on_conflict is not None and on_conflict not in ON_CONFLICT:
        raise typer.BadParameter(f"must be one of {', '.join(ON_CONFLICT)}", param_hint="--on-conflict")
    if auto and on_conflict not in (None, "crdt"):
        raise typer.BadParameter("--auto settles every conflict by rule", param_hint="--on-conflict")
    if edit is None:
        edit = sys.stdin.isatty() and sys.stdout.isatty() and not json and not dry_run
    editing = None
    if edit and message is None and not auto:
        from vcrdt.cli import editor

        def editing(proposed: str) -> str:
            lines = [
                "Please enter a commit message to explain why this merge is necessary.",
                "Lines starting with '#' will be ignored, and an empty message aborts the commit.",
            ]
            return editor.edit(repo.meta, editor.template(proposed, lines), config=repo.config_get("core.editor"))

    from vcrdt.errors import EmptyMessageError

    try:
        with render.progress("Merging") as on_progress:
            result = porcelain.merge(
                repo,
                revision,
                no_ff=no_ff,
                dry_run=dry_run,
                style=style,
                message=message,
                on_conflict=on_conflict,
                ask_default=sys.stdin.isatty() and sys.stdout.isatty() and not json,
                auto=auto,
                on_progress=on_progress,
                edit_message=editing,
            )
    except EmptyMessageError as exc:
        from vcrdt.cli.editor import report_empty

        return report_empty(exc)
    except VcrdtError:
        if dry_run:
            STATE.error_exit = ExitCode.USAGE  # a dry run that cannot even plan: as a usage error
        raise
    code = 1 if result.conflicts else 0
    if json:
        render.emit_json(
            {
                "schema": 1,
                "status": result.status,
                "dry_run": result.dry_run,
                "ours": result.ours.hex() if result.ours else None,
                "theirs": result.theirs.hex(),
                "bases": [b.hex() for b in result.bases],
                "commit": result.commit.hex() if result.commit else None,
                "changed": result.changed,
                "conflicts": [conflict_json(c) for c in result.conflicts],
                "auto": [_auto_json(a) for a in result.auto],
                "notes": [{"path": p, "reason": r} for p, r in result.notes],
            }
        )
        return code
    out = render.data()
    for a in result.auto:
        decisions = f"{len(a.hunks)} decision{'s' if len(a.hunks) != 1 else ''}"
        out.print(f"auto-resolved ({a.rule}): {render.quote(a.path)} ({decisions})")
    for path, reason in result.notes:
        shown = render.quote(path)
        render.err().print(f"warning: {shown}: {render.escape_text(reason)}; conflict markers written", markup=False)
    if result.status == "up-to-date":
        out.print("Already up to date.")
    elif result.status == "fast-forward":
        out.print(f"Fast-forward to {short(result.theirs)} ({_files_changed(len(result.changed))})")
    elif result.status == "merged":
        what = render.quote(revision) if revision else "the concurrent heads"
        done = "Would merge" if dry_run else f"Merged {what} as {short(result.commit) if result.commit else ''}"
        out.print(f"{done} ({_files_changed(len(result.changed))})")
    else:
        for c in result.conflicts:
            out.print(f"CONFLICT ({c.kind}): {render.quote(c.path)}")  # from the root, as git
        verb = "Would stop" if dry_run else "Automatic merge stopped"
        render.err().print(
            f"{verb}: {len(result.conflicts)} conflicted path{'s' if len(result.conflicts) != 1 else ''}", markup=False
        )
        if not dry_run and (interactive or result.ask):
            return resolve_interactively(repo, [], only=None if interactive else set(result.ask))
        if not dry_run:
            render.err().print(
                "hint: fix them, `vcrdt resolve PATH`, then `vcrdt commit`; or `vcrdt merge --abort`", markup=False
            )
    return code


def _files_changed(n: int) -> str:
    return f"{n} file{'' if n == 1 else 's'} changed"
