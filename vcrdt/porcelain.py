"""User-level verbs: init, status, add, rm, mv, commit, log, show, diff, branch, switch, tag, restore, cat, fsck.

Each function is named after its CLI verb, takes an open `Repository` (or a
path plus `Settings` for `init`) and returns plain values; nothing here
prints, prompts, exits or reads the environment. Long work reports through
an optional `on_progress(done, total)` callback.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vcrdt.crdt.order import TieKey
from vcrdt.crdt.refstate import BranchState, RefState
from vcrdt.crdt.vclock import Relation, compare
from vcrdt.dag import is_ancestor, iter_history, iter_reachable, merge_bases, read_commit, read_tree
from vcrdt.diff import (
    Change,
    DiffStat,
    FileDiff,
    diff_blobs,
    diff_changes,
    is_binary,
    iter_tree_changes,
    stat_from,
    xdiff_matcher,
)
from vcrdt.errors import (
    BadRevisionError,
    CorruptObjectError,
    DirtyWorktreeError,
    MergeError,
    NothingToCommitError,
    ObjectNotFoundError,
    RefError,
    RefExistsError,
    RefNotFoundError,
    VcrdtError,
    WorktreeError,
)
from vcrdt.ids import ObjectId, ReplicaId, short, to_hex
from vcrdt.merge.conflicts import AutoResolution, PathConflict, Side
from vcrdt.merge.diff3 import (
    MergeResult,
    Region,
    Style,
    marker_length,
    merge_bytes,
    merge_lines,
    render,
    split_lines,
    union_bytes,
)
from vcrdt.merge.policy import POLICY_FILE, OnConflict, Policy, crdt_rule, parse_policy
from vcrdt.merge.rules import RULES, Resolution, RuleName
from vcrdt.merge.trees import Decide, merge_flat, resolve_content
from vcrdt.objects import Commit, EntryKind, Tree, decode_object, history_problem
from vcrdt.paths import check_path
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX, Head, check_short_name
from vcrdt.repo import Repository, Settings
from vcrdt.store import LARGE_OBJECT
from vcrdt.worktree import FlatTree, Row, WorktreeStatus

Progress = Callable[[int, int], None]

# --- init ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InitResult:
    """What `init` created."""

    root: Path
    replica: ReplicaId
    branch: str


def init(path: Path, settings: Settings, *, initial_branch: str = "main") -> InitResult:
    """Create a repository in `path`.

    Raises:
        RepoExistsError: If one exists there already.
        BadRefNameError: If the branch name is invalid.
    """
    check_short_name(initial_branch)
    with Repository.init(path, settings, initial_branch=initial_branch) as repo:
        return InitResult(repo.root, repo.replica, initial_branch)


# --- status ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    """The branch, HEAD and the work tree's changes against HEAD."""

    branch: str | None
    head: ObjectId | None
    changes: WorktreeStatus
    merging: ObjectId | None = None
    conflicted: list[str] = field(default_factory=list)
    # The branch's other concurrent heads (a fetch brought them; `merge` joins them).
    siblings: list[ObjectId] = field(default_factory=list)


def _branch_of(repo: Repository) -> str | None:
    name = repo.refs.head().branch
    return name[len(BRANCH_PREFIX) :] if name and name.startswith(BRANCH_PREFIX) else name


def status(repo: Repository, *, ignored: bool = False) -> Status:
    """Compare the work tree with HEAD."""
    head = repo.refs.head()
    conflicted = [c.path for c, resolved in repo.merge_state.conflicts() if not resolved]
    return Status(
        _branch_of(repo),
        head.commit,
        repo.worktree.status(want_ignored=ignored),
        repo.merge_state.theirs(),
        conflicted,
        sorted(head.siblings),
    )


# --- add / rm / mv ----------------------------------------------------------------------------


def repo_path(repo: Repository, cwd: Path, arg: str) -> str:
    """Turn a command-line path (relative to `cwd`) into a repository path (``.`` for the root).

    Raises:
        WorktreeError: If it lies outside the repository.
        BadPathError: If it breaks a path rule.
    """
    full = os.path.normpath(os.path.join(cwd, arg))
    root = os.fspath(repo.root)
    if full == root:
        return "."
    if not full.startswith(root + os.sep):
        raise WorktreeError(arg, "is outside the repository")
    return check_path(full[len(root) + 1 :].replace(os.sep, "/"))


def add(repo: Repository, paths: list[str], *, cwd: Path) -> list[str]:
    """Start tracking files (directories add everything under them that is not ignored).

    Returns:
        The paths newly tracked.

    Raises:
        WorktreeError: If a path matches no file or is ignored.
    """
    rel = [repo_path(repo, cwd, p) for p in paths]
    with repo.transaction():
        states = repo.worktree.states()
        # expand() returns only tracked paths and files the scan just found.
        return repo.worktree.track(repo.worktree.expand(rel, states, untracked_ok=True), states)


def rm(repo: Repository, paths: list[str], *, cwd: Path, cached: bool = False) -> list[str]:
    """Stop tracking files; delete them from the work tree unless `cached`.

    Raises:
        WorktreeError: If a path is not tracked.
    """
    rel = [repo_path(repo, cwd, p) for p in paths]
    with repo.transaction():
        files = repo.worktree.expand(rel, repo.worktree.rows(), untracked_ok=False)
        return repo.worktree.remove(files, keep_files=cached)


def mv(repo: Repository, src: str, dst: str, *, cwd: Path) -> tuple[str, str]:
    """Rename a tracked file (into `dst`, or inside it when it is a directory).

    Raises:
        WorktreeError: If `src` is untracked or `dst` exists.
    """
    s, d = repo_path(repo, cwd, src), repo_path(repo, cwd, dst)
    st = repo.worktree.lstat(d) if d != "." else os.lstat(repo.root)
    if st is not None and stat.S_ISDIR(st.st_mode):
        d = f"{d}/{s.rsplit('/', 1)[-1]}" if d != "." else s.rsplit("/", 1)[-1]
    with repo.transaction():
        repo.worktree.rename(s, d)
    return s, d


# --- commit ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommitResult:
    """A new commit and what it changed."""

    oid: ObjectId
    branch: str | None
    commit: Commit
    changes: list[Change]


