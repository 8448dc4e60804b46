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
*sources* holds it. A commit's sources are its parents and, for a convergent
merge, also the heads it joined (its leaves, `vcrdt.merge.convergent`): its
tree is those heads folded, so a version it holds may come from a head that
neither parent holds any more (an earlier pairwise merge passed over it, the
fold of all the heads picked it); such a merge only passed the version on.
A side (one or more commits) has *seen* another side's version when every
origin of that version (the commits of that side holding it may have written
the same bytes separately: a revert is a decision of its own) is an ancestor
of one of its commits (`vcrdt.dag.is_ancestor`). A deletion has no origin
here and is never seen: a deletion that lost to a later write is not brought back by this rule, and
a modification against a deletion is left to the rules (which keep it).

When each side saw the other's version (a merge can pass over a version
by its rule or tie-break, and the heads joined later still carry it), a
version is *dead* if a commit of the other side holds another version
written after it (whose origin descends from its origin): a dead version
loses to one that merges only passed over.

The same question is asked of each value of a JSON document (`key_later`,
for the ``json`` rule): when both sides changed other keys too, neither
side's version of the file follows the other's, yet a key's value may have
been replaced by a side that had seen it. A value is named by its path of
object keys from the root; its origin is found the same way, following
parents whose document holds the same value there (an absent key is a value
too: a key deleted, or never there). The walk stops at the first commit the
other side has in its history, so it reads only commits the other side has
not seen, and only for the keys whose values the sides hold differently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from vcrdt.dag import is_ancestor, iter_history, read_commit, read_tree
from vcrdt.ids import ObjectId
from vcrdt.merge.conflicts import Side
from vcrdt.merge.pending import MergeStore
from vcrdt.merge.rules import Fallback
from vcrdt.objects import EntryKind, Tree, is_convergent_commit

if TYPE_CHECKING:
    from vcrdt.merge.rules.json_doc import KeyLater

Entry = tuple[EntryKind, ObjectId] | None
Later = Literal["ours", "theirs"]
Keys = tuple[str, ...]
_MISSING = object()


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """The value of every key of a version that is not a JSON document: equal only to the same blob's."""

    oid: ObjectId


