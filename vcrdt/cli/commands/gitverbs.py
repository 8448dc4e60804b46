"""The git verbs scripts and fingers reach for: `rev-parse`, `ls-files`, `clean` and `checkout`.

Each keeps git's flags, output and wording; `checkout` hands over to `switch` and `restore`,
which git split it into.
"""

from __future__ import annotations

import os
from typing import Annotated

from vcrdt.cli import render
from vcrdt.cli.base import STATE, JsonOption, app, open_repo, split_at_dashdash, typer
from vcrdt.cli.render import Text
from vcrdt.cli.views import relative


@app.command(name="rev-parse")
def rev_parse(
    revisions: Annotated[list[str] | None, typer.Argument(help="Revisions to print the ids of.")] = None,
    short: Annotated[bool, typer.Option("--short", help="Print the short (12-digit) ids.")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Take exactly one revision; fail otherwise.")] = False,
    abbrev_ref: Annotated[
        bool, typer.Option("--abbrev-ref", help="Print the branch HEAD (or a branch name) stands for.")
    ] = False,
    show_toplevel: Annotated[bool, typer.Option("--show-toplevel", help="Print the work tree's root.")] = False,
    inside: Annotated[
        bool, typer.Option("--is-inside-work-tree", help="Print `true` inside a repository's work tree.")
    ] = False,
) -> None:
    """Print the commit ids revisions name, one per line, as `git rev-parse` does.

    Revisions are read as everywhere else: HEAD (or @), branch and tag names, full or
    abbreviated ids, and ~N / ^N suffixes. `--abbrev-ref HEAD` prints the checked-out branch
    (`HEAD` when detached). A revision that names nothing is an error (exit 1).
    """
    from vcrdt import porcelain
    from vcrdt.errors import BadRevisionError
    from vcrdt.ids import short as short_id
    from vcrdt.refs import BRANCH_PREFIX

    repo = open_repo()
    con = render.data()
    lines: list[str] = []
    if show_toplevel:
        lines.append(repo.root_dir)
    if inside:
        lines.append("true")
    revs = revisions or []
    if verify and len(revs) != 1:
        raise BadRevisionError(" ".join(revs) or "(none)", "needed a single revision")
    for rev in revs:
        if abbrev_ref:
            if rev in ("HEAD", "@"):
                lines.append(porcelain.branch_of(repo) or "HEAD")
                continue
            if repo.refs.exists(BRANCH_PREFIX + rev):
                lines.append(rev)
                continue
        oid = repo.resolve(rev)
        lines.append(short_id(oid) if short else oid.hex())
    if lines:
        con.write_text("\n".join(lines) + "\n")


@app.command(name="ls-files")
def ls_files(
    paths: Annotated[list[str] | None, typer.Argument(help="List only files under these paths.")] = None,
    cached: Annotated[bool, typer.Option("--cached", "-c", help="Tracked files (the default).")] = False,
    others: Annotated[bool, typer.Option("--others", "-o", help="Untracked files that are not ignored.")] = False,
    ignored: Annotated[bool, typer.Option("--ignored", "-i", help="Ignored files.")] = False,
    modified: Annotated[
        bool, typer.Option("--modified", "-m", help="Tracked files that changed (deleted ones too).")
    ] = False,
    deleted: Annotated[bool, typer.Option("--deleted", "-d", help="Tracked files that are missing.")] = False,
    exclude_standard: Annotated[
        bool,
        typer.Option("--exclude-standard", help="Accepted for git's habit: .vcrdtignore always applies."),
    ] = False,
    zero: Annotated[bool, typer.Option("-z", help="End each path with NUL instead of a newline, unquoted.")] = False,
    json: JsonOption = False,
) -> None:
    """List the work tree's files: tracked ones by default, or the kinds the options name.

    Paths are printed relative to the current directory, and only those under it when run in a
    subdirectory without PATHS, as `git ls-files` does; `--json` gives repository paths.
    """
    from vcrdt.cli.views import jpath
    from vcrdt.porcelain.listing import ls_files as list_files

    del exclude_standard  # always so
    kinds = {k for k, on in (("others", others), ("ignored", ignored), ("modified", modified)) if on}
    if deleted:
        kinds.add("deleted")
    if cached or not kinds:
        kinds.add("cached")
    repo = open_repo()
    found = list_files(repo, kinds, paths or ["."], cwd=STATE.cwd)  # "." is the current directory
    if json:
        render.emit_json({"schema": 1, "files": [jpath(p) for p in found]})
        return
    if zero:
        render.write_bytes(b"".join(os.fsencode(relative(repo, p)) + b"\0" for p in found))
        return
    if found:
        render.data().write_text("".join(render.quote(relative(repo, p)) + "\n" for p in found))


@app.command()
def clean(
    paths: Annotated[list[str] | None, typer.Argument(help="Clean only under these paths.")] = None,
    force: Annotated[bool, typer.Option("--force", "-f", help="Delete (required, unless -n).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Only say what would be removed.")] = False,
    directories: Annotated[
        bool, typer.Option("-d", help="Also remove untracked directories (everything under them).")
    ] = False,
    ignored: Annotated[bool, typer.Option("-x", help="Also remove ignored files.")] = False,
    only_ignored: Annotated[bool, typer.Option("-X", help="Remove only ignored files.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not list what is removed.")] = False,
    json: JsonOption = False,
) -> None:
    """Delete untracked files under the current directory (or PATHS), as `git clean` does.

    Needs -f (or -n to only list them). Without -d, untracked directories (holding no tracked
    file) are left alone; without -x or -X, ignored files are too. Nothing deleted is recorded
    anywhere: `vcrdt undo` cannot bring it back, so look with -n first.
    """
    from vcrdt.porcelain.listing import clean as clean_files

    if not force and not dry_run:
        raise typer.BadParameter(
            "clean deletes untracked files, which nothing can bring back: give -f, or -n to only list them",
            param_hint="-f/-n",
        )
    if ignored and only_ignored:
        raise typer.BadParameter("-x and -X cannot be used together", param_hint="-x/-X")
    repo = open_repo()
    done = clean_files(
        repo,
        paths or ["."],  # the current directory, as git
        cwd=STATE.cwd,
        directories=directories,
        ignored=ignored,
        only_ignored=only_ignored,
        dry_run=dry_run,
    )
    if json:
        render.emit_json({"schema": 1, "dry_run": dry_run, "removed": done.removed, "skipped": done.skipped})
        return
    if quiet and not dry_run:
        return
    verb = "Would remove" if dry_run else "Removing"
    con = render.out()
    for p in done.removed:
        shown = relative(repo, p.rstrip("/")) + ("/" if p.endswith("/") else "")
        con.print(Text(f"{verb} {render.quote(shown)}"))
    if dry_run:
        for p in done.skipped:
            con.print(Text(f"Would skip directory {render.quote(relative(repo, p.rstrip('/')))}/ (-d removes it)"))


@app.command()
def checkout(
    args: Annotated[list[str] | None, typer.Argument(help="A branch or commit, and/or -- PATHS.")] = None,
    new_branch: Annotated[
        str | None, typer.Option("-b", help="Create this branch at the given commit (default HEAD) and switch to it.")
    ] = None,
    detach: Annotated[bool, typer.Option("--detach", help="Check out a commit without a branch.")] = False,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite uncommitted changes that are in the way.")
    ] = False,
) -> None:
    """Switch branches (`vcrdt switch`) or restore files (`vcrdt restore`), as git's checkout does.

    `checkout BRANCH` switches to it; `checkout -b NAME [START]` creates NAME and switches to
    it; `checkout COMMIT` (no branch of that name) detaches HEAD there, as git does;
    `checkout [COMMIT] -- PATHS` rewrites the files with their content in COMMIT (default HEAD).
    Without `--`, an argument that is no revision but an existing path is taken as a path.
    """
    from vcrdt.cli.commands.files import restore
    from vcrdt.cli.commands.switch import switch
    from vcrdt.errors import BadRevisionError
    from vcrdt.refs import BRANCH_PREFIX

    revs, paths = split_at_dashdash(args or [])
    if new_branch is not None:
        if paths or len(revs) > 1:
            raise typer.BadParameter("-b takes one start point and no paths", param_hint="ARGS")
        switch(new_branch, revs[0] if revs else None, create=True, detach=False, force=force)
        return
    if not paths and revs:
        repo = open_repo()
        target, rest = revs[0], revs[1:]
        try:
            repo.resolve(target)
        except BadRevisionError:
            if not os.path.lexists(os.path.join(STATE.cwd, target)):
                raise
            paths, revs = revs, []
        else:
            if rest:
                paths, revs = rest, [target]
            elif not detach and repo.refs.exists(BRANCH_PREFIX + target):
                switch(target, None, create=False, detach=False, force=force)
                return
            else:
                switch(target, None, create=False, detach=True, force=force)
                return
    if not paths:
        raise typer.BadParameter("which branch, commit or paths?", param_hint="ARGS")
    restore(paths, source=revs[0] if revs else None)
