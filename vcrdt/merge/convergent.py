"""Convergent merges: virtual bases, the fold of concurrent heads, and convergent merge commits.

Every replica that joins the same concurrent heads must make the same merge
commit, so that sync adds no further merges. Here that is a pure function of
the heads and the objects they reach: a convergent merge commit stands for
its *leaves* (the heads it joined that are not convergent merges
themselves, recursively), and its tree is those leaves folded in tie-break
order (`vcrdt.crdt.order`), each step against the merge base of the leaves
folded so far and the next (a virtual one after criss-crosses), with every
conflict settled by its rule (`vcrdt.merge.policy`, ``crdt``). The commit
itself has sorted parents, a fixed author, message and time, and a clock
actor derived from the parents (`convergent_commit`).

Works over a `MergeStore` only (no repository, no work tree): planned over
`vcrdt.merge.pending.PendingObjects`, a merge writes nothing until it is
applied. Imports `dag`, `diff`, `objects` and the rest of `merge`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from vcrdt.crdt.order import TieKey
from vcrdt.dag import is_ancestor, merge_bases, read_commit
from vcrdt.diff import diff_changes, flatten_tree
from vcrdt.errors import MergeError
from vcrdt.ids import ObjectId, short
from vcrdt.merge.causality import Causality
from vcrdt.merge.conflicts import AutoResolution, Side
from vcrdt.merge.pending import MergeStore, write_flat_tree
from vcrdt.merge.policy import Decide, OnConflict, decider, merged_policy
from vcrdt.merge.record import dump_record, record_entries
from vcrdt.merge.trees import Flat, KeysLater, Later, merge_flat
from vcrdt.objects import (
    AUTO_EMAIL,
    AUTO_MESSAGE,
    AUTO_NAME,
    Commit,
    EntryKind,
    Signature,
    commit_clock,
    convergent_actor,
    is_convergent_commit,
)

if TYPE_CHECKING:
    from vcrdt.merge.rules.json_doc import KeyLater

FlatTree = dict[str, tuple[EntryKind, ObjectId]]


def convergent_commit(
    store: MergeStore, tree: ObjectId, parents: Iterable[ObjectId], resolutions: ObjectId | None
) -> ObjectId:
    """Build and store a merge commit that is a pure function of its parents (and merged tree).

    Any replica merging the same heads gets the same commit id: the parents
    are sorted by id; the author is ``vcrdt <auto-merge@vcrdt.invalid>`` at the
    latest parent's author time, in UTC; the message is fixed; the replica id
    is derived from the parents. It has no dot of its own: its clock is its
    parents' clocks joined (`vcrdt.dag.causal_relation` tells it apart).

    Args:
        store: Where the parents are read and the commit is written.
        tree: The merged tree.
        parents: The heads joined.
        resolutions: The record of what rules settled (`vcrdt.merge.record`), if any.

    Returns:
        The commit's id.
    """
    ordered = sorted(set(parents))
    pcs = [read_commit(store, p) for p in ordered]
    author = Signature(AUTO_NAME, AUTO_EMAIL, max(c.author.timestamp for c in pcs), 0)
    lamport = 1 + max(c.lamport for c in pcs)
    clock, gaps = commit_clock(pcs, None)
    commit = Commit(
        tree, tuple(ordered), author, AUTO_MESSAGE, convergent_actor(ordered), lamport, clock, resolutions, gaps
    )
    return store.put("commit", commit.to_bytes())


def is_convergent(commit: Commit) -> bool:
    """Tell whether a commit is a convergent merge commit (`convergent_commit` made it)."""
    return is_convergent_commit(commit)


def tie_key(store: MergeStore, oid: ObjectId) -> TieKey:
    """A commit's place in the tie-break order (Lamport clock, replica id, commit id)."""
    c = read_commit(store, oid)
    return TieKey(c.lamport, c.replica, bytes(oid))


