"""Listing the work tree's files by kind (`ls-files`) and deleting the untracked ones (`clean`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vcrdt.porcelain._shared import repo_path

if TYPE_CHECKING:
    from vcrdt.repo import Repository

# What `ls_files` can list; `cached` is the tracked files.
KINDS = ("cached", "others", "ignored", "modified", "deleted")


def _under(specs: list[str]) -> tuple[str, ...] | None:
    """The repository-path prefixes `specs` select (None: everything)."""
    if not specs or "." in specs:
        return None
    return tuple(specs)


def _selected(path: str, prefixes: tuple[str, ...] | None) -> bool:
    return prefixes is None or any(path == p or path.startswith(p + "/") for p in prefixes)


def ls_files(repo: Repository, kinds: set[str], paths: list[str], *, cwd: str | os.PathLike[str]) -> list[str]:
    """List the repository paths of the given kinds under `paths` (all of the work tree when empty), sorted.

    Args:
        repo: The repository.
        kinds: Some of `KINDS` (``cached``: tracked; ``others``: untracked and not ignored;
            ``ignored``; ``modified``: tracked and changed, deleted included, as git lists them;
            ``deleted``: tracked and missing).
        paths: Command-line paths (relative to `cwd`) the listing is restricted to.
        cwd: The directory the paths are relative to.

    Raises:
        WorktreeError: If a path lies outside the repository.
        BadPathError: If a path breaks a path rule.
    """
    prefixes = _under([repo_path(repo, cwd, p) for p in paths])
    out: set[str] = set()
    if "cached" in kinds:
        out |= {p for p, state in repo.worktree.states().items() if state != "removed"}
    if kinds & {"others", "ignored", "modified", "deleted"}:
        st = repo.worktree.status(want_ignored="ignored" in kinds)
        if "others" in kinds:
            out |= set(st.untracked)
        if "ignored" in kinds:
            out |= set(st.ignored)
        if "modified" in kinds:
            out |= set(st.modified) | set(st.deleted)
        if "deleted" in kinds:
            out |= set(st.deleted)
    return sorted(p for p in out if _selected(p, prefixes))


@dataclass(frozen=True, slots=True)
class Cleaned:
    """What `clean` removed (or with a dry run, would remove)."""

    # Files, and untracked directories as ``dir/`` (everything under them), as git reports them.
    removed: list[str]
    # Untracked directories left alone because `directories` was not asked for.
    skipped: list[str]


def clean(
    repo: Repository,
    paths: list[str],
    *,
    cwd: str | os.PathLike[str],
    directories: bool = False,
    ignored: bool = False,
    only_ignored: bool = False,
    dry_run: bool = False,
) -> Cleaned:
    """Delete untracked files under `paths` (the whole work tree when empty), as `git clean` does.

    A file in a directory that holds no tracked file belongs to an untracked directory, which
    goes only with `directories` and is reported once, as ``dir/``. Ignored files go only with
    `ignored` (as well as the untracked ones) or `only_ignored` (only them). Files are deleted
    one by one inside the work tree, never through a symlink; the work tree's directories left
    empty go with them. Nothing is recorded: as with git, what `clean` deletes was never stored.

    Raises:
        WorktreeError: If a path lies outside the repository, or a file cannot be deleted.
        BadPathError: If a path breaks a path rule, or a parent directory is a symlink.
    """
    prefixes = _under([repo_path(repo, cwd, p) for p in paths])
    st = repo.worktree.status(want_ignored=ignored or only_ignored)
    victims: list[str] = [] if only_ignored else list(st.untracked)
    if ignored or only_ignored:
        victims += st.ignored
    tracked_dirs = {"."}
    for p in repo.worktree.states():
        parts = p.split("/")
        tracked_dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
    units: dict[str, list[str]] = {}
    for p in sorted(set(victims)):
        if not _selected(p, prefixes):
            continue
        parts = p.split("/")
        unit = p
        for i in range(1, len(parts)):
            top = "/".join(parts[:i])
            if top not in tracked_dirs and (prefixes is None or any(top.startswith(q + "/") for q in prefixes)):
                unit = top + "/"
                break
        units.setdefault(unit, []).append(p)
    removed = [u for u in sorted(units) if directories or not u.endswith("/")]
    skipped = [u for u in sorted(units) if not directories and u.endswith("/")]
    if not dry_run:
        for unit in removed:
            for p in units[unit]:
                repo.worktree.delete_file(p)
    return Cleaned(removed, skipped)
