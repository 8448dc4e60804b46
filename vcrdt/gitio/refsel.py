"""Which git refs an import reads, where they go here, and whether any moved since the last import.

Kept apart from `vcrdt.gitio.importer` (and light: no pygit2, no object parsing) so that an
import with nothing to do (`up_to_date`) loads only this, `maps` and `plumbing`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path

from vcrdt.gitio import maps
from vcrdt.gitio.plumbing import GitDir
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Protocol

    from vcrdt.ids import ObjectId
    from vcrdt.repo import Repository

    class _HasRefs(Protocol):
        def refs(self) -> dict[str, bytes]: ...

    class _HasPath(Protocol):
        @property
        def path(self) -> str | Path: ...


SIBLINGS_PREFIX = "refs/vcrdt/siblings/"
DEFAULT_REFS = ("refs/heads/*", "refs/tags/*", SIBLINGS_PREFIX + "*")


class ImportSummary:
    """What one import did."""

    __slots__ = ("blobs", "checkout", "commits", "refs", "skipped", "source", "tags", "trees", "warnings")

    def __init__(self, source: str) -> None:
        """Nothing done yet, from the git directory `source`."""
        self.source = source
        self.commits = 0
        self.tags = 0
        self.trees = 0
        self.blobs = 0
        # (vcrdt ref name, vcrdt id before or None, vcrdt id after or None (deleted))
        self.refs: list[tuple[str, ObjectId | None, ObjectId | None]] = []
        self.warnings: list[str] = []
        self.checkout: ObjectId | None = None
        # (git id, hex; why): commits and tags left out under ``skip_invalid``
        self.skipped: list[tuple[str, str]] = []


def source_key(git: _HasPath) -> str:
    """The name the ref state of a git repository is kept under: its git directory, absolute."""
    return str(Path(git.path).resolve())


def ref_matches(name: str, patterns: Iterable[str]) -> bool:
    """Tell whether a full ref name matches a pattern (``fnmatch``); a pattern not under ``refs/`` is a short name.

    >>> ref_matches("refs/heads/release/1", ["release/*"]), ref_matches("refs/tags/v1", ["refs/heads/*"])
    (True, False)
    """
    for p in patterns:
        full = [p] if p.startswith("refs/") else [BRANCH_PREFIX + p, TAG_PREFIX + p]
        if any(fnmatch.fnmatchcase(name, f) for f in full):
            return True
    return False


def select_refs(git: _HasRefs, patterns: Iterable[str]) -> dict[str, bytes]:
    """The git branches and tags whose full names match one of `patterns`: name to raw id."""
    pats = list(patterns) or list(DEFAULT_REFS)
    out: dict[str, bytes] = {}
    for name, gid in git.refs().items():
        if name.startswith((BRANCH_PREFIX, TAG_PREFIX, SIBLINGS_PREFIX)) and ref_matches(name, pats):
            out[name] = gid
    return out


def vcrdt_ref_name(git_name: str) -> str:
    """The vcrdt ref a git ref goes to: a sibling ref ``refs/vcrdt/siblings/NAME/N`` to branch NAME.

    >>> vcrdt_ref_name("refs/vcrdt/siblings/feature/x/2")
    'refs/heads/feature/x'
    """
    if git_name.startswith(SIBLINGS_PREFIX):
        return BRANCH_PREFIX + git_name[len(SIBLINGS_PREFIX) :].rpartition("/")[0]
    return git_name


def nothing_moved(repo: Repository, wanted: dict[str, bytes], previous: dict[bytes, bytes]) -> bool:
    """Tell whether git's refs are where the last import left them and the refs here still name their commits.

    Then an import has nothing to do: every commit is imported and no ref would move.
    """
    if {n.encode(): g for n, g in wanted.items()} != previous:
        return False
    expect: dict[str, set[ObjectId]] = {}
    for name, gid in wanted.items():
        hit = maps.to_vcrdt(repo.db, gid)
        if hit is None:
            return False
        expect.setdefault(vcrdt_ref_name(name), set()).add(hit[0])
    return all(set(repo.refs.heads(name)) == heads for name, heads in expect.items())


def up_to_date(repo: Repository, gitdir: Path, patterns: Iterable[str] = ()) -> ImportSummary | None:
    """The (empty) summary of an import of `gitdir` that would do nothing, or None when it has work.

    Reads git's refs from their files where it can (`GitDir.refs`) and the state the last
    import left; loads neither pygit2 nor the importer.

    Raises:
        GitInteropError: If `gitdir` holds no git repository.
    """
    gd = GitDir(gitdir)
    source = source_key(gd)
    previous = maps.ref_state(repo.db, source, "import")
    if previous and nothing_moved(repo, select_refs(gd, patterns), previous):
        return ImportSummary(source)
    return None
