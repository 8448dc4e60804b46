"""Reading and moving through history: log, show, diff, branches, tags, switch, restore, cat, fsck."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vcrdt.crdt.refstate import from_rows
from vcrdt.dag import is_ancestor, iter_history, iter_reachable, read_commit
from vcrdt.diff import (
    Change,
    DiffStat,
    FileDiff,
    diff_blobs,
    diff_changes,
    iter_tree_changes,
    stat_from,
)
from vcrdt.errors import (
    BadRevisionError,
    CorruptObjectError,
    MergeError,
    ObjectNotFoundError,
    RefError,
    RefExistsError,
    RefNotFoundError,
    VcrdtError,
    WorktreeError,
)
from vcrdt.ids import ObjectId, short, to_hex
from vcrdt.objects import Commit, EntryKind, Tree, decode_object, history_problem, references
from vcrdt.porcelain._shared import (
    Progress,
    blob_bytes,
    repo_path,
    tie_key,
)
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX, check_short_name
from vcrdt.repo import Repository
from vcrdt.store import LARGE_OBJECT
from vcrdt.worktree import FlatTree


def _work_bytes(repo: Repository, path: str, kind: EntryKind | None) -> bytes | None:
    if kind is None:
        return None
    wt = repo.worktree
    if kind is EntryKind.SYMLINK:
        return wt.read_link(path)
    st = wt.lstat(path)
    if st is None:
        raise WorktreeError(path, "cannot read: No such file or directory")
    if st.st_size > LARGE_OBJECT:
        return b"\0<large file>"
    try:
        with wt.open_file(path) as fh:
            return fh.read()
    except OSError as exc:
        raise WorktreeError(path, f"cannot read: {exc.strerror}") from exc


def _file_diffs(
    repo: Repository, changes: list[Change], *, worktree_new: bool = False, context: int = 3
) -> list[FileDiff]:
    out: list[FileDiff] = []
    for ch in changes:
        old = blob_bytes(repo, ch.old_oid)
        new = _work_bytes(repo, ch.path, ch.new_kind) if worktree_new else blob_bytes(repo, ch.new_oid)
        out.append(
            diff_blobs(ch.path, old, new, context=context, status=ch.status, old_kind=ch.old_kind, new_kind=ch.new_kind)
        )
    return out


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


def commit_changes(repo: Repository, commit_: Commit) -> list[Change]:
    """Return a commit's changes against its first parent (all additions for a root commit)."""
    parent_tree = read_commit(repo.store, commit_.parents[0]).tree if commit_.parents else None
    return list(iter_tree_changes(repo.store, parent_tree, commit_.tree))


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
            stats = [stat_from(d) for d in _file_diffs(repo, commit_changes(repo, c))]
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
    diffs = _file_diffs(repo, commit_changes(repo, c), context=context)
    return ShowResult(oid, c, _decorations(repo).get(oid, []), diffs)


def _select(flat: FlatTree, paths: list[str] | None) -> FlatTree:
    if not paths:
        return flat
    return {p: v for p, v in flat.items() if any(p == s or p.startswith(s + "/") for s in paths)}


def diff(
    repo: Repository,
    old: str | None = None,
    new: str | None = None,
    *,
    paths: list[str] | None = None,
    cwd: Path | None = None,
    context: int = 3,
) -> list[FileDiff]:
    """Diff two commits, a commit and the work tree, or (default) HEAD and the work tree.

    Raises:
        BadRevisionError: If a revision does not resolve.
    """
    rel = [p for p in (repo_path(repo, cwd or repo.root, x) for x in paths or []) if p != "."] or None
    old_flat = _select(repo.commit_flat(repo.resolve(old)) if old else repo.worktree.head_flat(), rel)
    if new is not None:
        new_flat = _select(repo.commit_flat(repo.resolve(new)), rel)
        return _file_diffs(repo, diff_changes(old_flat, new_flat), context=context)
    rows = repo.worktree.rows()
    live = [p for p, r in rows.items() if r.state != "removed"]
    current, _ = repo.worktree.current(rows, live, None, store=False)
    work: FlatTree = {p: e for p, e in current.items() if e is not None}
    return _file_diffs(repo, diff_changes(old_flat, _select(work, rel)), worktree_new=True, context=context)


@dataclass(frozen=True, slots=True)
class BranchInfo:
    """One branch: its heads (several when concurrent siblings exist)."""

    name: str
    heads: list[ObjectId]
    current: bool
    summary: str


def branch_list(repo: Repository) -> list[BranchInfo]:
    """List branches, the current one marked."""
    current = repo.refs.head().branch
    out = []
    for name, heads in repo.refs.iter_refs(BRANCH_PREFIX):
        ordered = sorted(heads)
        summary = read_commit(repo.store, ordered[0]).summary if ordered else ""
        out.append(BranchInfo(name[len(BRANCH_PREFIX) :], ordered, name == current, summary))
    return out