def commit_flat(store: MergeStore, oid: ObjectId | None) -> FlatTree:
    """The flat tree (path -> file entry) of a commit (empty for None)."""
    if oid is None:
        return {}
    return flatten_tree(store, read_commit(store, oid).tree)


@dataclass(slots=True)
class Joined:
    """The convergent merge of some heads: the commit, its tree, and what rules settled on the way."""

    commit: ObjectId
    tree: FlatTree
    settled: list[AutoResolution] = field(default_factory=list)


def virtual_base(store: MergeStore, bases: Iterable[ObjectId], on_conflict: OnConflict | None = "crdt") -> FlatTree:
    """The base tree to merge against: the merge base, or several merged into one (criss-cross).

    Like git's recursive strategy, the bases are merged one after another, each
    step against the merge base of what is folded so far and the next base (a
    virtual one in turn, when there are several). Unlike git's, a path that has
    a rule is merged by that rule, exactly as the merge itself would merge it:
    the rules of the bases' merged ``.vcrdtattributes``, under the same
    `on_conflict` (``crdt``, the default: every path by its rule, as a
    convergent merge does). A ruled path a rule still cannot settle (JSON that
    does not parse, say) takes the version of the base later in the tie-break
    order, so a rule never reads conflict markers in a base. Paths without a
    rule keep diff3's markers, as git's virtual bases do.

    The bases are taken in tie-break order whatever order they are given in, so
    every replica builds the same virtual base from the same bases.

    Args:
        store: Where the bases are read and merged blobs written.
        bases: The merge bases (at least one).
        on_conflict: Which rules apply (`vcrdt.merge.policy.decider`).

    Returns:
        The virtual base's flat tree.
    """
    ordered = sorted(set(bases), key=lambda h: tie_key(store, h))
    flat = commit_flat(store, ordered[0])
    key = tie_key(store, ordered[0])
    causality = Causality(store)
    for n, other in enumerate(ordered[1:], start=1):
        inner = maximal(store, {x for done in ordered[:n] for x in merge_bases(store, done, other)})
        inner_flat = virtual_base(store, inner, on_conflict) if inner else {}
        other_flat, other_key = commit_flat(store, other), tie_key(store, other)
        policy = merged_policy(store, inner_flat, flat, other_flat, strict=False)
        decide = decider(policy, on_conflict)
        later, keys_later = causal_precedences(
            store, causality, ordered[:n], other, inner[0] if len(inner) == 1 else inner_flat, decide
        )
        tm = merge_flat(
            store,
            inner_flat,
            flat,
            other_flat,
            style="diff3",
            labels=("base 1", "ancestor", "base 2"),
            decide=decide,
            keys=(key, other_key),
            later=later,
            keys_later=keys_later,
        )
        merged = {**tm.entries, **tm.worktree}
        for c in tm.conflicts:
            if not _ruled(decide, c.path):
                continue  # no rule reads this path: diff3's markers stay, as in git
            merged.pop(c.path, None)
            for p in [p for p in merged if p.startswith(c.path + "~")]:
                del merged[p]  # the file set aside by a file/directory conflict
            entry = (c.theirs if other_key > key else c.ours).entry()
            if entry is not None and not any(p.startswith(c.path + "/") for p in merged):
                merged[c.path] = entry
        flat, key = merged, max(key, other_key)
    return flat


def _ruled(decide: Decide | None, path: str) -> bool:
    return decide is not None and (decide(path, False) is not None or decide(path, True) is not None)


