"""`vcrdt status`."""

from __future__ import annotations

from typing import Annotated

from vcrdt.cli import render, views
from vcrdt.cli.base import JsonOption, app, open_repo, typer
from vcrdt.cli.render import Text
from vcrdt.ids import short


@app.command()
def status(
    ignored: Annotated[bool, typer.Option("--ignored", help="Also list ignored files.")] = False,
    short_: Annotated[bool, typer.Option("--short", "-s", help="One line per path with a status letter.")] = False,
    json: JsonOption = False,
) -> None:
    """Show the branch and how the work tree differs from HEAD.

    Categories: conflicted (U, during a merge), modified (M), added (A), deleted (D, missing from disk), removed (R, by
    `vcrdt rm`), untracked (?), and with --ignored, ignored (!).
    """
    from vcrdt import porcelain

    st = porcelain.status(open_repo(), ignored=ignored)
    ch = st.changes
    groups = [
        ("conflicted", "U", st.conflicted),
        ("modified", "M", ch.modified),
        ("added", "A", ch.added),
        ("deleted", "D", ch.deleted),
        ("removed", "R", ch.removed),
        ("untracked", "?", ch.untracked),
    ]
    if ignored:
        groups.append(("ignored", "!", ch.ignored))
    if json:
        doc: dict[str, object] = {
            "schema": 1,
            "branch": st.branch,
            "head": st.head.hex() if st.head else None,
            "clean": ch.is_clean and st.merging is None,
            "merging": st.merging.hex() if st.merging else None,
            "siblings": [h.hex() for h in st.siblings],
        }
        doc.update({name: [views.jpath(p) for p in paths] for name, _, paths in groups})
        render.emit_json(doc)
        return
    con = render.data()
    if short_:
        for name, letter, paths in groups:
            for p in paths:
                con.print(Text(f"{letter} {render.quote(p)}", style=name))
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
    if not any(paths for _, _, paths in groups):
        con.print(Text("nothing to commit, working tree clean"))
        return
    for name, _, paths in groups:
        if not paths:
            continue
        con.print()
        con.print(Text(f"{name.capitalize()}:"))
        for p in paths:
            con.print(Text(f"  {render.quote(p)}", style=name))