def branch_create(repo: Repository, name: str, start: str | None = None) -> ObjectId:
    """Create a branch at `start` (default HEAD).

    Raises:
        BadRefNameError: If the name is invalid.
        RefExistsError: If the branch exists.
        BadRevisionError: If `start` does not resolve.
    """
    check_short_name(name)
    oid = repo.resolve(start or "HEAD")
    with repo.transaction():
        if repo.refs.exists(BRANCH_PREFIX + name):
            raise RefExistsError(name, "branch")
        repo.refs.update(BRANCH_PREFIX + name, oid, expected=None)
    return oid


def branch_delete(repo: Repository, name: str, *, force: bool = False) -> ObjectId:
    """Delete a branch; without `force`, only if HEAD contains its commits.

    Raises:
        RefNotFoundError: If the branch does not exist.
        RefError: If it is the current branch or not merged.
    """
    full = BRANCH_PREFIX + name
    with repo.transaction():
        heads = repo.refs.heads(full)
        if not heads:
            raise RefNotFoundError(name, "branch")
        if repo.refs.head().branch == full:
            raise RefError(f"cannot delete the current branch {name!r}", hint="switch to another branch first")
        head = repo.head_commit()
        if not force:
            for h in heads:
                if head is None or not is_ancestor(repo.store, h, head):
                    raise RefError(
                        f"branch {name!r} is not merged into HEAD", hint=f"use `vcrdt branch -D {name}` to delete it"
                    )
        repo.refs.delete(full, tombstone=True)
    return sorted(heads)[0]


def branch_rename(repo: Repository, old: str, new: str) -> None:
    """Rename a branch (HEAD follows if it pointed at it).

    Raises:
        RefNotFoundError: If `old` does not exist.
        RefExistsError: If `new` exists.
    """
    check_short_name(new)
    with repo.transaction():
        if not repo.refs.exists(BRANCH_PREFIX + old):
            raise RefNotFoundError(old, "branch")
        if repo.refs.exists(BRANCH_PREFIX + new):
            raise RefExistsError(new, "branch")
        repo.refs.rename(BRANCH_PREFIX + old, BRANCH_PREFIX + new)
        if repo.refs.head().branch == BRANCH_PREFIX + old:
            repo.refs.set_head_branch(BRANCH_PREFIX + new)


@dataclass(frozen=True, slots=True)
class SwitchResult:
    """Where HEAD went and which files changed."""

    branch: str | None
    oid: ObjectId | None
    written: list[str]
    created: bool = False


def switch(
    repo: Repository,
    target: str,
    *,
    create: bool = False,
    detach: bool = False,
    force: bool = False,
    on_progress: Progress | None = None,
) -> SwitchResult:
    """Check out a branch (or with `detach`, any commit), carrying local changes that don't collide.

    Raises:
        DirtyWorktreeError: If uncommitted changes would be overwritten (without `force`).
        RefNotFoundError: If the branch does not exist (and `create` is False).
    """
    if repo.merge_state.in_progress():
        raise MergeError(
            "cannot switch branches while a merge is in progress",
            hint="commit the merge, or run `vcrdt merge --abort`",
        )
    with repo.transaction():
        if create:
            branch_create(repo, target)
        full = BRANCH_PREFIX + target
        if detach:
            oid: ObjectId | None = repo.resolve(target)
        elif repo.refs.exists(full):
            heads = repo.refs.heads(full)
            # With siblings, the work tree goes to the latest in the tie-break order.
            oid = max(heads, key=lambda h: tie_key(repo, h))
        else:
            hint = None
            try:
                repo.resolve(target)
                hint = f"use `vcrdt switch --detach {target}` to check out a commit"
            except BadRevisionError:
                pass
            err = RefNotFoundError(target, "branch")
            err.hint = hint or f"use `vcrdt switch -c {target}` to create it"
            raise err
        written = repo.worktree.begin_checkout(repo.commit_flat(oid), force=force)
        if detach:
            assert oid is not None  # invariant: detach resolved a commit above
            repo.refs.set_head_detached(oid)
        else:
            repo.refs.set_head_branch(full)
            if oid is not None and len(repo.refs.heads(full)) > 1:
                repo.refs.set_head_at(oid)
    # HEAD, the rows and the journal are committed: now the files (a kill here is finished by the next command).
    repo.worktree.finish_checkout(on_progress)
    return SwitchResult(None if detach else target, oid, written, create)


