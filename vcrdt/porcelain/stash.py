"""The stash: local changes put aside as a commit, and brought back by a merge.

vcrdt has no staging area, so a stash entry records the work-tree changes to
tracked files (and, with ``include_untracked``, the untracked files) as a
commit whose first parent is HEAD, with git's message (``WIP on BRANCH: ID
SUMMARY`` or ``On BRANCH: MESSAGE``). Untracked files go in a second parent, a
root commit of their own (git's layout), so that applying the entry puts them
back untracked. Each entry is the ref ``refs/stash/N`` (N grows: the newest
entry is ``stash@{0}``); no sync sends it, and `fsck` (and gc) keep what it
names. Push, pop, drop and clear are recorded operations, so `undo` reverts
them.

Applying an entry merges its change (from its parent to it) onto HEAD by diff3,
with the merge policy and the CRDT rules, as a merge does; local changes to the
files it touches are refused, others are kept. Conflicts are left as a merge
leaves them (`vcrdt conflicts`, `vcrdt resolve`), with the merge state's
``stash`` key set: resolving the last conflict ends it without a commit (as
git's stash apply leaves the resolution in the work tree). A pop that stops
with conflicts keeps the entry.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from vcrdt.dag import read_commit
from vcrdt.diff.lines import FileDiff
from vcrdt.errors import DirtyWorktreeError, MergeError, RefError, WorktreeError
from vcrdt.ids import ObjectId, short
from vcrdt.merge.conflicts import PathConflict
from vcrdt.porcelain._shared import Progress, branch_of, repo_path
from vcrdt.porcelain.oplog import Entry, operation, retarget_rows, worktree_snapshot, write_files
from vcrdt.porcelain.picking import leave_change, merge_change
from vcrdt.refs import STASH_PREFIX
from vcrdt.repo import Repository
from vcrdt.worktree import FlatTree

_SPEC = re.compile(r"(?:stash@\{([0-9]+)\}|([0-9]+))")


@dataclass(frozen=True, slots=True)
class StashEntry:
    """One stash entry: its place (0 is the newest), ref, commit, the commit it was made on, and its message."""

    index: int
    ref: str
    commit: ObjectId
    parent: ObjectId
    message: str
    untracked: ObjectId | None = None

    @property
    def name(self) -> str:
        """Git's name for it, ``stash@{N}``."""
        return f"stash@{{{self.index}}}"


def stash_list(repo: Repository) -> list[StashEntry]:
    """Every stash entry, newest first."""
    found: list[tuple[int, str, ObjectId]] = []
    for name, heads in repo.refs.iter_refs(STASH_PREFIX):
        number = name[len(STASH_PREFIX) :]
        if heads and number.isascii() and number.isdigit():
            found.append((int(number), name, min(heads)))
    out = []
    for i, (_, name, oid) in enumerate(sorted(found, reverse=True)):
        c = read_commit(repo.store, oid)
        parent = c.parents[0] if c.parents else oid
        untracked = c.parents[1] if len(c.parents) > 1 else None
        out.append(StashEntry(i, name, oid, parent, c.summary, untracked))
    return out


def find_stash(repo: Repository, spec: str | None = None) -> StashEntry:
    """The entry `spec` names: ``N`` or ``stash@{N}`` (None: the newest).

    Raises:
        RefError: If there is no entry, or `spec` names none.
    """
    entries = stash_list(repo)
    if not entries:
        raise RefError("No stash entries found.")
    if spec is None:
        return entries[0]
    m = _SPEC.fullmatch(spec)
    if m is None:
        raise RefError(f"{spec} is not a valid reference", hint="name an entry as N or stash@{N} (`vcrdt stash list`)")
    n = int(m.group(1) or m.group(2))
    if n >= len(entries):
        raise RefError(
            f"stash@{{{n}}} is not a valid reference",
            hint=f"there {'is' if len(entries) == 1 else 'are'} {len(entries)} stash entr"
            f"{'y' if len(entries) == 1 else 'ies'}",
        )
    return entries[n]


