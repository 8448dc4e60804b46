"""Applying one commit's change onto HEAD: `cherry_pick`, and the three-way step it shares with revert and stash.

A change is the difference between two commits (`base` and `theirs`); it is
applied onto HEAD by diff3 with `base` as the merge base, the merge policy
(``.vcrdtattributes``) and the CRDT rules settling what diff3 leaves, as in a
merge (`merge_change`). A cherry-pick applies a commit against its parent, a
revert applies the parent against the commit, a stash apply applies the stash
against the commit it was made on.

A cherry-pick that stops (conflicts, or a change HEAD already has) records a
merge in progress, as a conflicted revert does, plus its sequence in the merge
state: the commits still to pick, the HEAD it started from, and its options
(keys ``sequencer``, ``todo``, ``pick_orig``, ``pick_opts``). `cherry_pick_continue`
commits the resolution (with the picked commit's author) and picks the rest;
`cherry_pick_skip` drops the stopped commit and picks the rest;
`cherry_pick_abort` puts HEAD and the work tree back where the cherry-pick
started. A plain `vcrdt commit` also ends the stopped pick (and the sequence).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from vcrdt.dag import read_commit
from vcrdt.diff.tree import diff_changes
from vcrdt.errors import BadRevisionError, MergeError
from vcrdt.ids import ObjectId, short
from vcrdt.merge.conflicts import PathConflict
from vcrdt.merge.pending import PendingObjects
from vcrdt.merge.policy import decider, merged_policy
from vcrdt.merge.trees import merge_flat
from vcrdt.objects import Commit, Signature
from vcrdt.porcelain._shared import Progress, move_head, normalise_message, tie_key
from vcrdt.porcelain.oplog import Entry, check_untracked, operation, worktree_snapshot
from vcrdt.refs import Head
from vcrdt.repo import Repository
from vcrdt.worktree import FlatTree


@dataclass(slots=True)
class Change:
    """A change merged onto HEAD and not yet applied: the objects it made, and what applying it writes.

    `entries` is the clean result (conflicted paths at ours'), `result` what the work tree
    gets (conflicted paths with markers); `changed` are the paths where `result` differs
    from `ours_flat`.
    """

    pending: PendingObjects
    ours_flat: FlatTree
    entries: FlatTree
    result: FlatTree
    conflicts: list[PathConflict]
    changed: list[str]

    @property
    def is_clean(self) -> bool:
        """True when diff3 and the rules settled every path."""
        return not self.conflicts


def merge_change(
    repo: Repository,
    base: ObjectId | None,
    ours: ObjectId,
    theirs: ObjectId,
    *,
    labels: tuple[str, str, str],
    ours_flat: FlatTree | None = None,
    pending: PendingObjects | None = None,
) -> Change:
    """Merge the change from `base` to `theirs` onto `ours` (diff3, then the policy's rules), storing nothing.

    Args:
        repo: The repository.
        base: The commit the change starts from (None: the empty tree, for a root commit).
        ours: The commit the change goes onto (its tie-break key decides rule ties).
        theirs: The commit the change ends at.
        labels: Conflict-marker labels for ours, base and theirs.
        ours_flat: The tree to merge onto, when it is not `ours`' own (the work tree).
        pending: Where the objects it makes go (and objects are read from first): an earlier
            change's, when `ours_flat` holds that change's result.

    Returns:
        The merged change.

    Raises:
        PolicyError: If the policy file is malformed.
    """
    pending = pending if pending is not None else PendingObjects(repo.store)
    base_flat = repo.commit_flat(base)
    mine = repo.commit_flat(ours) if ours_flat is None else ours_flat
    theirs_flat = repo.commit_flat(theirs)
    policy = merged_policy(pending, base_flat, mine, theirs_flat, strict=False)
    tm = merge_flat(
        pending,
        base_flat,
        mine,
        theirs_flat,
        labels=labels,
        decide=decider(policy, None),
        keys=(tie_key(repo, ours), tie_key(repo, theirs)),
        marker_size=policy.marker_size_for,
    )
    result = {**tm.entries, **tm.worktree}
    changed = [ch.path for ch in diff_changes(mine, result)]
    return Change(pending, mine, dict(tm.entries), result, list(tm.conflicts), changed)


def commit_change(
    repo: Repository,
    change: Change,
    head: Head,
    message: str,
    author: Signature,
    *,
    kind: str,
    summary: str,
) -> ObjectId:
    """Commit a clean change on HEAD as one recorded operation; the caller runs `finish_checkout` after.

    Raises:
        WorktreeError: If an untracked file is in the way.
        StaleRefError: If the branch moved meanwhile.
    """
    ours = head.commit
    assert ours is not None and change.is_clean
    with operation(repo, kind, summary, files=True) as op:
        change.pending.flush(repo.store)
        tree = repo.write_tree(change.entries, base=read_commit(repo.store, ours).tree, changed=change.changed)
        new = repo.new_commit(tree, [ours], message, author)
        writes: dict[str, Entry | None] = {p: change.entries.get(p) for p in change.changed}
        check_untracked(repo, writes, set(repo.worktree.rows()))
        repo.worktree.begin_checkout(change.entries, force=False)
        move_head(repo, head.branch, new, ours)
        op.writes = writes
    return new


def leave_change(
    repo: Repository,
    change: Change,
    theirs: ObjectId,
    ours: ObjectId,
    message: str,
    *,
    state: dict[str, bytes] | None = None,
    start: bool = True,
) -> None:
    """Write a change into the work tree, HEAD unchanged; with `start`, record it as a merge in progress.

    The merge in progress is a reopened one (committing it makes an ordinary commit on HEAD),
    with `state`'s keys added to the merge state. The caller runs `finish_checkout` after.

    Raises:
        DirtyWorktreeError: If an untracked file is in the way.
    """
    from vcrdt.porcelain.merging import _leave_in_worktree

    with repo.transaction():
        change.pending.flush(repo.store)
        _leave_in_worktree(repo, change.ours_flat, change.result)
        if start:
            repo.merge_state.start(theirs, ours, message, change.conflicts, "merge", reopen=True)
            for key, value in sorted((state or {}).items()):
                repo.merge_state.put(key, value)


# --- cherry-pick ----------------------------------------------------------------------------------

PickStop = Literal["conflicts", "empty"]


@dataclass(frozen=True, slots=True)
class PickOptions:
    """How a cherry-pick runs: ``-m``, ``-n``, ``-x`` and ``--allow-empty``."""

    mainline: int | None = None
    no_commit: bool = False
    record_origin: bool = False
    allow_empty: bool = False

    def to_bytes(self) -> bytes:
        """The options as stored in the merge state."""
        return json.dumps(
            {
                "mainline": self.mainline,
                "no_commit": self.no_commit,
                "record_origin": self.record_origin,
                "allow_empty": self.allow_empty,
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes | None) -> PickOptions:
        """Read stored options (defaults for anything missing or unreadable)."""
        try:
            raw = json.loads(data or b"{}")
        except ValueError:
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        mainline = raw.get("mainline")
        return cls(
            mainline if isinstance(mainline, int) else None,
            raw.get("no_commit") is True,
            raw.get("record_origin") is True,
            raw.get("allow_empty") is True,
        )


@dataclass(frozen=True, slots=True)
class CherryPickResult:
    """What a cherry-pick did: the commits it made, and where and why it stopped (None: it finished)."""

    picked: list[tuple[ObjectId, ObjectId]] = field(default_factory=list)  # (picked commit, new commit)
    applied: list[ObjectId] = field(default_factory=list)  # with --no-commit: applied to the work tree only
    changed: list[str] = field(default_factory=list)  # with --no-commit: the paths written
    stopped: ObjectId | None = None
    stop: PickStop | None = None
    summary: str = ""  # the stopped commit's summary line
    conflicts: list[PathConflict] = field(default_factory=list)
    remaining: int = 0  # commits after the stopped one


EditMessage = Callable[[str], str]


def pick_message(repo: Repository, oid: ObjectId, *, record_origin: bool = False) -> str:
    """The message a cherry-pick of `oid` proposes: its own, with ``-x`` git's "(cherry picked from ...)" line."""
    text = read_commit(repo.store, oid).message.rstrip("\n")
    if record_origin:
        text += f"\n\n(cherry picked from commit {oid.hex()})"
    return text + "\n"


def _parent(repo: Repository, oid: ObjectId, c: Commit, mainline: int | None) -> ObjectId | None:
    if len(c.parents) > 1 and mainline is None:
        raise MergeError(
            f"commit {short(oid)} is a merge but no -m option was given",
            hint=f"pass -m N, N from 1 to {len(c.parents)}: the parent the change is taken against",
        )
    if len(c.parents) <= 1 and mainline is not None:
        raise MergeError(f"mainline was specified but commit {short(oid)} is not a merge")
    if not c.parents:
        return None
    n = mainline or 1
    if n < 1 or n > len(c.parents):
        raise BadRevisionError(short(oid), f"commit has no parent number {n}")
    return c.parents[n - 1]


def _in_progress_error(repo: Repository) -> MergeError:
    if repo.merge_state.get("sequencer") == b"cherry-pick":
        return MergeError(
            "cherry-pick is already in progress",
            hint="`vcrdt cherry-pick --continue` (after `vcrdt resolve`), `--skip` or `--abort`",
        )
    return MergeError("a merge is in progress", hint="commit the resolution, or run `vcrdt merge --abort`")


def cherry_pick(
    repo: Repository,
    revs: list[str],
    *,
    options: PickOptions | None = None,
    edit_message: EditMessage | None = None,
    on_progress: Progress | None = None,
) -> CherryPickResult:
    """Apply each commit's change (against its parent; a merge against parent ``-m N``) onto HEAD, in order.

    Each pick is a diff3 of HEAD and the commit with the commit's parent as base; what
    diff3 leaves goes by the merge policy and the CRDT rules, as in a merge. A clean pick
    is committed (the picked commit's author and message; `edit_message` gets the message
    first), one recorded operation each. With ``no_commit``, the changes are written to the
    work tree only. A pick with conflicts stops: the files get markers and the merge is in
    progress, for `resolve` then `cherry_pick_continue`. A pick that changes nothing (HEAD
    has its change) stops too, unless ``allow_empty`` (then an empty commit is made).

    Raises:
        BadRevisionError: If a revision does not resolve (nothing is changed).
        MergeError: If a merge or cherry-pick is in progress, HEAD is unborn, or a merge commit
            is named without ``-m`` (or a non-merge with it).
        DirtyWorktreeError: If tracked files have uncommitted changes.
    """
    from vcrdt.porcelain.merging import _check_clean

    opts = options or PickOptions()
    if repo.merge_state.in_progress():
        raise _in_progress_error(repo)
    if not revs:
        raise MergeError("no commit given to cherry-pick")
    todo = _commits_named(repo, revs)
    if not todo:
        raise MergeError(f"empty commit set passed: {' '.join(revs)} names no commit to pick")
    for oid in todo:
        _parent(repo, oid, read_commit(repo.store, oid), opts.mainline)
    orig = repo.head_commit()
    if orig is None:
        raise MergeError("cannot cherry-pick onto an unborn branch: HEAD has no commit")
    _check_clean(repo)
    return _run(repo, todo, opts, orig, edit_message, on_progress, onto_worktree=False)


def _commits_named(repo: Repository, revs: list[str]) -> list[ObjectId]:
    """The commits `revs` name, in the order to pick them.

    Plain revisions are taken one by one, in the order given. With a range (``A..B``, or
    ``^A`` beside ``B``) the arguments are a walk, as git reads them: the commits it reaches,
    oldest first.

    Raises:
        BadRevisionError: If a revision does not resolve.
    """
    if not any(".." in r or (r.startswith("^") and len(r) > 1) for r in revs):
        return [repo.resolve(r) for r in revs]
    from vcrdt.porcelain.history import log

    return [entry.oid for entry in log(repo, revs)][::-1]


def _run(
    repo: Repository,
    todo: list[ObjectId],
    opts: PickOptions,
    orig: ObjectId,
    edit_message: EditMessage | None,
    on_progress: Progress | None,
    *,
    onto_worktree: bool,
) -> CherryPickResult:
    """Pick `todo` in order from the current HEAD (with ``no_commit``, onto the work tree when `onto_worktree`)."""
    from vcrdt.porcelain.merging import head_label

    picked: list[tuple[ObjectId, ObjectId]] = []
    applied: list[ObjectId] = []
    written: set[str] = set()
    acc: FlatTree | None = None
    shared = PendingObjects(repo.store) if opts.no_commit else None  # the objects of the picks applied so far
    if opts.no_commit and onto_worktree:
        with repo.transaction():
            acc = worktree_snapshot(repo)[1]
    start_flat = dict(acc) if acc is not None else None
    for i, oid in enumerate(todo):
        c = read_commit(repo.store, oid)
        parent = _parent(repo, oid, c, opts.mainline)
        head = repo.refs.head()
        ours = head.commit
        assert ours is not None
        labels = (head_label(repo), f"parent of {short(oid)}", f"{short(oid)} ({c.summary})")
        change = merge_change(repo, parent, ours, oid, labels=labels, ours_flat=acc, pending=shared)
        text = pick_message(repo, oid, record_origin=opts.record_origin)
        rest = todo[i + 1 :]
        state = {
            "sequencer": b"cherry-pick",
            "todo": "\n".join(t.hex() for t in rest).encode(),
            "pick_orig": orig,
            "pick_opts": opts.to_bytes(),
        }
        stop: PickStop | None = None
        if not change.is_clean:
            stop = "conflicts"
        elif not change.changed and not opts.allow_empty and not opts.no_commit:
            stop = "empty"
        if stop is not None:
            if opts.no_commit and start_flat is not None:
                change.ours_flat = start_flat  # the work tree as it was: earlier picks are written with this one
            leave_change(repo, change, oid, ours, text, state=state)
            repo.worktree.finish_checkout(on_progress)
            conflicts = change.conflicts
            return CherryPickResult(picked, applied, sorted(written), oid, stop, c.summary, conflicts, len(rest))
        if opts.no_commit:
            acc = change.result
            if start_flat is None:
                start_flat = change.ours_flat
            applied.append(oid)
            continue
        message = normalise_message(edit_message(text)) if edit_message is not None else text
        new = commit_change(
            repo, change, head, message, c.author, kind="cherry-pick", summary=f"cherry-pick {short(oid)}: {c.summary}"
        )
        repo.worktree.finish_checkout(on_progress)
        picked.append((oid, new))
    if opts.no_commit and acc is not None and start_flat is not None:
        assert shared is not None
        final = Change(shared, start_flat, acc, acc, [], [])
        final.changed = [ch.path for ch in diff_changes(start_flat, acc)]
        written.update(final.changed)
        leave_change(repo, final, orig, orig, "", start=False)
        repo.worktree.finish_checkout(on_progress)
    return CherryPickResult(picked, applied, sorted(written))


def _sequence(repo: Repository) -> tuple[list[ObjectId], ObjectId, PickOptions]:
    if repo.merge_state.get("sequencer") != b"cherry-pick":
        raise MergeError("no cherry-pick in progress")
    raw_todo = (repo.merge_state.get("todo") or b"").decode()
    todo = [ObjectId(bytes.fromhex(h)) for h in raw_todo.split("\n") if h]
    orig = repo.merge_state.get("pick_orig")
    assert orig is not None
    return todo, ObjectId(orig), PickOptions.from_bytes(repo.merge_state.get("pick_opts"))


def stopped_message(repo: Repository) -> str:
    """The message of the stopped pick (for the editor `cherry_pick_continue` opens).

    Raises:
        MergeError: If no cherry-pick is in progress.
    """
    _sequence(repo)
    raw = repo.merge_state.get("message")
    return raw.decode("utf-8", "replace") if raw else ""


def cherry_pick_continue(
    repo: Repository, *, message: str | None = None, on_progress: Progress | None = None
) -> tuple[ObjectId | None, CherryPickResult]:
    """Commit the resolved pick (the picked commit's author; `message`, else the stopped one) and pick the rest.

    With ``--no-commit`` the resolution stays in the work tree, uncommitted.

    Returns:
        The commit made for the stopped pick (None with ``--no-commit``), and what the rest did.

    Raises:
        MergeError: If no cherry-pick is in progress, conflicts remain, or the stopped pick is
            empty (without ``--allow-empty``).
    """
    from vcrdt.porcelain.files import _check_merge_resolved, commit

    todo, orig, opts = _sequence(repo)
    _check_merge_resolved(repo, None)
    theirs = repo.merge_state.theirs()
    assert theirs is not None
    made: ObjectId | None = None
    if opts.no_commit:
        with repo.transaction():
            repo.merge_state.clear()
    else:
        status = repo.worktree.status()
        if status.is_clean and not opts.allow_empty:
            raise MergeError(
                f"the cherry-pick of {short(theirs)} is empty (HEAD already has its change)",
                hint="`vcrdt cherry-pick --skip` to drop it, or `vcrdt commit --allow-empty` to keep it",
            )
        text = message if message is not None else stopped_message(repo)
        author = read_commit(repo.store, theirs).author
        made = commit(repo, text, author=author, allow_empty=True, on_progress=on_progress).oid
    return made, _run(repo, todo, opts, orig, None, on_progress, onto_worktree=True)


def cherry_pick_skip(repo: Repository, *, on_progress: Progress | None = None) -> CherryPickResult:
    """Drop the stopped pick (its files back to HEAD) and pick the rest.

    Raises:
        MergeError: If no cherry-pick is in progress.
    """
    from vcrdt.porcelain.merging import merge_abort

    todo, orig, opts = _sequence(repo)
    merge_abort(repo)
    return _run(repo, todo, opts, orig, None, on_progress, onto_worktree=True)


def cherry_pick_abort(repo: Repository, *, on_progress: Progress | None = None) -> ObjectId:
    """Put HEAD and the work tree back where the cherry-pick started.

    The commits it made are left (kept by the operation log; `undo` of the reset brings them
    back).

    Returns:
        The commit HEAD is back at.

    Raises:
        MergeError: If no cherry-pick is in progress.
    """
    from vcrdt.porcelain.merging import merge_abort
    from vcrdt.porcelain.rewrite import reset

    _, orig, _ = _sequence(repo)
    if repo.head_commit() == orig:
        merge_abort(repo)
    else:
        reset(repo, orig.hex(), mode="hard", on_progress=on_progress)
    return orig
