"""`vcrdt status`."""

from __future__ import annotations

import sys

from vcrdt.cli import render, views
from vcrdt.cli.base import JsonOption, app, open_repo, typer
from vcrdt.cli.render import Text
from vcrdt.ids import short

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Annotated


@app.command()
def status(
    ignored: Annotated[bool, typer.Option("--ignored", help="Also list ignored files.")] = False,
    short_: Annotated[
        bool, typer.Option("--short", "-s", help="One line per path with git's status letters (XY PATH).")
    ] = False,
    porcelain_: Annotated[
        bool,
        typer.Option("--porcelain", help="As --short, stable for scripts (git's v1), paths from the root."),
    ] = False,
    untracked_files: Annotated[
        str,
        typer.Option(
            "-u",
            "--untracked-files",
            help="normal (default): a directory with no tracked file once, as DIR/; all: every file; no: none.",
            metavar="MODE",
        ),
    ] = "normal",
    json: JsonOption = False,
) -> None:
    """Show the branch and how the work tree differs from HEAD.

    Categories: conflicted (during a merge), renamed, modified, added, deleted (missing from
    disk), removed (by `vcrdt rm`), untracked, and with --ignored, ignored. A rename is a removed
    or deleted path paired with an added one of the same or similar content (at least half its
    lines, as merges detect renames).

    --short (-s) and --porcelain print one line per path with git's two status letters: `M `
    modified, `A ` added, `D ` deleted or removed, `R  OLD -> NEW` renamed, `UU` conflicted (a
    conflicted path is listed once), `??` untracked, `!!` ignored. vcrdt has no staging area:
    every change to a tracked file goes into the next commit (as `git commit -a` takes it), so
    the letter is always in git's first column (the index's) and the second is blank. Paths are
    shown relative to the current directory (as in the long output), except with --porcelain:
    from the repository root, in a format that does not change between versions (git's
    porcelain v1). --json lists the categories by name, paths from the root, and the renames
    as pairs.

    Untracked files are listed as git lists them: a directory that holds no tracked file once,
    as `dir/` (`-u all` lists every file in it, `-u no` none), in every format.
    """
    from vcrdt import porcelain

    if untracked_files not in ("normal", "all", "no"):
        raise typer.BadParameter("must be one of normal, all, no", param_hint="--untracked-files")
    repo = open_repo()
    st = porcelain.status(repo, ignored=ignored, untracked_files=untracked_files)  # type: ignore[arg-type]
    ch = st.changes
    if json:
        doc: dict[str, object] = {
            "schema": 1,
            "branch": st.branch,
            "head": st.head.hex() if st.head else None,
            "clean": ch.is_clean and st.merging is None,
            "merging": st.merging.hex() if st.merging else None,
            "siblings": [h.hex() for h in st.siblings],
        }
        groups = [
            ("conflicted", st.conflicted),
            ("modified", ch.modified),
            ("added", ch.added),
            ("deleted", ch.deleted),
            ("removed", ch.removed),
            ("untracked", ch.untracked),
        ] + ([("ignored", ch.ignored)] if ignored else [])
        doc.update({name: [views.jpath(p) for p in paths] for name, paths in groups})
        doc["renamed"] = [{"from": views.jpath(a), "to": views.jpath(b)} for a, b in st.renamed]
        render.emit_json(doc)
        return
    olds, news = {a for a, _ in st.renamed}, {b for _, b in st.renamed}

    def shown(path: str) -> str:
        return render.quote(path if porcelain_ else views.relative(repo, path))

    # (category, status letters, what is shown, the path it sorts by)
    lines: list[tuple[str, str, str, str]] = [("conflicted", "UU", shown(p), p) for p in st.conflicted]
    lines += [("renamed", "R ", f"{shown(a)} -> {shown(b)}", b) for a, b in st.renamed]
    lines += [("modified", "M ", shown(p), p) for p in ch.modified]
    lines += [("added", "A ", shown(p), p) for p in ch.added if p not in news]
    lines += [("deleted", "D ", shown(p), p) for p in ch.deleted if p not in olds]
    lines += [("removed", "D ", shown(p), p) for p in ch.removed if p not in olds]
    lines.sort(key=lambda line: line[3])
    lines += [("untracked", "??", shown(p), p) for p in ch.untracked]
    if ignored:
        lines += [("ignored", "!!", shown(p), p) for p in ch.ignored]
    if porcelain_:
        sys.stdout.write("".join(f"{code} {text}\n" for _, code, text, _ in lines))
        return
    con = render.data()
    if short_:
        for name, code, text, _ in lines:
            con.print(Text(f"{code} {text}", style=name))
        return
    where = f"On branch {render.quote(st.branch)}" if st.branch else "HEAD detached"
    if st.head is None:
        where += " (no commits yet)"
    elif not st.branch:
        where += f" at {short(st.head)}"
    con.print(Text(where))
    if st.siblings:
        others = ", ".join(short(h) for h in st.siblings)
        con.print(
            Text(
                f"The branch has {len(st.siblings) + 1} concurrent heads: {short(st.head) if st.head else ''} (here)"
                f" and {others}; `vcrdt merge` joins them",
                style="warning",
            )
        )
    if st.merging is not None:
        con.print(
            Text(
                f"Merging {short(st.merging)}: "
                + (
                    f"{len(st.conflicted)} path(s) in conflict (fix, `vcrdt resolve`, then `vcrdt commit`)"
                    if st.conflicted
                    else "all conflicts resolved (run `vcrdt commit`)"
                )
            )
        )
    if not lines:
        con.print(Text("nothing to commit, working tree clean"))
        return
    for name in ("conflicted", "renamed", "modified", "added", "deleted", "removed", "untracked", "ignored"):
        texts = [text for kind, _, text, _ in lines if kind == name]
        if not texts:
            continue
        con.print()
        con.print(Text(f"{name.capitalize()}:"))
        for text in texts:
            con.print(Text(f"  {text}", style=name))
