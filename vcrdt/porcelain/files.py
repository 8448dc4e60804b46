"""Creating a repository and recording work: init, status, add, rm, mv, restore, commit."""

from __future__ import annotations

import os
import stat

from vcrdt.dag import read_commit
from vcrdt.diff.tree import Change, diff_changes
from vcrdt.errors import (
    MergeError,
    NothingToCommitError,
    RepoError,
    VcrdtError,
    WorktreeError,
)
from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import Commit, EntryKind, Signature
from vcrdt.porcelain._shared import (
    Progress,
    branch_of,
    has_markers,
    normalise_message,
    repo_path,
)
from vcrdt.porcelain.copies import bind_replica
from vcrdt.refs import check_short_name
from vcrdt.repo import Repository, Settings
from vcrdt.values import Value, value_class
from vcrdt.worktree import Row, WorktreeStatus

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path
    from typing import Literal

    UntrackedFiles = Literal["normal", "all", "no"]


@value_class(frozen=True, init=False, repr=False, eq=False)
class InitResult(Value):
    """What `init` created."""

    __slots__ = ("root", "replica", "branch")  # noqa: RUF023 (field order)

    root: Path
    replica: ReplicaId
    branch: str

    def __init__(self, root: Path, replica: ReplicaId, branch: str) -> None:
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "replica", replica)
        object.__setattr__(self, "branch", branch)


def init(path: Path, settings: Settings, *, initial_branch: str = "main") -> InitResult:
    """Create a repository in `path`.

    Raises:
        RepoExistsError: If one exists there already.
        BadRefNameError: If the branch name is invalid.
    """
    check_short_name(initial_branch)
    with Repository.init(path, settings, initial_branch=initial_branch) as repo:
        bind_replica(repo)  # from now on, a copy of it is told apart
        return InitResult(repo.root, repo.replica, initial_branch)


@value_class(frozen=True, init=False, repr=False, eq=False)
class Status(Value):
    """The branch, HEAD and the work tree's changes against HEAD."""

    __slots__ = ("branch", "head", "changes", "merging", "conflicted", "siblings", "renamed")  # noqa: RUF023 (field order)

    branch: str | None
    head: ObjectId | None
    changes: WorktreeStatus
    merging: ObjectId | None
    conflicted: list[str]
    # The branch's other concurrent heads (a fetch brought them; `merge` joins them).
    siblings: list[ObjectId]
    # Removed or deleted paths paired with added ones as (old, new), by the merge's rename
    # detection (same content, or at least half the lines alike); both stay in `changes` too.
    renamed: list[tuple[str, str]]

    def __init__(
        self,
        branch: str | None,
        head: ObjectId | None,
        changes: WorktreeStatus,
        merging: ObjectId | None = None,
        conflicted: list[str] | None = None,
        siblings: list[ObjectId] | None = None,
        renamed: list[tuple[str, str]] | None = None,
    ) -> None:
        object.__setattr__(self, "branch", branch)
        object.__setattr__(self, "head", head)
        object.__setattr__(self, "changes", changes)
        object.__setattr__(self, "merging", merging)
        object.__setattr__(self, "conflicted", [] if conflicted is None else conflicted)
        object.__setattr__(self, "siblings", [] if siblings is None else siblings)
        object.__setattr__(self, "renamed", [] if renamed is None else renamed)


