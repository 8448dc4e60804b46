"""Rename detection for tree merges, so an edit follows a file that the other side renamed.

A side renamed base path ``p`` to ``q`` when ``p`` is gone from that side,
``q`` is new on it, both are regular files, and ``q``'s content is ``p``'s
(an exact rename) or similar enough: at least half of the larger file's bytes
are lines the two share (`similarity`, git's 50% default). Exact renames are
paired first, then similar ones best score first; every path takes part in
one rename at most, and ties go by path so every replica pairs alike.

`follow_renames` then moves a renamed path in the base, and in the other
side's tree when that side still has it at the old name, so the path-by-path
merge lines the three versions up under the new name. Both sides renaming
``p`` to the same name lines up the same way; renames to different names,
and a new name the other side also uses, are left to the path-by-path merge.
Pure: a function of the three trees and the blobs they name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from vcrdt.diff.lines import is_binary
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind
from vcrdt.store import LARGE_OBJECT

if TYPE_CHECKING:
    from vcrdt.merge.pending import MergeStore

Flat = Mapping[str, tuple[EntryKind, ObjectId]]
Entries = dict[str, tuple[EntryKind, ObjectId]]
_REGULAR = (EntryKind.FILE, EntryKind.EXECUTABLE)
# git's default similarity for a rename, in percent of the larger file.
THRESHOLD = 50
# Above this many (gone x new) pairs only exact renames are looked for (git's merge.renameLimit idea).
PAIR_LIMIT = 40_000


def similarity(a: bytes, b: bytes) -> int:
    """Return how alike two texts are, 0-100: the bytes of the lines they share over the larger size.

    >>> similarity(b"one\\ntwo\\nthree\\n", b"one\\ntwo\\nfour\\n")
    57
    >>> similarity(b"", b"")
    100
    """
    larger = max(len(a), len(b))
    if larger == 0:
        return 100
    ca, cb = Counter(a.splitlines(keepends=True)), Counter(b.splitlines(keepends=True))
    shared = sum(len(line) * min(n, cb[line]) for line, n in ca.items() if line in cb)
    return shared * 100 // larger


def find_renames(store: MergeStore, base: Flat, side: Flat) -> dict[str, str]:
    """Return the renames from `base` to `side` as old path -> new path."""
    gone = sorted(p for p, e in base.items() if p not in side and e[0] in _REGULAR)
    new = sorted(p for p, e in side.items() if p not in base and e[0] in _REGULAR)
    if not gone or not new:
        return {}
    renames: dict[str, str] = {}
    by_oid: dict[ObjectId, list[str]] = {}
    for q in new:
        by_oid.setdefault(side[q][1], []).append(q)
    for p in gone:
        candidates = by_oid.get(base[p][1])
        if candidates:
            # Prefer a new path with the same file name (a move between directories).
            name = p.rsplit("/", 1)[-1]
            q = next((c for c in candidates if c.rsplit("/", 1)[-1] == name), candidates[0])
            candidates.remove(q)
            renames[p] = q
    gone = [p for p in gone if p not in renames]
    taken = set(renames.values())
    new = [q for q in new if q not in taken]
    if not gone or not new or len(gone) * len(new) > PAIR_LIMIT:
        return renames
    olds = {p: t for p in gone if (t := _text(store, base[p][1])) is not None}
    news = {q: t for q in new if (t := _text(store, side[q][1])) is not None}
    scored: list[tuple[int, str, str]] = []
    for p, a in olds.items():
        for q, b in news.items():
            small, large = sorted((len(a), len(b)))
            if large and small * 100 < large * THRESHOLD:
                continue  # too different in size to share half of the larger one
            score = similarity(a, b)
            if score >= THRESHOLD:
                scored.append((-score, p, q))
    used: set[str] = set()
    for _, p, q in sorted(scored):
        if p not in renames and q not in used:
            renames[p] = q
            used.add(q)
    return renames


def _text(store: MergeStore, oid: ObjectId) -> bytes | None:
    if store.info(oid)[1] > LARGE_OBJECT:
        return None
    data = store.get(oid)[1]
    return None if is_binary(data) else data


def follow_renames(store: MergeStore, base: Flat, ours: Flat, theirs: Flat) -> tuple[Entries, Entries, Entries]:
    """Return base, ours and theirs with each side's renames applied where the other side kept the old name.

    >>> from vcrdt.store.memory import MemoryStore
    >>> s = MemoryStore()
    >>> old = s.put("blob", b"a\\nb\\nc\\nd\\n")
    >>> edited = s.put("blob", b"a\\nb\\nc\\nD\\n")
    >>> f = EntryKind.FILE
    >>> b, o, t = follow_renames(s, {"x": (f, old)}, {"y": (f, old)}, {"x": (f, edited)})
    >>> sorted(b), sorted(o), sorted(t)
    (['y'], ['y'], ['y'])
    """
    b, o, t = dict(base), dict(ours), dict(theirs)
    mine, yours = find_renames(store, base, ours), find_renames(store, base, theirs)
    for renames, there, others in ((mine, t, yours), (yours, o, mine)):
        for p, q in renames.items():
            other = others.get(p)
            if other is not None:
                if other == q and p in b:
                    b[q] = b.pop(p)  # both sides renamed it alike
                continue
            if q in there or q in b or p not in b:
                continue  # the other side has its own q: leave it to the path-by-path merge
            b[q] = b.pop(p)
            if p in there:
                there[q] = there.pop(p)
    return b, o, t