class Causality:
    """Answers which of two versions of a path causally follows the other, with caches for one merge."""

    def __init__(self, store: MergeStore) -> None:
        """Read commits and trees from `store`."""
        self._store = store
        self._trees: dict[ObjectId, Tree] = {}
        self._roots: dict[ObjectId, ObjectId] = {}
        self._origins: dict[tuple[ObjectId, str], ObjectId] = {}
        self._ancestry: dict[tuple[ObjectId, ObjectId], bool] = {}
        self._documents: dict[ObjectId, object] = {}
        self._key_origins: dict[tuple[ObjectId, str, Keys], ObjectId] = {}
        self._seen: dict[tuple[ObjectId, str, Keys, tuple[ObjectId, ...]], bool] = {}
        self._sources: dict[ObjectId, tuple[ObjectId, ...]] = {}

    def sources(self, commit: ObjectId) -> tuple[ObjectId, ...]:
        """The commits whose versions `commit` may keep: its parents, and for a convergent merge its leaves."""
        known = self._sources.get(commit)
        if known is not None:
            return known
        parents = read_commit(self._store, commit).parents
        out = list(parents)
        if is_convergent_commit(read_commit(self._store, commit)):
            stack, seen = list(parents), set(parents)
            while stack:
                c = stack.pop()
                if not is_convergent_commit(read_commit(self._store, c)):
                    continue
                for p in read_commit(self._store, c).parents:
                    if p not in seen:
                        seen.add(p)
                        stack.append(p)
                        if not is_convergent_commit(read_commit(self._store, p)):
                            out.append(p)
        found = self._sources[commit] = tuple(out)
        return found

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
            same = next((p for p in self.sources(current) if self.entry(p, path) == entry), None)
            if same is None:
                self._origins[(current, path)] = current
                break
            current = same
        found = self._origins[(current, path)]
        for c in walked:
            self._origins[(c, path)] = found
        return found

    def overwrote(self, writers: Sequence[ObjectId], side: Sequence[ObjectId], path: str, version: Entry) -> bool:
        """Tell whether the history of `writers` holds a write of `path` made after `version` was.

        A write: a commit whose version of `path` (another one, or a deletion)
        none of its sources holds; made after `version`: descending from every
        origin of `version` as the commits of `side` hold it. A merge that only
        kept another version over `version` (by its rule or tie-break) wrote
        nothing. Reads the commits of `writers` newer (by Lamport clock) than
        the oldest of those origins.
        """
        if version is None:
            return False
        origins = {self.origin(c, path) for c in side if self.entry(c, path) == version}
        return bool(origins) and self._written_after(writers, origins, lambda c: self.entry(c, path), version)

    def _written_after(
        self,
        writers: Sequence[ObjectId],
        origins: set[ObjectId],
        held: Callable[[ObjectId], object],
        version: object,
    ) -> bool:
        """Tell whether a commit of `writers`' history after all `origins` newly holds a version but `version`."""
        bit = {o: 1 << i for i, o in enumerate(sorted(origins))}
        full = (1 << len(bit)) - 1
        floor = min(read_commit(self._store, o).lamport for o in origins)
        newer: list[tuple[ObjectId, tuple[ObjectId, ...]]] = []
        for oid, commit in iter_history(self._store, writers):
            if commit.lamport <= floor:
                break  # newest first by Lamport clock: nothing below can descend from every origin
            newer.append((oid, commit.parents))
        below: dict[ObjectId, int] = {}
        for oid, parents in reversed(newer):
            mask = 0
            for p in parents:
                mask |= below.get(p, 0) | bit.get(p, 0)
            below[oid] = mask
            if mask != full:
                continue
            mine = held(oid)
            if mine != version and all(held(p) != mine for p in self.sources(oid)):
                return True
        return False

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
        return _precedence(
            o == b,
            t == b,
            lambda: self.saw(ours_heads, theirs_heads, path, t),
            lambda: self.saw(theirs_heads, ours_heads, path, o),
            lambda: self.overwrote(ours_heads, theirs_heads, path, t),
            lambda: self.overwrote(theirs_heads, ours_heads, path, o),
        )

    def key_value(self, commit: ObjectId, path: str, keys: Keys) -> object:
        """The value at `keys` (object keys from the root) of `commit`'s JSON document at `path`.

        `ABSENT` when the file or the key is not there (or a value on the way is
        not an object); a document that does not parse has one opaque value for
        every key.
        """
        from vcrdt.merge.rules.json_doc import ABSENT, parse_document  # only merges of JSON documents need it

        entry = self.entry(commit, path)
        if entry is None or entry[0] not in (EntryKind.FILE, EntryKind.EXECUTABLE):
            return ABSENT
        oid = entry[1]
        doc = self._documents.get(oid, _MISSING)
        if doc is _MISSING:
            parsed = parse_document(self._store.get(oid)[1])
            doc = self._documents[oid] = _Unreadable(oid) if isinstance(parsed, Fallback) else parsed
        if isinstance(doc, _Unreadable):
            return doc
        for k in keys:
            if not isinstance(doc, dict):
                return ABSENT
            doc = doc.get(k, ABSENT)
        return doc

    def _value_seen(self, holder: ObjectId, path: str, keys: Keys, seers: tuple[ObjectId, ...]) -> bool:
        """Tell whether `seers` have in their history the origin of `holder`'s value at `keys`.

        Walks from `holder` to parents holding the same value; stops at the first
        commit some seer has in its history (seen) or at the origin (not seen).
        """
        key = (holder, path, keys, seers)
        known = self._seen.get(key)
        if known is not None:
            return known
        value = self.key_value(holder, path, keys)
        current = holder
        walked = [current]
        while True:
            if any(self._ancestor(current, s) for s in seers):
                found = True
                break
            current_next = next((p for p in self.sources(current) if self.key_value(p, path, keys) == value), None)
            if current_next is None:
                found = False
                break
            cached = self._seen.get((current_next, path, keys, seers))
            if cached is not None:
                found = cached
                break
            current = current_next
            walked.append(current)
        for c in walked:
            self._seen[(c, path, keys, seers)] = found
        return found

    def key_origin(self, commit: ObjectId, path: str, keys: Keys) -> ObjectId:
        """The commit that wrote `commit`'s value at `keys` of `path` (first parent holding it, at each step)."""
        value = self.key_value(commit, path, keys)
        walked: list[ObjectId] = []
        current = commit
        while (current, path, keys) not in self._key_origins:
            walked.append(current)
            same = next((p for p in self.sources(current) if self.key_value(p, path, keys) == value), None)
            if same is None:
                self._key_origins[(current, path, keys)] = current
                break
            current = same
        found = self._key_origins[(current, path, keys)]
        for c in walked:
            self._key_origins[(c, path, keys)] = found
        return found

    def overwrote_value(
        self, writers: Sequence[ObjectId], side: Sequence[ObjectId], path: str, keys: Keys, value: object
    ) -> bool:
        """As `overwrote`, for the value at `keys` of a JSON document (a deletion is a write here)."""
        origins = {self.key_origin(c, path, keys) for c in side if self.key_value(c, path, keys) == value}
        return bool(origins) and self._written_after(writers, origins, lambda c: self.key_value(c, path, keys), value)

    def saw_value(
        self, seers: Sequence[ObjectId], side: Sequence[ObjectId], path: str, keys: Keys, value: object
    ) -> bool:
        """Tell whether the commits `seers` had seen `value` at `keys` of `path`, as the commits `side` hold it.

        As `saw`, for one value of a JSON document: the origins are those of the
        commits of `side` holding exactly `value` there; a value none of them
        holds (the merge made it) was seen by no one.
        """
        holders = [c for c in side if self.key_value(c, path, keys) == value]
        ordered = tuple(sorted(set(seers)))
        return bool(holders) and all(self._value_seen(c, path, keys, ordered) for c in holders)

    def key_later(self, path: str, ours_heads: Sequence[ObjectId], theirs_heads: Sequence[ObjectId]) -> KeyLater:
        """Causal precedence per value of the JSON document at `path` (`later`, key by key).

        The answer for a key whose values the sides hold differently is that of
        `later` for a path: the side whose value was written after seeing the
        other's, when the other's was not written after seeing it.
        """

        def later(keys: Keys, base: object, ours: object, theirs: object) -> Later | None:
            if ours == theirs:
                return None
            return _precedence(
                ours == base,
                theirs == base,
                lambda: self.saw_value(ours_heads, theirs_heads, path, keys, theirs),
                lambda: self.saw_value(theirs_heads, ours_heads, path, keys, ours),
                lambda: self.overwrote_value(ours_heads, theirs_heads, path, keys, theirs),
                lambda: self.overwrote_value(theirs_heads, ours_heads, path, keys, ours),
            )

        return later


def _precedence(
    ours_is_base: bool,
    theirs_is_base: bool,
    ours_saw: Callable[[], bool],
    theirs_saw: Callable[[], bool],
    theirs_dead: Callable[[], bool],
    ours_dead: Callable[[], bool],
) -> Later | None:
    """Which of two different versions causally follows the other (the questions asked only as needed).

    A side wins when it saw the other's version and the other did not see its
    own (a side that kept the base's version wins only so: else diff3's answer
    stands). When each saw the other's (a merge may pass over a version by
    its rule or tie-break), a version some write of the other side replaced
    (*dead*) loses to one only merges passed over; the rest is left to diff3
    and the rules.
    """
    if theirs_is_base:
        if not theirs_saw():
            return None
        if not ours_saw():
            return "theirs"
    elif ours_is_base:
        if not ours_saw():
            return None
        if not theirs_saw():
            return "ours"
    else:
        seen_by_ours, seen_by_theirs = ours_saw(), theirs_saw()
        if seen_by_ours != seen_by_theirs:
            return "ours" if seen_by_ours else "theirs"
        if not seen_by_ours:
            return None
    dead = theirs_dead()
    if dead != ours_dead():
        return "ours" if dead else "theirs"
    return None
