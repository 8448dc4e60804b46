"""Reading history: log and show."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vcrdt.dag import iter_history, read_commit
from vcrdt.ids import ObjectId
from vcrdt.objects import Commit
from vcrdt.refs import BRANCH_PREFIX
from vcrdt.repo import Repository

if TYPE_CHECKING:
    from vcrdt.diff.lines import DiffStat, FileDiff


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One commit in `log` output."""

    oid: ObjectId
    commit: Commit
    refs: list[str]
    stats: list[DiffStat] | None = None


def _decorations(repo: Repository) -> dict[ObjectId, list[str]]:
    out: dict[ObjectId, list[str]] = {}
    head = repo.refs.head()
    for name, heads in repo.refs.iter_refs():
        label = name.removeprefix(BRANCH_PREFIX) if name.startswith(BRANCH_PREFIX) else name.removeprefix("refs/")
        for h in heads:
            # With siblings, only the head the work tree is on is HEAD.
            out.setdefault(h, []).append(f"HEAD -> {label}" if name == head.branch and h == head.commit else label)
    if head.branch is None and head.commit is not None:
        out.setdefault(head.commit, []).insert(0, "HEAD")
    return out


def log(
    repo: Repository,
    revs: list[str] | None = None,
    *,
    limit: int | None = None,
    with_stats: bool = False,
    first_parent: bool = False,
) -> Iterator[LogEntry]:
    """Yield history newest first from `revs` (default HEAD).

    Raises:
        BadRevisionError: If a revision does not resolve.
    """
    if not revs:
        head = repo.head_commit()
        if head is None:
            return
        starts = [head]
    else:
        starts = [repo.resolve(r) for r in revs]
    decorations = _decorations(repo)
    for n, (oid, c) in enumerate(iter_history(repo.store, starts, first_parent=first_parent)):
        if limit is not None and n >= limit:
            return
        stats = None
        if with_stats:
            from vcrdt.diff.lines import stat_from
            from vcrdt.porcelain.diffs import commit_changes, file_diffs  # only for --stat: the diff machinery

            stats = [stat_from(d) for d in file_diffs(repo, commit_changes(repo, c))]
        yield LogEntry(oid, c, decorations.get(oid, []), stats)


@dataclass(frozen=True, slots=True)
class ShowResult:
    """A commit and its diff against its first parent."""

    oid: ObjectId
    commit: Commit
    refs: list[str]
    diffs: list[FileDiff]


def show(repo: Repository, rev: str = "HEAD", *, context: int = 3) -> ShowResult:
    """Return a commit with its changes against its first parent.

    Raises:
        BadRevisionError: If `rev` does not resolve.
    """
    oid = repo.resolve(rev)
    c = read_commit(repo.store, oid)
    from vcrdt.porcelain.diffs import commit_changes, file_diffs

    diffs = file_diffs(repo, commit_changes(repo, c), context=context)
    return ShowResult(oid, c, _decorations(repo).get(oid, []), diffs)