def _normalise_message(message: str) -> str:
    lines = [line.rstrip() for line in message.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip("\n")
    if not text:
        raise VcrdtError("empty commit message", hint="pass a message with -m")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise VcrdtError("commit message is not valid UTF-8") from None
    return text + "\n"


def commit(
    repo: Repository,
    message: str,
    *,
    paths: list[str] | None = None,
    cwd: Path | None = None,
    addremove: bool = False,
    allow_empty: bool = False,
    on_progress: Progress | None = None,
) -> CommitResult:
    """Record the tracked files' changes (or only those under `paths`) as a new commit.

    Everything (objects, the branch move and the work-tree rows) is written in
    one transaction: a crash leaves the old HEAD or the new one.

    Raises:
        NothingToCommitError: If nothing changed and `allow_empty` is False.
        IdentityError: If no author is configured.
        WorktreeError: If a file cannot be read.
        RepoBusyError: If another writer holds the repository.
    """
    text = _normalise_message(message)
    author = repo.signature()
    wt = repo.worktree
    with repo.transaction():
        head = repo.refs.head()
        merging = repo.merge_state.theirs()
        if merging is not None:
            _check_merge_resolved(repo, paths)
        if addremove:
            states = wt.states()
            wt.track(wt.scan(states, tracked_stats=False).untracked, states)
        if paths:
            rows = wt.rows()
            selected = wt.expand([repo_path(repo, cwd or repo.root, p) for p in paths], rows, untracked_ok=False)
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
        if not changes and not allow_empty and merging is None:
            raise NothingToCommitError(
                "nothing to commit, working tree clean" if not paths else "no changes in the given paths",
                hint="use --allow-empty to record a commit anyway",
            )
        base_tree = read_commit(repo.store, head.commit).tree if head.commit is not None else None
        tree = repo.write_tree(new_flat, base=base_tree, changed=[c.path for c in changes])
        parents = [head.commit] if head.commit is not None else []
        record: bytes | None = None
        if merging is not None and repo.merge_state.get("reopen") is None:
            parents.append(merging)
            record = repo.merge_state.get("resolutions")
        oid = repo.new_commit(tree, parents, text, author, resolutions=ObjectId(record) if record else None)
        new = read_commit(repo.store, oid)
        if head.branch is not None:
            joined = frozenset({merging}) & head.siblings if merging is not None else frozenset()
            repo.refs.update(head.branch, oid, expected=head.commit, drop=joined)
        else:
            repo.refs.set_head_detached(oid)
        cache: dict[str, Row] = {r.path: r for r in dirty}
        wt.record_head(new_flat, selected, cache, rows)
        if merging is not None:
            repo.merge_state.clear()
    return CommitResult(oid, _branch_of(repo), new, changes)


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
        if c.kind in ("content", "add/add") and _has_markers(repo, c.path):
            raise MergeError(f"{c.path}: still contains conflict markers", hint="edit the file, then commit")


# --- reading blobs for diffs ------------------------------------------------------------------------


def _blob(repo: Repository, oid: ObjectId | None) -> bytes | None:
    if oid is None:
        return None
    _, size = repo.store.info(oid)
    if size > LARGE_OBJECT:
        return b"\0<large object>"
    return repo.store.get(oid)[1]


def _work_bytes(repo: Repository, path: str, kind: EntryKind | None) -> bytes | None:
    if kind is None:
        return None
    full = repo.worktree.abspath(path)
    try:
        if kind is EntryKind.SYMLINK:
            return os.fsencode(os.readlink(full))
        if os.path.getsize(full) > LARGE_OBJECT:
            return b"\0<large file>"
        with open(full, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise WorktreeError(path, f"cannot read: {exc.strerror}") from exc


def _file_diffs(
    repo: Repository, changes: list[Change], *, worktree_new: bool = False, context: int = 3
) -> list[FileDiff]:
    out: list[FileDiff] = []
    for ch in changes:
        old = _blob(repo, ch.old_oid)
        new = _work_bytes(repo, ch.path, ch.new_kind) if worktree_new else _blob(repo, ch.new_oid)
        out.append(
            diff_blobs(ch.path, old, new, context=context, status=ch.status, old_kind=ch.old_kind, new_kind=ch.new_kind)
        )
    return out


# --- log / show ----------------------------------------------------------------------------------


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


# --- diff ----------------------------------------------------------------------------------------


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


# --- branches, tags, switch, restore ----------------------------------------------------------------


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
        written = repo.worktree.checkout(repo.commit_flat(oid), force=force, on_progress=on_progress)
        if detach:
            assert oid is not None  # invariant: detach resolved a commit above
            repo.refs.set_head_detached(oid)
        else:
            repo.refs.set_head_branch(full)
            if oid is not None and len(repo.refs.heads(full)) > 1:
                repo.refs.set_head_at(oid)
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
        done = []
        for p in sorted(wanted):
            if p in flat:
                kind, oid = flat[p]
                repo.worktree.write_file(p, kind, oid)
                if p in rows and rows[p].state == "removed":
                    repo.worktree.add([p])
                elif p not in rows:
                    repo.worktree.add([p])
                done.append(p)
        return done


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


# --- cat / fsck --------------------------------------------------------------------------------------


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
    for oid in sorted(present - bad):
        if repo.store.info(oid)[0] == "blob":
            continue  # every byte string is a valid blob, and verify_all checked its hash
        try:
            kind, body = repo.store.get(oid)
            decode_object(kind, body)
        except VcrdtError as exc:
            bad.add(oid)
            problems.append(FsckProblem(to_hex(oid), exc.message))
    problems += _history_problems(repo, present - bad)
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


def _history_problems(repo: Repository, oids: set[ObjectId]) -> list[FsckProblem]:
    """Commits whose clocks break the history rules against parents that are present and sound."""
    out: list[FsckProblem] = []
    for oid in sorted(oids):
        if repo.store.info(oid)[0] != "commit":
            continue
        commit = read_commit(repo.store, oid)
        if not all(p in oids for p in commit.parents):
            continue  # a missing parent is reported as broken history
        problem = history_problem(commit, [read_commit(repo.store, p) for p in commit.parents])
        if problem is not None:
            out.append(FsckProblem(to_hex(oid), problem))
    return out


@dataclass(frozen=True, slots=True)
class MergeFileResult:
    """A three-way merge of plain files: the merged bytes and the number of conflicts."""

    data: bytes
    conflicts: int
    # Why a requested rule did not apply (the merge fell back to markers), or "".
    note: str = ""


def _read_input(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        err = WorktreeError(str(path), f"cannot read: {exc.strerror}")
        err.exit_code = 255
        raise err from exc


def merge_file(
    current: Path,
    base: Path,
    other: Path,
    *,
    style: Style = "merge",
    labels: tuple[str, str, str] | None = None,
    write: bool = True,
    rule: RuleName | None = None,
) -> MergeFileResult:
    """Merge the changes from `base` to `other` into `current`, as `git merge-file` does.

    With `write`, the result replaces `current` atomically (conflict markers
    included); otherwise it is only returned. With `rule`, the rule settles
    the conflicts; plain files have no commits, so the tie-break order
    falls back to the files' content hashes (`TieKey.of_content`) and the
    result does not depend on which file is `current`.

    Raises:
        MergeError: If a file is binary (exit code 255).
        WorktreeError: If a file cannot be read or written (exit code 255).
    """
    texts = [_read_input(p) for p in (current, base, other)]
    for path, data in zip((current, base, other), texts, strict=True):
        if is_binary(data):
            err = MergeError(f"cannot merge binary file {path}")
            err.exit_code = 255
            raise err
    names = labels or (str(current), str(base), str(other))
    note = ""
    outcome = None
    if rule is not None:
        outcome = resolve_content(
            rule,
            texts[1],
            texts[0],
            texts[2],
            ours_key=TieKey.of_content(texts[0]),
            theirs_key=TieKey.of_content(texts[2]),
        )
    if isinstance(outcome, Resolution):
        merged, conflicts = outcome.data, 0
    else:
        note = outcome.reason if outcome is not None else ""
        merged, conflicts = merge_bytes(texts[1], texts[0], texts[2], matcher=xdiff_matcher, style=style, labels=names)
    if write:
        tmp = current.with_name(f".{current.name}.vcrdt-merge.tmp")
        try:
            tmp.write_bytes(merged)
            os.chmod(tmp, stat.S_IMODE(os.stat(current).st_mode))
            os.replace(tmp, current)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            failure = WorktreeError(str(current), f"cannot write: {exc.strerror}")
            failure.exit_code = 255
            raise failure from exc
    return MergeFileResult(merged, conflicts, note)


# --- merge -------------------------------------------------------------------------------------------

MergeStatus = Literal["up-to-date", "fast-forward", "merged", "conflicts"]
MARKER_PREFIXES = (b"<<<<<<< ", b">>>>>>> ", b"||||||| ")


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    """What `merge` did (or, with `dry_run`, would do)."""

    status: MergeStatus
    ours: ObjectId | None
    theirs: ObjectId
    bases: list[ObjectId]
    commit: ObjectId | None
    conflicts: list[PathConflict]
    changed: list[str]
    dry_run: bool = False
    auto: list[AutoResolution] = field(default_factory=list)
    # Paths whose rule did not apply, with the reason (they are among `conflicts`).
    notes: list[tuple[str, str]] = field(default_factory=list)
    # Conflicted paths whose policy is `ask`: the caller prompts for them when it can.
    ask: list[str] = field(default_factory=list)


def _label(repo: Repository) -> str:
    return _branch_of(repo) or "HEAD"


def _virtual_base(repo: Repository, bases: list[ObjectId]) -> FlatTree:
    """The base tree to merge against: the merge base, or several merged into one (criss-cross).

    Like git's recursive strategy, bases are merged pairwise against their own
    merge base; conflicts inside the virtual base keep their markers.
    """
    flat = repo.commit_flat(bases[0])
    current = bases[0]
    for other in bases[1:]:
        inner = merge_bases(repo.store, current, other)
        inner_flat = _virtual_base(repo, inner) if inner else {}
        tm = merge_flat(
            repo.store,
            inner_flat,
            flat,
            repo.commit_flat(other),
            style="diff3",
            labels=("base 1", "ancestor", "base 2"),
        )
        flat = {**tm.entries, **tm.worktree}
        current = other
    return flat


def merge(
    repo: Repository,
    rev: str | None,
    *,
    no_ff: bool = False,
    dry_run: bool = False,
    style: Style = "merge",
    message: str | None = None,
    on_conflict: OnConflict | None = None,
    ask_default: bool = False,
    auto: bool = False,
    on_progress: Progress | None = None,
) -> MergeOutcome:
    """Merge the commit `rev` into HEAD; with `rev` None, join the current branch's siblings.

    Siblings (concurrent heads of one branch, brought by a fetch) merge one at
    a time, earliest in the tie-break order first; each merge replaces both
    heads by the merge commit. With `auto`, all siblings are folded in
    tie-break order into convergent merge commits, so every replica joining
    the same siblings ends with the same commit.

    What diff3 leaves in conflict goes by the policy (``.vcrdtattributes``,
    `vcrdt.merge.policy`) unless `on_conflict` overrides it: ``markers`` and
    ``ask`` settle nothing automatically, ``crdt`` settles every path by its
    rule (``union`` for text, ``lww`` for binary when it has none), ``fail``
    applies the policy's rules and raises if anything is left. Paths whose
    action is ``ask`` (or unset, with `ask_default`) are listed in the
    outcome for the caller to prompt.

    With `auto`, the merge is convergent: rules settle everything (as
    ``crdt``), the sides are taken in tie-break order, and the merge commit
    is a pure function of the two heads (`Repository.convergent_commit`), so
    replicas merging the same heads in either direction make the same commit.

    Fast-forwards when HEAD is an ancestor (unless `no_ff`). Otherwise merges
    the trees against the merge base (a virtual base after criss-cross
    merges) and commits the result when clean; on conflicts, leaves the
    merged files (conflicts with markers) in the work tree and records the
    merge as in progress, for `resolve` then `commit`, or `merge_abort`.

    Raises:
        MergeError: If a merge is already in progress, the histories are unrelated, or
            conflicts remain under ``fail`` or `auto`.
        PolicyError: If the policy file is malformed (before anything is written).
        DirtyWorktreeError: If tracked files have uncommitted changes.
    """
    if auto and on_conflict not in (None, "crdt"):
        raise MergeError(
            f"--auto settles every conflict by rule; it cannot be combined with --on-conflict={on_conflict}"
        )
    if repo.merge_state.in_progress():
        raise MergeError("a merge is already in progress", hint="commit the resolution, or run `vcrdt merge --abort`")
    head = repo.refs.head()
    if rev is None:
        if not head.siblings:
            raise MergeError(
                "nothing to merge: the branch has no concurrent heads", hint="name a branch or commit to merge"
            )
        if auto and not dry_run:
            return _join_siblings(repo, head, on_progress)
        theirs = min(head.siblings, key=lambda h: tie_key(repo, h))
        rev = short(theirs)
    else:
        theirs = repo.resolve(rev)
    drop = frozenset({theirs}) & head.siblings
    ours = head.commit
    if ours is not None and is_ancestor(repo.store, theirs, ours):
        return MergeOutcome("up-to-date", ours, theirs, [theirs], None, [], [], dry_run)
    if not dry_run:
        changes = repo.worktree.status()
        if not changes.is_clean:
            dirty = changes.modified + changes.added + changes.deleted + changes.removed
            raise DirtyWorktreeError(
                f"local changes would be mixed into the merge: {', '.join(dirty[:5])}"
                + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""),
                hint="commit them first (or `vcrdt restore` them)",
            )
    ours_flat = repo.commit_flat(ours)
    if ours is not None and auto and not is_ancestor(repo.store, ours, theirs):
        bases = merge_bases(repo.store, ours, theirs)
        with repo.transaction():
            entries, settled, record = _auto_tree(repo, ours, theirs)
            changed = [c.path for c in diff_changes(ours_flat, entries)]
            if dry_run:
                return MergeOutcome("merged", ours, theirs, bases, None, [], changed, True, settled)
            oid = repo.convergent_commit(repo.write_tree(entries), [ours, theirs], record)
            repo.worktree.checkout(entries, force=False, on_progress=on_progress)
            _move_head(repo, head.branch, oid, ours, drop)
        return MergeOutcome("merged", ours, theirs, bases, oid, [], changed, False, settled)
    if ours is None or (is_ancestor(repo.store, ours, theirs) and not no_ff):
        target = repo.commit_flat(theirs)
        changed = [c.path for c in diff_changes(ours_flat, target)]
        if not dry_run:
            with repo.transaction():
                repo.worktree.checkout(target, force=False, on_progress=on_progress)
                _move_head(repo, head.branch, theirs, ours, drop)
        return MergeOutcome("fast-forward", ours, theirs, [ours] if ours else [], theirs, [], changed, dry_run)
    bases = merge_bases(repo.store, ours, theirs)
    if not bases:
        raise MergeError(f"refusing to merge unrelated histories: {rev}")
    base_flat = _virtual_base(repo, bases)
    theirs_flat = repo.commit_flat(theirs)
    labels = (_label(repo), "base", rev)
    policy = _merge_policy(repo, base_flat, ours_flat, theirs_flat, strict=False)
    with repo.transaction():
        tm = merge_flat(
            repo.store,
            base_flat,
            ours_flat,
            theirs_flat,
            style=style,
            labels=labels,
            decide=_decider(policy, on_conflict),
            keys=(tie_key(repo, ours), tie_key(repo, theirs)),
        )
        result_flat = {**tm.entries, **tm.worktree}
        changed = [c.path for c in diff_changes(ours_flat, result_flat)]
        ask = _ask_paths(policy, tm.conflicts, on_conflict, ask_default)
        status: MergeStatus = "conflicts" if tm.conflicts else "merged"
        if dry_run:
            return MergeOutcome(status, ours, theirs, bases, None, tm.conflicts, changed, True, tm.auto, tm.notes, ask)
        if tm.conflicts and on_conflict == "fail":
            paths = [c.path for c in tm.conflicts]
            reasons = dict(tm.notes)
            first = f"{paths[0]} ({reasons[paths[0]]})" if paths[0] in reasons else paths[0]
            raise MergeError(
                f"merge left {len(paths)} path{'s' if len(paths) != 1 else ''} in conflict: {first}"
                + (f" and {len(paths) - 1} more" if len(paths) > 1 else "")
                + "; nothing was changed",
                hint="merge without --on-conflict=fail to resolve them by hand",
            )
        record = _store_resolutions(repo, tm.auto, (ours, theirs)) if tm.auto else None
        text = _normalise_message(message or f"Merge {rev} into {_label(repo)}")
        if tm.is_clean:
            ours_tree = read_commit(repo.store, ours).tree
            tree = repo.write_tree(tm.entries, base=ours_tree, changed=changed)
            oid = repo.new_commit(tree, [ours, theirs], text, repo.signature(), resolutions=record)
            repo.worktree.checkout(tm.entries, force=False, on_progress=on_progress)
            _move_head(repo, head.branch, oid, ours, drop)
            return MergeOutcome("merged", ours, theirs, bases, oid, [], changed, False, tm.auto, tm.notes)
        _leave_in_worktree(repo, ours_flat, result_flat)
        repo.merge_state.start(theirs, ours, text, tm.conflicts, style, resolutions=record)
    return MergeOutcome("conflicts", ours, theirs, bases, None, tm.conflicts, changed, False, tm.auto, tm.notes, ask)


def _join_siblings(repo: Repository, head: Head, on_progress: Progress | None) -> MergeOutcome:
    """Fold every head of the current branch, in tie-break order, into convergent merge commits."""
    assert head.branch is not None and head.commit is not None
    heads = sorted({head.commit, *head.siblings}, key=lambda h: tie_key(repo, h))
    changes = repo.worktree.status()
    if not changes.is_clean:
        raise DirtyWorktreeError("local changes would be mixed into the merge", hint="commit them first")
    ours_flat = repo.commit_flat(head.commit)
    auto: list[AutoResolution] = []
    with repo.transaction():
        acc = heads[0]
        for other in heads[1:]:
            acc, settled = _auto_pair(repo, acc, other)
            auto += settled
        target = repo.commit_flat(acc)
        repo.worktree.checkout(target, force=False, on_progress=on_progress)
        repo.refs.update(head.branch, acc, expected=head.commit, drop=head.siblings)
    changed = [c.path for c in diff_changes(ours_flat, target)]
    bases = merge_bases(repo.store, heads[0], heads[1])
    return MergeOutcome("merged", head.commit, heads[-1], bases, acc, [], changed, False, auto)


def _auto_pair(repo: Repository, a: ObjectId, b: ObjectId) -> tuple[ObjectId, list[AutoResolution]]:
    """The convergent merge commit of two heads (no work-tree writes); a descendant needs no merge.

    The merged tree depends only on the *set* of heads being joined, not on the
    order they were joined in: a convergent merge commit stands for its
    leaves (the non-convergent heads it joined, recursively), and the tree is
    the leaves folded in tie-break order, each merged against their common
    base. So joining three or more heads in any order gives the same tree.

    Raises:
        MergeError: If a rule cannot settle some path (nothing is written then).
    """
    if is_ancestor(repo.store, a, b):
        return b, []
    if is_ancestor(repo.store, b, a):
        return a, []
    entries, settled, record = _auto_tree(repo, a, b)
    return repo.convergent_commit(repo.write_tree(entries), [a, b], record), settled


def _auto_tree(repo: Repository, a: ObjectId, b: ObjectId) -> tuple[FlatTree, list[AutoResolution], ObjectId | None]:
    """The tree of the convergent merge of two concurrent heads, what rules settled, and its record.

    Raises:
        MergeError: If the histories are unrelated or a rule cannot settle some path.
    """
    leaves = _maximal(repo, _leaves(repo, a) | _leaves(repo, b))
    base = _common_base(repo, leaves)
    if base is None:
        raise MergeError(f"refusing to merge unrelated histories: {short(a)} and {short(b)}")
    return _fold(repo, base, leaves)


def _leaves(repo: Repository, oid: ObjectId) -> set[ObjectId]:
    """The heads a convergent merge commit joined (itself, for any other commit)."""
    out: set[ObjectId] = set()
    stack = [oid]
    while stack:
        c = stack.pop()
        if repo.is_convergent(c):
            stack.extend(read_commit(repo.store, c).parents)
        else:
            out.add(c)
    return out


def _maximal(repo: Repository, heads: set[ObjectId]) -> list[ObjectId]:
    """Drop heads that are ancestors of another; the rest in tie-break order."""
    keep = [h for h in heads if not any(h != o and is_ancestor(repo.store, h, o) for o in heads)]
    return sorted(keep, key=lambda h: tie_key(repo, h))


def _common_base(repo: Repository, heads: list[ObjectId]) -> ObjectId | FlatTree | None:
    """The base every head is merged against: their merge base (a virtual one after criss-crosses)."""
    acc: list[ObjectId] = [heads[0]]
    for h in heads[1:]:
        found = {b for a in acc for b in merge_bases(repo.store, a, h)}
        if not found:
            return None
        acc = _maximal(repo, found)
    return acc[0] if len(acc) == 1 else _virtual_base(repo, sorted(acc))


def _fold(
    repo: Repository, base: ObjectId | FlatTree, leaves: list[ObjectId]
) -> tuple[FlatTree, list[AutoResolution], ObjectId | None]:
    """Merge `leaves` (in tie-break order) one after another against `base`, every conflict by rule."""
    base_flat = base if isinstance(base, dict) else repo.commit_flat(base)
    acc, acc_key = repo.commit_flat(leaves[0]), tie_key(repo, leaves[0])
    acc_commit: ObjectId | None = leaves[0]
    settled: list[AutoResolution] = []
    entries: dict[str, dict[str, object]] = {}
    for leaf in leaves[1:]:
        leaf_flat, leaf_key = repo.commit_flat(leaf), tie_key(repo, leaf)
        policy = _merge_policy(repo, base_flat, acc, leaf_flat, strict=True)
        tm = merge_flat(
            repo.store, base_flat, acc, leaf_flat, decide=_decider(policy, "crdt"), keys=(acc_key, leaf_key)
        )
        if tm.conflicts:
            c = tm.conflicts[0]
            reason = dict(tm.notes).get(c.path)
            raise MergeError(
                f"{c.path}: {c.kind} conflict that no rule settles"
                + (f" ({reason})" if reason else "")
                + "; nothing was changed",
                hint="merge without --auto and resolve it by hand",
            )
        settled += tm.auto
        for e in _record_entries(tm.auto, (acc_commit, leaf)):
            entries[str(e["path"])] = e  # a later step's decision on a path supersedes an earlier one
        # From here on the accumulated side is the fold so far, not any one commit.
        acc, acc_key, acc_commit = dict(tm.entries), leaf_key, None
    record = repo.store.put("blob", _dump_record(list(entries.values()))) if entries else None
    return acc, settled, record


def tie_key(repo: Repository, oid: ObjectId) -> TieKey:
    """A commit's place in the tie-break order (Lamport clock, replica id, commit id)."""
    c = read_commit(repo.store, oid)
    return TieKey(c.lamport, c.replica, bytes(oid))


def _merge_policy(repo: Repository, base: FlatTree, ours: FlatTree, theirs: FlatTree, *, strict: bool) -> Policy:
    """The policy a merge follows: the merged ``.vcrdtattributes`` when it merges cleanly, else ours.

    Raises:
        PolicyError: If the file is malformed.
        MergeError: If `strict` and the policy file itself conflicts.
    """
    b, o, t = (f.get(POLICY_FILE) for f in (base, ours, theirs))
    data: bytes | None
    if o == t or t == b:
        data = _blob(repo, o[1]) if o else None
    elif o == b:
        data = _blob(repo, t[1]) if t else None
    else:
        texts = [(_blob(repo, e[1]) or b"") if e else b"" for e in (b, o, t)]
        merged, conflicts = merge_bytes(texts[0], texts[1], texts[2], matcher=xdiff_matcher)
        if conflicts and strict:
            raise MergeError(f"{POLICY_FILE}: the merge policy itself conflicts", hint="merge it by hand first")
        data = merged if not conflicts else texts[1]
    return parse_policy(data) if data else Policy()


def _decider(policy: Policy, on_conflict: OnConflict | None) -> Decide | None:
    if on_conflict in ("markers", "ask"):
        return None
    if on_conflict == "crdt":
        return lambda path, binary: crdt_rule(policy.action_for(path), binary=binary)

    def by_policy(path: str, binary: bool) -> RuleName | None:
        action = policy.action_for(path)
        return action if action in RULES else None

    return by_policy


def _ask_paths(
    policy: Policy, conflicts: list[PathConflict], on_conflict: OnConflict | None, ask_default: bool
) -> list[str]:
    if not ask_default or on_conflict in ("markers", "fail", "crdt"):
        return []
    if on_conflict == "ask":
        return [c.path for c in conflicts]
    return [c.path for c in conflicts if (policy.action_for(c.path) or "ask") == "ask"]


RESOLUTIONS_FORMAT = 1


def _side_json(side: Side, commit: ObjectId | None) -> dict[str, object]:
    return {
        "commit": commit.hex() if commit is not None else None,
        "kind": side.kind.value if side.kind else None,
        "id": side.oid.hex() if side.oid else None,
    }


def _text_json(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _record_entries(
    auto: list[AutoResolution], sides: tuple[ObjectId | None, ObjectId | None]
) -> list[dict[str, object]]:
    return [
        {
            "path": a.path,
            "rule": a.rule,
            "base": _side_json(a.base, None),
            "ours": _side_json(a.ours, sides[0]),
            "theirs": _side_json(a.theirs, sides[1]),
            "hunks": [
                {
                    "where": h.where,
                    "rule": h.rule,
                    "outcome": h.outcome,
                    "chosen": _text_json(h.chosen),
                    "alternatives": [{"side": s, "text": _text_json(t)} for s, t in h.alternatives],
                }
                for h in a.hunks
            ],
        }
        for a in auto
    ]


def _dump_record(entries: list[dict[str, object]]) -> bytes:
    import json

    doc = {"format": RESOLUTIONS_FORMAT, "resolutions": sorted(entries, key=lambda e: str(e["path"]))}
    return (json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode()


def _store_resolutions(repo: Repository, auto: list[AutoResolution], sides: tuple[ObjectId, ObjectId]) -> ObjectId:
    """Store the canonical record of a merge's automatic resolutions (docs/format.md)."""
    return repo.store.put("blob", _dump_record(_record_entries(auto, sides)))


def _move_head(
    repo: Repository,
    branch: str | None,
    new: ObjectId,
    expected: ObjectId | None,
    drop: frozenset[ObjectId] = frozenset(),
) -> None:
    if branch is not None:
        repo.refs.update(branch, new, expected=expected, drop=drop)
    else:
        repo.refs.set_head_detached(new)


def _leave_in_worktree(repo: Repository, ours: FlatTree, result: FlatTree) -> None:
    """Write a conflicted merge's files; HEAD stays at ours, so the merge shows as local changes."""
    wt = repo.worktree
    rows = wt.rows()
    blocked = [p for p in result if p not in ours and wt.in_the_way(p, rows, result)]
    if blocked:
        raise DirtyWorktreeError(
            f"untracked files would be overwritten by the merge: {', '.join(sorted(blocked)[:5])}",
            hint="move them away and merge again",
        )
    gone = [p for p in ours if p not in result]
    if gone:
        wt.remove(gone, keep_files=False)
    for path, (kind, oid) in sorted(result.items()):
        if ours.get(path) != (kind, oid):
            wt.write_file(path, kind, oid)
    added = [p for p in result if p not in ours]
    if added:
        wt.add(added)


def merge_abort(repo: Repository) -> list[str]:
    """Undo a conflicted merge: every file back to HEAD, merge state forgotten.

    Returns:
        The paths restored or deleted.

    Raises:
        MergeError: If no merge is in progress.
    """
    if not repo.merge_state.in_progress():
        raise MergeError("no merge in progress")
    touched: list[str] = []
    with repo.transaction():
        rows = repo.worktree.rows()
        drop = [p for p, r in rows.items() if r.head_oid is None]
        for p in drop:
            repo.worktree.delete_file(p)
        repo.worktree.forget(drop)
        touched += drop
        cur, _ = repo.worktree.current(rows, [p for p, r in rows.items() if r.head_oid is not None], None, store=False)
        for p, r in rows.items():
            if r.head_kind is None or r.head_oid is None:
                continue
            if r.state == "removed" or cur.get(p) != (r.head_kind, r.head_oid):
                repo.worktree.write_file(p, r.head_kind, r.head_oid)
                touched.append(p)
        repo.worktree.reset_states()
        repo.merge_state.clear()
    return sorted(touched)


ResolveSide = Literal["ours", "theirs", "base", "union"]


def resolve(repo: Repository, paths: list[str], *, cwd: Path, side: ResolveSide | None = None) -> list[str]:
    """Mark conflicted paths resolved, after taking one side's version when `side` is given.

    Without a side, the file must no longer hold conflict markers.

    Raises:
        MergeError: If no merge is in progress, a path is not conflicted, or markers remain.
    """
    if not repo.merge_state.in_progress():
        raise MergeError("no merge in progress")
    recorded = {c.path: c for c, _ in repo.merge_state.conflicts()}
    rel = [repo_path(repo, cwd, p) for p in paths]
    with repo.transaction():
        for path in rel:
            conflict = recorded.get(path)
            if conflict is None:
                raise MergeError(f"{path}: not a conflicted path")
            if side == "union":
                if conflict.kind not in ("content", "add/add"):
                    raise MergeError(f"{path}: --union needs a text conflict, not {conflict.kind}")
                texts = [_lines_of(repo, s.oid) for s in (conflict.base, conflict.ours, conflict.theirs)]
                if any(t is None for t in texts):
                    raise MergeError(f"{path}: --union needs text files")
                base_t, ours_t, theirs_t = (b"".join(t or []) for t in texts)
                oid = repo.store.put("blob", union_bytes(base_t, ours_t, theirs_t, matcher=xdiff_matcher))
                kind = conflict.ours.kind or conflict.theirs.kind or EntryKind.FILE
                repo.worktree.write_file(path, kind, oid)
            elif side is not None:
                chosen = {"ours": conflict.ours, "theirs": conflict.theirs, "base": conflict.base}[side]
                _take(repo, path, chosen.entry())
            elif _has_markers(repo, path):
                raise MergeError(
                    f"{path}: still contains conflict markers",
                    hint="edit the file, or pick a side with --ours/--theirs",
                )
            repo.merge_state.mark_resolved(path)
    return rel


def resolve_by_rule(repo: Repository, paths: list[str], *, cwd: Path, rule: RuleName) -> list[str]:
    """Settle conflicted paths by a CRDT rule, as the merge policy would have, and record it with the merge.

    Raises:
        MergeError: If no merge is in progress, a path is not conflicted, or the rule does not
            apply (e.g. JSON that does not parse; the path stays in conflict).
    """
    import json

    if not repo.merge_state.in_progress():
        raise MergeError("no merge in progress")
    recorded = {c.path: c for c, _ in repo.merge_state.conflicts()}
    orig, theirs = repo.merge_state.get("orig"), repo.merge_state.theirs()
    assert orig is not None and theirs is not None
    sides = (ObjectId(orig), theirs)
    keys = (tie_key(repo, sides[0]), tie_key(repo, sides[1]))
    rel = [repo_path(repo, cwd, p) for p in paths]
    settled: list[AutoResolution] = []
    with repo.transaction():
        for path in rel:
            c = recorded.get(path)
            if c is None:
                raise MergeError(f"{path}: not a conflicted path")
            if c.kind == "file/directory":
                raise MergeError(f"{path}: a file/directory conflict is not settled by a rule")
            tm = merge_flat(
                repo.store,
                _one(path, c.base),
                _one(path, c.ours),
                _one(path, c.theirs),
                decide=lambda _p, _b: rule,
                keys=keys,
            )
            if tm.conflicts:
                reason = dict(tm.notes).get(path, "the rule does not apply")
                raise MergeError(f"{path}: {reason}; it stays in conflict")
            _take(repo, path, tm.entries.get(path))
            settled += tm.auto
            repo.merge_state.mark_resolved(path)
        if settled:
            old = repo.merge_state.get("resolutions")
            entries = json.loads(repo.store.get(ObjectId(old))[1])["resolutions"] if old else []
            fresh = _record_entries(settled, sides)
            names = {e["path"] for e in fresh}
            record = _dump_record([e for e in entries if e["path"] not in names] + fresh)
            repo.merge_state.put("resolutions", repo.store.put("blob", record))
    return rel


def _take(repo: Repository, path: str, entry: tuple[EntryKind, ObjectId] | None) -> None:
    """Put one version of a conflicted path in the work tree (None: the path goes away)."""
    if entry is None:
        repo.worktree.delete_file(path)
        if path in repo.worktree.rows():
            repo.worktree.remove([path], keep_files=False)
    else:
        repo.worktree.write_file(path, *entry)
        repo.worktree.add([path])


def _one(path: str, side: Side) -> FlatTree:
    entry = side.entry()
    return {path: entry} if entry is not None else {}


def _has_markers(repo: Repository, path: str) -> bool:
    try:
        with open(repo.worktree.abspath(path), "rb") as fh:
            return any(line.startswith(MARKER_PREFIXES) or line.rstrip(b"\r\n") == b"=" * 7 for line in fh)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise WorktreeError(path, f"cannot read: {exc.strerror}") from exc


@dataclass(frozen=True, slots=True)
class HunkText:
    """One side of a conflicting hunk: its first line number (1-based) and its lines."""

    start: int
    lines: list[str]


@dataclass(frozen=True, slots=True)
class ConflictHunk:
    """A conflicting hunk of a content conflict, on all three sides."""

    base: HunkText
    ours: HunkText
    theirs: HunkText


@dataclass(frozen=True, slots=True)
class ConflictDetail:
    """A conflicted path, whether it is resolved, and its conflicting hunks (for text conflicts)."""

    conflict: PathConflict
    resolved: bool
    hunks: list[ConflictHunk]


def _lines_of(repo: Repository, oid: ObjectId | None) -> list[bytes] | None:
    if oid is None:
        return []
    if repo.store.info(oid)[1] > LARGE_OBJECT:
        return None
    data = repo.store.get(oid)[1]
    return None if is_binary(data) else split_lines(data)


def conflict_details(repo: Repository) -> list[ConflictDetail]:
    """Return each conflict of the merge in progress with its hunks on the three sides."""
    out: list[ConflictDetail] = []
    for c, resolved in repo.merge_state.conflicts():
        hunks: list[ConflictHunk] = []
        texts = [_lines_of(repo, s.oid) for s in (c.base, c.ours, c.theirs)]
        if c.kind in ("content", "add/add") and all(t is not None for t in texts):
            base, ours, theirs = (t or [] for t in texts)
            merged = merge_lines(base, ours, theirs, matcher=xdiff_matcher, style="diff3")
            for r in merged.regions:
                if r.kind != "conflict":
                    continue
                hunks.append(
                    ConflictHunk(
                        HunkText(r.base_start + 1, [x.decode("utf-8", "replace") for x in r.base]),
                        HunkText(r.a_start + 1, [x.decode("utf-8", "replace") for x in r.a]),
                        HunkText(r.b_start + 1, [x.decode("utf-8", "replace") for x in r.b]),
                    )
                )
        out.append(ConflictDetail(c, resolved, hunks))
    return out


HunkAction = Literal["ours", "theirs", "both", "base", "skip", "text"]


@dataclass(frozen=True, slots=True)
class HunkChoice:
    """What to put in place of one conflicting hunk; `text` carries edited lines."""

    action: HunkAction
    text: list[bytes] | None = None


def resolve_hunks(repo: Repository, path: str, choices: list[HunkChoice]) -> bool:
    """Rewrite a text conflict hunk by hunk; mark the path resolved when no hunk was skipped.

    `choices` follow the order of `conflict_details` hunks; skipped hunks keep
    their markers.

    Returns:
        True when the path is now resolved.

    Raises:
        MergeError: If the path is not a text conflict of the merge in progress.
    """
    found = {c.path: c for c, _ in repo.merge_state.conflicts()}
    conflict = found.get(path)
    if conflict is None or conflict.kind not in ("content", "add/add"):
        raise MergeError(f"{path}: not a text conflict of the merge in progress")
    texts = [_lines_of(repo, s.oid) for s in (conflict.base, conflict.ours, conflict.theirs)]
    if any(t is None for t in texts):
        raise MergeError(f"{path}: not a text file")
    base, ours, theirs = (t or [] for t in texts)
    merged = merge_lines(base, ours, theirs, matcher=xdiff_matcher, style="diff3")
    regions: list[Region] = []
    pending = iter(choices)
    skipped = False
    for r in merged.regions:
        if r.kind != "conflict":
            regions.append(r)
            continue
        choice = next(pending, HunkChoice("skip"))
        picked = {
            "ours": list(r.a),
            "theirs": list(r.b),
            "both": [*r.a, *r.b],
            "base": list(r.base),
            "text": choice.text or [],
        }.get(choice.action)
        if picked is None:
            skipped = True
            regions.append(r)
        else:
            lines = tuple(picked)
            regions.append(Region("unchanged", lines, lines, lines))
    result = MergeResult(tuple(regions))
    style_raw = repo.merge_state.get("style")
    style: Style = "diff3" if style_raw == b"diff3" else "zdiff3" if style_raw == b"zdiff3" else "merge"
    labels = (_label(repo), "base", "theirs")
    data = (
        b"".join(result.clean_lines())
        if result.is_clean
        else render(result, style=style, labels=labels, marker_len=marker_length(base, ours, theirs))
    )
    with repo.transaction():
        oid = repo.store.put("blob", data)
        repo.worktree.write_file(path, conflict.ours.kind or conflict.theirs.kind or EntryKind.FILE, oid)
        if not skipped:
            repo.merge_state.mark_resolved(path)
    return not skipped


@dataclass(frozen=True, slots=True)
class Causality:
    """How commit `a` relates to commit `b`, from their vector clocks."""

    a: ObjectId
    b: ObjectId
    relation: Relation


def concurrent(repo: Repository, a: str, b: str) -> Causality:
    """Compare two commits causally: `before`, `after`, `equal` or `concurrent` (a relative to b).

    Answered from the commits' vector clocks alone. Two different commits with
    equal clocks (one replica rewrote history) are concurrent: neither is in
    the other's history.

    Raises:
        BadRevisionError: If a revision does not resolve.
    """
    oid_a, oid_b = repo.resolve(a), repo.resolve(b)
    if oid_a == oid_b:
        return Causality(oid_a, oid_b, "equal")
    relation = compare(dict(read_commit(repo.store, oid_a).clock), dict(read_commit(repo.store, oid_b).clock))
    return Causality(oid_a, oid_b, "concurrent" if relation == "equal" else relation)


# --- automatic resolutions: the audit trail --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AutoRecord:
    """A merge commit's record of automatic resolutions (empty `resolutions` when it has none)."""

    commit: ObjectId
    record: ObjectId | None
    resolutions: list[dict[str, object]]


def auto_resolutions(repo: Repository, rev: str = "HEAD") -> AutoRecord:
    """Read what rules settled in the merge commit `rev`.

    Raises:
        BadRevisionError: If `rev` does not name a commit.
        CorruptObjectError: If the record is not a valid resolutions record.
    """
    import json

    oid = repo.resolve(rev)
    commit = read_commit(repo.store, oid)
    if commit.resolutions is None:
        return AutoRecord(oid, None, [])
    kind, body = repo.store.get(commit.resolutions)
    try:
        doc = json.loads(body)
        if kind != "blob" or doc.get("format") != RESOLUTIONS_FORMAT or not isinstance(doc["resolutions"], list):
            raise ValueError("unknown format")
    except (ValueError, KeyError, AttributeError) as exc:
        raise CorruptObjectError(to_hex(commit.resolutions), f"not a resolutions record: {exc}") from exc
    return AutoRecord(oid, commit.resolutions, doc["resolutions"])


def _side_of(doc: object) -> Side:
    if not isinstance(doc, dict) or doc.get("kind") is None or doc.get("id") is None:
        return Side()
    return Side(EntryKind(doc["kind"]), ObjectId(bytes.fromhex(doc["id"])))


def reopen(repo: Repository, paths: list[str], *, cwd: Path, style: Style = "merge") -> list[PathConflict]:
    """Put paths that a rule settled in the HEAD merge back into three-way conflict, for a human.

    The work tree gets the diff3 merge of the recorded base/ours/theirs
    versions, with markers; `resolve` and `commit` then work as after a
    conflicted merge, and the commit is an ordinary one on top of the merge.

    Raises:
        MergeError: If a merge is in progress, HEAD has no automatic resolution of a
            path, or the path has local changes.
    """
    if repo.merge_state.in_progress():
        raise MergeError("a merge is already in progress", hint="commit or `vcrdt merge --abort` first")
    record = auto_resolutions(repo, "HEAD")
    by_path = {str(r.get("path")): r for r in record.resolutions}
    rel = [repo_path(repo, cwd, p) for p in paths]
    changes = repo.worktree.status()
    dirty = set(changes.modified + changes.added + changes.deleted + changes.removed)
    conflicts: list[PathConflict] = []
    with repo.transaction():
        for path in rel:
            entry = by_path.get(path)
            if entry is None:
                raise MergeError(
                    f"{path}: no automatic resolution in {short(record.commit)}",
                    hint="`vcrdt conflicts --auto` lists them",
                )
            if path in dirty:
                raise DirtyWorktreeError(f"{path}: has local changes", hint="commit or restore it first")
            b, o, t = (_side_of(entry.get(k)) for k in ("base", "ours", "theirs"))
            conflicts.append(_reopened(repo, path, b, o, t, style))
        head = repo.refs.head().commit
        assert head is not None
        repo.merge_state.start(head, head, f"Reopen {', '.join(rel)}", conflicts, style, reopen=True)
    return conflicts


def _reopened(repo: Repository, path: str, b: Side, o: Side, t: Side, style: Style) -> PathConflict:
    """Write one reopened path's conflict to the work tree and return it."""
    if not o.present or not t.present:
        kept = o if o.present else t
        entry = kept.entry()
        assert entry is not None
        repo.worktree.write_file(path, *entry)
        return PathConflict(path, "modify/delete" if o.present else "delete/modify", b, o, t)
    texts = [_blob(repo, s.oid) if s.present else b"" for s in (b, o, t)]
    if any(x is None or is_binary(x) for x in texts) or o.kind not in (EntryKind.FILE, EntryKind.EXECUTABLE):
        entry = o.entry()
        assert entry is not None
        repo.worktree.write_file(path, *entry)
        return PathConflict(path, "binary", b, o, t, 1)
    base_t, ours_t, theirs_t = (x or b"" for x in texts)
    merged, hunks = merge_bytes(
        base_t, ours_t, theirs_t, matcher=xdiff_matcher, style=style, labels=("ours", "base", "theirs")
    )
    oid = repo.store.put("blob", merged)
    repo.worktree.write_file(path, o.kind or EntryKind.FILE, oid)
    return PathConflict(path, "content" if b.present else "add/add", b, o, t, hunks)


# --- fetch: join another replica's branches (local path) --------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchedBranch:
    """How one branch changed in a fetch."""

    name: str
    before: frozenset[ObjectId]
    after: frozenset[ObjectId]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What `fetch` brought in."""

    source: Path
    objects: int
    branches: list[FetchedBranch]
    tags: list[str]
    # Problems that did not stop the fetch (a tag that differs, a deletion of the checked-out branch).
    warnings: list[str]
    checkout: ObjectId | None


def ref_state(repo: Repository) -> RefState:
    """This replica's branches as the ref-state CRDT (short names, live heads and tombstones)."""
    names = {n[len(BRANCH_PREFIX) :] for n, _ in repo.refs.iter_refs(BRANCH_PREFIX)}
    names |= {n[len(BRANCH_PREFIX) :] for n in repo.refs.tombstoned_names() if n.startswith(BRANCH_PREFIX)}
    return RefState(
        {
            n: BranchState(repo.refs.heads(BRANCH_PREFIX + n), repo.refs.tombstones(BRANCH_PREFIX + n))
            for n in sorted(names)
        }
    )


def fetch(repo: Repository, source: Path, *, on_progress: Progress | None = None) -> FetchResult:
    """Bring in another replica's commits and join its branches into ours (a local path).

    Objects come first: every commit reachable from the other replica's
    branches and tags that this one lacks, with its trees and blobs (commits
    already here are known to be complete, so the walk stops at them). Then
    each branch's state is joined as the ref-state CRDT: heads unioned, heads
    that are ancestors of others dropped, tombstones honoured (add-wins). A
    branch both replicas moved ends with two heads, siblings, for `merge` to
    join. All of it is one transaction. The checked-out branch is never
    deleted by a fetch, and when it moves forward the work tree follows (it
    must be clean then).

    Raises:
        NotARepositoryError: If `source` holds no repository.
        DirtyWorktreeError: If the checked-out branch would move while local changes exist.
    """
    other = Repository.discover(source, repo.settings)
    try:
        if other.root == repo.root:
            raise MergeError("cannot fetch from the repository itself")
        theirs = ref_state(other)
        tags = {n: h for n, hs in other.refs.iter_refs(TAG_PREFIX) for h in hs}
        wanted = [h for b in theirs.branches.values() for h in b.heads] + list(tags.values())
        missing = _missing_objects(other, repo, wanted)
        for oid in missing:
            if other.store.info(oid)[0] == "commit":
                commit = read_commit(other.store, oid)
                problem = history_problem(commit, [read_commit(other.store, p) for p in commit.parents])
                if problem is not None:
                    raise CorruptObjectError(to_hex(oid), f"refusing a commit whose {problem}")
        head = repo.refs.head()
        with repo.transaction():
            for i, oid in enumerate(missing):
                if on_progress is not None and i % 256 == 0:
                    on_progress(i, len(missing))
                kind, size = other.store.info(oid)
                if size > LARGE_OBJECT:
                    repo.store.put_stream(kind, size, other.store.iter_content(oid))
                else:
                    repo.store.put(kind, other.store.get(oid)[1])
            ours = ref_state(repo)

            def ancestry(a: ObjectId, b: ObjectId) -> bool:
                return is_ancestor(repo.store, a, b)

            joined = ours.join(theirs, ancestry)
            changed: list[FetchedBranch] = []
            warnings: list[str] = []
            checkout: ObjectId | None = None
            current = head.branch[len(BRANCH_PREFIX) :] if head.branch else None
            for name, state in joined.branches.items():
                before = ours.branches.get(name, BranchState())
                if name == current and head.commit is not None:
                    state, moved, note = _keep_checked_out(repo, state, before, head.commit, ancestry)
                    checkout = moved
                    if note:
                        warnings.append(note)
                elif name == current and state.heads:
                    # The checked-out branch was unborn here: check out what arrived.
                    checkout = max(state.heads, key=lambda h: tie_key(repo, h))
                if state != before:
                    repo.refs.set_state(BRANCH_PREFIX + name, state.heads, state.tombstones)
                    if state.heads != before.heads:
                        changed.append(FetchedBranch(name, before.heads, state.heads))
            if checkout is not None:
                if not repo.worktree.status().is_clean:
                    raise DirtyWorktreeError(
                        f"the fetch moves the checked-out branch {current!r}, and the work tree has local changes",
                        hint="commit or restore them, then fetch again",
                    )
                repo.worktree.checkout(repo.commit_flat(checkout), force=False)
            if head.branch is not None:
                at = checkout or head.commit
                if at is not None and len(repo.refs.heads(head.branch)) > 1:
                    repo.refs.set_head_at(at)
            new_tags: list[str] = []
            for full, oid in sorted(tags.items()):
                mine = repo.refs.heads(full)
                if not mine:
                    repo.refs.update(full, oid, expected=None)
                    new_tags.append(full[len(TAG_PREFIX) :])
                elif oid not in mine:
                    warnings.append(f"tag {full[len(TAG_PREFIX) :]!r} differs here; kept this replica's")
        if on_progress is not None:
            on_progress(len(missing), len(missing))
        return FetchResult(other.root, len(missing), changed, new_tags, warnings, checkout)
    finally:
        other.close()


def _keep_checked_out(
    repo: Repository,
    state: BranchState,
    before: BranchState,
    at: ObjectId,
    ancestry: Callable[[ObjectId, ObjectId], bool],
) -> tuple[BranchState, ObjectId | None, str]:
    """Adjust the joined state of the checked-out branch; return it, the commit to move to, and a warning."""
    if at in state.heads:
        return state, None, ""
    if not state.heads:
        # Deleted on the other replica: the branch under the work tree stays as it was here.
        return (
            BranchState(before.heads, state.tombstones - before.heads),
            None,
            ("the other replica deleted the checked-out branch; kept it here"),
        )
    ahead = sorted(h for h in state.heads if ancestry(at, h))
    if ahead:
        return state, min(ahead, key=lambda h: tie_key(repo, h)), ""
    return state, None, ""


def _missing_objects(src: Repository, dst: Repository, heads: list[ObjectId]) -> list[ObjectId]:
    """Objects reachable from `heads` in `src` that `dst` lacks, trees and blobs before their commits."""
    out: list[ObjectId] = []
    seen: set[ObjectId] = set()
    commits: list[ObjectId] = []
    stack = [h for h in heads if not dst.store.has(h)]
    while stack:
        oid = stack.pop()
        if oid in seen:
            continue
        seen.add(oid)
        commit = read_commit(src.store, oid)
        commits.append(oid)
        stack.extend(p for p in commit.parents if p not in seen and not dst.store.has(p))
        trees = [commit.tree]
        if commit.resolutions is not None and commit.resolutions not in seen and not dst.store.has(commit.resolutions):
            seen.add(commit.resolutions)
            out.append(commit.resolutions)
        while trees:
            tid = trees.pop()
            if tid in seen or dst.store.has(tid):
                continue
            seen.add(tid)
            for entry in read_tree(src.store, tid).entries:
                if entry.kind is EntryKind.TREE:
                    trees.append(entry.oid)
                elif entry.oid not in seen and not dst.store.has(entry.oid):
                    seen.add(entry.oid)
                    out.append(entry.oid)
            out.append(tid)
    # Parents before children, so a commit is never stored before its history.
    return out + commits[::-1]
