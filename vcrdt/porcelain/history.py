"""Reading history: log and show."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from vcrdt.dag import iter_history, read_commit
from vcrdt.errors import BadRevisionError
from vcrdt.ids import ObjectId
from vcrdt.objects import Commit
from vcrdt.refs import BRANCH_PREFIX
from vcrdt.repo import Repository

if TYPE_CHECKING:
    from vcrdt.diff.lines import DiffStat, FileDiff

# The value classes here are written out by hand, not dataclasses: importing dataclasses (with
# inspect, ast and dis) and generating each class's methods cost every command milliseconds of
# start-up. For the type checker the frozen ones are still frozen dataclasses (assigning a field
# is an error); at run time the decorator returns the class unchanged.
if TYPE_CHECKING:
    from dataclasses import dataclass as _value_class
else:

    def _value_class(**_options: bool) -> object:
        return lambda cls: cls


@_value_class(frozen=True, init=False, repr=False, eq=False)
class LogEntry:
    """One commit in `log` output."""

    __slots__ = ("oid", "commit", "refs", "stats")  # noqa: RUF023 (field order)

    oid: ObjectId
    commit: Commit
    refs: list[str]
    stats: list[DiffStat] | None

    def __init__(self, oid: ObjectId, commit: Commit, refs: list[str], stats: list[DiffStat] | None = None) -> None:
        object.__setattr__(self, "oid", oid)
        object.__setattr__(self, "commit", commit)
        object.__setattr__(self, "refs", refs)
        object.__setattr__(self, "stats", stats)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: LogEntry is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: LogEntry is immutable")

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (self.__class__, self._key())  # copy and pickle through __init__ (assignment is refused)

    def _key(self) -> tuple[object, ...]:
        return (self.oid, self.commit, self.refs, self.stats)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"LogEntry(oid={self.oid!r}, commit={self.commit!r}, refs={self.refs!r}, stats={self.stats!r})"


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


@_value_class(frozen=True, init=False, repr=False, eq=False)
class ShowResult:
    """A commit and its diff against its first parent."""

    __slots__ = ("oid", "commit", "refs", "diffs")  # noqa: RUF023 (field order)

    oid: ObjectId
    commit: Commit
    refs: list[str]
    diffs: list[FileDiff]

    def __init__(self, oid: ObjectId, commit: Commit, refs: list[str], diffs: list[FileDiff]) -> None:
        object.__setattr__(self, "oid", oid)
        object.__setattr__(self, "commit", commit)
        object.__setattr__(self, "refs", refs)
        object.__setattr__(self, "diffs", diffs)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: ShowResult is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: ShowResult is immutable")

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (self.__class__, self._key())  # copy and pickle through __init__ (assignment is refused)

    def _key(self) -> tuple[object, ...]:
        return (self.oid, self.commit, self.refs, self.diffs)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"ShowResult(oid={self.oid!r}, commit={self.commit!r}, refs={self.refs!r}, diffs={self.diffs!r})"


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
