"""Merges: merge-file, merge (with fast-forward, criss-cross bases, rules and convergent --auto), abort."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from vcrdt.crdt.order import TieKey
from vcrdt.dag import is_ancestor, merge_bases, read_commit
from vcrdt.diff import (
    diff_changes,
    is_binary,
    line_matcher,
)
from vcrdt.errors import (
    DirtyWorktreeError,
    MergeError,
    WorktreeError,
)
from vcrdt.ids import ObjectId, short
from vcrdt.merge.conflicts import AutoResolution, PathConflict
from vcrdt.merge.diff3 import (
    MARKER_LEN,
    Favor,
    Style,
    merge_bytes,
)
from vcrdt.merge.policy import OnConflict
from vcrdt.merge.rules import Resolution, RuleName
from vcrdt.merge.trees import merge_flat, resolve_content
from vcrdt.objects import EntryKind
from vcrdt.porcelain._shared import (
    Progress,
    branch_of,
    move_head,
    normalise_message,
    tie_key,
)
from vcrdt.porcelain.resolutions import (
    ask_paths,
    decider,
    dump_record,
    merge_policy,
    record_entries,
    store_resolutions,
)
from vcrdt.refs import Head
from vcrdt.repo import Repository
from vcrdt.worktree import FlatTree, Worktree


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
        raise WorktreeError(str(path), f"cannot read: {exc.strerror}") from exc


def merge_file(
    current: Path,
    base: Path,
    other: Path,
    *,
    style: Style = "merge",
    labels: tuple[str, str, str] | None = None,
    write: bool = True,
    rule: RuleName | None = None,
    marker_len: int = MARKER_LEN,
    favor: Favor = "markers",
    algorithm: str = "myers",
    names: tuple[str, str, str] | None = None,
) -> MergeFileResult:
    """Merge the changes from `base` to `other` into `current`, as `git merge-file` does.

    With `write`, the result replaces `current` atomically (conflict markers
    included); otherwise it is only returned. With `rule`, the rule settles
    the conflicts; plain files have no commits, so the tie-break order
    falls back to the files' content hashes (`TieKey.of_content`) and the
    result does not depend on which file is `current`. `marker_len`, `favor`
    and `algorithm` are git's ``--marker-size``, ``--ours``/``--theirs``/
    ``--union`` and ``--diff-algorithm``; `names` are the files as the user
    named them, for messages.

    Raises:
        MergeError: If a file is binary, in git's words.
        WorktreeError: If a file cannot be read or written.
        GitInteropError: If `algorithm` is not one of git's diff algorithms.
    """
    matcher = line_matcher(algorithm)
    texts = [_read_input(p) for p in (current, base, other)]
    shown = names or (str(current), str(base), str(other))
    for name, data in zip(shown, texts, strict=True):
        if is_binary(data):
            raise MergeError(f"Cannot merge binary files: {name}")
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
        merged, conflicts = merge_bytes(
            texts[1],
            texts[0],
            texts[2],
            matcher=matcher,
            style=style,
            labels=labels or shown,
            marker_len=marker_len,
            favor=favor,
        )
    if write:
        tmp = current.with_name(f".{current.name}.vcrdt-merge.tmp")
        try:
            tmp.write_bytes(merged)
            os.chmod(tmp, stat.S_IMODE(os.stat(current).st_mode))
            os.replace(tmp, current)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise WorktreeError(str(current), f"cannot write: {exc.strerror}") from exc
    return MergeFileResult(merged, conflicts, note)


MergeStatus = Literal["up-to-date", "fast-forward", "merged", "conflicts"]


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


def head_label(repo: Repository) -> str:
    """The name of what HEAD is on, for conflict markers and messages (the branch, or ``HEAD``)."""
    return branch_of(repo) or "HEAD"


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
        if auto:
            return _join_siblings(repo, head, on_progress, dry_run=dry_run)
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
        with repo.scratch() if dry_run else repo.transaction():
            entries, settled, record = _auto_tree(repo, ours, theirs)
            changed = [c.path for c in diff_changes(ours_flat, entries)]
            if dry_run:
                return MergeOutcome("merged", ours, theirs, bases, None, [], changed, True, settled)
            oid = repo.convergent_commit(repo.write_tree(entries), [ours, theirs], record)
            repo.worktree.begin_checkout(entries, force=False)
            move_head(repo, head.branch, oid, ours, drop)
        repo.worktree.finish_checkout(on_progress)
        return MergeOutcome("merged", ours, theirs, bases, oid, [], changed, False, settled)
    if ours is None or (is_ancestor(repo.store, ours, theirs) and not no_ff):
        target = repo.commit_flat(theirs)
        changed = [c.path for c in diff_changes(ours_flat, target)]
        if not dry_run:
            with repo.transaction():
                repo.worktree.begin_checkout(target, force=False)
                move_head(repo, head.branch, theirs, ours, drop)
            repo.worktree.finish_checkout(on_progress)
        return MergeOutcome("fast-forward", ours, theirs, [ours] if ours else [], theirs, [], changed, dry_run)
    bases = merge_bases(repo.store, ours, theirs)
    if not bases:
        raise MergeError(f"refusing to merge unrelated histories: {rev}")
    theirs_flat = repo.commit_flat(theirs)
    labels = (head_label(repo), "base", rev)
    # A dry run plans with the real merge (merged blobs, a virtual base's blobs, are stored while
    # it runs) and keeps nothing.
    with repo.scratch() if dry_run else repo.transaction():
        base_flat = _virtual_base(repo, bases)
        policy = merge_policy(repo, base_flat, ours_flat, theirs_flat, strict=False)
        tm = merge_flat(
            repo.store,
            base_flat,
            ours_flat,
            theirs_flat,
            style=style,
            labels=labels,
            decide=decider(policy, on_conflict),
            keys=(tie_key(repo, ours), tie_key(repo, theirs)),
            marker_size=policy.marker_size_for,
        )
        result_flat = {**tm.entries, **tm.worktree}
        changed = [c.path for c in diff_changes(ours_flat, result_flat)]
        ask = ask_paths(policy, tm.conflicts, on_conflict, ask_default)
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
        record = store_resolutions(repo, tm.auto, (ours, theirs), tm.entries) if tm.auto else None
        text = normalise_message(message or f"Merge {rev} into {head_label(repo)}")
        if tm.is_clean:
            ours_tree = read_commit(repo.store, ours).tree
            tree = repo.write_tree(tm.entries, base=ours_tree, changed=changed)
            oid = repo.new_commit(tree, [ours, theirs], text, repo.signature(), resolutions=record)
            repo.worktree.begin_checkout(tm.entries, force=False)
            move_head(repo, head.branch, oid, ours, drop)
            outcome = MergeOutcome("merged", ours, theirs, bases, oid, [], changed, False, tm.auto, tm.notes)
        else:
            _leave_in_worktree(repo, ours_flat, result_flat)
            repo.merge_state.start(theirs, ours, text, tm.conflicts, style, resolutions=record)
            outcome = MergeOutcome(
                "conflicts", ours, theirs, bases, None, tm.conflicts, changed, False, tm.auto, tm.notes, ask
            )
    repo.worktree.finish_checkout(on_progress)
    return outcome


def _join_siblings(
    repo: Repository, head: Head, on_progress: Progress | None, *, dry_run: bool = False
) -> MergeOutcome:
    """Fold every head of the current branch, in tie-break order, into convergent merge commits."""
    assert head.branch is not None and head.commit is not None
    heads = sorted({head.commit, *head.siblings}, key=lambda h: tie_key(repo, h))
    if not dry_run and not repo.worktree.status().is_clean:
        raise DirtyWorktreeError("local changes would be mixed into the merge", hint="commit them first")
    ours_flat = repo.commit_flat(head.commit)
    auto: list[AutoResolution] = []
    with repo.scratch() if dry_run else repo.transaction():
        # A dry run makes the same merge commits so that its preview is the merge itself, and
        # then rolls them back with everything else it wrote.
        acc = heads[0]
        for other in heads[1:]:
            acc, settled = _auto_pair(repo, acc, other)
            auto += settled
        target = repo.commit_flat(acc)
        if not dry_run:
            repo.worktree.begin_checkout(target, force=False)
            repo.refs.update(head.branch, acc, expected=head.commit, drop=head.siblings)
    repo.worktree.finish_checkout(on_progress)
    changed = [c.path for c in diff_changes(ours_flat, target)]
    bases = merge_bases(repo.store, heads[0], heads[1])
    commit = None if dry_run else acc
    return MergeOutcome("merged", head.commit, heads[-1], bases, commit, [], changed, dry_run, auto)


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
    every = _leaves(repo, a) | _leaves(repo, b)
    leaves = _maximal(repo, every)
    if len(leaves) < len(every):
        # Some head one side joined is in the other side's history: the leaves are not all
        # concurrent, and folding them would forget what the later commits built on that head
        # (a convergent merge's decision the other side has since inherited). Merge the two heads
        # themselves against their merge base instead, sides in tie-break order.
        bases = merge_bases(repo.store, a, b)
        if not bases:
            raise MergeError(f"refusing to merge unrelated histories: {short(a)} and {short(b)}")
        pair_base: ObjectId | FlatTree = bases[0] if len(bases) == 1 else _virtual_base(repo, bases)
        return _fold(repo, pair_base, sorted((a, b), key=lambda h: tie_key(repo, h)))
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
        policy = merge_policy(repo, base_flat, acc, leaf_flat, strict=True)
        tm = merge_flat(repo.store, base_flat, acc, leaf_flat, decide=decider(policy, "crdt"), keys=(acc_key, leaf_key))
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
        for e in record_entries(tm.auto, (acc_commit, leaf), tm.entries):
            entries[str(e["path"])] = e  # a later step's decision on a path supersedes an earlier one
        # From here on the accumulated side is the fold so far, not any one commit.
        acc, acc_key, acc_commit = dict(tm.entries), leaf_key, None
    record = repo.store.put("blob", dump_record(list(entries.values()))) if entries else None
    return acc, settled, record


def _leave_in_worktree(repo: Repository, ours: FlatTree, result: FlatTree) -> None:
    """Write a conflicted merge's files; HEAD stays at ours, so the merge shows as local changes."""
    wt = repo.worktree
    with wt.writing(result):  # the result's links are judged together before anything is written
        _write_result(wt, ours, result)


