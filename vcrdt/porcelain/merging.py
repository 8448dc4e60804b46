"""Merges: merge (with fast-forward, criss-cross bases, rules and convergent --auto) and abort."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from vcrdt.dag import is_ancestor, merge_bases, read_commit, read_tree
from vcrdt.diff import diff_changes
from vcrdt.diff.tree import iter_tree_changes
from vcrdt.errors import DirtyWorktreeError, MergeError
from vcrdt.ids import ObjectId, short
from vcrdt.merge.causality import Causality
from vcrdt.merge.conflicts import AutoResolution, PathConflict
from vcrdt.merge.convergent import auto_tree, causal_precedences, convergent_commit, join_heads, virtual_base
from vcrdt.merge.diff3 import Style
from vcrdt.merge.pending import PendingObjects, write_flat_tree
from vcrdt.merge.policy import POLICY_FILE, OnConflict, decider, merged_policy
from vcrdt.merge.record import dump_record, record_entries
from vcrdt.merge.trees import merge_flat
from vcrdt.objects import EntryKind
from vcrdt.paths import ancestor_dirs
from vcrdt.porcelain._shared import (
    Progress,
    branch_of,
    move_head,
    normalise_message,
    tie_key,
)
from vcrdt.porcelain.resolutions import ask_paths
from vcrdt.refs import Head
from vcrdt.repo import Repository
from vcrdt.worktree import FlatTree, Worktree

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


ApplyKind = Literal["nothing", "fast-forward", "convergent", "commit", "conflicts"]


@dataclass(slots=True)
class MergePlan:
    """A merge computed and not yet applied: what it decided, and what applying it writes.

    `outcome` is what the merge reports (its `commit` is None until a commit is made);
    `pending` holds every object the merge made (merged blobs, trees, convergent merge
    commits, resolution records), stored only by `apply_merge`. `apply` says what
    applying does: nothing, move HEAD to `commit` (a fast-forward, or a convergent merge
    commit that `pending` holds), make a merge commit of `target` with `message`, or leave
    `target` (conflicts included) in the work tree as a merge in progress. With `scope`,
    `target` and `ours_flat` cover only the paths in it (see `_changed_sides`).
    """

    outcome: MergeOutcome
    pending: PendingObjects
    apply: ApplyKind
    branch: str | None
    expected: ObjectId | None
    drop: frozenset[ObjectId] = frozenset()
    commit: ObjectId | None = None
    target: FlatTree = field(default_factory=dict)
    message: str = ""
    record: ObjectId | None = None
    style: Style = "merge"
    ours_flat: FlatTree = field(default_factory=dict)
    # A three-way merge planned through tree diffs: `target` and `ours_flat` hold only the paths
    # in `scope` (those either side changed); every other path is ours's, unchanged.
    scope: frozenset[str] | None = None


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
    edit_message: Callable[[str], str] | None = None,
) -> MergeOutcome:
    """Merge the commit `rev` into HEAD; with `rev` None, join the current branch's siblings.

    When a merge commit is due, `edit_message` (if given) gets the proposed message and
    returns the one to use (the caller's editor); what it raises leaves everything unchanged.

    Siblings (concurrent heads of one branch, brought by a fetch) merge one at
    a time, earliest in the tie-break order first; each merge replaces both
    heads by the merge commit. With `auto`, all siblings are folded in
    tie-break order into convergent merge commits, so every replica joining
    the same siblings ends with the same commit.

    What diff3 leaves in conflict goes by the policy (``.vcrdtattributes``,
    `vcrdt.merge.policy`) unless `on_conflict` overrides it: ``markers`` and
    ``ask`` settle nothing automatically, ``crdt`` settles every path by its
    rule (``union`` for text, ``lww`` for binary when it has none), ``fail``
    applies the policy's rules and raises if anything is left. When the
    caller can prompt (`ask_default`: a terminal), the paths whose action is
    ``ask`` (every path, under ``on_conflict="ask"``) are listed in the
    outcome for it to prompt; a path with no action gets markers.

    With `auto`, the merge is convergent (`vcrdt.merge.convergent`): rules
    settle everything (as ``crdt``), the sides are taken in tie-break order,
    and the merge commit is a pure function of the two heads, so replicas
    merging the same heads in either direction make the same commit.

    Fast-forwards when HEAD is an ancestor (unless `no_ff`). Otherwise merges
    the trees against the merge base (a virtual base after criss-cross
    merges) and commits the result when clean; on conflicts, leaves the
    merged files (conflicts with markers) in the work tree and records the
    merge as in progress, for `resolve` then `commit`, or `merge_abort`.

    The merge is planned first (`plan_merge`: nothing stored) and then applied
    (`apply_merge`); a dry run only plans.

    Raises:
        MergeError: If a merge is already in progress, the histories are unrelated, or
            conflicts remain under ``fail`` or `auto`.
        PolicyError: If the policy file is malformed (before anything is written).
        DirtyWorktreeError: If tracked files have uncommitted changes.
    """
    plan = plan_merge(
        repo,
        rev,
        no_ff=no_ff,
        style=style,
        message=message,
        on_conflict=on_conflict,
        ask_default=ask_default,
        auto=auto,
        check_worktree=not dry_run,
    )
    if dry_run:
        # A commit the merge would make is not reported: it is not stored.
        made = plan.apply in ("convergent", "commit")
        return replace(plan.outcome, dry_run=True, commit=None if made else plan.outcome.commit)
    if plan.apply == "conflicts" and on_conflict == "fail":
        paths = [c.path for c in plan.outcome.conflicts]
        reasons = dict(plan.outcome.notes)
        first = f"{paths[0]} ({reasons[paths[0]]})" if paths[0] in reasons else paths[0]
        raise MergeError(
            f"merge left {len(paths)} path{'s' if len(paths) != 1 else ''} in conflict: {first}"
            + (f" and {len(paths) - 1} more" if len(paths) > 1 else "")
            + "; nothing was changed",
            hint="merge without --on-conflict=fail to resolve them by hand",
        )
    if plan.apply == "commit" and edit_message is not None:
        plan.message = normalise_message(edit_message(plan.message))
    return apply_merge(repo, plan, on_progress)


def _check_clean(repo: Repository) -> None:
    changes = repo.worktree.status()
    if not changes.is_clean:
        _refuse_dirty(changes.modified + changes.added + changes.deleted + changes.removed)


def _check_paths(repo: Repository, paths: list[str]) -> None:
    """Refuse local changes to `paths` (the files a merge writes)."""
    if not paths:
        return
    wt = repo.worktree
    rows = wt.table.of(paths)
    cur, _ = wt.current(rows, list(rows), None, store=False)
    dirty = [
        p
        for p in paths
        if (row := rows.get(p)) is not None
        and (row.state == "removed" or cur.get(p) != (None if row.head_kind is None else (row.head_kind, row.head_oid)))
    ]
    if dirty:
        _refuse_dirty(dirty)


def _refuse_dirty(dirty: list[str]) -> None:
    """Raise the refusal of a merge over local changes to `dirty` (the first five named)."""
    raise DirtyWorktreeError(
        f"local changes would be mixed into the merge: {', '.join(dirty[:5])}"
        + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""),
        hint="commit them first (or `vcrdt restore` them)",
    )


def plan_merge(
    repo: Repository,
    rev: str | None,
    *,
    no_ff: bool = False,
    style: Style = "merge",
    message: str | None = None,
    on_conflict: OnConflict | None = None,
    ask_default: bool = False,
    auto: bool = False,
    check_worktree: bool = True,
) -> MergePlan:
    """Compute what `merge` does, storing nothing (see `merge` for the arguments).

    With `check_worktree`, a work tree with local changes is refused, as applying
    the plan would refuse it.

    Raises:
        MergeError: If a merge is already in progress, the histories are unrelated, or
            `auto` and a rule cannot settle some path.
        PolicyError: If the policy file is malformed.
        DirtyWorktreeError: If `check_worktree` and tracked files have uncommitted changes.
    """
    if auto and on_conflict not in (None, "crdt"):
        raise MergeError(
            f"--auto settles every conflict by rule; it cannot be combined with --on-conflict={on_conflict}"
        )
    if repo.merge_state.in_progress():
        raise MergeError("a merge is already in progress", hint="commit the resolution, or run `vcrdt merge --abort`")
    head = repo.refs.head()
    pending = PendingObjects(repo.store)
    if rev is None:
        if not head.siblings and auto and head.commit is not None:
            # Nothing to join is the state --auto aims for: up to date, as a merge of an ancestor is.
            outcome = MergeOutcome("up-to-date", head.commit, head.commit, [head.commit], None, [], [])
            return MergePlan(outcome, pending, "nothing", head.branch, head.commit)
        if not head.siblings:
            raise MergeError(
                "nothing to merge: the branch has no concurrent heads", hint="name a branch or commit to merge"
            )
        if auto:
            return _plan_siblings(repo, pending, head, check_worktree=check_worktree)
        theirs = min(head.siblings, key=lambda h: tie_key(repo, h))
        rev = short(theirs)
    else:
        theirs = repo.resolve(rev)
    drop = frozenset({theirs}) & head.siblings
    ours = head.commit
    if ours is not None and is_ancestor(repo.store, theirs, ours):
        outcome = MergeOutcome("up-to-date", ours, theirs, [theirs], None, [], [])
        return MergePlan(outcome, pending, "nothing", head.branch, ours)
    ahead = ours is not None and is_ancestor(repo.store, ours, theirs)
    if ours is not None and (ahead or not auto) and (no_ff or not ahead):
        return _plan_three_way(
            repo,
            pending,
            head,
            ours,
            theirs,
            rev,
            drop,
            style=style,
            message=message,
            on_conflict=on_conflict,
            ask_default=ask_default,
            check_worktree=check_worktree,
        )
    if check_worktree:
        _check_clean(repo)
    ours_flat = repo.commit_flat(ours)
    if ours is not None and auto and not ahead:
        bases = merge_bases(repo.store, ours, theirs)
        entries, settled, record = auto_tree(pending, ours, theirs)
        oid = convergent_commit(pending, write_flat_tree(pending, entries), [ours, theirs], record)
        changed = [c.path for c in diff_changes(ours_flat, entries)]
        outcome = MergeOutcome("merged", ours, theirs, bases, oid, [], changed, False, settled)
        return MergePlan(outcome, pending, "convergent", head.branch, ours, drop, oid, entries)
    target = repo.commit_flat(theirs)
    changed = [c.path for c in diff_changes(ours_flat, target)]
    outcome = MergeOutcome("fast-forward", ours, theirs, [ours] if ours else [], theirs, [], changed)
    return MergePlan(outcome, pending, "fast-forward", head.branch, ours, drop, theirs, target)


def _changed_sides(
    repo: Repository, base: ObjectId, ours: ObjectId, theirs: ObjectId
) -> tuple[FlatTree, FlatTree, FlatTree] | None:
    """The base, ours and theirs entries of the paths either side changed, through two tree diffs.

    Subtrees whose ids are equal are skipped unread (`iter_tree_changes`), so no tree is
    flattened. A path only one side changed holds the base's entry on the other. The policy
    file is always included (the merge reads it). Every other path holds one entry on all
    three sides, which the merge keeps as it is: merging these partial trees gives the whole
    merge's result on them, and ours elsewhere. Returns None when a changed path lies under
    another (a file and a directory sharing a name, in some tree): the file/directory rules
    then look at the whole trees.
    """
    store = repo.store
    trees = [read_commit(store, c).tree for c in (base, ours, theirs)]
    b: FlatTree = {}
    sides: tuple[FlatTree, FlatTree] = ({}, {})
    changed: tuple[set[str], set[str]] = (set(), set())
    for side, paths, tree in zip(sides, changed, trees[1:], strict=True):
        for c in iter_tree_changes(store, trees[0], tree):
            paths.add(c.path)
            if c.old_kind is not None and c.old_oid is not None:
                b[c.path] = (c.old_kind, c.old_oid)
            if c.new_kind is not None and c.new_oid is not None:
                side[c.path] = (c.new_kind, c.new_oid)
    o, t = sides
    for side, only in ((t, changed[0] - changed[1]), (o, changed[1] - changed[0])):
        for p in only:
            if p in b:
                side[p] = b[p]
    if POLICY_FILE not in b and POLICY_FILE not in o and POLICY_FILE not in t and trees[0] is not None:
        entry = read_tree(store, trees[0]).get(POLICY_FILE)
        if entry is not None and entry.kind is not EntryKind.TREE:
            b[POLICY_FILE] = o[POLICY_FILE] = t[POLICY_FILE] = (entry.kind, entry.oid)
    every = b.keys() | o.keys() | t.keys()
    if every & ancestor_dirs(every):
        return None
    return b, o, t


def _plan_three_way(
    repo: Repository,
    pending: PendingObjects,
    head: Head,
    ours: ObjectId,
    theirs: ObjectId,
    rev: str,
    drop: frozenset[ObjectId],
    *,
    style: Style,
    message: str | None,
    on_conflict: OnConflict | None,
    ask_default: bool,
    check_worktree: bool,
) -> MergePlan:
    """Plan a three-way merge of `theirs` into `ours` (see `plan_merge`).

    With one merge base, only the paths either side changed are merged (`_changed_sides`);
    with several (a virtual base), or when `_changed_sides` declines, the whole trees.
    """
    bases = merge_bases(repo.store, ours, theirs)
    if not bases:
        if check_worktree:
            _check_clean(repo)
        raise MergeError(f"refusing to merge unrelated histories: {rev}")
    labels = (head_label(repo), "base", rev)
    sides = _changed_sides(repo, bases[0], ours, theirs) if len(bases) == 1 else None
    if sides is not None:
        base_flat, ours_flat, theirs_flat = sides
    else:
        ours_flat = repo.commit_flat(ours)
        theirs_flat = repo.commit_flat(theirs)
        base_flat = virtual_base(pending, bases, on_conflict)
    policy = merged_policy(pending, base_flat, ours_flat, theirs_flat, strict=False)
    decide = decider(policy, on_conflict)
    # A version (and, under the json rule, a key's value) written after seeing the other side's wins
    # over it, on the paths a rule settles.
    later, keys_later = causal_precedences(
        pending, Causality(pending), [ours], theirs, bases[0] if len(bases) == 1 else base_flat, decide
    )
    tm = merge_flat(
        pending,
        base_flat,
        ours_flat,
        theirs_flat,
        style=style,
        labels=labels,
        decide=decide,
        keys=(tie_key(repo, ours), tie_key(repo, theirs)),
        marker_size=policy.marker_size_for,
        later=later,
        keys_later=keys_later,
    )
    result_flat = {**tm.entries, **tm.worktree}
    changed = [c.path for c in diff_changes(ours_flat, result_flat)]
    scope = None if sides is None else frozenset(base_flat.keys() | ours_flat.keys() | theirs_flat.keys())
    if check_worktree:
        if tm.is_clean:
            # The merge commit is made from the trees, not the work tree: only the files it
            # writes must be as HEAD has them (git checks its index entries for those paths).
            _check_paths(repo, changed)
        else:
            # The commit that ends a conflicted merge takes the whole work tree.
            _check_clean(repo)
    ask = ask_paths(policy, tm.conflicts, on_conflict, ask_default)
    record = pending.put("blob", dump_record(record_entries(tm.auto, (ours, theirs), tm.entries))) if tm.auto else None
    text = normalise_message(message or f"Merge {rev} into {head_label(repo)}")
    if tm.is_clean:
        outcome = MergeOutcome("merged", ours, theirs, bases, None, [], changed, False, tm.auto, tm.notes)
        return MergePlan(
            outcome, pending, "commit", head.branch, ours, drop, None, tm.entries, text, record, style, scope=scope
        )
    outcome = MergeOutcome("conflicts", ours, theirs, bases, None, tm.conflicts, changed, False, tm.auto, tm.notes, ask)
    return MergePlan(
        outcome, pending, "conflicts", head.branch, ours, drop, None, result_flat, text, record, style, ours_flat, scope
    )


def _plan_siblings(repo: Repository, pending: PendingObjects, head: Head, *, check_worktree: bool) -> MergePlan:
    """Plan folding every head of the current branch, in tie-break order, into convergent merge commits."""
    assert head.branch is not None and head.commit is not None
    heads = sorted({head.commit, *head.siblings}, key=lambda h: tie_key(repo, h))
    if check_worktree and not repo.worktree.status().is_clean:
        raise DirtyWorktreeError("local changes would be mixed into the merge", hint="commit them first")
    ours_flat = repo.commit_flat(head.commit)
    joined = join_heads(pending, heads)
    changed = [c.path for c in diff_changes(ours_flat, joined.tree)]
    bases = merge_bases(repo.store, heads[0], heads[1])
    outcome = MergeOutcome("merged", head.commit, heads[-1], bases, joined.commit, [], changed, False, joined.settled)
    return MergePlan(
        outcome, pending, "convergent", head.branch, head.commit, head.siblings, joined.commit, joined.tree
    )


def apply_merge(repo: Repository, plan: MergePlan, on_progress: Progress | None = None) -> MergeOutcome:
    """Apply a planned merge: store its objects, make its commit, move the branch, update the work tree.

    Returns:
        The plan's outcome, with the commit made (if any).

    Raises:
        DirtyWorktreeError: If the work tree is in the way of the result.
        IdentityError: If a merge commit is due and the author is not set (nothing is written).
        RefConflictError: If the branch moved since the merge was planned.
    """
    outcome = plan.outcome
    if plan.apply == "nothing":
        return outcome
    from vcrdt.porcelain.oplog import operation

    # A merge that stops with conflicts is not an operation of its own: the commit that ends it is.
    recorded = operation(repo, "merge", f"merge {short(outcome.theirs)}", files=True)
    with repo.transaction() if plan.apply == "conflicts" else recorded as op:
        plan.pending.flush(repo.store)
        if plan.apply == "conflicts":
            assert outcome.ours is not None
            ours_flat, target = plan.ours_flat, plan.target
            if plan.scope is not None:
                # The work tree's links are judged with the whole result: the partial trees made whole.
                ours_flat = repo.commit_flat(outcome.ours)
                target = {p: e for p, e in ours_flat.items() if p not in plan.scope} | plan.target
            _leave_in_worktree(repo, ours_flat, target)
            repo.merge_state.start(
                outcome.theirs, outcome.ours, plan.message, outcome.conflicts, plan.style, resolutions=plan.record
            )
        else:
            commit = plan.commit
            ours_tree = read_commit(repo.store, outcome.ours).tree if outcome.ours is not None else None
            if plan.apply == "commit":
                assert outcome.ours is not None
                tree = repo.write_tree(plan.target, base=ours_tree, changed=outcome.changed)
                commit = repo.new_commit(
                    tree, [outcome.ours, outcome.theirs], plan.message, repo.signature(), resolutions=plan.record
                )
                outcome = replace(outcome, commit=commit)
            assert commit is not None
            tree = read_commit(repo.store, commit).tree
            # Through a diff of ours's tree and the result's: only the paths that differ are visited.
            flat = plan.target if plan.scope is None else None  # a partial target is no whole tree
            writes = repo.worktree.begin_checkout_tree(tree, force=False, flat=flat, expect=ours_tree)
            move_head(repo, plan.branch, commit, plan.expected, plan.drop)
            assert op is not None
            op.writes = writes
            op.summary = f"merge {short(outcome.theirs)} ({plan.apply})"
    repo.worktree.finish_checkout(on_progress)
    return outcome


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
