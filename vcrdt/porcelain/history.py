"""Reading history: log and show."""

from __future__ import annotations

from vcrdt.dag import decode_commit, iter_history, iter_log, object_reads, read_commit, read_tree
from vcrdt.errors import BadRevisionError, VcrdtError
from vcrdt.ids import ObjectId
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX
from vcrdt.repo import Repository
from vcrdt.store import ObjectReader, commits
from vcrdt.store.commits import CommitInfo
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from typing import Any

    from vcrdt.diff.lines import DiffStat, FileDiff
    from vcrdt.objects import Commit
    from vcrdt.porcelain._logtext import LogWalk as _CLogWalk
    from vcrdt.porcelain.logtext import LogWalk

CLogWalk: type[_CLogWalk] | None = None
try:  # the C twin (vcrdt/porcelain/_logtext.c), built by `pip install` when a C compiler is there
    from vcrdt.porcelain._logtext import LogWalk as CLogWalk
except ImportError:  # pragma: no cover - without a C compiler
    pass


@value_class(frozen=True, init=False, repr=False, eq=False)
class LogEntry(Value):
    """One commit in `log` output.

    `info` holds what the default format shows (parents, author, message): the decoded
    `Commit` itself, or, from `log(..., decoded=False)`, the commit's `CommitInfo` from the
    commit table and the `reader` that `commit` decodes the whole commit from (while the
    repository is open).
    """

    __slots__ = ("oid", "info", "refs", "stats", "diffs", "reader")  # noqa: RUF023 (field order)

    oid: ObjectId
    info: Commit | CommitInfo
    refs: list[str]
    stats: list[DiffStat] | None
    diffs: list[FileDiff] | None
    reader: ObjectReader | None

    def __init__(
        self,
        oid: ObjectId,
        info: Commit | CommitInfo,
        refs: list[str],
        stats: list[DiffStat] | None = None,
        diffs: list[FileDiff] | None = None,
        reader: ObjectReader | None = None,
    ) -> None:
        object.__setattr__(self, "oid", oid)
        object.__setattr__(self, "info", info)
        object.__setattr__(self, "refs", refs)
        object.__setattr__(self, "stats", stats)
        object.__setattr__(self, "diffs", diffs)
        object.__setattr__(self, "reader", reader)

    @property
    def commit(self) -> Commit:
        """The decoded commit: `info` itself, or read from `reader`.

        Raises:
            ObjectNotFoundError: If the commit object is absent.
            CorruptObjectError: If it is not a well-formed commit.
            VcrdtError: If the entry has only the commit's `CommitInfo` and no reader.
        """
        from vcrdt.objects import Commit

        if isinstance(self.info, Commit):
            return self.info
        if self.reader is None:
            raise VcrdtError(f"log entry {self.oid.hex()}: no commit to read")
        return read_commit(self.reader, self.oid)


