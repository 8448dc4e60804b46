"""`vcrdt merge-file`: three-way merges of plain files, usable as a git merge driver."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from vcrdt.cli.base import STATE, app, open_repo, typer
from vcrdt.cli.codes import ExitCode

if TYPE_CHECKING:
    from collections.abc import Callable

    from vcrdt.merge.conflicts import AutoResolution, PathConflict, Side
    from vcrdt.porcelain import AutoRecord, ConflictHunk
    from vcrdt.repo import Repository

MAX_EXIT = 127


def _favor_option(name: str) -> Callable[[typer.Context, bool], bool]:
    """A callback recording `name` as the favoured side.

    click calls callbacks in command-line order, so of --ours, --theirs and --union the last wins, as in git.
    """

    def record(ctx: typer.Context, value: bool) -> bool:
        if value:
            ctx.meta["merge_file.favor"] = name
        return value

    return record


# git merge-file's exit status for an error (a binary or unreadable file): the conflict counts stop at 127.
MERGE_FILE_ERROR = 255


@app.command("merge-file")
def merge_file(
    ctx: typer.Context,
    current: Annotated[Path, typer.Argument(help="Our version; receives the result unless -p.")],
    base: Annotated[Path, typer.Argument(help="The common ancestor.")],
    other: Annotated[Path, typer.Argument(help="Their version.")],
    stdout: Annotated[
        bool, typer.Option("-p", "--stdout", help="Print the result instead of writing CURRENT.")
    ] = False,
    conflict_style: Annotated[
        str, typer.Option("--conflict-style", help="merge, diff3 (with the base) or zdiff3.", metavar="STYLE")
    ] = "merge",
    diff3: Annotated[bool, typer.Option("--diff3", help="Same as --conflict-style diff3.")] = False,
    zdiff3: Annotated[bool, typer.Option("--zdiff3", help="Same as --conflict-style zdiff3.")] = False,
    label: Annotated[
        list[str] | None, typer.Option("-L", help="Labels for the markers (up to three: current, base, other).")
    ] = None,
    ours: Annotated[
        bool, typer.Option("--ours", help="Settle every conflict with our lines.", callback=_favor_option("ours"))
    ] = False,
    theirs: Annotated[
        bool,
        typer.Option("--theirs", help="Settle every conflict with their lines.", callback=_favor_option("theirs")),
    ] = False,
    union: Annotated[
        bool,
        typer.Option(
            "--union", help="Settle every conflict with our lines then theirs.", callback=_favor_option("union")
        ),
    ] = False,
    marker_size: Annotated[
        int, typer.Option("--marker-size", help="Conflict markers this long (default 7).", metavar="N")
    ] = 7,
    diff_algorithm: Annotated[
        str,
        typer.Option("--diff-algorithm", help="myers (default), minimal, patience or histogram.", metavar="ALGORITHM"),
    ] = "myers",
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print no warning and no error.")] = False,
    rule: Annotated[
        str | None,
        typer.Option(
            "--rule",
            help="Settle conflicts automatically: union, set, json, lww, ours or theirs (see vcrdt-merge(1)).",
            metavar="RULE",
        ),
    ] = None,
) -> int:
    """Merge the changes from BASE to OTHER into CURRENT, like `git merge-file`.

    The exit status is the number of conflicts (at most 127), 0 for a clean merge, and 255 for an
    error (a missing or binary file). The result and the exit status are git merge-file's, flag for
    flag, so it can serve as a git merge driver; see the README. --ours, --theirs and --union
    settle each conflict git's way (the last given wins); with --rule, a CRDT rule settles what
    diff3 leaves in conflict (the result is the same whichever file is CURRENT and which OTHER); a
    `json` file that does not parse falls back to conflict markers, with a message.
    """
    STATE.error_exit = MERGE_FILE_ERROR
    from vcrdt import porcelain
    from vcrdt.cli import render
    from vcrdt.diff import DIFF_ALGORITHMS
    from vcrdt.errors import VcrdtError
    from vcrdt.merge.diff3 import STYLES

    style = "diff3" if diff3 else "zdiff3" if zdiff3 else conflict_style
    if style not in STYLES:
        raise typer.BadParameter(f"must be one of {', '.join(STYLES)}", param_hint="--conflict-style")
    if diff_algorithm not in DIFF_ALGORITHMS:
        raise typer.BadParameter(f"must be one of {', '.join(DIFF_ALGORITHMS)}", param_hint="--diff-algorithm")
    given = list(label or [])
    if len(given) > 3:
        raise typer.BadParameter("at most three labels", param_hint="-L")
    names = [str(current), str(base), str(other)]
    names[: len(given)] = given
    from vcrdt.merge.rules import RULES

    if rule is not None and rule not in RULES:
        raise typer.BadParameter(f"must be one of {', '.join(RULES)}", param_hint="--rule")
    favor = ctx.meta.get("merge_file.favor", "markers")
    if rule is not None and favor != "markers":
        raise typer.BadParameter(f"--{favor} settles the conflicts already", param_hint="--rule")
    try:
        result = porcelain.merge_file(
            STATE.cwd / current,
            STATE.cwd / base,
            STATE.cwd / other,
            style=style,
            labels=(names[0], names[1], names[2]),
            write=not stdout,
            rule=rule,
            marker_len=marker_size,
            favor=favor,
            algorithm=diff_algorithm,
            names=(str(current), str(base), str(other)),
        )
    except VcrdtError:
        if quiet:  # as git's -q, which sends all of stderr to /dev/null
            raise typer.Exit(MERGE_FILE_ERROR) from None
        raise
    if result.note and not quiet:
        # The rule did not apply and the file was merged line by line: say so, and claim conflict
        # markers only when that merge left some.
        outcome = "conflict markers written" if result.conflicts else "merged line by line"
        render.err().print(f"warning: {current}: {result.note}; {outcome}", markup=False)
    if stdout:
        render.write_bytes(result.data)
    elif result.conflicts and not quiet:
        render.err().print(
            f"{current}: {result.conflicts} conflict{'s' if result.conflicts != 1 else ''}", markup=False
        )
    sys.stdout.flush()
    return min(result.conflicts, MAX_EXIT)


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


def _conflict_json(c: PathConflict, resolved: bool | None = None) -> dict[str, object]:
    from vcrdt.cli.views import jpath

    def side(s: Side) -> dict[str, object] | None:
        return None if s.kind is None or s.oid is None else {"kind": s.kind.value, "id": s.oid.hex()}

    doc: dict[str, object] = {
        "path": jpath(c.path),
        "kind": c.kind,
        "hunks": c.hunks,
        "base": side(c.base),
        "ours": side(c.ours),
        "theirs": side(c.theirs),
    }
    if resolved is not None:
        doc["resolved"] = resolved
    return doc


@app.command()
def merge(
    revision: Annotated[
        str | None,
        typer.Argument(help="The branch or commit to merge into HEAD (default: the current branch's siblings)."),
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
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> int:
    """Merge another branch or commit into HEAD with diff3; with no argument, join the branch's siblings.

    A fetch can leave a branch with concurrent heads (siblings: `vcrdt status` and `vcrdt branch`
    show them); `vcrdt merge` with no argument merges them into one, earliest in the tie-break
    order first, and `vcrdt merge --auto` folds them all into convergent merge commits.

    Fast-forwards when possible. Otherwise merges against the common ancestor (several ancestors
    after criss-cross merges are first merged into a virtual one) and commits when clean.

    What diff3 leaves in conflict goes by the policy file `.vcrdtattributes` (lines of
    `PATTERN ACTION`, last match wins; actions ask, markers, union, lww, set, json, ours,
    theirs): a rule settles the path and the merge commit records each decision (`vcrdt conflicts
    --auto`, `vcrdt reopen`); `ask` prompts hunk by hunk on a terminal; otherwise the merged files,
    with markers, are left in the work tree: see `vcrdt conflicts`, fix the files,
    `vcrdt resolve PATH`, then `vcrdt commit`; or `vcrdt merge --abort`. Paths without a policy
    line are asked on a terminal and get markers otherwise.

    With --auto, every path is settled by its rule (union for text, lww for binary when none is
    set), sides are ordered by the tie-break order (Lamport clock, replica id, commit id), and the
    merge commit is a pure function of the two heads: replicas that auto-merge the same heads, in
    either direction, make the same commit.

    Exit status: 0 merged or up to date, 1 conflicts remain (or --on-conflict=fail / --auto could
    not settle everything; nothing is changed then), 2 an error with --dry-run.
    """
    from vcrdt import porcelain
    from vcrdt.cli import render
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
            )
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
                "conflicts": [_conflict_json(c) for c in result.conflicts],
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
        render.err().print(
            f"warning: {render.quote(path)}: {render.escape_text(reason)}; conflict markers written", markup=False
        )
    if result.status == "up-to-date":
        out.print("Already up to date.")
    elif result.status == "fast-forward":
        out.print(f"Fast-forward to {short(result.theirs)} ({len(result.changed)} files changed)")
    elif result.status == "merged":
        what = render.quote(revision) if revision else "the concurrent heads"
        done = "Would merge" if dry_run else f"Merged {what} as {short(result.commit) if result.commit else ''}"
        out.print(f"{done} ({len(result.changed)} files changed)")
    else:
        for c in result.conflicts:
            out.print(f"CONFLICT ({c.kind}): {render.quote(c.path)}")
        verb = "Would stop" if dry_run else "Automatic merge stopped"
        render.err().print(
            f"{verb}: {len(result.conflicts)} conflicted path{'s' if len(result.conflicts) != 1 else ''}", markup=False
        )
        if not dry_run and (interactive or result.ask):
            return _interactive(repo, [], only=None if interactive else set(result.ask))
        if not dry_run:
            render.err().print(
                "hint: fix them, `vcrdt resolve PATH`, then `vcrdt commit`; or `vcrdt merge --abort`", markup=False
            )
    return code


@app.command()
def resolve(
    paths: Annotated[list[str] | None, typer.Argument(help="Conflicted paths (with -i: default all).")] = None,
    ours: Annotated[bool, typer.Option("--ours", help="Take our version.")] = False,
    theirs: Annotated[bool, typer.Option("--theirs", help="Take their version.")] = False,
    base: Annotated[bool, typer.Option("--base", help="Take the common ancestor's version.")] = False,
    union: Annotated[bool, typer.Option("--union", help="Keep both sides' lines in every conflicting hunk.")] = False,
    rule: Annotated[
        str | None,
        typer.Option(
            "--rule", help="Settle the path by a CRDT rule: union, lww, set, json, ours or theirs.", metavar="RULE"
        ),
    ] = None,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Go through the hunks one by one and choose.")
    ] = False,
) -> int:
    """Mark conflicted paths resolved, optionally taking one side's whole version first.

    --union keeps both sides' lines in each conflicting hunk (ours first), like
    `git merge-file --union`. --rule settles the path as the merge policy would (the rule's
    decisions are recorded with the merge commit, as for rules the policy applies). Without an
    option the file must already be fixed: no conflict markers left. With -i each conflicting
    hunk is shown and you choose: ours, theirs, both, base, edit (in $EDITOR) or skip (the hunk
    keeps its markers).
    """
    from vcrdt import porcelain
    from vcrdt.cli import render

    repo = open_repo()
    if interactive:
        return _interactive(repo, paths or [])
    if not paths:
        raise typer.BadParameter("which paths?", param_hint="PATHS")
    chosen = [name for name, flag in (("ours", ours), ("theirs", theirs), ("base", base), ("union", union)) if flag]
    if len(chosen) + (rule is not None) > 1:
        raise typer.BadParameter("choose one of --ours, --theirs, --base, --union, --rule")
    from vcrdt.merge.rules import RULES

    if rule is not None:
        if rule not in RULES:
            raise typer.BadParameter(f"must be one of {', '.join(RULES)}", param_hint="--rule")
        done = porcelain.resolve_by_rule(repo, paths, cwd=STATE.cwd, rule=rule)
    else:
        done = porcelain.resolve(repo, paths, cwd=STATE.cwd, side=chosen[0] if chosen else None)  # type: ignore[arg-type]
    for p in done:
        render.err().print(f"resolved {render.quote(p)}", markup=False)
    return 0


_KEYS = {"o": "ours", "t": "theirs", "b": "both", "e": "base", "d": "text", "s": "skip"}
_PROMPT = "[o]urs, [t]heirs, [b]oth, bas[e], e[d]it, [s]kip"


def _interactive(repo: Repository, paths: list[str], *, only: set[str] | None = None) -> int:
    """Ask hunk by hunk for every unresolved text conflict (or those under `paths`, or the repo paths `only`)."""
    from vcrdt import porcelain
    from vcrdt.cli import render

    wanted = only if only is not None else {porcelain.repo_path(repo, STATE.cwd, p) for p in paths}
    details = [
        d
        for d in porcelain.conflict_details(repo)
        if not d.resolved and d.hunks and (not wanted or d.conflict.path in wanted)
    ]
    if not details:
        render.err().print("no unresolved text conflicts", markup=False)
        return 0
    left = 0
    for d in details:
        choices: list[porcelain.HunkChoice] = []
        for n, h in enumerate(d.hunks, 1):
            render.data().print(f"Hunk {n}/{len(d.hunks)} of {render.quote(d.conflict.path)}:")
            _print_hunk(d.conflict.path, n, h, label="")
            while True:
                answer = typer.prompt(_PROMPT, default="s", show_default=False).strip().lower()[:1]
                if answer in _KEYS:
                    break
                render.err().print(f"please answer with one of: {_PROMPT}", markup=False)
            action = _KEYS[answer]
            text = _edit_hunk(h) if action == "text" else None
            choices.append(porcelain.HunkChoice(action, text))  # type: ignore[arg-type]
        if porcelain.resolve_hunks(repo, d.conflict.path, choices):
            render.err().print(f"resolved {render.quote(d.conflict.path)}", markup=False)
        else:
            left += 1
            render.err().print(f"{render.quote(d.conflict.path)}: skipped hunks keep their markers", markup=False)
    return 1 if left else 0


def _edit_hunk(hunk: ConflictHunk) -> list[bytes]:
    """Open $EDITOR (or $VISUAL, default vi) on the hunk's two sides; return what was saved."""
    import os
    import shlex
    import subprocess
    import tempfile

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    text = "".join(hunk.ours.lines) + "".join(hunk.theirs.lines)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        fh.write(text)
        name = fh.name
    try:
        subprocess.run([*shlex.split(editor), name], check=False)
        with open(name, "rb") as fh:
            return fh.read().splitlines(keepends=True)
    finally:
        os.unlink(name)