def causal_precedences(
    store: MergeStore,
    causality: Causality,
    ours: Sequence[ObjectId],
    theirs: ObjectId,
    base: ObjectId | Flat,
    decide: Decide | None,
) -> tuple[Later | None, KeysLater | None]:
    """Causal precedence (`vcrdt.merge.trees.merge_flat`'s `later` and `keys_later`) for merging `ours` with `theirs`.

    `ours` is the commit (or the commits folded so far) of one side, `theirs`
    the other side's commit, `base` the merge base (a commit) or a virtual
    base's tree.

    Only where the base may be older than what both sides saw: the paths that
    some common ancestor of the two sides holds differently from the base
    (none at all when every common ancestor is in the base's history, as with
    a single merge base, where diff3 gets causality right by itself), and of
    those only the paths a rule settles (the others merge as git merges them).
    For those paths the ``json`` rule also asks key by key (`Causality.key_later`).
    """
    if decide is None:
        return None, None
    common = maximal(store, {m for h in ours for m in merge_bases(store, h, theirs)})
    if isinstance(base, bytes):
        common = [m for m in common if not is_ancestor(store, m, base)]
    if not common:
        return None, None
    base_flat = commit_flat(store, base) if isinstance(base, bytes) else base
    paths = {c.path for m in common for c in diff_changes(base_flat, commit_flat(store, m))}
    paths = {p for p in paths if _ruled(decide, p)}
    if not paths:
        return None, None

    def later(path: str, b: Side, o: Side, t: Side) -> Literal["ours", "theirs"] | None:
        if path not in paths:
            return None
        return causality.later(path, b, o, t, ours, [theirs])

    def keys_later(path: str) -> KeyLater | None:
        return causality.key_later(path, ours, [theirs]) if path in paths else None

    return later, keys_later


def join_heads(store: MergeStore, heads: Iterable[ObjectId]) -> Joined:
    """Fold heads, in tie-break order, into convergent merge commits; return the last one.

    A head that is an ancestor of the fold so far adds nothing; one the fold
    is an ancestor of replaces it (no merge commit).

    Raises:
        MergeError: If the histories are unrelated or a rule cannot settle some path.
    """
    ordered = sorted(set(heads), key=lambda h: tie_key(store, h))
    acc = Joined(ordered[0], {})
    for other in ordered[1:]:
        step = auto_pair(store, acc.commit, other)
        acc = Joined(step.commit, step.tree, acc.settled + step.settled)
    if not acc.tree:
        acc.tree = commit_flat(store, acc.commit)
    return acc


def auto_pair(store: MergeStore, a: ObjectId, b: ObjectId) -> Joined:
    """The convergent merge commit of two heads; a descendant needs no merge.

    The merged tree depends only on the *set* of heads being joined, not on
    the order they were joined in (see `auto_tree`), so joining three or more
    heads in any order gives the same tree.

    Raises:
        MergeError: If the histories are unrelated or a rule cannot settle some path.
    """
    if is_ancestor(store, a, b):
        return Joined(b, commit_flat(store, b))
    if is_ancestor(store, b, a):
        return Joined(a, commit_flat(store, a))
    entries, settled, record = auto_tree(store, a, b)
    return Joined(convergent_commit(store, write_flat_tree(store, entries), [a, b], record), entries, settled)


def auto_tree(store: MergeStore, a: ObjectId, b: ObjectId) -> tuple[FlatTree, list[AutoResolution], ObjectId | None]:
    """The tree of the convergent merge of two concurrent heads, what rules settled, and its record.

    A convergent merge commit stands for its leaves (the non-convergent heads
    it joined, recursively), and the tree is the leaves folded in tie-break
    order, each step against the merge base of the leaves folded so far and the next.

    Raises:
        MergeError: If the histories are unrelated or a rule cannot settle some path.
    """
    every = leaves(store, a) | leaves(store, b)
    kept = maximal(store, every)
    if len(kept) < len(every):
        # Some head one side joined is in the other side's history: the leaves are not all
        # concurrent, and folding them would forget what the later commits built on that head
        # (a convergent merge's decision the other side has since inherited). Merge the two heads
        # themselves against their merge base instead, sides in tie-break order.
        bases = merge_bases(store, a, b)
        if not bases:
            raise MergeError(f"refusing to merge unrelated histories: {short(a)} and {short(b)}")
        pair_base: ObjectId | FlatTree = bases[0] if len(bases) == 1 else virtual_base(store, bases)
        return _fold(store, pair_base, sorted((a, b), key=lambda h: tie_key(store, h)))
    base = _common_base(store, kept)
    if base is None:
        raise MergeError(f"refusing to merge unrelated histories: {short(a)} and {short(b)}")
    return _fold(store, base, kept)