_ENTRY_SLOTS = tuple(LogEntry.__dict__[name].__set__ for name in LogEntry.__slots__)


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
    all_refs: bool = False,
    follow: bool = False,
    with_patch: bool = False,
    context: int = 3,
    decoded: bool = True,
    full_history: bool = False,
) -> Iterator[LogEntry]:
    """Yield history newest first from `revs` (default HEAD), read as git reads them (`split_range`).

    With `paths` (repository paths), only the commits that change something at or under one of
    them, simplified as git's log simplifies history (`_simplified`): a merge that kept one
    parent's version of the paths is not shown, and its other parents are not walked, unless
    `full_history`. Their stats and patches show only those paths, as git's do. With
    `all_refs`, also from every head of every ref (branches, their siblings, tags) and HEAD.
    With `follow` (exactly one file in `paths`), the file is followed back through renames
    (`follow_path`). With `with_patch`, each entry carries its diff against its first parent
    (`context` lines around each change); a merge's is empty, as in git's log, unless
    `first_parent`.

    With `decoded` False (and no `paths`, stats or patches: the default `log`), the walk and
    each entry's `info` come from the commit table (`vcrdt.store.commits`) and no commit is
    decoded; an entry's `commit` is then read from the store when asked, while it is open.

    Raises:
        BadRevisionError: If a revision does not resolve.
        VcrdtError: If `follow` is given without exactly one path.
    """
    starts, stops = _starts(repo, revs, all_refs)
    if follow and (not paths or len(paths) != 1 or paths[0] == "."):
        raise VcrdtError("--follow needs exactly one path")
    if not starts:
        return
    hidden = _hidden(repo, stops)
    decorations = _decorations(repo)
    if not (decoded or paths or follow or with_stats or with_patch):
        # The default: the walk and what it shows come from the commit table, no commit decoded.
        # Each entry filled through its slots, without a call to __init__ (a log makes thousands).
        new, (set_oid, set_info, set_refs, set_stats, set_diffs, set_reader) = object.__new__, _ENTRY_SLOTS
        store, labels = repo.store, decorations.get
        n = 0
        for oid, info in iter_log(store, starts, first_parent=first_parent):
            if oid in hidden:
                continue
            if limit is not None and n >= limit:
                return
            n += 1
            entry = new(LogEntry)
            set_oid(entry, oid)
            set_info(entry, info)
            set_refs(entry, labels(oid) or [])
            set_stats(entry, None)
            set_diffs(entry, None)
            set_reader(entry, store)
            yield entry
        return
    followed = paths[0] if follow and paths else None
    choose = _simplified(repo, paths, hidden, first_parent, full_history) if paths and followed is None else None
    n = 0
    for oid, c in iter_history(repo.store, starts, first_parent=first_parent, choose=choose):
        if oid in hidden:
            continue
        old = None
        if followed is not None:
            old = _followed_change(repo, c, followed)
            if old is None:
                continue
        if limit is not None and n >= limit:
            return
        n += 1
        stats = diffs = None
        if with_stats or with_patch:
            from vcrdt.diff.lines import stat_from
            from vcrdt.porcelain.diffs import commit_changes, file_diffs, renamed_diff  # the diff machinery

            if len(c.parents) > 1 and not first_parent:
                diffs = []  # as git's log: no diff for a merge, but against its first parent with --first-parent
            elif followed is not None and old is not None:
                diffs = [renamed_diff(repo, c, followed, old, context=context)]
            else:
                changes = [ch for ch in commit_changes(repo, c) if not paths or _under(ch.path, paths)]
                diffs = file_diffs(repo, changes, context=context)
            stats = [stat_from(d) for d in diffs] if with_stats else None
        yield LogEntry(oid, c, decorations.get(oid, []), stats, diffs if with_patch else None)
        if followed is not None and old is not None:
            followed = old


def _starts(repo: Repository, revs: list[str] | None, all_refs: bool) -> tuple[list[ObjectId], list[ObjectId]]:
    starts, stops = split_range(repo, revs or [])
    if all_refs:
        starts = list(dict.fromkeys([*starts, *(h for _, heads in repo.refs.iter_refs() for h in sorted(heads))]))
    return starts, stops


def _hidden(repo: Repository, stops: list[ObjectId]) -> set[ObjectId]:
    return {oid for oid, _ in iter_log(repo.store, stops)} if stops else set()