def status(repo: Repository, *, ignored: bool = False, untracked_files: UntrackedFiles = "normal") -> Status:
    """Compare the work tree with HEAD; a conflicted path is listed as conflicted only.

    HEAD, the merge state and the comparison come from one moment: when a
    commit or checkout by another process lands while the work tree is being
    compared, the comparison is made again.

    `untracked_files` is git's ``-u`` mode: ``normal`` lists a directory that holds no tracked
    path once, as ``dir/``, rather than each file in it (`collapse_untracked`); ``all`` lists
    every untracked file; ``no`` none.
    """
    for _ in range(_STATUS_TRIES):
        head = repo.refs.head()
        changes = repo.worktree.status(want_ignored=ignored)
        with repo.db.read():
            settled = repo.refs.head() == head
            conflicted = [c.path for c, resolved in repo.merge_state.conflicts() if not resolved]
            merging = repo.merge_state.theirs()
            branch = branch_of(repo)
        if settled:
            break
    if conflicted:
        unmerged = set(conflicted)
        changes = WorktreeStatus(
            modified=[p for p in changes.modified if p not in unmerged],
            added=[p for p in changes.added if p not in unmerged],
            deleted=[p for p in changes.deleted if p not in unmerged],
            removed=changes.removed,
            untracked=changes.untracked,
            ignored=changes.ignored,
        )
    # A file `rm --cached` stopped tracking is still on disk: untracked, as git lists it (the scan
    # skips every path with a row, and a removed path keeps its row until the commit).
    kept = [
        p
        for p in changes.removed
        if (st := repo.worktree.lstat_in_tree(p)) is not None and not stat.S_ISDIR(st.st_mode)
    ]
    if kept:
        changes = WorktreeStatus(
            modified=changes.modified,
            added=changes.added,
            deleted=changes.deleted,
            removed=changes.removed,
            untracked=sorted(changes.untracked + kept),
            ignored=changes.ignored,
        )
    renamed = _renames(repo, changes)
    if changes.untracked and untracked_files != "all":
        shown = [] if untracked_files == "no" else collapse_untracked(changes.untracked, _tracked(repo, changes))
        changes = WorktreeStatus(
            modified=changes.modified,
            added=changes.added,
            deleted=changes.deleted,
            removed=changes.removed,
            untracked=shown,
            ignored=changes.ignored,
        )
    return Status(branch, head.commit, changes, merging, conflicted, sorted(head.siblings), renamed)


def _tracked(repo: Repository, changes: WorktreeStatus) -> list[str]:
    """The paths the next commit has (a path `rm --cached` let go of is untracked already)."""
    removed = set(changes.removed)
    return [path for path in repo.worktree.rows() if path not in removed]


def collapse_untracked(untracked: list[str], tracked: Iterable[str]) -> list[str]:
    """List untracked files as git's status does by default: a directory without a tracked path once.

    Each file is shown as its topmost directory that holds no tracked path (``dir/``), or as
    itself when every directory above it holds one; `untracked` is sorted, and so is the result.

    >>> collapse_untracked(["a.txt", "d/x", "d/y/z", "t/n/m", "t/new"], ["t/kept"])
    ['a.txt', 'd/', 't/n/', 't/new']
    """
    holding: set[str] = set()  # every directory above a tracked path
    for path in tracked:
        cut = path.rfind("/")
        while cut > 0 and path[:cut] not in holding:
            holding.add(path[:cut])
            cut = path.rfind("/", 0, cut)
    shown: list[str] = []
    for path in untracked:
        entry = path
        cut = path.find("/")
        while cut > 0:
            if path[:cut] not in holding:
                entry = path[: cut + 1]
                break
            cut = path.find("/", cut + 1)
        if not shown or shown[-1] != entry:
            shown.append(entry)
    return shown


def _renames(repo: Repository, changes: WorktreeStatus) -> list[tuple[str, str]]:
    """Pair the paths the next commit deletes with those it adds, as a merge finds renames (`find_renames`).

    Only when both kinds are there: then the added files are read (those small enough to
    compare; a larger one pairs only with an identical stored blob).
    """
    gone = changes.removed + changes.deleted
    if not gone or not changes.added:
        return []
    from vcrdt.merge.pending import PendingObjects
    from vcrdt.merge.renames import find_renames
    from vcrdt.store import LARGE_OBJECT

    wt = repo.worktree
    rows = wt.rows()
    head = wt.head_flat(rows)
    base = {p: head[p] for p in gone if p in head}
    objects = PendingObjects(repo.store)
    entries, _ = wt.current(rows, changes.added, None, store=False)
    side: dict[str, tuple[EntryKind, ObjectId]] = {}
    for p, entry in entries.items():
        if entry is None:
            continue
        kind, oid = entry
        if kind in (EntryKind.FILE, EntryKind.EXECUTABLE) and not repo.store.has(oid):
            st = wt.lstat(p)
            if st is None or st.st_size > LARGE_OBJECT:
                continue
            try:
                with wt.open_file(p) as fh:
                    oid = objects.put("blob", fh.read())
            except (OSError, VcrdtError):
                continue  # changed under us: no rename to report for it
        side[p] = (kind, oid)
    return sorted(find_renames(objects, base, side).items(), key=lambda r: r[1])


