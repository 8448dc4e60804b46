"""Reading history: log and show."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vcrdt.dag import iter_history, read_commit
from vcrdt.errors import BadRevisionError
from vcrdt.ids import ObjectId
from vcrdt.objects import Commit
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX
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
    """Each commit's labels as git's ``--decorate`` shows them: ``HEAD -> main``, then ``tag: v1``, then branches."""
    out: dict[ObjectId, list[tuple[int, str]]] = {}
    head = repo.refs.head()
    for name, heads in repo.refs.iter_refs():
        if name.startswith(BRANCH_PREFIX):
            rank, label = 2, name.removeprefix(BRANCH_PREFIX)
        elif name.startswith(TAG_PREFIX):
            rank, label = 1, "tag: " + name.removeprefix(TAG_PREFIX)
            heads = frozenset(_peeled(repo, h) for h in heads)  # shown on the commit it tags, as git does
        else:
            rank, label = 3, name.removeprefix("refs/")
        for h in heads:
            # With siblings, only the head the work tree is on is HEAD.
            here = name == head.branch and h == head.commit
            out.setdefault(h, []).append((0, f"HEAD -> {label}") if here else (rank, label))
    if head.branch is None and head.commit is not None:
        out.setdefault(head.commit, []).append((0, "HEAD"))
    return {oid: [label for _, label in sorted(labels, key=lambda r: r[0])] for oid, labels in out.items()}


def _peeled(repo: Repository, oid: ObjectId) -> ObjectId:
    """The commit an annotated tag (or a chain of them) tags; `oid` itself for any other commit."""
    from vcrdt.porcelain.branches import annotated_target

    seen = {oid}
    while (target := annotated_target(repo, oid)) is not None and target not in seen:
        oid = target
        seen.add(oid)
    return oid


def split_range(repo: Repository, revs: list[str]) -> tuple[list[ObjectId], list[ObjectId]]:
    """Read git's range syntax: ``A..B`` (B without what A has), ``^A`` (without A's history), ``REV``.

    An empty side of ``..`` is HEAD. No revision to start from: HEAD (none when it is unborn).

    Returns:
        The commits to start from and those whose history is left out.

    Raises:
        BadRevisionError: If a revision does not resolve, or is ``A...B`` (not supported).
    """
    include: list[ObjectId] = []
    exclude: list[ObjectId] = []
    for rev in revs:
        if "..." in rev:
            raise BadRevisionError(rev, "symmetric differences (A...B) are not supported; use A..B and B..A")
        if ".." in rev:
            left, _, right = rev.partition("..")
            exclude.append(repo.resolve(left or "HEAD"))
            include.append(repo.resolve(right or "HEAD"))
        elif rev.startswith("^") and len(rev) > 1:
            exclude.append(repo.resolve(rev[1:]))
        else:
            include.append(repo.resolve(rev))
    if not include:
        head = repo.head_commit()
        if head is not None:
            include.append(head)
    return include, exclude


def log(
    repo: Repository,
    revs: list[str] | None = None,
    *,
    limit: int | None = None,
    with_stats: bool = False,
    first_parent: bool = False,
    paths: list[str] | None = None,
) -> Iterator[LogEntry]:
    """Yield history newest first from `revs` (default HEAD), read as git reads them (`split_range`).

    With `paths` (repository paths), only the commits that change something at or under one of
    them against their first parent (a root commit: that adds one).

    Raises:
        BadRevisionError: If a revision does not resolve.
    """
    starts, stops = split_range(repo, revs or [])
    if not starts:
        return
    hidden = {oid for oid, _ in iter_history(repo.store, stops)} if stops else set()
    decorations = _decorations(repo)
    n = 0
    for oid, c in iter_history(repo.store, starts, first_parent=first_parent):
        if oid in hidden:
            continue
        if paths and not _touches(repo, c, paths):
            continue
        if limit is not None and n >= limit:
            return
        n += 1
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


def _touches(repo: Repository, c: Commit, paths: list[str]) -> bool:
    from vcrdt.porcelain.diffs import commit_changes

    return any(
        spec == "." or change.path == spec or change.path.startswith(spec + "/")
        for change in commit_changes(repo, c)
        for spec in paths
    )
