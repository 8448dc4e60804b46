"""`vcrdt git import | export | map`: bring git histories in and take them back out, id for id."""

from __future__ import annotations

from pathlib import Path

from vcrdt.cli import render
from vcrdt.cli.base import STATE, app, open_repo, typer

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Annotated, Any, TypeAlias

    from vcrdt.gitio import ExportSummary, ImportSummary

# A group of the registry (not a typer app), so the parse table reads `vcrdt git import ...`
# without importing typer: an import that finds nothing to do costs little more than Python's start.
git_app = app.group(
    "git",
    help="Import git repositories and export to git: git -> vcrdt -> git gives the same git ids.",
    no_args_is_help=True,
)
# Each option once: a string the registry evaluates when it builds the typer app (typer is not
# imported before), which mypy reads as the same type (an alias by forward reference).
_Json: TypeAlias = 'Annotated[bool, typer.Option("--json", help="Print a machine-readable summary on stdout.")]'
_Quiet: TypeAlias = 'Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")]'
_Refs: TypeAlias = (
    'Annotated[list[str] | None, typer.Option("--ref", show_default=False, help="Only refs matching this'
    " pattern (fnmatch): a full name ('refs/heads/release/*') or a branch or tag name ('release/*');"
    ' repeatable. Default: every branch and tag.")]'
)
_SkipInvalid: TypeAlias = (
    'Annotated[bool, typer.Option("--skip-invalid", help="Skip a commit or tag vcrdt refuses (and what is'
    ' built on it), with a warning naming it, instead of importing nothing.")]'
)
_GitDir: TypeAlias = (
    'Annotated[Path, typer.Argument(help="The git repository: bare, a work tree, or its .git directory.")]'
)
_Format: TypeAlias = (
    'Annotated[str | None, typer.Option("--object-format", show_default=False, help="sha1 or sha256, for a'
    " git repository created here (default: the object format the exported history was imported from, as"
    ' its git records say, wherever it was imported; else sha1).")]'
)


def _hex(oid: bytes | str | None) -> str | None:
    if oid is None:
        return None
    return oid if isinstance(oid, str) else oid.hex()


def _summary_json(kind: str, s: ImportSummary | ExportSummary, where: str) -> dict[str, Any]:
    doc = {
        "schema": 1,
        kind: where,
        "commits": s.commits,
        "tags": s.tags,
        "trees": s.trees,
        "blobs": s.blobs,
        "refs": [{"name": n, "old": _hex(a), "new": _hex(b)} for n, a, b in s.refs],
        "warnings": list(s.warnings),
    }
    skipped = getattr(s, "skipped", None)
    if skipped is not None:
        doc["skipped"] = [{"git": g, "reason": why} for g, why in skipped]
    return doc


def _print(s: ImportSummary | ExportSummary, verb: str) -> None:
    err = render.err()
    err.print(
        f"{verb} {s.commits} commits, {s.tags} tags, {s.trees} trees, {s.blobs} blobs",
        markup=False,
    )
    for name, old, new in s.refs:
        if new is None:
            state = "deleted"
        elif old is None:
            state = f"new at {_hex(new)[:12]}"  # type: ignore[index]
        else:
            state = f"{_hex(old)[:12]} -> {_hex(new)[:12]}"  # type: ignore[index]
        err.print(f"  {render.quote(name)}: {state}", markup=False)
    for _gid, why in getattr(s, "skipped", ()):
        err.print(f"warning: skipped {render.escape_text(why)}", markup=False)
    for w in s.warnings:
        err.print(f"warning: {render.escape_text(w)}", markup=False)