# A status compared again this many times at most while other processes keep committing.
_STATUS_TRIES = 5


def add(repo: Repository, paths: list[str], *, cwd: str | os.PathLike[str], force: bool = False) -> list[str]:
    """Start tracking files (directories add everything under them that is not ignored).

    Args:
        repo: The repository.
        paths: Files or directories, relative to `cwd`.
        cwd: The directory the paths are relative to.
        force: Add ignored files too (``add -f``).

    Returns:
        The paths newly tracked.

    Raises:
        WorktreeError: If a path matches no file.
        IgnoredPathsError: If paths are ignored (without `force`); nothing is added then.
    """
    rel = [repo_path(repo, cwd, p) for p in paths]
    with repo.transaction():
        if not force:
            # The untracked files from a monitor, or a walk that reads the stat-cache pack: no row read.
            added = repo.worktree.add_watched(rel)
            if added is not None:
                return added
        states = repo.worktree.states()
        # expand() returns only tracked paths and files the scan just found.
        return repo.worktree.track(repo.worktree.expand(rel, states, untracked_ok=True, force=force), states)


def rm(
    repo: Repository, paths: list[str], *, cwd: str | os.PathLike[str], cached: bool = False, recursive: bool = False
) -> list[str]:
    """Stop tracking files; delete them from the work tree unless `cached`.

    A directory (a path with tracked files under it, ``.`` included) needs `recursive`, as in git.

    Returns:
        The paths no longer tracked.

    Raises:
        WorktreeError: If a path is not tracked.
        RepoError: If a path is a directory and `recursive` is False.
    """
    rel = [repo_path(repo, cwd, p) for p in paths]
    with repo.transaction():
        rows = repo.worktree.rows()
        if not recursive:
            for arg, spec in zip(paths, rel, strict=True):
                if spec == "." or (spec not in rows and any(p.startswith(spec + "/") for p in rows)):
                    raise RepoError(
                        f"not removing '{arg}' recursively without -r", hint="use `vcrdt rm -r` to remove it all"
                    )
        files = repo.worktree.expand(rel, rows, untracked_ok=False)
        return repo.worktree.remove(files, keep_files=cached)


def mv(
    repo: Repository, src: str, dst: str, *, cwd: str | os.PathLike[str], force: bool = False
) -> list[tuple[str, str]]:
    """Rename a tracked file or directory (to `dst`, or into it when it is an existing directory), as git mv does.

    A directory moves every tracked file under it (untracked files stay where they are) and
    the directories it leaves empty are removed. An existing file at a destination is refused
    unless `force`: then it is replaced (a tracked one shows as modified).

    Returns:
        Each file moved, as (old, new) repository paths.

    Raises:
        WorktreeError: If `src` tracks nothing, a destination exists (without `force`) or is a
            directory, or a directory would move into itself.
    """
    s, d = repo_path(repo, cwd, src), repo_path(repo, cwd, dst)
    if s == ".":
        raise WorktreeError(src, "cannot move the whole work tree")
    st = repo.worktree.lstat(d) if d != "." else os.lstat(repo.root_dir)
    if st is not None and stat.S_ISDIR(st.st_mode):
        d = f"{d}/{s.rsplit('/', 1)[-1]}" if d != "." else s.rsplit("/", 1)[-1]
    with repo.transaction():
        rows = repo.worktree.rows()
        live = sorted(p for p, row in rows.items() if row.state != "removed")
        if s in live:
            moves = [(s, d)]
        else:
            moves = [(p, d + p[len(s) :]) for p in live if p.startswith(s + "/")]
            if not moves:
                raise WorktreeError(s, "is not tracked")
            if d == s or d.startswith(s + "/"):
                raise WorktreeError(src, f"cannot move a directory into itself ({dst})")
        for old, new in moves:
            # Checked for every file before any moves: a refusal half-way would leave files moved
            # on disk that the rolled-back rows still name at their old paths.
            if len(moves) > 1 and repo.worktree.lstat(old) is None:
                raise WorktreeError(old, "cannot move: missing, or beyond a symbolic link")
            there = repo.worktree.lstat(new)
            if there is not None and (stat.S_ISDIR(there.st_mode) or not force):
                raise WorktreeError(new, "already exists", hint=None if force else "use -f to overwrite it")
        for old, new in moves:
            if force and repo.worktree.lstat(new) is not None:
                if new in rows and rows[new].state != "removed":
                    repo.worktree.remove([new], keep_files=False)
                else:
                    repo.worktree.delete_file(new)
            repo.worktree.rename(old, new)
        if moves[0][0] != s:
            _prune_empty(repo, sorted({parent for old, _ in moves for parent in _parents(old, s)}, reverse=True))
    return moves


