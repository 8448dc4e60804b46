"""`vcrdt add`, `rm`, `mv` and `restore`: changing which files are tracked and their content."""

from __future__ import annotations

from vcrdt.cli import render, views
from vcrdt.cli.base import STATE, app, open_repo, typer
from vcrdt.cli.render import Text

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Annotated

    Paths = Annotated[list[str], typer.Argument(help="Files or directories.")]
else:
    Paths = 'Annotated[list[str], typer.Argument(help="Files or directories.")]'  # read by `Registry.build`


@app.command()
def add(
    paths: Paths,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List each file added.")] = False,
    force: Annotated[bool, typer.Option("--force", "-f", help="Add files a .vcrdtignore file ignores.")] = False,
) -> int:
    """Start tracking files; a directory adds every file under it that is not ignored.

    There is no staging area: once tracked, every change is recorded by the next commit. A path
    that .vcrdtignore ignores is refused (exit 1, nothing added) unless --force, which also adds
    the ignored files under a directory given.
    """
    from vcrdt import porcelain
    from vcrdt.errors import IgnoredPathsError

    repo = open_repo()
    try:
        added = porcelain.add(repo, paths, cwd=STATE.cwd, force=force)
    except IgnoredPathsError as exc:
        err = render.err()
        err.print(Text("The following paths are ignored by one of your .vcrdtignore files:"))
        for p in exc.paths:
            err.print(Text(render.quote(p)))
        err.print(Text("hint: Use -f if you really want to add them.", style="hint"))
        return 1
    if verbose:
        for p in added:
            render.err().print(Text(f"add {render.quote(p)}"))  # from the root, as git
    else:
        render.err().print(Text(f"tracking {len(added)} new file{'s' if len(added) != 1 else ''}"))
    return 0


@app.command()
def rm(
    paths: Paths,
    cached: Annotated[bool, typer.Option("--cached", help="Stop tracking but keep the files on disk.")] = False,
    recursive: Annotated[bool, typer.Option("-r", help="Remove every tracked file under a directory.")] = False,
) -> None:
    """Stop tracking files and delete them from the work tree (the next commit records it).

    A directory needs -r, as in git. With --cached the files stay on disk, untracked.
    """
    from vcrdt import porcelain

    repo = open_repo()
    for p in porcelain.rm(repo, paths, cwd=STATE.cwd, cached=cached, recursive=recursive):
        render.err().print(Text(f"rm {render.quote(p)}"))  # from the root, as git


@app.command()
def mv(
    source: Annotated[str, typer.Argument(help="A tracked file, or a directory of tracked files.")],
    destination: Annotated[str, typer.Argument(help="The new name, or an existing directory to move it into.")],
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing destination file.")] = False,
) -> None:
    """Rename or move a tracked file or directory, as git mv does.

    A directory moves every tracked file under it (untracked files stay); when DESTINATION is an
    existing directory, SOURCE moves into it. An existing destination file is refused without -f.
    """
    from vcrdt import porcelain

    repo = open_repo()
    for src, dst in porcelain.mv(repo, source, destination, cwd=STATE.cwd, force=force):
        shown = f"{render.quote(src)} -> {render.quote(dst)}"  # from the root, as git
        render.err().print(Text(f"rename {shown}"))


@app.command()
def restore(
    paths: Paths,
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Take the content from this commit (default HEAD).")
    ] = None,
) -> None:
    """Discard work-tree changes: rewrite files with their content in HEAD (or --source).

    Lists the files it rewrote: a file that already holds that content is left alone.
    """
    from vcrdt import porcelain

    repo = open_repo()
    for p in porcelain.restore(repo, paths, cwd=STATE.cwd, source=source):
        render.err().print(Text(f"restored {render.quote(views.relative(repo, p))}"))