def restore(repo: Repository, paths: list[str], *, cwd: Path, source: str | None = None) -> list[str]:
    """Overwrite work-tree files with their content in `source` (default HEAD), discarding edits.

    Paths absent from the source are deleted if they are only added, not committed.

    Raises:
        WorktreeError: If a path matches nothing.
    """
    rel = [repo_path(repo, cwd, p) for p in paths]
    flat = repo.commit_flat(repo.resolve(source)) if source else repo.worktree.head_flat()
    with repo.transaction():
        rows = repo.worktree.rows()
        wanted: set[str] = set()
        for spec in rel:
            hits = [p for p in set(flat) | set(rows) if spec == "." or p == spec or p.startswith(spec + "/")]
            if not hits:
                raise WorktreeError(spec, "did not match any file known to vcrdt")
            wanted.update(hits)
        writes = {p: flat[p] for p in sorted(wanted) if p in flat}
        repo.worktree.check_writes(writes, rows)
        track = [p for p in writes if p not in rows or rows[p].state == "removed"]
        if track:
            repo.worktree.add(track)
        repo.worktree.journal_writes(writes)
    repo.worktree.finish_checkout()
    return list(writes)


@dataclass(frozen=True, slots=True)
class TagInfo:
    """A tag and its commit."""

    name: str
    oid: ObjectId
    summary: str


def tag_list(repo: Repository) -> list[TagInfo]:
    """List tags."""
    out = []
    for name, heads in repo.refs.iter_refs(TAG_PREFIX):
        oid = sorted(heads)[0]
        out.append(TagInfo(name[len(TAG_PREFIX) :], oid, read_commit(repo.store, oid).summary))
    return out


def tag_create(repo: Repository, name: str, rev: str | None = None, *, force: bool = False) -> ObjectId:
    """Create a tag at `rev` (default HEAD).

    Raises:
        RefExistsError: If the tag exists and `force` is False.
    """
    check_short_name(name, "tag")
    oid = repo.resolve(rev or "HEAD")
    with repo.transaction():
        if repo.refs.exists(TAG_PREFIX + name) and not force:
            raise RefExistsError(name, "tag")
        repo.refs.update(TAG_PREFIX + name, oid)
    return oid


def tag_delete(repo: Repository, name: str) -> None:
    """Delete a tag.

    Raises:
        RefNotFoundError: If it does not exist.
    """
    with repo.transaction():
        if not repo.refs.exists(TAG_PREFIX + name):
            raise RefNotFoundError(name, "tag")
        repo.refs.delete(TAG_PREFIX + name)


@dataclass(frozen=True, slots=True)
class CatResult:
    """An object: its id, kind, raw body and decoded value."""

    oid: ObjectId
    kind: str
    body: bytes
    value: Commit | Tree | None


def cat(repo: Repository, rev: str) -> CatResult:
    """Read any object by revision, ``REV:path`` or id.

    Raises:
        BadRevisionError: If nothing matches.
    """
    oid = repo.resolve_object(rev)
    kind, body = repo.store.get(oid)
    value = decode_object(kind, body)
    return CatResult(oid, kind, body, value if isinstance(value, Commit | Tree) else None)


@dataclass(frozen=True, slots=True)
class FsckProblem:
    """One thing fsck found wrong, naming the object or ref."""

    what: str
    message: str


@dataclass(frozen=True, slots=True)
class FsckResult:
    """What fsck checked and found."""

    objects: int
    reachable: int
    problems: list[FsckProblem] = field(default_factory=list)
    unreachable: int = 0


def fsck(repo: Repository, *, on_progress: Progress | None = None) -> FsckResult:
    """Decode and hash-check every object, then check that every ref's closure is present.

    Everything is read from one snapshot of the database, so a commit landing meanwhile
    (from another process) cannot look like a ref naming missing objects.
    """
    with repo.db.read():
        return _fsck(repo, on_progress)