def log_text(
    repo: Repository,
    revs: list[str] | None,
    write: Callable[[str], object],
    *,
    limit: int | None = None,
    first_parent: bool = False,
    all_refs: bool = False,
    oneline: bool = False,
    label: Callable[[list[str]], str],
    format_date: Callable[[int, int], str],
) -> None:
    """Write `log`'s uncoloured default (or ``--oneline``) text through `write`, a window of commits at a time.

    The same walk and text as `log` (with ``decoded=False``) and `vcrdt.cli.views.commit_header_text`
    (`oneline_text`) give, made from the commit table's rows by ``vcrdt.porcelain._logtext`` (C)
    or its pure-Python twin `vcrdt.porcelain.logtext.LogWalk`, without a `LogEntry` per commit.
    What was made is written before an error (a commit that cannot be read) goes up.

    Args:
        repo: The repository.
        revs: As `log` takes them.
        write: Called with each piece of text, in order.
        limit: At most this many commits.
        first_parent: Follow only first parents.
        all_refs: Also start from every ref and HEAD.
        oneline: ``--oneline``'s text.
        label: Returns the decorations of a commit, joined (``HEAD -> main, tag: v1``).
        format_date: The date formatter (`vcrdt.cli.render.format_date`).

    Raises:
        BadRevisionError: If a revision does not resolve.
        ObjectNotFoundError: If a commit in the walk is absent.
        CorruptObjectError: If one is not a well-formed commit.
    """
    starts, stops = _starts(repo, revs, all_refs)
    if not starts:
        return
    hidden = _hidden(repo, stops)
    labels = {oid: label(refs) for oid, refs in _decorations(repo).items()}
    # A limit under 0 shows nothing, as one of 0 does (`log`); -1 is the walk's "no limit".
    args = (starts, hidden, labels, -1 if limit is None else max(limit, 0), first_parent, oneline, format_date)
    # The rows are thousands of tuples, none in a cycle: the collector's passes over them are wasted.
    import gc

    collecting = gc.isenabled()
    gc.disable()
    try:
        walk_text(repo.store, args, write, CLogWalk if CLogWalk is not None else _python_walk())
    finally:
        if collecting:
            gc.enable()


def walk_text(
    store: ObjectReader,
    args: tuple[Any, ...],
    write: Callable[[str], object],
    walk_class: type[LogWalk] | type[_CLogWalk],
) -> None:
    """Run a `LogWalk` of `walk_class` made from `args` over `store`'s rows, writing its text through `write`.

    Where a C walk is unsure (a value past 64 bits, text that is not UTF-8), the Python twin
    walks again from the start, writing only past what the C walk wrote. What was made is
    written before an error goes up.

    Args:
        store: Where the rows (`commit_table_rows`, when it has them) and the commit objects come from.
        args: `LogWalk`'s arguments: heads, hidden ids, labels, limit (-1: none), first_parent,
            oneline, format_date.
        write: Called with each piece of text, in order.
        walk_class: The C `LogWalk` or its Python twin.

    Raises:
        ObjectNotFoundError: If a commit in the walk is absent.
        CorruptObjectError: If one is not a well-formed commit.
    """
    walk = walk_class(*args)
    try:
        if not _drive(walk, store, write):
            write(walk.take())
            heads, hidden, labels, limit, first_parent, oneline, format_date = args
            walk = _python_walk()(heads, hidden, labels, limit, first_parent, oneline, format_date, skip=walk.shown)
            _drive(walk, store, write)
    finally:
        text = walk.take()
        if text:
            write(text)


def _python_walk() -> type[LogWalk]:
    """The Python twin of the C walk, imported when a walk needs it (no C module, or a C walk unsure)."""
    from vcrdt.porcelain.logtext import LogWalk

    return LogWalk


def _drive(walk: LogWalk | _CLogWalk, store: ObjectReader, write: Callable[[str], object]) -> bool:
    """Feed `walk` the rows it asks for until it is over (True) or unsure (False; only a C walk is).

    The rows come from the commit table, a window at a time (as `vcrdt.dag.iter_log` reads
    them); a commit without a row is read from its object.
    """
    table_rows = getattr(store, "commit_table_rows", None)
    objects = None
    while True:
        asked = walk.run()
        if asked is None:
            return True
        if asked is False:
            return False
        oid = ObjectId(asked)
        text = walk.take()
        if text:
            write(text)
        if callable(table_rows) and walk.feed(table_rows(oid, walk.window), oid):
            continue
        if objects is None:
            objects = object_reads(store)
        kind, body = objects(oid)
        if not walk.put(commits.row(oid, decode_commit(oid, kind, body))):
            return False


