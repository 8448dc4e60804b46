"""Causality between versions of a path: which side's version was written after seeing the other's.

A rule's tie-break decides only between versions that are truly concurrent.
When one side's version of a path was made after that side had seen the other
side's version, it supersedes it, whatever the tie-break order of the commits
says: a later write wins over the value it replaced, a deletion made after
seeing an insertion wins over it. Diff3 against the right base gets this
right by itself; it goes wrong when the base is older than the versions (the
common base of three or more heads joined at once, a criss-cross), which is
where a convergent merge asks this module.

A version's *origin* is the commit that wrote it: from a commit, follow
parents holding the same entry at the path until a commit none of whose
parents holds it. A side (one or more commits) has *seen* another side's
version when every origin of that version (the commits of that side holding
it may have written the same bytes separately: a revert is a decision of its
own) is an ancestor of one of its commits (`vcrdt.dag.is_ancestor`). A deletion has no origin here and is never seen:
a deletion that lost to a later write is not brought back by this rule, and
a modification against a deletion is left to the rules (which keep it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from vcrdt.dag import is_ancestor, read_commit, read_tree
from vcrdt.ids import ObjectId
from vcrdt.merge.conflicts import Side
from vcrdt.merge.pending import MergeStore
from vcrdt.objects import EntryKind, Tree

Entry = tuple[EntryKind, ObjectId] | None
Later = Literal["ours", "theirs"]


class Causality:
    """Answers which of two versions of a path causally follows the other, with caches for one merge."""

    def __init__(self, store: MergeStore) -> None:
        """Read commits and trees from `store`."""
        self._store = store
        self._trees: dict[ObjectId, Tree] = {}
        self._roots: dict[ObjectId, ObjectId] = {}
        self._origins: dict[tuple[ObjectId, str], ObjectId] = {}
        self._ancestry: dict[tuple[ObjectId, ObjectId], bool] = {}

    def entry(self, commit: ObjectId, path: str) -> Entry:
        """The entry at `path` in `commit`'s tree (None when absent)."""
        root = self._roots.get(commit)
        if root is None:
            root = self._roots[commit] = read_commit(self._store, commit).tree
        current = root
        parts = path.split("/")
        for i, part in enumerate(parts):
            tree = self._trees.get(current)
            if tree is None:
                tree = self._trees[current] = read_tree(self._store, current)
            found = tree.get(part)
            if found is None:
                return None
            if i == len(parts) - 1:
                return None if found.kind is EntryKind.TREE else (found.kind, found.oid)
            if found.kind is not EntryKind.TREE:
                return None
            current = found.oid
        return None

    def origin(self, commit: ObjectId, path: str) -> ObjectId:
        """The commit that wrote `commit`'s version of `path` (first parent holding it, at each step)."""
        walked: list[ObjectId] = []
        entry = self.entry(commit, path)
        current = commit
        while (current, path) not in self._origins:
            walked.append(current)
            parents = read_commit(self._store, current).parents
            same = next((p for p in parents if self.entry(p, path) == entry), None)
            if same is None:
                self._origins[(current, path)] = current
                break
            current = same
        found = self._origins[(current, path)]
        for c in walked:
            self._origins[(c, path)] = found
        return found

    def _ancestor(self, a: ObjectId, b: ObjectId) -> bool:
        key = (a, b)
        known = self._ancestry.get(key)
        if known is None:
            known = self._ancestry[key] = is_ancestor(self._store, a, b)
        return known

    def saw(self, seers: Sequence[ObjectId], side: Sequence[ObjectId], path: str, version: Entry) -> bool:
        """Tell whether the commits `seers` had seen `version` of `path`, as the commits `side` hold it.

        The version's origins are those of the commits of `side` holding exactly
        it, and `seers` saw it only if they saw every one of them: the same bytes
        written again (a revert, say) are a decision of their own. A version none
        of them holds (the merge made it) was seen by no one.
        """
        if version is None:
            return False
        origins = {self.origin(c, path) for c in side if self.entry(c, path) == version}
        return bool(origins) and all(any(self._ancestor(o, s) for s in seers) for o in origins)

    def later(
        self,
        path: str,
        base: Side,
        ours: Side,
        theirs: Side,
        ours_heads: Sequence[ObjectId],
        theirs_heads: Sequence[ObjectId],
    ) -> Later | None:
        """Which side's version of `path` causally follows the other's, or None when neither does.

        `ours_heads` and `theirs_heads` are the commits each side stands for (a
        fold so far stands for the heads folded into it). The side that
        changed the path from the base is asked about first, so the usual
        case (the other side never saw the change) walks only recent history.
        """
        o, t, b = ours.entry(), theirs.entry(), base.entry()
        if o == t:
            return None
        if t == b:
            # Ours changed the path: theirs wins only if it saw ours' version and kept the base's.
            if self.saw(theirs_heads, ours_heads, path, o) and not self.saw(ours_heads, theirs_heads, path, t):
                return "theirs"
            return None
        if o == b:
            if self.saw(ours_heads, theirs_heads, path, t) and not self.saw(theirs_heads, ours_heads, path, o):
                return "ours"
            return None
        ours_saw = self.saw(ours_heads, theirs_heads, path, t)
        theirs_saw = self.saw(theirs_heads, ours_heads, path, o)
        if ours_saw != theirs_saw:
            return "ours" if ours_saw else "theirs"
        return None