def leaves(store: MergeStore, oid: ObjectId) -> set[ObjectId]:
    """The heads a convergent merge commit joined (itself, for any other commit)."""
    out: set[ObjectId] = set()
    stack = [oid]
    while stack:
        c = stack.pop()
        commit = read_commit(store, c)
        if is_convergent(commit):
            stack.extend(commit.parents)
        else:
            out.add(c)
    return out


def maximal(store: MergeStore, heads: set[ObjectId]) -> list[ObjectId]:
    """Drop heads that are ancestors of another; the rest in tie-break order."""
    keep = [h for h in heads if not any(h != o and is_ancestor(store, h, o) for o in heads)]
    return sorted(keep, key=lambda h: tie_key(store, h))


def _common_base(store: MergeStore, heads: list[ObjectId]) -> ObjectId | FlatTree | None:
    """The base every head is merged against: their merge base (a virtual one after criss-crosses)."""
    acc: list[ObjectId] = [heads[0]]
    for h in heads[1:]:
        found = {b for a in acc for b in merge_bases(store, a, h)}
        if not found:
            return None
        acc = maximal(store, found)
    return acc[0] if len(acc) == 1 else virtual_base(store, acc)


def _fold(
    store: MergeStore, base: ObjectId | Flat, heads: list[ObjectId]
) -> tuple[FlatTree, list[AutoResolution], ObjectId | None]:
    """Merge `heads` (in tie-break order) one after another against `base`, every conflict by rule."""
    base_flat = commit_flat(store, base) if isinstance(base, bytes) else base
    acc, acc_key = commit_flat(store, heads[0]), tie_key(store, heads[0])
    acc_commit: ObjectId | None = heads[0]
    settled: list[AutoResolution] = []
    entries: dict[str, dict[str, object]] = {}
    causality = Causality(store)
    for n, head in enumerate(heads[1:], start=1):
        head_flat, head_key = commit_flat(store, head), tie_key(store, head)
        step_base, step_flat = _step_base(store, base, base_flat, heads[:n], head)
        policy = merged_policy(store, step_flat, acc, head_flat, strict=True, keys=(acc_key, head_key))
        decide = decider(policy, "crdt")
        later, keys_later = causal_precedences(store, causality, heads[:n], head, step_base, decide)
        tm = merge_flat(
            store,
            step_flat,
            acc,
            head_flat,
            decide=decide,
            keys=(acc_key, head_key),
            later=later,
            keys_later=keys_later,
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
        for e in record_entries(tm.auto, (acc_commit, head), tm.entries):
            entries[str(e["path"])] = e  # a later step's decision on a path supersedes an earlier one
        # From here on the accumulated side is the fold so far, not any one commit.
        acc, acc_key, acc_commit = dict(tm.entries), head_key, None
    record = store.put("blob", dump_record(list(entries.values()))) if entries else None
    return acc, settled, record


def _step_base(
    store: MergeStore, base: ObjectId | Flat, base_flat: Flat, done: Sequence[ObjectId], head: ObjectId
) -> tuple[ObjectId | Flat, Flat]:
    """The base one step of a fold merges against: the merge base of the heads folded so far and the next.

    The fold's common base is older than that when some of the heads share
    history the others lack; merging against it, a change both sides had seen
    (and one of them replaced since) would look new on the side that kept it.
    Several merge bases are merged into a virtual one, as for any merge.
    """
    common = maximal(store, {m for h in done for m in merge_bases(store, h, head)})
    if not common or (isinstance(base, bytes) and common == [base]):
        return base, base_flat
    if len(common) == 1:
        return common[0], commit_flat(store, common[0])
    flat = virtual_base(store, common)
    return flat, flat
