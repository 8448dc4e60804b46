"""`vcrdt conflicts`, `resolve` and `reopen`: showing, settling and reopening a merge's conflicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from vcrdt.cli.base import STATE, app, open_repo, typer
from vcrdt.cli.views import relative

if TYPE_CHECKING:
    from vcrdt.merge.conflicts import PathConflict, Side
    from vcrdt.porcelain import AutoRecord, ConflictHunk
    from vcrdt.repo import Repository


def conflict_json(c: PathConflict, resolved: bool | None = None) -> dict[str, object]:
    """Return the JSON shape of a path's conflict, as merge, conflicts and reopen print it."""
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
    repo = open_repo()
    found = porcelain.conflict_details(repo)
    if json:
        render.emit_json(
            {
                "schema": 1,
                "conflicts": [
                    conflict_json(d.conflict, d.resolved) | {"hunk_texts": [_hunk_json(h) for h in d.hunks]}
                    for d in found
                ],
            }
        )
        return
    from vcrdt.cli.pager import paged

    with paged(repo):
        out = render.data()
        for d in found:
            c = d.conflict
            state = "resolved" if d.resolved else "unresolved"
            out.print(f"{render.quote(relative(repo, c.path))}: {c.kind} conflict ({state})")
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
    hunk is shown and you choose: ours, theirs, both, base, edit or skip (the hunk keeps its
    markers). Edit opens the editor ($VCRDT_EDITOR, $VISUAL, $EDITOR, core.editor, then vi) on
    the hunk with its markers, labels and base (diff3 style); what you save replaces the hunk,
    `#` lines included, unless a marker line is left (then you choose again).
    """
    from vcrdt import porcelain
    from vcrdt.cli import render

    repo = open_repo()
    if interactive:
        return resolve_interactively(repo, paths or [])
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
        render.err().print(f"resolved {render.quote(relative(repo, p))}", markup=False)
    return 0


_KEYS = {"o": "ours", "t": "theirs", "b": "both", "e": "base", "d": "text", "s": "skip"}
_PROMPT = "[o]urs, [t]heirs, [b]oth, bas[e], e[d]it, [s]kip"


def resolve_interactively(repo: Repository, paths: list[str], *, only: set[str] | None = None) -> int:
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
            render.data().print(f"Hunk {n}/{len(d.hunks)} of {render.quote(relative(repo, d.conflict.path))}:")
            _print_hunk(d.conflict.path, n, h, label="")
            while True:
                answer = typer.prompt(_PROMPT, default="s", show_default=False).strip().lower()[:1]
                if answer not in _KEYS:
                    render.err().print(f"please answer with one of: {_PROMPT}", markup=False)
                    continue
                action = _KEYS[answer]
                text = _edit_hunk(repo, d.conflict.path, h) if action == "text" else None
                if action == "text" and text is None:
                    render.err().print("the edited hunk still has conflict markers: choose again", markup=False)
                    continue
                break
            choices.append(porcelain.HunkChoice(action, text))  # type: ignore[arg-type]
        if porcelain.resolve_hunks(repo, d.conflict.path, choices):
            render.err().print(f"resolved {render.quote(relative(repo, d.conflict.path))}", markup=False)
        else:
            left += 1
            render.err().print(
                f"{render.quote(relative(repo, d.conflict.path))}: skipped hunks keep their markers", markup=False
            )
    return 1 if left else 0


def _edit_hunk(repo: Repository, path: str, hunk: ConflictHunk) -> list[bytes] | None:
    """Open the editor on the hunk with markers, labels and base (diff3 style); return the lines saved.

    The editor is the message editor's (`vcrdt.cli.editor`). None when the saved text still
    has a conflict marker line: the hunk is not resolved by it.
    """
    import os

    from vcrdt.cli import editor
    from vcrdt.porcelain import MARKER_PREFIXES
    from vcrdt.porcelain.merging import head_label

    def block(lines: list[str]) -> list[str]:
        return [*lines[:-1], lines[-1] if lines[-1].endswith("\n") else lines[-1] + "\n"] if lines else []

    text = "".join(
        [
            f"<<<<<<< {head_label(repo)}\n",
            *block(hunk.ours.lines),
            "||||||| base\n",
            *block(hunk.base.lines),
            "=======\n",
            *block(hunk.theirs.lines),
            ">>>>>>> theirs\n",
        ]
    )
    suffix = os.path.splitext(path)[1]
    name = "RESOLVE_HUNK" + (suffix if suffix[1:].isalnum() and len(suffix) <= 16 else "")
    data = editor.edit_bytes(
        repo.meta / name, text.encode("utf-8", "surrogateescape"), config=repo.config_get("core.editor")
    )
    if data and not data.endswith(b"\n"):
        data += b"\n"
    lines = data.splitlines(keepends=True)
    bare = {c * 7 for c in (b"<", b"|", b"=", b">")}
    if any(line.startswith(MARKER_PREFIXES) or line.rstrip(b"\r\n") in bare for line in lines):
        return None
    return lines


def _hunk_json(h: ConflictHunk) -> dict[str, object]:
    return {
        side: {"start": getattr(h, side).start, "lines": getattr(h, side).lines} for side in ("base", "ours", "theirs")
    }


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
    the merge; or `vcrdt merge --abort` to leave things as they were. After `merge --auto`, "ours"
    is the version this replica committed and "theirs" the other replica's.
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
        render.emit_json({"schema": 1, "conflicts": [conflict_json(c, False) for c in found]})
        return
    out = render.data()
    for c in found:
        out.print(f"CONFLICT ({c.kind}): {render.quote(c.path)}")  # from the root, as git
    render.err().print(
        "hint: fix them, `vcrdt resolve PATH`, then `vcrdt commit`; or `vcrdt merge --abort`", markup=False
    )