def _write_result(wt: Worktree, ours: FlatTree, result: FlatTree) -> None:
    rows = wt.rows()
    blocked = [p for p in result if p not in ours and wt.in_the_way(p, rows, result)]
    if blocked:
        raise DirtyWorktreeError(
            f"untracked files would be overwritten by the merge: {', '.join(sorted(blocked)[:5])}",
            hint="move them away and merge again",
        )
    gone = sorted(p for p in ours if p not in result)
    writes: dict[str, tuple[EntryKind, ObjectId] | None] = dict.fromkeys(gone)
    writes.update((p, e) for p, e in sorted(result.items()) if ours.get(p) != e)
    wt.check_writes(writes, rows)
    if gone:
        wt.remove(gone, keep_files=True)
    added = [p for p in result if p not in ours]
    if added:
        wt.add(added)
    wt.journal_writes(writes)  # written by the caller's `finish_checkout`, after the transaction


def merge_abort(repo: Repository) -> list[str]:
    """Undo a conflicted merge: every file back to HEAD, merge state forgotten.

    Returns:
        The paths restored or deleted.

    Raises:
        MergeError: If no merge is in progress.
    """
    if not repo.merge_state.in_progress():
        raise MergeError("no merge in progress")
    wt = repo.worktree
    with repo.transaction():
        rows = wt.rows()
        drop = [p for p, r in rows.items() if r.head_oid is None]
        writes: dict[str, tuple[EntryKind, ObjectId] | None] = dict.fromkeys(drop)
        cur, _ = wt.current(rows, [p for p, r in rows.items() if r.head_oid is not None], None, store=False)
        for p, r in rows.items():
            if r.head_kind is None or r.head_oid is None:
                continue
            if r.state == "removed" or cur.get(p) != (r.head_kind, r.head_oid):
                writes[p] = (r.head_kind, r.head_oid)
        wt.check_writes(writes, rows)
        wt.forget(drop)
        wt.reset_states()
        repo.merge_state.clear()
        wt.journal_writes(writes)
    wt.finish_checkout()
    return sorted(writes)