def new_repo_from_git(
    target: Path, gitdir: Path, *, initial_branch: str | None, refs: list[str] | None, quiet: bool, json: bool
) -> ImportSummary:
    """`init --from-git` and `clone --from-git`: a new repository at `target` with the git history imported.

    The first branch is git's checked-out branch (or `initial_branch`, or main) and is checked
    out. A refused import leaves nothing behind: the repository made here is removed.
    """
    import shutil

    from vcrdt import porcelain
    from vcrdt.cli.base import settings
    from vcrdt.gitio import import_git
    from vcrdt.gitio.importer import git_head_branch
    from vcrdt.paths import META_DIR
    from vcrdt.repo import Repository

    branch = initial_branch or git_head_branch(gitdir) or "main"
    made_dir = not target.exists()
    porcelain.init(target, settings(), initial_branch=branch)
    try:
        with Repository(target, settings()) as repo:
            with render.progress("Importing commits", enabled=not quiet and not json) as bar:
                summary = import_git(repo, gitdir, refs or (), on_progress=bar)
    except BaseException:
        shutil.rmtree(target if made_dir else target / META_DIR, ignore_errors=True)
        raise
    if json:
        doc = _summary_json("source", summary, summary.source)
        doc["directory"] = str(target)
        doc["branch"] = branch
        render.emit_json(doc)
    elif not quiet:
        _print(summary, "imported")
    return summary


@git_app.command("import")
def git_import(
    gitdir: _GitDir, ref: _Refs = None, json: _Json = False, quiet: _Quiet = False, skip_invalid: _SkipInvalid = False
) -> None:
    """Import a git repository's branches and tags, with every commit, tree, blob and tag they reach.

    Incremental: a second run reads only commits not imported before, and moves or deletes
    branches that moved or were deleted in git since the last import from the same git
    directory (a branch that also moved here is kept, with a warning). Everything git holds
    that vcrdt's own fields do not (committer, extra headers, signatures, encodings, odd tree
    orders and modes) is kept in the history, so any replica exports the same git ids. A
    commit or path vcrdt refuses (a '..' or '.vcrdt' name, a NUL in a message) stops the
    import with one error naming it; nothing is imported then, unless --skip-invalid, which
    leaves it out (with every commit built on it and the refs naming them) and says so.
    """
    from vcrdt.gitio.refsel import up_to_date

    repo = open_repo()
    # Nothing moved in git since the last import: said without loading the importer (or pygit2).
    summary = up_to_date(repo, Path(STATE.cwd, gitdir), ref or ())
    if summary is None:
        from vcrdt.gitio import import_git

        with render.progress("Importing commits", enabled=not quiet and not json) as bar:
            summary = import_git(repo, Path(STATE.cwd, gitdir), ref or (), on_progress=bar, skip_invalid=skip_invalid)
    if json:
        render.emit_json(_summary_json("source", summary, summary.source))
    elif not quiet:
        _print(summary, "imported")


@git_app.command("export")
def git_export(
    gitdir: _GitDir, ref: _Refs = None, json: _Json = False, quiet: _Quiet = False, object_format: _Format = None
) -> None:
    """Export branches and tags to a git repository (created, bare, if missing).

    Imported history goes back byte for byte (same git ids); vcrdt's own commits carry
    their Lamport clock, replica, vector clock and resolutions in vcrdt-* headers, so
    importing them again gives the same vcrdt ids. Siblings of a branch: refs/heads/NAME is
    the head the tie-break order puts last, refs/vcrdt/siblings/NAME/N the others.
    Incremental: commits the git repository holds are not written again.
    """
    from vcrdt.gitio import export_git

    repo = open_repo()
    with render.progress("Exporting commits", enabled=not quiet and not json) as bar:
        summary = export_git(repo, Path(STATE.cwd, gitdir), ref or (), on_progress=bar, object_format=object_format)
    if json:
        render.emit_json(_summary_json("target", summary, summary.target))
    elif not quiet:
        _print(summary, "exported")


@git_app.command("map")
def git_map(
    rev: Annotated[str, typer.Argument(help="A git id (40 hex digits), or a vcrdt revision or id.")],
    json: _Json = False,
) -> None:
    """Print the vcrdt id of a git id, or the git id of a vcrdt revision."""
    from vcrdt.gitio import map_rev

    m = map_rev(open_repo(), rev)
    if json:
        render.emit_json({"schema": 1, "vcrdt": m.vcrdt_id, "git": m.git_id, "kind": m.kind})
    else:
        typer.echo(m.vcrdt_id if m.git_id == rev.strip().lower() else m.git_id)
