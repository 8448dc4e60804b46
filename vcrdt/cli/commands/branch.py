"""`vcrdt branch` and `vcrdt tag`."""

from __future__ import annotations

from typing import Annotated

from vcrdt.cli import render
from vcrdt.cli.base import JsonOption, app, complete_branches, complete_tags, open_repo, typer
from vcrdt.cli.render import Text
from vcrdt.ids import short


@app.command()
def branch(
    name: Annotated[
        str | None,
        typer.Argument(help="Branch to create (or with -m, the old name).", autocompletion=complete_branches),
    ] = None,
    start: Annotated[
        str | None, typer.Argument(help="Where the new branch starts (default HEAD); with -m, the new name.")
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", "-d", help="Delete NAME if HEAD contains it.")] = False,
    force_delete: Annotated[bool, typer.Option("-D", help="Delete NAME even if it is not merged.")] = False,
    rename: Annotated[bool, typer.Option("--move", "-m", help="Rename branch NAME to START.")] = False,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Create NAME at START, or move it there if it exists.")
    ] = False,
    json: JsonOption = False,
) -> None:
    """List branches, or create, delete (-d/-D), rename (-m OLD NEW) or move (-f NAME START) one.

    A branch with several concurrent heads (siblings from a sync) lists each head.

    -f NAME START points an existing branch at START (default HEAD), replacing every head it
    had (not the checked-out branch: use `vcrdt reset` for that). This is a local rewrite: the
    replaced heads are tombstoned for the branch (as -d does), so a later sync or fetch does
    not bring them back; they stay reachable from the operation log (`vcrdt oplog`, `vcrdt
    undo`) until a future `gc` expires them.
    """
    from vcrdt import porcelain

    repo = open_repo()
    con = render.err()
    if force and not (delete or force_delete or rename):
        if not name:
            raise typer.BadParameter("which branch?", param_hint="NAME")
        old, oid = porcelain.branch_force(repo, name, start)
        if old is None:
            con.print(Text(f"Created branch {render.quote(name)} at {short(oid)}"))
        else:
            con.print(Text(f"Reset branch {render.quote(name)} to {short(oid)} (was {short(old)})"))
        return
    if delete or force_delete:
        if not name:
            raise typer.BadParameter("which branch?", param_hint="NAME")
        oid = porcelain.branch_delete(repo, name, force=force_delete)
        con.print(Text(f"Deleted branch {render.quote(name)} (was {short(oid)})"))
        return
    if rename:
        if not name or not start:
            raise typer.BadParameter("give the old and the new name", param_hint="NAME START")
        porcelain.branch_rename(repo, name, start)
        con.print(Text(f"Renamed branch {render.quote(name)} to {render.quote(start)}"))
        return
    if name:
        oid = porcelain.branch_create(repo, name, start)
        con.print(Text(f"Created branch {render.quote(name)} at {short(oid)}"))
        return
    branches = porcelain.branch_list(repo)
    if json:
        render.emit_json(
            [{"name": b.name, "heads": [h.hex() for h in b.heads], "current": b.current} for b in branches]
        )
        return
    out = render.data()
    for b in branches:
        mark = "* " if b.current else "  "
        line = Text(mark)
        line.append(render.quote(b.name), style="head" if b.current else "ref")
        line.append(" " + " ".join(short(h) for h in b.heads), style="oid")
        line.append(f" {b.summary}")
        if len(b.heads) > 1:
            line.append(f"  ({len(b.heads)} concurrent heads)", style="warning")
        out.print(line)


@app.command()
def tag(
    name: Annotated[str | None, typer.Argument(help="Tag to create or delete.", autocompletion=complete_tags)] = None,
    revision: Annotated[str | None, typer.Argument(help="The commit to tag (default HEAD).")] = None,
    delete: Annotated[bool, typer.Option("--delete", "-d", help="Delete the tag.")] = False,
    force: Annotated[bool, typer.Option("--force", "-f", help="Move an existing tag.")] = False,
    annotate: Annotated[
        bool, typer.Option("--annotate", "-a", help="An annotated tag: the editor opens on its message.")
    ] = False,
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="The message of an annotated tag (implies -a).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """List tags, or create (NAME [REVISION]) or delete (-d NAME) one.

    With -a or -m the tag is annotated: it carries a message and the tagger (the configured
    author) and date, and `git export` writes it as a git tag object. Without -m the editor
    opens ($VCRDT_EDITOR, $VISUAL, $EDITOR, core.editor, then vi); lines starting with `#` are
    dropped and an empty message aborts, as for `commit`.
    """
    from vcrdt import porcelain

    repo = open_repo()
    if delete:
        if not name:
            raise typer.BadParameter("which tag?", param_hint="NAME")
        porcelain.tag_delete(repo, name)
        render.err().print(Text(f"Deleted tag {render.quote(name)}"))
        return
    if (annotate or message is not None) and not name:
        raise typer.BadParameter("which tag?", param_hint="NAME")
    if name:
        if annotate and message is None:
            from vcrdt.cli import editor
            from vcrdt.errors import EmptyMessageError

            lines = [
                "",
                "Write a message for tag:",
                f"  {render.quote(name)}",
                "Lines starting with '#' will be ignored.",
            ]
            try:
                message = editor.edit(repo.meta, editor.template("", lines), config=repo.config_get("core.editor"))
            except EmptyMessageError:
                raise EmptyMessageError("no tag message") from None
        oid = porcelain.tag_create(repo, name, revision, force=force, message=message)
        render.err().print(Text(f"Tagged {short(oid)} as {render.quote(name)}"))
        return
    tags = porcelain.tag_list(repo)
    if json:
        render.emit_json([{"name": t.name, "id": t.oid.hex(), "summary": t.summary} for t in tags])
        return
    for t in tags:
        render.data().print(Text(render.quote(t.name)))
