"""`vcrdt merge-file`: three-way merges of plain files, usable as a git merge driver."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vcrdt.cli.base import STATE, app, open_repo

if TYPE_CHECKING:
    from vcrdt.merge.conflicts import PathConflict, Side
    from vcrdt.porcelain import ConflictHunk
    from vcrdt.repo import Repository

MAX_EXIT = 127


@app.command("merge-file")
def merge_file(
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
) -> int:
    """Merge the changes from BASE to OTHER into CURRENT, like `git merge-file`.

    The exit status is the number of conflicts (at most 127), 0 for a clean merge, and 255 for an
    error (a missing or binary file). Line diffs and conflict hunks match `git merge-file`, so it can
    serve as a git merge driver; see the README.
    """
    from vcrdt import porcelain
    from vcrdt.cli import render
    from vcrdt.merge.diff3 import STYLES

    style = "diff3" if diff3 else "zdiff3" if zdiff3 else conflict_style
    if style not in STYLES:
        raise typer.BadParameter(f"must be one of {', '.join(STYLES)}", param_hint="--conflict-style")
    given = list(label or [])
    if len(given) > 3:
        raise typer.BadParameter("at most three labels", param_hint="-L")
    names = [str(current), str(base), str(other)]
    names[: len(given)] = given
    result = porcelain.merge_file(
        STATE.cwd / current,
        STATE.cwd / base,
        STATE.cwd / other,
        style=style,
        labels=(names[0], names[1], names[2]),
        write=not stdout,
    )
    if stdout:
        render.write_bytes(result.data)
    elif result.conflicts:
        render.err().print(
            f"{current}: {result.conflicts} conflict{'s' if result.conflicts != 1 else ''}", markup=False
        )
    sys.stdout.flush()
    return min(result.conflicts, MAX_EXIT)


def _conflict_json(c: "PathConflict", resolved: bool | None = None) -> dict[str, object]:
    from vcrdt.cli.views import jpath

    def side(s: "Side") -> dict[str, object] | None:
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
    revision: Annotated[str | None, typer.Argument(help="The branch or commit to merge into HEAD.")] = None,
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
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> int:
    """Merge another branch or commit into HEAD with diff3.

    Fast-forwards when possible. Otherwise merges against the common ancestor (several ancestors
    after criss-cross merges are first merged into a virtual one) and commits when clean. On
    conflicts the merged files, with markers, are left in the work tree: see `vcrdt conflicts`,
    fix the files, `vcrdt resolve PATH`, then `vcrdt commit`; or `vcrdt merge --abort`.

    Exit status: 0 merged or up to date, 1 conflicts remain, 2 an error with --dry-run.
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
    if revision is None:
        raise typer.BadParameter("which branch or commit?", param_hint="REVISION")
    style = conflict_style or repo.config_get("merge.conflictstyle") or "merge"
    if style not in STYLES:
        raise typer.BadParameter(f"must be one of {', '.join(STYLES)}", param_hint="--conflict-style")
    try:
        with render.progress("Merging") as on_progress:
            result = porcelain.merge(
                repo,
                revision,
                no_ff=no_ff,
                dry_run=dry_run,
                style=style,
                message=message,
                on_progress=on_progress,
            )
    except VcrdtError as exc:
        if dry_run:
            exc.exit_code = 2
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
            }
        )
        return code
    out = render.data()
    if result.status == "up-to-date":
        out.print("Already up to date.")
    elif result.status == "fast-forward":
        out.print(f"Fast-forward to {short(result.theirs)} ({len(result.changed)} files changed)")
    elif result.status == "merged":
        done = "Would merge" if dry_run else f"Merged {revision} as {short(result.commit) if result.commit else ''}"
        out.print(f"{done} ({len(result.changed)} files changed)")
    else:
        for c in result.conflicts:
            out.print(f"CONFLICT ({c.kind}): {c.path}")
        verb = "Would stop" if dry_run else "Automatic merge stopped"
        render.err().print(
            f"{verb}: {len(result.conflicts)} conflicted path{'s' if len(result.conflicts) != 1 else ''}", markup=False
        )
        if not dry_run and interactive:
            return _interactive(repo, [])
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
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Go through the hunks one by one and choose.")
    ] = False,
) -> int:
    """Mark conflicted paths resolved, optionally taking one side's whole version first.

    --union keeps both sides' lines in each conflicting hunk (ours first), like
    `git merge-file --union`. Without an option the file must already be fixed: no conflict
    markers left. With -i each conflicting hunk is shown and you choose: ours, theirs, both,
    base, edit (in $EDITOR) or skip (the hunk keeps its markers).
    """
    from vcrdt import porcelain
    from vcrdt.cli import render

    repo = open_repo()
    if interactive:
        return _interactive(repo, paths or [])
    if not paths:
        raise typer.BadParameter("which paths?", param_hint="PATHS")
    chosen = [name for name, flag in (("ours", ours), ("theirs", theirs), ("base", base), ("union", union)) if flag]
    if len(chosen) > 1:
        raise typer.BadParameter("choose one of --ours, --theirs, --base, --union")
    done = porcelain.resolve(repo, paths, cwd=STATE.cwd, side=chosen[0] if chosen else None)  # type: ignore[arg-type]
    for p in done:
        render.err().print(f"resolved {p}", markup=False)
    return 0


_KEYS = {"o": "ours", "t": "theirs", "b": "both", "e": "base", "d": "text", "s": "skip"}
_PROMPT = "[o]urs, [t]heirs, [b]oth, bas[e], e[d]it, [s]kip"


def _interactive(repo: "Repository", paths: list[str]) -> int:
    """Ask hunk by hunk for every unresolved text conflict (or those under `paths`)."""
    from vcrdt import porcelain
    from vcrdt.cli import render

    wanted = {porcelain.repo_path(repo, STATE.cwd, p) for p in paths}
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
            render.data().print(f"Hunk {n}/{len(d.hunks)} of {d.conflict.path}:")
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
            render.err().print(f"resolved {d.conflict.path}", markup=False)
        else:
            left += 1
            render.err().print(f"{d.conflict.path}: skipped hunks keep their markers", markup=False)
    return 1 if left else 0


def _edit_hunk(hunk: "ConflictHunk") -> list[bytes]:
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


def _hunk_json(h: "ConflictHunk") -> dict[str, object]:
    return {
        side: {"start": getattr(h, side).start, "lines": getattr(h, side).lines} for side in ("base", "ours", "theirs")
    }


@app.command()
def conflicts(
    json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")] = False,
) -> None:
    """Show the conflicts of the merge in progress, hunk by hunk, base / ours / theirs side by side.

    On a terminal each hunk is a row of three syntax-highlighted panels with line numbers;
    otherwise the three versions of each hunk are printed one after another. --json gives the
    same data (schema 1): per path its conflict kind, the three sides' ids and each hunk's lines.
    """
    from vcrdt import porcelain
    from vcrdt.cli import render

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
        out.print(f"{c.path}: {c.kind} conflict ({state})")
        for n, h in enumerate(d.hunks, 1):
            _print_hunk(c.path, n, h, label=f"hunk {n}, ")


def _print_hunk(path: str, number: int, hunk: "ConflictHunk", *, label: str) -> None:
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


def _print_panels(path: str, number: int, hunk: "ConflictHunk") -> None:
    from rich.panel import Panel
    from rich.syntax import Syntax
    from rich.table import Table

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
    render.out().print(Panel(table, title=f"{path}: hunk {number}", title_align="left"))