def stash_push(
    repo: Repository,
    *,
    message: str | None = None,
    paths: list[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    include_untracked: bool = False,
    on_progress: Progress | None = None,
) -> StashEntry | None:
    """Record the local changes (only those under `paths`, if given) as a new stash entry, and undo them.

    The changed tracked files go back to HEAD's content (added files are deleted and
    untracked, removed ones come back); with `include_untracked`, untracked files are
    stashed and deleted too. One recorded operation.

    Returns:
        The new entry (``stash@{0}``), or None when there is nothing to stash.

    Raises:
        MergeError: If a merge is in progress.
        RefError: If HEAD has no commit yet.
        WorktreeError: If a path matches no file.
        IdentityError: If the author is not set (nothing is changed).
    """
    if repo.merge_state.in_progress():
        raise MergeError("cannot stash while a merge is in progress", hint="finish or abort the merge first")
    head = repo.refs.head()
    if head.commit is None:
        raise RefError("you do not have the initial commit yet", hint="commit something first")
    ours = head.commit
    author = repo.signature()
    rel = [repo_path(repo, cwd or repo.root_dir, p) for p in paths or []]

    def wanted(p: str) -> bool:
        return not rel or any(s == "." or p == s or p.startswith(s + "/") for s in rel)

    wt = repo.worktree
    with operation(repo, "stash", "stash", files=True) as op:
        current = op.wt_flat
        head_flat = repo.commit_flat(ours)
        rows = wt.rows()
        untracked = sorted(p for p in wt.status().untracked if wanted(p)) if include_untracked else []
        known = set(current) | set(head_flat) | set(rows) | set(untracked)
        for spec in rel:
            if not any(spec == "." or p == spec or p.startswith(spec + "/") for p in known):
                raise WorktreeError(spec, "did not match any file known to vcrdt")
        changed = sorted(p for p in set(current) | set(head_flat) if current.get(p) != head_flat.get(p) and wanted(p))
        # A file removed from tracking (`rm --cached`, or `rm` then written again) is untracked content
        # that putting HEAD's version back would overwrite: with -u it is stashed as untracked, else refused.
        for p in changed:
            row = rows.get(p)
            if row is None or row.state != "removed" or wt.lstat(p) is None or p in untracked:
                continue
            if not include_untracked:
                raise WorktreeError(
                    p, "is removed from tracking but still here: stashing would overwrite it", hint="use -u to stash it"
                )
            untracked.append(p)
        untracked.sort()
        if not changed and not untracked:
            return None
        base_tree = read_commit(repo.store, ours).tree
        stashed = dict(head_flat)
        for p in changed:
            entry = current.get(p)
            if entry is None:
                stashed.pop(p, None)
            else:
                stashed[p] = entry
        where = branch_of(repo) or "(no branch)"
        summary = read_commit(repo.store, ours).summary
        text = (
            f"On {where}: {message.strip()}"
            if message and message.strip()
            else f"WIP on {where}: {short(ours)} {summary}"
        )
        parents = [ours]
        files: FlatTree = {}
        if untracked:
            for p in untracked:
                st = wt.lstat(p)
                if st is None:
                    continue
                kind, oid, _ = wt.read_entry(p, st, store=True)
                files[p] = (kind, oid)
            parents.append(
                repo.new_commit(repo.write_tree(files), [], f"untracked files on {where}: {short(ours)}", author)
            )
        tree = repo.write_tree(stashed, base=base_tree, changed=changed)
        oid = repo.new_commit(tree, parents, text + "\n", author)
        numbers = [int(n[len(STASH_PREFIX) :]) for n, _ in repo.refs.iter_refs(STASH_PREFIX)]
        ref = f"{STASH_PREFIX}{max(numbers, default=-1) + 1}"
        repo.refs.update(ref, oid, expected=None)
        writes: dict[str, Entry | None] = {p: head_flat.get(p) for p in changed}
        target = dict(current)
        for p, e in writes.items():
            if e is None:
                target.pop(p, None)
            else:
                target[p] = e
        write_files(repo, target, {**dict.fromkeys(untracked), **writes})
        retarget_rows(repo, head_flat, writes=writes)
        # Added and then deleted from disk: nothing to stash, and not tracked at HEAD either.
        wt.forget([p for p, r in rows.items() if wanted(p) and p not in head_flat and p not in current])
        if untracked:
            # The untracked files are in the operation's "before" (and not its "after"): `undo` puts
            # them back (tracked, as added).
            op.wt_flat = {**current, **files}
            op.wt_tree = repo.write_tree(op.wt_flat)
        op.writes = {**dict.fromkeys(files), **writes}
        op.summary = f"stash: {text}"
    wt.finish_checkout(on_progress)
    return StashEntry(0, ref, oid, ours, text, parents[1] if len(parents) > 1 else None)


@dataclass(frozen=True, slots=True)
class StashApplyResult:
    """What applying an entry did: the paths written, untracked files restored, conflicts, whether it was dropped."""

    entry: StashEntry
    changed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    conflicts: list[PathConflict] = field(default_factory=list)
    dropped: bool = False


def stash_apply(
    repo: Repository, spec: str | None = None, *, pop: bool = False, on_progress: Progress | None = None
) -> StashApplyResult:
    """Merge a stash entry's change onto the work tree (diff3 against the commit it was made on); `pop` drops it after.

    Local changes to files the entry does not touch stay. On conflicts, the files get
    markers and a merge is in progress (for `resolve`; resolving the last conflict ends it,
    with no commit), and the entry is kept even with `pop`. A clean apply (and a pop's
    drop) is one recorded operation.

    Raises:
        RefError: If there is no such entry.
        MergeError: If a merge is in progress, or HEAD has no commit.
        DirtyWorktreeError: If a file the entry changes has local changes.
        WorktreeError: If an untracked file it restores (or a file it adds) is in the way.
    """
    if repo.merge_state.in_progress():
        raise MergeError("cannot apply a stash while a merge is in progress", hint="finish or abort the merge first")
    entry = find_stash(repo, spec)
    ours = repo.head_commit()
    if ours is None:
        raise MergeError("cannot apply a stash on an unborn branch: HEAD has no commit")
    wt = repo.worktree
    with repo.transaction():
        current = worktree_snapshot(repo)[1]
    labels = ("Updated upstream", "Stash base", "Stashed changes")
    change = merge_change(repo, entry.parent, ours, entry.commit, labels=labels)
    dirty = [p for p in change.changed if current.get(p) != change.ours_flat.get(p)]
    if dirty:
        raise DirtyWorktreeError(
            "your local changes to the following files would be overwritten by merge: "
            + ", ".join(dirty[:5])
            + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""),
            hint="commit your changes or stash them before you apply",
        )
    untracked = repo.commit_flat(entry.untracked) if entry.untracked is not None else {}
    rows = wt.rows()
    # A path the change removes from tracking may get untracked content back (`rm --cached` was stashed).
    gone = {p for p in change.changed if p not in change.result}
    for p in sorted(untracked):
        if p in change.result or (p not in gone and (p in rows or wt.lstat(p) is not None)):
            raise WorktreeError(p, "already exists, no checkout", hint="could not restore untracked files from stash")
    target = dict(current)
    for p in change.changed:
        e = change.result.get(p)
        if e is None:
            target.pop(p, None)
        else:
            target[p] = e
    change.ours_flat, change.result = current, target
    if not change.is_clean:
        with repo.transaction():
            leave_change(repo, change, entry.commit, ours, entry.message + "\n", state={"stash": entry.commit})
            _restore_untracked(repo, untracked, target)
        wt.finish_checkout(on_progress)
        return StashApplyResult(entry, change.changed, sorted(untracked), change.conflicts, False)
    verb = "pop" if pop else "apply"
    with operation(repo, "stash", f"stash {verb} {entry.name}: {entry.message}", files=True) as op:
        leave_change(repo, change, entry.commit, ours, "", start=False)
        _restore_untracked(repo, untracked, target)
        if pop:
            repo.refs.delete(entry.ref)
        op.writes = {**{p: target.get(p) for p in change.changed}, **untracked}
    wt.finish_checkout(on_progress)
    return StashApplyResult(entry, change.changed, sorted(untracked), [], pop)