def _parents(path: str, top: str) -> list[str]:
    """The directories from `top` down to `path`'s parent: ``a/b/c`` under ``a`` gives ``a`` and ``a/b``."""
    parts = path.split("/")[:-1]
    return [p for p in ("/".join(parts[:i]) for i in range(1, len(parts) + 1)) if p == top or p.startswith(top + "/")]


def _prune_empty(repo: Repository, dirs: list[str]) -> None:
    """Remove each of `dirs` (deepest first) that is an empty directory reached through no symlink."""
    for rel in dirs:
        st = repo.worktree.lstat_in_tree(rel)
        if st is None or not stat.S_ISDIR(st.st_mode):
            continue
        try:
            os.rmdir(repo.worktree.abspath(rel))
        except OSError:
            continue  # not empty (untracked files stay), or already gone


def restore(repo: Repository, paths: list[str], *, cwd: str | os.PathLike[str], source: str | None = None) -> list[str]:
    """Overwrite work-tree files with their content in `source` (default HEAD), discarding edits.

    Paths absent from the source are deleted if they are only added, not committed.

    Returns:
        The paths rewritten (or tracked again): not those that already held the source's content.

    Raises:
        WorktreeError: If a path matches nothing.
    """
    rel = [repo_path(repo, cwd, p) for p in paths]
    from vcrdt.porcelain.oplog import operation

    flat = repo.commit_flat(repo.resolve(source)) if source else repo.worktree.head_flat()
    with operation(
        repo, "restore", f"restore {' '.join(rel)}" + (f" from {source}" if source else ""), files=True
    ) as op:
        rows = repo.worktree.rows()
        wanted: set[str] = set()
        for spec in rel:
            hits = [p for p in set(flat) | set(rows) if spec == "." or p == spec or p.startswith(spec + "/")]
            if not hits:
                raise WorktreeError(spec, "did not match any file known to vcrdt")
            wanted.update(hits)
        writes = {p: flat[p] for p in sorted(wanted) if p in flat}
        # A file that already holds the source's content (and kind) is left alone and not reported.
        current, _ = repo.worktree.current(rows, list(writes), None, store=False)
        writes = {p: e for p, e in writes.items() if current.get(p) != e or p not in rows or rows[p].state == "removed"}
        repo.worktree.check_writes(writes, rows)
        track = [p for p in writes if p not in rows or rows[p].state == "removed"]
        if track:
            repo.worktree.add(track)
        repo.worktree.journal_writes(writes)
        op.writes = dict(writes)
    repo.worktree.finish_checkout()
    return list(writes)


@value_class(frozen=True, init=False, repr=False, eq=False)
class CommitResult(Value):
    """A new commit and what it changed."""

    __slots__ = ("oid", "branch", "commit", "changes")  # noqa: RUF023 (field order)

    oid: ObjectId
    branch: str | None
    commit: Commit
    changes: list[Change]

    def __init__(self, oid: ObjectId, branch: str | None, commit: Commit, changes: list[Change]) -> None:
        object.__setattr__(self, "oid", oid)
        object.__setattr__(self, "branch", branch)
        object.__setattr__(self, "commit", commit)
        object.__setattr__(self, "changes", changes)


