"""Local rewrites: reset, branch -f, and revert.

Moving a branch backwards or replacing its head is a local rewrite: the
replaced head's entry is removed from the branch's add-wins state, its dot
staying in the causal context (a tombstone, as `branch -d` leaves), so the
next fetch or sync does not bring it back. Every rewrite is a recorded
operation (`vcrdt.porcelain.oplog`): `undo` puts it back, and the commits it
left are kept by the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vcrdt.dag import read_commit
from vcrdt.errors import BadRevisionError, MergeError, RefError
from vcrdt.ids import ObjectId, short
from vcrdt.merge.conflicts import PathConflict
from vcrdt.porcelain._shared import Progress, branch_of, normalise_message
from vcrdt.porcelain.oplog import Entry, check_untracked, operation, retarget_rows, write_files
from vcrdt.refs import BRANCH_PREFIX, check_short_name
from vcrdt.repo import Repository

ResetMode = Literal["soft", "mixed", "hard"]


@dataclass(frozen=True, slots=True)
class ResetResult:
    """Where HEAD was and is, and the files a hard reset wrote."""

    branch: str | None
    old: ObjectId | None
    new: ObjectId
    written: list[str]


def reset(repo: Repository, rev: str, *, mode: ResetMode = "mixed", on_progress: Progress | None = None) -> ResetResult:
    """Point HEAD's branch (or a detached HEAD) at `rev`.

    ``soft`` leaves every file and the set of tracked files as they are (what `rev` lacks
    shows as added); ``mixed`` leaves the files but stops tracking those `rev` lacks; ``hard``
    makes the tracked files match `rev`, discarding uncommitted changes to them (the operation
    log keeps their content: `undo` brings them back). The head replaced is tombstoned for the
    branch, so a sync does not bring it back; its siblings stay.

    Raises:
        BadRevisionError: If `rev` does not resolve.
        MergeError: If a merge is in progress (except for ``hard``, which abandons it).
        WorktreeError: If an untracked file is in the way of a hard reset.
    """
    if mode not in ("soft", "mixed", "hard"):
        raise RefError(f"unknown reset mode {mode!r}")
    if repo.merge_state.in_progress() and mode != "hard":
        raise MergeError(
            f"cannot reset --{mode} while a merge is in progress", hint="`vcrdt reset --hard` or `vcrdt merge --abort`"
        )
    target = repo.resolve(rev)
    written: list[str] = []
    with operation(repo, "reset", f"reset --{mode} {rev} ({short(target)})", files=mode == "hard") as op:
        head = repo.refs.head()
        if head.branch is not None:
            repo.refs.update(head.branch, target, expected=head.commit)
        else:
            repo.refs.set_head_detached(target)
        target_flat = repo.commit_flat(target)
        if mode == "hard":
            current = op.wt_flat
            writes: dict[str, Entry | None] = {
                p: target_flat.get(p)
                for p in sorted(set(current) | set(target_flat))
                if current.get(p) != target_flat.get(p)
            }
            rows = repo.worktree.rows()
            check_untracked(repo, writes, set(rows))
            write_files(repo, target_flat, writes)
            repo.worktree.forget([p for p in rows if p not in target_flat])
            repo.merge_state.clear()
            retarget_rows(repo, target_flat, writes=writes)
            op.writes = writes
            written = sorted(writes)
        else:
            retarget_rows(repo, target_flat, untrack=mode == "mixed")
    repo.worktree.finish_checkout(on_progress)
    return ResetResult(branch_of(repo), head.commit, target, written)


def branch_force(repo: Repository, name: str, rev: str | None = None) -> tuple[ObjectId | None, ObjectId]:
    """Create branch `name` at `rev` (default HEAD), or move it there if it exists (``branch -f``).

    Every head it had is replaced (tombstoned for the branch, so a sync does not bring it
    back).

    Returns:
        The head it had (None: it was created; the least by id if it had several) and the new one.

    Raises:
        BadRefNameError: If the name is invalid.
        RefError: If it is the checked-out branch.
        BadRevisionError: If `rev` does not resolve.
    """
    check_short_name(name)
    oid = repo.resolve(rev or "HEAD")
    full = BRANCH_PREFIX + name
    with operation(repo, "branch", f"branch -f {name} {rev or 'HEAD'} ({short(oid)})"):
        if repo.refs.head().branch == full:
            raise RefError(f"cannot force-move the checked-out branch {name!r}", hint="use `vcrdt reset` to move it")
        old = repo.refs.heads(full)
        repo.refs.update(full, oid)
    return (min(old) if old else None), oid


@dataclass(frozen=True, slots=True)
class RevertResult:
    """A revert: the commit made (None: conflicts left in the work tree), the reverted commit, the message."""

    commit: ObjectId | None
    reverted: ObjectId
    message: str
    conflicts: list[PathConflict] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def revert_message(repo: Repository, rev: str) -> str:
    """The message a revert of `rev` proposes (git's form).

    Raises:
        BadRevisionError: If `rev` does not resolve.
    """
    oid = repo.resolve(rev)
    c = read_commit(repo.store, oid)
    return f'Revert "{c.summary}"\n\nThis reverts commit {oid.hex()}.\n'


def revert(
    repo: Repository,
    rev: str,
    *,
    mainline: int | None = None,
    message: str | None = None,
    on_progress: Progress | None = None,
) -> RevertResult:
    """Make a new commit on HEAD undoing `rev`: diff3 of HEAD against `rev`'s parent, with `rev` as the base.

    A merge commit needs `mainline` (the parent, from 1, whose side is kept). What diff3
    leaves in conflict goes by the merge policy as in a merge; what is left is written with
    markers and recorded as a merge in progress, finished by `resolve` then `commit` (an
    ordinary commit) or abandoned by `merge --abort`.

    Raises:
        BadRevisionError: If `rev` does not resolve, or `mainline` names no parent.
        MergeError: If a merge is in progress, HEAD is unborn, `rev` is a root commit, or a merge
            is given without `mainline` (or a non-merge with it).
        DirtyWorktreeError: If tracked files have uncommitted changes.
    """
    from vcrdt.porcelain.merging import _check_clean, head_label
    from vcrdt.porcelain.picking import commit_change, leave_change, merge_change

    if repo.merge_state.in_progress():
        raise MergeError("a merge is in progress", hint="commit the resolution, or run `vcrdt merge --abort`")
    oid = repo.resolve(rev)
    c = read_commit(repo.store, oid)
    if not c.parents:
        raise MergeError(f"cannot revert {short(oid)}: it is a root commit (it has no parent to go back to)")
    if len(c.parents) > 1 and mainline is None:
        raise MergeError(
            f"commit {short(oid)} is a merge but no -m option was given",
            hint=f"pass -m N, N from 1 to {len(c.parents)}: the parent whose side is kept",
        )
    if len(c.parents) == 1 and mainline not in (None, 1):
        raise MergeError(f"commit {short(oid)} is not a merge, so -m {mainline} names no parent")
    n = mainline or 1
    if n < 1 or n > len(c.parents):
        raise BadRevisionError(rev, f"commit has no parent number {n}")
    parent = c.parents[n - 1]
    head = repo.refs.head()
    ours = head.commit
    if ours is None:
        raise MergeError("cannot revert on an unborn branch: HEAD has no commit")
    _check_clean(repo)
    text = normalise_message(message if message is not None else revert_message(repo, rev))
    labels = (head_label(repo), short(oid), f"parent of {short(oid)}")
    change = merge_change(repo, oid, ours, parent, labels=labels)
    if not change.is_clean:
        # Not an operation of its own (as a conflicted merge): the commit that ends it is, and
        # `merge --abort` puts the files back.
        leave_change(repo, change, parent, ours, text)
        repo.worktree.finish_checkout(on_progress)
        return RevertResult(None, oid, text, change.conflicts, change.changed)
    if not change.changed:
        raise MergeError(f"reverting {short(oid)} changes nothing: HEAD already lacks its changes")
    summary = f"revert {short(oid)}: {c.summary}"
    new = commit_change(repo, change, head, text, repo.signature(), kind="revert", summary=summary)
    repo.worktree.finish_checkout(on_progress)
    return RevertResult(new, oid, text, [], change.changed)


def proposed_message(repo: Repository, *, amend: bool = False) -> str:
    """The message the editor starts from: HEAD's when amending, the merge's (or revert's) in progress, else ''."""
    if amend:
        head = repo.head_commit()
        return read_commit(repo.store, head).message if head is not None else ""
    if repo.merge_state.in_progress():
        raw = repo.merge_state.get("message")
        return raw.decode("utf-8", "replace") if raw else ""
    return ""