def _restore_untracked(repo: Repository, files: FlatTree, target: FlatTree) -> None:
    """Journal the untracked files of an entry (they stay untracked), checked with the rest of the result."""
    if not files:
        return
    wt = repo.worktree
    with wt.writing({**target, **files}):
        wt.check_writes(files, wt.rows())
    wt.journal_writes(files)


def stash_drop(repo: Repository, spec: str | None = None) -> StashEntry:
    """Delete a stash entry (a recorded operation: `undo` brings it back).

    Raises:
        RefError: If there is no such entry.
    """
    entry = find_stash(repo, spec)
    with operation(repo, "stash", f"stash drop {entry.name}: {entry.message}"):
        repo.refs.delete(entry.ref)
    return entry


def stash_clear(repo: Repository) -> int:
    """Delete every stash entry (one recorded operation); return how many there were."""
    entries = stash_list(repo)
    if entries:
        with operation(repo, "stash", f"stash clear ({len(entries)} entries)"):
            for e in entries:
                repo.refs.delete(e.ref)
    return len(entries)


def stash_show(repo: Repository, spec: str | None = None, *, context: int = 3) -> tuple[StashEntry, list[FileDiff]]:
    """An entry and its changes against the commit it was made on (tracked files only, as git shows by default).

    Raises:
        RefError: If there is no such entry.
    """
    from vcrdt.porcelain.diffs import diff

    entry = find_stash(repo, spec)
    return entry, diff(repo, entry.parent.hex(), entry.commit.hex(), context=context)