def commit(
    repo: Repository,
    message: str | None,
    *,
    paths: list[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    addremove: bool = False,
    allow_empty: bool = False,
    amend: bool = False,
    author: Signature | None = None,
    on_progress: Progress | None = None,
) -> CommitResult:
    """Record the tracked files' changes (or only those under `paths`) as a new commit.

    Everything (objects, the branch move, the work-tree rows and the operation log's row) is
    written in one transaction: a crash leaves the old HEAD or the new one.

    With `amend`, the new commit replaces HEAD instead of following it: same parents and
    author, HEAD's tree plus the changes, `message` (None: HEAD's). The replaced commit is
    tombstoned for the branch (a sync does not bring it back) and kept by the operation log.
    `author` overrides the configured author (a cherry-pick keeps the picked commit's).

    Raises:
        NothingToCommitError: If nothing changed and `allow_empty` is False.
        MergeError: If `amend` and HEAD is unborn or a merge is in progress.
        IdentityError: If no author is configured.
        WorktreeError: If a file cannot be read.
        RepoBusyError: If another writer holds the repository.
    """
    from vcrdt.porcelain.oplog import operation

    text = normalise_message(message) if message is not None else None
    author = author or repo.signature()
    wt = repo.worktree
    with operation(repo, "commit", "commit") as op:
        head = repo.refs.head()
        merging = repo.merge_state.theirs()
        amended: Commit | None = None
        if amend:
            if head.commit is None:
                raise MergeError("nothing to amend: HEAD has no commit yet")
            if merging is not None:
                raise MergeError("cannot amend during a merge", hint="commit the merge first, then amend it")
            amended = read_commit(repo.store, head.commit)
            author = amended.author
            text = text or amended.message
        if text is None:
            text = normalise_message("")
        if merging is not None:
            _check_merge_resolved(repo, paths)
        if addremove:
            states = wt.states()
            wt.track(wt.scan(states, tracked_stats=False).untracked, states)
        if paths:
            rows = wt.rows()
            selected = wt.expand([repo_path(repo, cwd or repo.root_dir, p) for p in paths], rows, untracked_ok=False)
        else:
            # Only paths that may have changed: an unchanged file's row is not even read.
            selected, rows = wt.suspects()
        head_flat = wt.head_flat(rows)
        live = [p for p in selected if rows[p].state != "removed"]
        current, dirty = wt.current(rows, live, None, store=True, on_progress=on_progress)
        new_flat = dict(head_flat)
        for p in selected:
            entry = current.get(p)
            if entry is None:
                new_flat.pop(p, None)
            else:
                new_flat[p] = entry
        changes = diff_changes(head_flat, new_flat)
        if not changes and not allow_empty and merging is None and amended is None:
            raise NothingToCommitError(
                "nothing to commit, working tree clean" if not paths else "no changes in the given paths",
                hint="use --allow-empty to record a commit anyway",
            )
        base_tree = read_commit(repo.store, head.commit).tree if head.commit is not None else None
        tree = repo.write_tree(new_flat, base=base_tree, changed=[c.path for c in changes])
        parents = [head.commit] if head.commit is not None else []
        record: bytes | None = None
        if amended is not None:
            parents = list(amended.parents)
            record = amended.resolutions
            changes = diff_changes(repo.commit_flat(parents[0]) if parents else {}, new_flat)
        if merging is not None and repo.merge_state.get("reopen") is None:
            parents.append(merging)
            record = repo.merge_state.get("resolutions")
        oid = repo.new_commit(tree, parents, text, author, resolutions=ObjectId(record) if record else None)
        new = read_commit(repo.store, oid)
        op.kind = "amend" if amended is not None else "commit"
        op.summary = f"{op.kind} {new.summary}"
        if head.branch is not None:
            joined = frozenset({merging}) & head.siblings if merging is not None else frozenset()
            repo.refs.update(head.branch, oid, expected=head.commit, drop=joined)
        else:
            repo.refs.set_head_detached(oid)
        cache: dict[str, Row] = {r.path: r for r in dirty}
        wt.record_head(new_flat, selected, cache, rows, (base_tree, tree))
        if merging is not None:
            repo.merge_state.clear()
    return CommitResult(oid, branch_of(repo), new, changes)


def _check_merge_resolved(repo: Repository, paths: list[str] | None) -> None:
    if paths:
        raise MergeError("cannot commit only some paths during a merge", hint="commit without paths")
    open_ = [c.path for c, resolved in repo.merge_state.conflicts() if not resolved]
    if open_:
        raise MergeError(
            f"{len(open_)} path{'s' if len(open_) != 1 else ''} still in conflict: {', '.join(open_[:5])}",
            hint="fix them and run `vcrdt resolve PATH` (or `vcrdt merge --abort`)",
        )
    for c, _ in repo.merge_state.conflicts():
        if c.kind in ("content", "add/add") and has_markers(repo, c.path):
            raise MergeError(f"{c.path}: still contains conflict markers", hint="edit the file, then commit")