def _hunk_json(h: ConflictHunk) -> dict[str, object]:
    return {
        side: {"start": getattr(h, side).start, "lines": getattr(h, side).lines} for side in ("base", "ours", "theirs")
    }


@app.command()
def conflicts(
    commit: Annotated[str | None, typer.Argument(help="With --auto: the merge commit to list (default HEAD).")] = None,
    auto: Annotated[
        bool, typer.Option("--auto", help="List what rules settled automatically in a merge commit.")
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Show the conflicts of the merge in progress, hunk by hunk, base / ours / theirs side by side.

    On a terminal each hunk is a row of three syntax-highlighted panels with line numbers;
    otherwise the three versions of each hunk are printed one after another. --json gives the
    same data (schema 1): per path its conflict kind, the three sides' ids and each hunk's lines.

    With --auto, list instead the automatic resolutions recorded in a merge commit (HEAD unless
    COMMIT is given): per path the rule, and per decision where it applies, what won and the
    alternatives that lost. `vcrdt reopen PATH` hands such a path back to a human.
    """
    from vcrdt import porcelain
    from vcrdt.cli import render

    if auto:
        _print_auto(porcelain.auto_resolutions(open_repo(), commit or "HEAD"), json=json)
        return
    if commit is not None:
        raise typer.BadParameter("a commit is only taken with --auto", param_hint="COMMIT")
    found = porcelain.conflict_details(open_repo())
    if json:
        render.emit_json(
            {
                "schema": 1,
                "conflicts": [
                    _conflict_json(d.conflict, d.resolved) | {"hunk_texts": [_hunk_json(h) for h in d.hunks]}
                    for d in found
                ],
            }
        )
        return
    out = render.data()
    for d in found:
        c = d.conflict
        state = "resolved" if d.resolved else "unresolved"
        out.print(f"{render.quote(c.path)}: {c.kind} conflict ({state})")
        for n, h in enumerate(d.hunks, 1):
            _print_hunk(c.path, n, h, label=f"hunk {n}, ")


def _print_hunk(path: str, number: int, hunk: ConflictHunk, *, label: str) -> None:
    """Show one conflicting hunk: panels side by side when colouring, else the three versions in turn."""
    from vcrdt.cli import render

    if render.color_enabled():
        _print_panels(path, number, hunk)
        return
    out = render.data()
    for side in ("ours", "base", "theirs"):
        part = getattr(hunk, side)
        out.print(f"--- {label}{side}, from line {part.start}")
        for line in part.lines:
            out.print(line.rstrip("\r\n"))


def _print_panels(path: str, number: int, hunk: ConflictHunk) -> None:
    from rich.panel import Panel
    from rich.syntax import Syntax
    from rich.table import Table
    from rich.text import Text

    from vcrdt.cli import render

    table = Table.grid(expand=True, padding=(0, 1))
    for _ in range(3):
        table.add_column(ratio=1)
    cells = []
    for side in ("base", "ours", "theirs"):
        part = getattr(hunk, side)
        code = "".join(part.lines).rstrip("\n")
        lexer = Syntax.guess_lexer(path, code)
        syntax = Syntax(code or "\n", lexer, line_numbers=True, start_line=part.start, word_wrap=True)
        cells.append(Panel(syntax, title=f"{side} (line {part.start})", title_align="left"))
    table.add_row(*cells)
    title = Text(f"{render.quote(path)}: hunk {number}")
    render.out().print(Panel(table, title=title, title_align="left"))


def _print_auto(record: AutoRecord, *, json: bool) -> None:
    from vcrdt.cli import render
    from vcrdt.ids import short

    if json:
        render.emit_json(
            {
                "schema": 1,
                "commit": record.commit.hex(),
                "record": record.record.hex() if record.record else None,
                "resolutions": record.resolutions,
            }
        )
        return
    out = render.data()
    if not record.resolutions:
        out.print(f"{short(record.commit)}: no automatic resolutions")
        return
    for r in record.resolutions:
        hunks = r.get("hunks")
        out.print(f"{render.quote(str(r.get('path')))}: settled by {r.get('rule')}")
        for h in hunks if isinstance(hunks, list) else []:
            out.print(f"  {h.get('where')}: {h.get('outcome')}")
            for alt in h.get("alternatives") or []:
                text = str(alt.get("text", ""))
                lines = text.splitlines() or [_whole_path_loser(alt) if not text else ""]
                out.print(f"    lost ({alt.get('side')}):")
                for line in lines[:20]:
                    out.print(f"      {line}")
                if len(lines) > 20:
                    out.print(f"      ... {len(lines) - 20} more lines")


def _whole_path_loser(alt: dict[str, object]) -> str:
    """How a losing version with no text shows: a deletion, or a version (binary, symlink) by kind and id."""
    oid = alt.get("id")
    return f"({alt.get('kind')} {str(oid)[:12]}, not shown as text)" if oid else "(deleted)"


@app.command()
def reopen(
    paths: Annotated[list[str], typer.Argument(help="Paths a rule settled in the HEAD merge commit.")],
    conflict_style: Annotated[
        str, typer.Option("--conflict-style", help="merge, diff3 or zdiff3 markers.", metavar="STYLE")
    ] = "",
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Put automatically resolved paths back into three-way conflict, for a human to decide.

    Takes the base / ours / theirs versions recorded with the HEAD merge commit, writes the diff3
    merge with conflict markers to the work tree and records the conflicts: then `vcrdt conflicts`,
    `vcrdt resolve` (or `resolve -i`) and `vcrdt commit`, which makes an ordinary commit on top of
    the merge; or `vcrdt merge --abort` to leave things as they were.
    """
    from vcrdt import porcelain
    from vcrdt.cli import render
    from vcrdt.merge.diff3 import STYLES

    repo = open_repo()
    style = conflict_style or repo.config_get("merge.conflictstyle") or "merge"
    if style not in STYLES:
        raise typer.BadParameter(f"must be one of {', '.join(STYLES)}", param_hint="--conflict-style")
    found = porcelain.reopen(repo, paths, cwd=STATE.cwd, style=style)
    if json:
        render.emit_json({"schema": 1, "conflicts": [_conflict_json(c, False) for c in found]})
        return
    out = render.data()
    for c in found:
        out.print(f"CONFLICT ({c.kind}): {render.quote(c.path)}")
    render.err().print(
        "hint: fix them, `vcrdt resolve PATH`, then `vcrdt commit`; or `vcrdt merge --abort`", markup=False
    )


@app.command()
def fetch(
    source: Annotated[Path, typer.Argument(help="Another replica: the directory of its repository.")],
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Bring in another replica's commits and join its branches into this one.

    Copies every commit (with its trees and blobs) reachable from the other replica's branches and
    tags that this one lacks, then joins each branch as a CRDT: heads are unioned, heads that are
    ancestors of another are dropped, and a branch deleted on either side stays deleted unless the
    other side has commits the deletion never saw. A branch both replicas moved ends with two
    heads, siblings; `vcrdt merge` (or `vcrdt merge --auto`) joins them. All in one transaction.
    When the checked-out branch moves forward the work tree follows (it must be clean).

    What the other replica holds is checked before it is stored: an object larger than config
    `limits.max_object_size` (default 1G), a tree or commit larger than `limits.max_tree_size`
    (64M), or more than `limits.max_fetch_size` (16G) in all is refused, and nothing is kept.
    The other replica's database is only read (read-only, never converted or extended), and
    each query of it may run `limits.source_timeout` seconds (30).
    """
    from vcrdt import porcelain
    from vcrdt.cli import render
    from vcrdt.ids import short

    repo = open_repo()
    with render.progress("Fetching") as on_progress:
        result = porcelain.fetch(repo, STATE.cwd / source, on_progress=on_progress)
    if json:
        render.emit_json(
            {
                "schema": 1,
                "source": str(result.source),
                "objects": result.objects,
                "branches": [
                    {
                        "name": b.name,
                        "before": sorted(h.hex() for h in b.before),
                        "after": sorted(h.hex() for h in b.after),
                    }
                    for b in result.branches
                ],
                "tags": result.tags,
                "warnings": result.warnings,
                "checkout": result.checkout.hex() if result.checkout else None,
            }
        )
        return
    out = render.data()
    out.print(
        f"fetched {result.objects} object{'s' if result.objects != 1 else ''} from {render.quote(str(result.source))}"
    )
    for b in result.branches:
        heads = ", ".join(short(h) for h in sorted(b.after))
        if not b.after:
            out.print(f"  {render.quote(b.name)}: deleted")
        elif len(b.after) > 1:
            out.print(f"  {render.quote(b.name)}: {len(b.after)} concurrent heads ({heads}); `vcrdt merge` joins them")
        else:
            out.print(f"  {render.quote(b.name)}: {'new' if not b.before else 'now'} at {heads}")
    for t in result.tags:
        out.print(f"  tag {render.quote(t)}: new")
    for w in result.warnings:
        render.err().print(f"warning: {render.escape_text(w)}", markup=False)