def _followed_change(repo: Repository, c: Commit, path: str) -> str | None:
    """For `log --follow`: None if `c` leaves `path` alone, else the name the file had before `c`."""
    from vcrdt.porcelain.diffs import commit_changes

    change = next((ch for ch in commit_changes(repo, c) if ch.path == path), None)
    if change is None:
        return None
    return follow_path(repo, c, path) if change.status == "added" else path


def follow_path(repo: Repository, c: Commit, path: str) -> str:
    """Return the name `path` had in `c`'s first parent: itself, or the file `c` renamed to it.

    Renames are found as merges find them (`vcrdt.merge.renames.find_renames`): the same
    content, or at least half of it, under a path the parent had and `c` has not. A file
    `c` adds from nothing keeps its name (the walk then finds no older change to it).
    """
    from vcrdt.diff.tree import flatten_tree
    from vcrdt.merge.renames import find_renames

    if not c.parents:
        return path
    old_flat = flatten_tree(repo.store, read_commit(repo.store, c.parents[0]).tree)
    if path in old_flat:
        return path
    renames = find_renames(repo.store, old_flat, flatten_tree(repo.store, c.tree))
    return next((p for p, q in renames.items() if q == path), path)


@value_class(frozen=True, init=False, repr=False, eq=False)
class ShowResult(Value):
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


def _simplified(
    repo: Repository, paths: list[str], hidden: set[ObjectId], first_parent: bool, full_history: bool
) -> Callable[[ObjectId, Commit, Mapping[ObjectId, Commit]], tuple[bool, Sequence[ObjectId]]]:
    """What a log of `paths` shows and walks, commit by commit, as git's history simplification has it.

    A commit is TREESAME to a parent when every path is the same entry in both trees (the same
    file, or the same subtree: nothing under it changed); a root commit is TREESAME when none of
    the paths exists in it. By default a commit TREESAME to one of its parents is not shown and
    the walk follows that parent alone (the first such, in order): a side branch whose changes a
    merge did not keep is not walked. Every other commit is shown, and all its parents walked.
    With `full_history`, every parent is walked and a commit is shown unless it is TREESAME to
    all of them. A parent outside the range (``A..B``) is walked no further and never decides.
    """
    from vcrdt.objects import EntryKind

    store = repo.store
    # The entries at `paths` of the commits the walk compares, until the commit itself is shown.
    known: dict[ObjectId, tuple[tuple[EntryKind, ObjectId] | None, ...]] = {}

    def entries(tree: ObjectId) -> tuple[tuple[EntryKind, ObjectId] | None, ...]:
        return tuple(
            ((EntryKind.TREE, tree) if read_tree(store, tree).entries else None)
            if path == "."
            else repo.tree_lookup(tree, path)
            for path in paths
        )

    def choose(oid: ObjectId, c: Commit, commits: Mapping[ObjectId, Commit]) -> tuple[bool, Sequence[ObjectId]]:
        if oid in hidden:
            return False, ()
        mine = known.pop(oid, None)
        if mine is None:
            mine = entries(c.tree)
        parents = [p for p in commits if p not in hidden]
        if not c.parents:
            return any(entry is not None for entry in mine), ()
        if not parents:  # every parent outside the range: shown if it changed the paths against one
            return any(entries(commits[p].tree) != mine for p in commits), ()
        same = []
        for p in parents:
            theirs = known.get(p)
            if theirs is None:
                theirs = known[p] = entries(commits[p].tree)
            if theirs == mine:
                if not full_history:
                    return False, (p,)
                same.append(p)
        return len(same) < len(parents), parents

    return choose


def _under(path: str, specs: list[str]) -> bool:
    """Tell whether `path` is one of `specs` or lies under one (``.`` is everything)."""
    return any(spec == "." or path == spec or path.startswith(spec + "/") for spec in specs)