def _fsck(repo: Repository, on_progress: Progress | None) -> FsckResult:
    problems: list[FsckProblem] = []
    bad: set[ObjectId] = set()
    present = set(repo.store.iter_ids())
    for oid, err in repo.store.verify_all(on_progress):
        bad.add(oid)
        problems.append(FsckProblem(to_hex(oid), err.message))
    commits: dict[ObjectId, Commit] = {}
    kinds = {oid: repo.store.info(oid)[0] for oid in sorted(present - bad)}
    for oid, kind in kinds.items():
        if kind == "blob":
            continue  # every byte string is a valid blob, and verify_all checked its hash
        try:
            kind, body = repo.store.get(oid)
            decoded = decode_object(kind, body)
        except VcrdtError as exc:
            bad.add(oid)
            problems.append(FsckProblem(to_hex(oid), exc.message))
            continue
        if isinstance(decoded, Commit):
            commits[oid] = decoded
        if isinstance(decoded, Commit | Tree):
            # Each object it names that is here must be of the kind its place requires (a
            # missing one is reported by the history check below).
            for ref in references(decoded):
                problem = ref.problem(kinds[ref.oid]) if ref.oid in kinds else None
                if problem is not None:
                    problems.append(FsckProblem(to_hex(oid), problem))
    problems += _history_problems(commits)
    problems += _dot_problems(commits)
    problems += _branch_state_problems(repo)
    problems += [FsckProblem(err.name, f"invalid ref name: {err.rule}") for err in repo.refs.iter_bad_names()]
    reachable: set[ObjectId] = set()
    refs = list(repo.refs.iter_refs())
    head = repo.refs.head()
    if head.branch is None and head.commit is not None:
        refs.append(("HEAD", frozenset({head.commit})))
    for name, heads in refs:
        try:
            reach = iter_reachable(repo.store, heads)
        except (ObjectNotFoundError, CorruptObjectError) as exc:
            problems.append(FsckProblem(name, f"broken history: {exc.message}"))
            continue
        # Blobs are not read by the walk: check that each one is there.
        for oid in sorted(reach - present):
            problems.append(FsckProblem(name, f"broken history: object {to_hex(oid)} not found"))
        reachable |= reach & present
    for path, row in sorted(repo.worktree.rows().items()):
        if row.head_oid is not None and not repo.store.has(row.head_oid):
            problems.append(FsckProblem(path, f"work-tree entry names missing object {short(row.head_oid)}"))
    unreachable = len(present - reachable)
    return FsckResult(len(present), len(reachable), problems, unreachable)


def _branch_state_problems(repo: Repository) -> list[FsckProblem]:
    """Check the branches' add-wins state: its invariants, and that each branch shows what its entries give.

    A branch shows its live entries' heads, ancestors of another one dropped (`vcrdt.refs`);
    a state whose dots break the rules, or a branch whose shown heads differ, is reported.
    """
    try:
        state = from_rows(
            [(n[len(BRANCH_PREFIX) :], h, r, c) for n, h, r, c in repo.refs.iter_entries()],
            repo.refs.context(),
        )
    except CorruptObjectError as exc:
        return [FsckProblem("refs/heads/", f"branch state: {exc.reason}")]
    out: list[FsckProblem] = []
    shown = {n[len(BRANCH_PREFIX) :]: hs for n, hs in repo.refs.iter_refs(BRANCH_PREFIX)}
    for name in sorted(set(shown) | set(state.branches)):
        try:
            expected = state.heads(name, lambda a, b: is_ancestor(repo.store, a, b))
        except VcrdtError:
            continue  # a missing or corrupt commit: reported by the history checks
        if shown.get(name, frozenset()) != expected:
            have = ", ".join(short(h) for h in sorted(shown.get(name, ()))) or "nothing"
            want = ", ".join(short(h) for h in sorted(expected)) or "nothing"
            out.append(FsckProblem(BRANCH_PREFIX + name, f"shows {have} but its live entries give {want}"))
    return out


def _dot_problems(commits: dict[ObjectId, Commit]) -> list[FsckProblem]:
    """Commits that share a dot (the clock key a commit raised, and its new count) with another commit.

    A dot names one commit: each clock actor's commits form a chain. Two different commits
    with one dot mean two replicas committed as the same actor, as a copied repository
    whose copy went undetected does (`vcrdt.porcelain.copies`); their clocks then misorder
    them. Each commit after the first (by id) with a dot is reported, naming the first.
    Commits whose parents are missing or unsound are skipped (reported on their own).
    """
    first: dict[tuple[str, int], ObjectId] = {}
    out: list[FsckProblem] = []
    for oid, commit in sorted(commits.items()):
        if not all(p in commits for p in commit.parents):
            continue
        merged: dict[str, int] = {}
        for p in commit.parents:
            for key, count in commits[p].clock:
                merged[key] = max(merged.get(key, 0), count)
        raised = [(str(key), count) for key, count in commit.clock if count > merged.get(key, 0)]
        if len(raised) != 1:
            continue  # breaks the history rules: `_history_problems` reports it
        other = first.setdefault(raised[0], oid)
        if other != oid:
            actor, n = raised[0]
            out.append(
                FsckProblem(
                    to_hex(oid),
                    f"same dot ({actor}, {n}) as commit {to_hex(other)}:"
                    " two replicas committed as one (a copied repository?)",
                )
            )
    return out


def _history_problems(commits: dict[ObjectId, Commit]) -> list[FsckProblem]:
    """Commits whose clocks break the history rules against parents that are present and sound."""
    out: list[FsckProblem] = []
    for oid, commit in sorted(commits.items()):
        if not all(p in commits for p in commit.parents):
            continue  # a missing or unsound parent is reported on its own
        problem = history_problem(commit, [commits[p] for p in commit.parents])
        if problem is not None:
            out.append(FsckProblem(to_hex(oid), problem))
    return out
