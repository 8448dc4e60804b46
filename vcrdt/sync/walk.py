"""What one side sends: the objects reachable from some heads and not from others, in dependency order.

The DAG shortcut: the peer said which heads it holds (with their whole
closure, the store's invariant); every commit reachable from this side's
heads and not from those is sent, each after its parents, with the trees and
blobs it adds (after the trees and blobs they name). The commit walk paints
down from both sets newest first by Lamport clock (git's ``rev-list A ^B``),
so it stops where the two histories meet instead of walking all of history.
"""

from __future__ import annotations

import heapq
import itertools
import operator
from bisect import bisect_left
from collections.abc import Iterable, Iterator

from vcrdt.crdt.refstate import RefState, from_rows
from vcrdt.dag import read_commit
from vcrdt.errors import CorruptObjectError, ObjectNotFoundError, VcrdtError
from vcrdt.ids import OID_LEN, ObjectId, to_hex
from vcrdt.objects import Commit, EntryKind, Reference, references
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX
from vcrdt.repo import Repository
from vcrdt.store import ObjectStore
from vcrdt.store.sqlite import Row, SqliteStore, Stored
from vcrdt.sync.frames import changed_entries, entry_pattern, split_raw
from vcrdt.sync.limits import SyncLimits


def ref_state(repo: Repository) -> RefState:
    """This replica's branches as the ref-state CRDT: live entries by short name, and the causal context.

    Raises:
        CorruptObjectError: If the stored entries break the state's invariants (another
            replica's database, damaged or hostile).
    """
    rows = [
        (n[len(BRANCH_PREFIX) :], h, r, c) for n, h, r, c in repo.refs.iter_entries() if n.startswith(BRANCH_PREFIX)
    ]
    return from_rows(rows, repo.refs.context())


def tag_state(repo: Repository) -> dict[str, ObjectId]:
    """This replica's tags, by short name (a tag has one target)."""
    return {n[len(TAG_PREFIX) :]: min(hs) for n, hs in repo.refs.iter_refs(TAG_PREFIX) if hs}


def heads_of(state: RefState, tags: dict[str, ObjectId]) -> set[ObjectId]:
    """Every commit a ref state and its tags name."""
    return {e.head for es in state.branches.values() for e in es} | set(tags.values())


# Every entry kind a tree may hold, by the word that spells it (git submodules' ``subm`` too).
_WORDS = {k.value.encode("ascii"): k.value for k in EntryKind}


def tree_entries(
    oid: ObjectId,
    body: bytes,
    heads: dict[bytes, tuple[str, Reference]] | None = None,
    entries: list[bytes] | None = None,
) -> list[tuple[str, Reference]]:
    """The names and references of a stored tree, read for sending (the receiver validates it).

    A sender only needs what each entry names; the path rules are the receiver's to check,
    on every tree it receives, so this skips them (they cost most of decoding a tree).
    `heads` remembers each entry as decoded (successive trees repeat most of them).
    `entries`: the body split by `split_entries`, when the caller did it.

    Raises:
        CorruptObjectError: If the body is not a sequence of tree entries.
    """
    if entries is None:
        entries = entry_pattern(False).findall(body)
    if sum(map(len, entries)) == len(body):
        # Every byte is in an entry (the matches tile the body): each decoded once per walk.
        seen: dict[bytes, tuple[str, Reference]] = {} if heads is None else heads
        found = list(map(seen.get, entries))
        if None not in found:
            return found  # type: ignore[return-value]
        for i, was in enumerate(found):
            if was is None:
                entry = entries[i]
                head = entry[: -OID_LEN - 1]
                sp = head.find(b" ")
                word, name = _WORDS[head[:sp]], head[sp + 1 :].decode("utf-8", "surrogateescape")
                named = "tree" if word == "tree" else "blob"
                ref = Reference(ObjectId(entry[-OID_LEN:]), named, f"entry {name!r} of kind {word} names")
                found[i] = seen[entry] = (name, ref)
        return found  # type: ignore[return-value]
    out: list[tuple[str, Reference]] = []
    known: dict[bytes, tuple[str, str, str]] = {}
    pos, n = 0, len(body)
    while pos < n:
        nul = body.find(b"\0", pos)
        if nul < 0 or nul + 1 + OID_LEN > n:
            raise CorruptObjectError(to_hex(oid), f"not a well-formed tree (entry at byte {pos})")
        head = body[pos:nul]
        hit = known.get(head)
        if hit is None:
            sp = head.find(b" ", 0, 5)
            kind = _WORDS.get(head[:sp]) if sp >= 0 else None
            if kind is None:
                raise CorruptObjectError(to_hex(oid), f"not a well-formed tree (entry at byte {pos})")
            name = head[sp + 1 :].decode("utf-8", "surrogateescape")
            hit = known[head] = (name, "tree" if kind == "tree" else "blob", f"entry {name!r} of kind {kind} names")
        out.append((hit[0], Reference(ObjectId(body[nul + 1 : nul + 1 + OID_LEN]), hit[1], hit[2])))
        pos = nul + 1 + OID_LEN
    return out


def split_entries(body: bytes) -> list[bytes]:
    """A stored tree's entries as raw bytes (``word name\0id``); they tile the body only when it is well formed."""
    found = split_raw(body, False)
    if found is None:  # not a tree: the entries the pattern finds (the caller sees they do not tile it)
        found = entry_pattern(False).findall(body)
    return found


# A raw tree entry: a 4-byte kind word, a space, the name, a NUL, the id.
_WORD_LEN = 4
_NAME_AT = _WORD_LEN + 1
_ID_AT = -OID_LEN
_NAME_END = _ID_AT - 1
# A raw entry's name (`frames.entry_name`), as a key function made in C: bisecting calls it per probe.
_name_of = operator.itemgetter(slice(_NAME_AT, _NAME_END))
# One entry of a tree that `Walker.diff` found changed: its id, its kind word, the raw entry (or its
# `Reference`), and what each old tree holds at its name (kind word and id, or None).
Visit = tuple[ObjectId, bytes, "bytes | Reference", "list[tuple[bytes, ObjectId] | None]"]


def _entry_reference(entry: bytes) -> Reference:
    """The reference of a raw tree entry, worded as `tree_entries` words it."""
    word = entry[:_WORD_LEN].decode("ascii", "replace")
    name = entry[_NAME_AT : _ID_AT - 1].decode("utf-8", "surrogateescape")
    named = "tree" if word == "tree" else "blob"
    return Reference(ObjectId(entry[_ID_AT:]), named, f"entry {name!r} of kind {word} names")


# Decoded trees a walker keeps, and rows of trees read ahead.
TREE_CACHE = 1024
TREE_ROWS = 4096
# Bodies of commits a walker keeps for sending them (a few hundred bytes each).
COMMIT_BODIES = 1 << 16
# Trees `Walker.read_ahead` reads at most at once, and the commits whose trees it reads together.
PREFETCH_TREES = 384
PREFETCH_COMMITS = 24


TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import TypeVar

    _K = TypeVar("_K")
    _V = TypeVar("_V")


def _keep(cache: dict[_K, _V], key: _K, value: _V) -> None:
    """Put `value` in `cache`, first dropping its oldest quarter when it holds `TREE_CACHE` entries."""
    if len(cache) >= TREE_CACHE:
        _trim(cache)
    cache[key] = value


def _trim(cache: dict[_K, _V]) -> None:
    """Drop the oldest quarter of a cache.

    A quarter at a time, not one entry per entry added: finding a dict's first entry walks
    over the slots its deletions left, so dropping the oldest one at a time costs a scan each.
    """
    for old in list(itertools.islice(cache, len(cache) // 4 or 1)):
        del cache[old]


class _Read:
    """An `ObjectReader` of one object already read (and verified)."""

    def __init__(self, got: tuple[str, bytes]) -> None:
        self.got = got

    def get(self, oid: ObjectId) -> tuple[str, bytes]:
        return self.got


class Walker:
    """Reads this side's commits and trees for sending, each checked against the limits first."""

    def __init__(self, store: ObjectStore, limits: SyncLimits) -> None:
        """Walk `store`, refusing trees and commits larger than `limits` before reading them."""
        self.store = store
        self.limits = limits
        self._commits: dict[ObjectId, Commit] = {}
        self._commit_bodies: dict[ObjectId, bytes] = {}
        # `diff`'s answers kept by `read_ahead` for the walk, by the tree and the old trees.
        self._diffs: dict[tuple[ObjectId, ...], list[Visit]] = {}
        # Commits read ahead (`ObjectStore.read_ahead`) and not decoded yet.
        self._ahead: dict[ObjectId, tuple[str, bytes]] = {}
        self._window = _AHEAD_FIRST
        self.kinds: dict[ObjectId, tuple[str, int]] = {}
        self._trees: dict[ObjectId, list[tuple[str, Reference]]] = {}
        self._maps: dict[ObjectId, dict[str, Reference]] = {}
        self._heads: dict[bytes, tuple[str, Reference]] = {}
        # The bodies of the trees read last (the sender packs each just after walking it).
        self.bodies: dict[ObjectId, bytes] = {}
        # Rows of trees met as entries and not read yet (`SqliteStore.tree_rows`).
        self._rows: dict[ObjectId, Row] = {}
        # The bodies of the trees read last (the bases of those stored as deltas on them).
        self._recent: dict[ObjectId, bytes] = {}
        # The stored forms of the trees read last, until sent (`SqliteStore.stored_form`).
        self.forms: dict[ObjectId, Stored] = {}
        # The raw entries of the trees read last (tree deltas are made of them), when they tile the body.
        self._raw: dict[ObjectId, list[bytes]] = {}
        # The edges' trees `held_at` read: their raw entries and the names asked so far, each with
        # its entry's kind word and id, or None (for a tree they do not tile: no raw entries, every name).
        self._held: dict[ObjectId, tuple[list[bytes] | None, dict[bytes, tuple[bytes, ObjectId] | None]]] = {}
        # Clocks and parents of commits from the commit table (`links`), read a window at a time.
        self._links: dict[ObjectId, tuple[int, tuple[ObjectId, ...]]] = {}

    def info(self, oid: ObjectId) -> tuple[str, int]:
        """Kind and size of a stored object (remembered)."""
        got = self.kinds.get(oid)
        if got is None:
            ahead = self._ahead.get(oid)
            got = self.kinds[oid] = self.store.info(oid) if ahead is None else (ahead[0], len(ahead[1]))
        return got

    def meet(self, ref: Reference, holder: ObjectId) -> tuple[str, int]:
        """Check that `ref` names an object of the right kind; return its kind and size.

        Raises:
            CorruptObjectError: If it names an object of another kind.
            ObjectNotFoundError: If it is absent.
        """
        kind, size = self.info(ref.oid)
        problem = ref.problem(kind)
        if problem is not None:
            raise CorruptObjectError(to_hex(holder), problem)
        return kind, size

    def commit(self, oid: ObjectId) -> Commit:
        """Read a commit, its size checked first.

        Raises:
            LimitError: If it is larger than ``limits.max_tree_size``.
        """
        c = self._commits.get(oid)
        if c is None:
            kind, size = self.info(oid)
            self.limits.check_object(oid, kind, size)
            got = self._ahead.pop(oid, None)
            if got is not None:
                # Read ahead and used: the walk goes down stored history, so read more at once next time.
                self._window = min(2 * self._window, _AHEAD_ROWS)
            else:
                # With the commits stored just before it (its ancestors, mostly): one query for dozens.
                # The window starts small: a short fetch, or commits far apart (the peer's haves), reads few.
                if len(self._ahead) > _AHEAD_KEEP:
                    self._ahead.clear()
                self._ahead.update(self.store.read_ahead(oid, self._window))
                got = self._ahead.pop(oid)
            c = self._commits[oid] = read_commit(_Read(got), oid)
            # Kept for sending it (`pop_body`): the walk reads every new commit before their trees.
            if len(self._commit_bodies) >= COMMIT_BODIES:
                _trim(self._commit_bodies)
            self._commit_bodies[oid] = got[1]
        return c

    def links(self, oid: ObjectId) -> tuple[int, tuple[ObjectId, ...]]:
        """The Lamport clock and parents of a commit, from the commit table where the store has one.

        What painting the peer's side of history needs: no commit is decoded, hashed or kept
        for sending. A commit with no row (another replica's database, a damaged table, a
        commit stored in chunks) is read as `commit` reads it.

        Raises:
            LimitError: If a commit read as `commit` reads it is too large.
        """
        c = self._commits.get(oid)
        if c is not None:
            return c.lamport, c.parents
        got = self._links.get(oid)
        if got is None:
            if isinstance(self.store, SqliteStore):
                if len(self._links) > _LINKS_KEEP:
                    self._links.clear()
                self._links.update(self.store.commit_links(oid, _LINK_ROWS))
                got = self._links.get(oid)
            if got is None:
                c = self.commit(oid)
                return c.lamport, c.parents
        return got

    def pop_body(self, oid: ObjectId, kind: str) -> bytes | None:
        """The body of a tree or commit the walk read (and forget it: it is being sent), or None."""
        if kind == "commit":
            return self._commit_bodies.pop(oid, None)
        return self.bodies.pop(oid, None) if kind == "tree" else None

    def learn(self, oids: Iterable[ObjectId]) -> None:
        """Learn the kinds and sizes of `oids` not known yet, with one query per few hundred (in a `SqliteStore`)."""
        if isinstance(self.store, SqliteStore):
            self._read_kinds([o for o in oids if o not in self.kinds])

    def tree_refs(self, oid: ObjectId) -> list[Reference]:
        """The references of a tree, its size checked first."""
        return [r for _, r in self.tree_named(oid)]

    def tree_named(self, oid: ObjectId) -> list[tuple[str, Reference]]:
        """The entries of a tree, by name, each with its reference; its size checked first."""
        got = self._trees.get(oid)
        if got is not None:
            return got
        got = self._read_tree(oid)
        if isinstance(self.store, SqliteStore):
            self._read_kinds([r.oid for _, r in got if r.oid not in self.kinds])
        return got

    def _read_tree(self, oid: ObjectId) -> list[tuple[str, Reference]]:
        """Read and decode a tree (its row read ahead, when it was), and keep it; its size checked first."""
        body = self._read_body(oid)
        raw = self._raw.get(oid)
        if raw is None:
            raw = split_entries(body)
            if sum(map(len, raw)) == len(body):
                _keep(self._raw, oid, raw)
        got = tree_entries(oid, body, self._heads, raw)
        if len(self._heads) > 1 << 16:
            self._heads.clear()
        # The trees of one commit are the old trees of the next: keep the last few hundred decoded.
        if len(self._trees) >= TREE_CACHE:
            dropped = next(iter(self._trees))
            del self._trees[dropped]
            self._maps.pop(dropped, None)
        self._trees[oid] = got
        return got

    def _read_body(self, oid: ObjectId) -> bytes:
        """Read a tree's body (its row read ahead, when it was); keep it and its stored form; its size checked first."""
        kind, size = self.info(oid)
        self.limits.check_object(oid, kind, size)
        if kind != "tree":
            raise CorruptObjectError(to_hex(oid), f"is a {kind}, not a tree")
        if isinstance(self.store, SqliteStore):
            # Read once, not verified (the receiver hashes it), and its stored form kept for sending.
            _, body, form = self.store.read_unverified(oid, self._recent, self._rows.pop(oid, None))
            if len(self._recent) >= TREE_CACHE:
                _trim(self._recent)
            self._recent[oid] = body
            if form is not None:
                if len(self.forms) >= TREE_CACHE:
                    _trim(self.forms)
                self.forms[oid] = form
        else:
            body = self.store.get(oid)[1]
        if len(self.bodies) >= TREE_CACHE:
            _trim(self.bodies)
        self.bodies[oid] = body
        return body

    def raw_tree(self, oid: ObjectId) -> list[bytes] | None:
        """A tree's raw entries (`split_entries`), read when not at hand; None when they do not tile its body.

        Nothing is decoded: a walk that compares trees by their entries' bytes looks at the few
        entries that differ (`diff`), not at every entry of every tree.

        Raises:
            CorruptObjectError: If it is not a tree.
            LimitError: If it is larger than the limits.
            ObjectNotFoundError: If it is absent.
        """
        got = self._raw.get(oid)
        if got is not None:
            return got
        raw = split_raw(self._read_body(oid), False)
        if raw is not None:  # else not well formed (`tree_named` says how), or left to the Python twin
            if len(self._raw) >= TREE_CACHE:
                _trim(self._raw)
            self._raw[oid] = raw
        return raw

    def diff(self, oid: ObjectId, olds: list[ObjectId], *, learn: bool = True, keep: bool = False) -> list[Visit]:
        """The entries of tree `oid` whose object differs from the one at the same name in each of `olds`.

        Each as ``(id, kind word, entry, matches)``, in the tree's order: `entry` the raw entry
        (or its `Reference`, for a tree whose entries do not tile its body), `matches` what each
        of `olds` holds at its name, ``(kind word, id)`` or None. Entries equal by their bytes
        to an old one are skipped without being decoded; the others are looked up by name in the
        old trees (sorted by name, as every well-formed tree is: in a damaged one an entry not
        found costs an object sent twice, never one missing). With `learn`, the kinds of the ids
        returned are learnt with one query. With `keep`, the answer is kept for the next call
        asking it (`read_ahead` finds what the walk looks at next).

        Raises:
            CorruptObjectError: If one of them is not a tree, or not a well-formed one.
            LimitError: If one is larger than the limits.
            ObjectNotFoundError: If one is absent.
        """
        key = (oid, *olds)
        out = self._diffs.pop(key, None)
        if out is None:
            out = self._diff(oid, olds)
        if keep:
            _keep(self._diffs, key, out)
        if learn and out and isinstance(self.store, SqliteStore):
            unknown = [v[0] for v in out if v[0] not in self.kinds]
            if unknown:
                self._read_kinds(unknown)
        return out

    def _diff(self, oid: ObjectId, olds: list[ObjectId]) -> list[Visit]:
        raw = self.raw_tree(oid)
        old_raws: list[list[bytes]] = []
        for o in olds:
            got = self.raw_tree(o)
            if got is None:
                raw = None
                break
            old_raws.append(got)
        if raw is None:
            return self._diff_decoded(oid, olds)
        out: list[Visit] = []
        todo = changed_entries(raw, old_raws) if old_raws else range(len(raw))
        for i in todo:
            e = raw[i]
            ref_id = ObjectId(e[_ID_AT:])
            name = e[_NAME_AT:_NAME_END]
            matches: list[tuple[bytes, ObjectId] | None] = []
            for old in old_raws:
                j = bisect_left(old, name, key=_name_of)
                w = old[j] if j < len(old) and old[j][_NAME_AT:_NAME_END] == name else None
                if w is None:
                    matches.append(None)
                    continue
                if w[_ID_AT:] == ref_id:
                    break
                matches.append((w[:_WORD_LEN], ObjectId(w[_ID_AT:])))
            else:
                out.append((ref_id, e[:_WORD_LEN], e, matches))
        return out

    def _diff_decoded(self, oid: ObjectId, olds: list[ObjectId]) -> list[Visit]:
        """`diff` of trees not well formed: decoded whole (which names what is wrong), compared by name."""
        maps = [self.tree_map(t) for t in olds]
        out: list[Visit] = []
        for name, ref in self.tree_named(oid):
            was = [m.get(name) for m in maps]
            if any(w is not None and w.oid == ref.oid for w in was):
                continue
            matches = [None if w is None else (b"tree" if w.kind == "tree" else b"file", w.oid) for w in was]
            out.append((ref.oid, b"tree" if ref.kind == "tree" else b"file", ref, matches))
        return out

    def meet_entry(self, visit: Visit, holder: ObjectId) -> tuple[str, int]:
        """Check that a tree entry (`diff`) names an object of the kind its word says; return its kind and size.

        Raises:
            CorruptObjectError: If it names an object of another kind.
            ObjectNotFoundError: If it is absent.
        """
        oid, word, entry, _ = visit
        kind, size = self.info(oid)
        if kind != ("tree" if word == b"tree" else "blob"):
            ref = entry if isinstance(entry, Reference) else _entry_reference(entry)
            raise CorruptObjectError(to_hex(holder), ref.problem(kind) or "")
        return kind, size

    def _read_kinds(self, oids: Iterable[ObjectId]) -> list[ObjectId]:
        """Learn the kinds and sizes of `oids` with one query (a few hundred per query); return the trees among them.

        The rows of those trees are kept: the walk reads them next.
        """
        assert isinstance(self.store, SqliteStore)
        trees = []
        for ref, (kind, size, row) in self.store.tree_rows(oids).items():
            self.kinds[ref] = kind, size
            if row is not None:
                self._rows[ref] = row
                trees.append(ref)
        while len(self._rows) > TREE_ROWS:
            del self._rows[next(iter(self._rows))]
        return trees

    def read_ahead(self, pairs: Iterable[tuple[ObjectId, ObjectId | None]], most: int = PREFETCH_TREES) -> None:
        """Read ahead, level by level, the trees the walk will read under some commits' trees.

        `pairs` are each commit's tree and its first parent's (None for a root commit). Below
        them, a tree entry that differs from the entry of the same name in the parent's tree is
        what the walk reads next: the kinds of such entries, the rows of the trees among them and
        the parents' trees at their paths are each read with one query per level (a few hundred
        ids per query), not one per tree. At most `most` trees are read; a tree that cannot be
        read is left for the walk to meet, and to name.
        """
        if not isinstance(self.store, SqliteStore):
            return
        level = [(t, o) for t, o in dict.fromkeys(pairs) if t not in self._raw]
        while level and most > 0:
            want = {t for t, _ in level if t not in self.kinds or t not in self._rows}
            want.update(o for _, o in level if o is not None and o not in self._raw and o not in self._rows)
            self._read_kinds(want - self._raw.keys())
            unknown: dict[ObjectId, None] = {}
            below: list[tuple[ObjectId, ObjectId | None]] = []
            for t, o in level[:most]:
                most -= 1
                if self.kinds.get(t, ("",))[0] != "tree":
                    continue
                olds = [o] if o is not None and self.kinds.get(o, ("",))[0] == "tree" else []
                try:
                    visits = self.diff(t, olds, learn=False, keep=True)
                except VcrdtError:
                    continue
                for ref_id, word, _, matches in visits:
                    if ref_id not in self.kinds:
                        unknown[ref_id] = None
                    if word == b"tree" and ref_id not in self._raw:
                        was = matches[0] if matches else None
                        below.append((ref_id, was[1] if was is not None and was[0] == b"tree" else None))
            self._read_kinds(unknown)
            level = below

    def held_at(self, tree: ObjectId, name: bytes) -> tuple[bytes, ObjectId] | None:
        """What a tree holds at `name`, as ``(kind word, id)``, or None; for looking up what an edge holds at a path.

        Each tree is read once and kept, apart from the trees the walk reads (the same few are
        asked for commit after commit). A name is looked up by bisection in the tree's raw
        entries, sorted by name as every well-formed tree is, and its answer kept: a short walk
        asks a few names of each tree (a dict of every entry would cost more to build than
        those lookups), a long one asks the same names again and again. One whose entries do
        not tile its body is read decoded (`tree_map`); one that is absent or damaged holds
        nothing, and in an unsorted one a name may not be found (the walk asks to skip what the
        peer holds: not knowing costs an object sent twice, never one missing).

        Raises:
            LimitError: If it is larger than the limits.
        """
        held = self._held.get(tree)
        if held is None:
            held = self._held_entries(tree)
            _keep(self._held, tree, held)
        raw, known = held
        if name in known:
            return known[name]
        if raw is None:  # every entry decoded: the tree holds nothing at `name`
            return None
        found = None
        j = bisect_left(raw, name, key=_name_of)
        if j < len(raw):
            entry = raw[j]
            if entry[_NAME_AT:_NAME_END] == name:
                found = entry[:_WORD_LEN], ObjectId(entry[_ID_AT:])
        known[name] = found
        return found

    def _held_entries(self, tree: ObjectId) -> tuple[list[bytes] | None, dict[bytes, tuple[bytes, ObjectId] | None]]:
        """A tree's raw entries (`raw_tree`) and no name yet; else no raw entries and every name, decoded.

        A tree absent or damaged holds no name.
        """
        names: dict[bytes, tuple[bytes, ObjectId] | None] = {}
        try:
            raw = self.raw_tree(tree)
            if raw is not None:
                return raw, names
            for n, ref in self.tree_map(tree).items():
                word = b"tree" if ref.kind == "tree" else b"file"
                names[n.encode("utf-8", "surrogateescape")] = (word, ref.oid)
        except (CorruptObjectError, ObjectNotFoundError):
            pass
        return None, names

    def visit_name(self, tid: ObjectId, visit: Visit) -> bytes:
        """The name of an entry of tree `tid` that `diff` returned (raw entries hold it; decoded ones are looked up)."""
        entry = visit[2]
        if isinstance(entry, bytes):
            return entry[_NAME_AT:_NAME_END]
        for name, ref in self.tree_named(tid):
            if ref == entry:  # its holder names the entry: equal to no other of the tree
                return name.encode("utf-8", "surrogateescape")
        return b""  # no tree holds an empty name

    def raw_entries(self, oid: ObjectId) -> list[bytes] | None:
        """The raw entries of a tree (`split_entries`), None when they do not tile its body or it is not a tree."""
        try:
            return self.raw_tree(oid)
        except (CorruptObjectError, ObjectNotFoundError):
            return None

    def tree_map(self, oid: ObjectId) -> dict[str, Reference]:
        """The entries of a tree by name (as `tree_named`)."""
        got = self._maps.get(oid)
        if got is None:
            got = self._maps[oid] = dict(self.tree_named(oid))
        return got


def new_commits(
    walker: Walker, heads: Iterable[ObjectId], exclude: Iterable[ObjectId]
) -> tuple[list[ObjectId], set[ObjectId]]:
    """Commits reachable from `heads` and not from `exclude`, parents first; and their excluded parents.

    The excluded parents (git's edges) are the peer's commits next to the new ones: their
    trees tell which trees and blobs it holds.

    Raises:
        CorruptObjectError: If a head or parent is not a commit.
    """
    interesting, uninteresting = 1, 2
    flags: dict[ObjectId, int] = {}
    queue: list[tuple[int, bytes, ObjectId]] = []
    # Queue entries per commit, and how many entries name a commit not painted uninteresting:
    # the walk ends when none is left (counted, not searched for: a queue holds thousands of
    # heads when a replica has thousands of branches).
    entries: dict[ObjectId, int] = {}
    live = 0

    def push(oid: ObjectId, flag: int) -> None:
        nonlocal live
        old = flags.get(oid, 0)
        if old | flag == old:
            return
        flags[oid] = old | flag
        if flag & uninteresting and not old & uninteresting:
            live -= entries.get(oid, 0)
        # A commit only the peer's side reaches is met through its clock and parents alone.
        lamport = walker.links(oid)[0] if flags[oid] & uninteresting else walker.commit(oid).lamport
        heapq.heappush(queue, (-lamport, bytes(oid), oid))
        entries[oid] = entries.get(oid, 0) + 1
        if not flags[oid] & uninteresting:
            live += 1

    for h in exclude:
        push(h, uninteresting)
    for h in heads:
        walker.meet(Reference(h, "commit", "a ref names it, but it is"), h)
        push(h, interesting)
    out: list[ObjectId] = []
    done: set[ObjectId] = set()
    trees: list[tuple[Reference, ObjectId]] = []
    while queue and live > 0:
        _, _, oid = heapq.heappop(queue)
        f = flags[oid]
        entries[oid] -= 1
        if not f & uninteresting:
            live -= 1
        if oid in done:  # queued again when a second flag reached it
            continue
        done.add(oid)
        if f & uninteresting:  # the peer holds it: only its parents matter
            for p in walker.links(oid)[1]:
                push(p, uninteresting)
            continue
        c = walker.commit(oid)
        out.append(oid)
        for ref in references(c):
            if ref.kind == "tree" and ref.oid not in walker.kinds:
                trees.append((ref, oid))  # checked at the end, their kinds learnt with one query
            else:
                walker.meet(ref, oid)
        for p in c.parents:
            push(p, interesting)
    walker.learn(ref.oid for ref, _ in trees)
    for ref, holder in trees:
        walker.meet(ref, holder)
    edges = {p for o in out for p in walker.commit(o).parents if flags.get(p, 0) & uninteresting}
    # Parents have smaller Lamport clocks than their children, so this order is parents first.
    out.sort(key=lambda o: (walker.commit(o).lamport, bytes(o)))
    return out, edges


def objects_to_send(
    walker: Walker,
    heads: Iterable[ObjectId],
    exclude: Iterable[ObjectId],
    *,
    skip: set[ObjectId] | None = None,
    bases: dict[ObjectId, ObjectId] | None = None,
) -> Iterator[tuple[ObjectId, str, int]]:
    """Yield ``(id, kind, size)`` for what the peer lacks, every object after those it names.

    `exclude` are commits the peer holds with their closure (only those this side has matter).
    `skip` are ids already known to be there or sent (extended as objects are yielded).
    Each new commit's tree is walked against its parents' trees (git's edges, or commits
    yielded before): an entry equal to a parent's at the same path is there already, so only
    the paths a commit changed are read; an entry changed there that equals what an edge it
    descends from holds at that path is there too (`_near_edges`). With `bases`, each object yielded whose path held
    another object of its kind in the commit's first parent gets that as its delta base (the
    peer holds it, or it was yielded before), as git chooses; a commit gets its first parent.

    Raises:
        CorruptObjectError: If an object names one of the wrong kind.
        LimitError: If a tree or commit to read is larger than the limits.
    """
    present = [h for h in set(exclude) if _has_commit(walker, h)]
    commits, edges = new_commits(walker, heads, present)
    sent: set[ObjectId] = set() if skip is None else skip
    # Commits whose closure is at the peer by the time the next commit is walked.
    held: set[ObjectId] = set(edges)
    # The edges below each new commit (`_near_edges`).
    near: dict[ObjectId, tuple[ObjectId, ...]] = {}
    for i, oid in enumerate(commits):
        if i % PREFETCH_COMMITS == 0:
            # The trees the next commits change, a level at a time (one query per level, not per tree).
            walker.read_ahead(_tree_pairs(walker, commits[i : i + PREFETCH_COMMITS]))
        c = walker.commit(oid)
        first = bool(c.parents) and c.parents[0] in held
        olds = [walker.commit(p).tree for p in c.parents if p in held]
        below = near[oid] = _near_edges(walker, c, edges, near)
        edge_trees = tuple(dict.fromkeys(t for t in (walker.commit(e).tree for e in below) if t not in olds))
        yield from _tree(walker, c.tree, oid, sent, olds, bases if first else None, edge_trees)
        # The blobs a commit names beside its tree: its resolutions record and its git record.
        for record in (c.resolutions, c.git):
            if record is not None and record not in sent:
                sent.add(record)
                kind, size = walker.info(record)
                yield record, kind, size
        if oid not in sent:
            sent.add(oid)
            if bases is not None and first:
                bases[oid] = c.parents[0]
            yield oid, "commit", walker.info(oid)[1]
        held.add(oid)


# Edges whose trees a new commit's tree is compared with beyond its parents' (`_near_edges`).
NEAR_EDGES = 4


def _near_edges(
    walker: Walker, c: Commit, edges: set[ObjectId], near: dict[ObjectId, tuple[ObjectId, ...]]
) -> tuple[ObjectId, ...]:
    """The edges a new commit descends from, newest first, at most `NEAR_EDGES` (`near`: those of earlier new commits).

    The peer holds their trees: a path the new commits changed and then brought back to an
    edge's version (a file added and removed again, an edit undone) names what the peer holds,
    though the commit's parents hold something else there. Git's walk knows it too (its edges'
    trees are uninteresting). A commit on a line of new commits shares its parent's tuple.
    """
    if len(c.parents) == 1 and c.parents[0] in near:
        return near[c.parents[0]]
    found = [p for p in c.parents if p in edges]
    for p in c.parents:
        found += near.get(p, ())
    if len(found) <= 1:
        return tuple(found)
    found = sorted(set(found), key=lambda e: (-walker.commit(e).lamport, bytes(e)))
    return tuple(found[:NEAR_EDGES])


def _tree_pairs(walker: Walker, commits: list[ObjectId]) -> list[tuple[ObjectId, ObjectId | None]]:
    """Each commit's tree and its first parent's (None for a root commit)."""
    out: list[tuple[ObjectId, ObjectId | None]] = []
    for oid in commits:
        c = walker.commit(oid)
        out.append((c.tree, walker.commit(c.parents[0]).tree if c.parents else None))
    return out


def _has_commit(walker: Walker, oid: ObjectId) -> bool:
    try:
        return walker.info(oid)[0] == "commit"
    except ObjectNotFoundError:
        return False


# A tree `_tree` walks: its id, size, the entries that differ from the old trees at its path
# (`Walker.diff`), the index of the next one, whether the first old tree is the first parent's and
# bases are chosen, and the edges' trees at its path that are not among the old ones.
_Frame = tuple[ObjectId, int, "list[Visit]", int, bool, "tuple[ObjectId, ...]"]


def _tree(
    walker: Walker,
    root: ObjectId,
    holder: ObjectId,
    sent: set[ObjectId],
    olds: list[ObjectId],
    bases: dict[ObjectId, ObjectId] | None,
    edge_trees: tuple[ObjectId, ...] = (),
) -> Iterator[tuple[ObjectId, str, int]]:
    """Yield the objects of a tree the peer lacks, children before their tree (post-order).

    `olds` are trees the peer holds (its parents' trees): an entry equal to one of theirs at
    the same path is skipped unread. With `bases`, the first of `olds` is the first parent's:
    an object whose path held another object of its kind there gets that as its base.
    `edge_trees` are other trees the peer holds (its edges', `_near_edges`): an entry that
    differs from the old trees' is looked up by name in theirs at its path, and skipped (and
    counted as there) when equal to one.
    """
    if root in sent or root in olds:
        return
    if root in edge_trees:
        sent.add(root)
        return
    kind, size = walker.meet(Reference(root, "tree", f"its tree {root.hex()} is"), holder)
    sent.add(root)
    if bases is not None and olds:
        bases[root] = olds[0]
    kinds = walker.kinds
    stack: list[_Frame] = [(root, size, walker.diff(root, olds), 0, bases is not None and bool(olds), edge_trees)]
    while stack:
        tid, tsize, visits, i, first, here = stack[-1]
        if i == len(visits):
            stack.pop()
            yield tid, "tree", tsize
            continue
        stack[-1] = (tid, tsize, visits, i + 1, first, here)
        visit = visits[i]
        oid, word, _, matches = visit
        if oid in sent:
            continue
        kind, size = kinds.get(oid) or walker.info(oid)
        if kind != ("tree" if word == b"tree" else "blob"):
            walker.meet_entry(visit, tid)  # names the problem
        below: tuple[ObjectId, ...] = ()
        if here:
            entry = visit[2]
            name = entry[_NAME_AT:_NAME_END] if entry.__class__ is bytes else walker.visit_name(tid, visit)
            held = False
            for t in here:
                at = walker.held_at(t, name)
                if at is not None:
                    if at[1] == oid:
                        held = True
                        break
                    if at[0] == b"tree" and at[1] not in below:
                        below += (at[1],)
            if held:
                sent.add(oid)  # the peer holds it at this path, with an edge
                continue
        sent.add(oid)
        if first and bases is not None and matches:
            base = matches[0]
            if base is not None and (base[0] == b"tree") == (kind == "tree"):
                bases[oid] = base[1]
        if kind == "tree":
            subs: list[ObjectId] = []
            sub_first = False
            for j, was in enumerate(matches):
                if was is not None and was[0] == b"tree":
                    sub_first = sub_first or (first and j == 0)
                    subs.append(was[1])
            if below:
                below = tuple([t for t in below if t not in subs])
            stack.append((oid, size, walker.diff(oid, subs), 0, sub_first, below))
        else:
            yield oid, kind, size


def dependency_order(walker: Walker, ids: Iterable[ObjectId]) -> list[tuple[ObjectId, str, int]]:
    """Order a set of ids so that each comes after the others of the set it names (blobs first).

    Raises:
        ObjectNotFoundError: If one is absent.
    """
    wanted = set(ids)
    blobs: list[tuple[ObjectId, str, int]] = []
    trees: dict[ObjectId, int] = {}
    commits: list[tuple[int, ObjectId, int]] = []
    for oid in sorted(wanted):
        kind, size = walker.info(oid)
        if kind == "blob":
            blobs.append((oid, kind, size))
        elif kind == "tree":
            trees[oid] = size
        else:
            commits.append((walker.commit(oid).lamport, oid, size))
    out = list(blobs)
    done: set[ObjectId] = set()
    for root in sorted(trees):
        stack = [(root, False)]
        while stack:
            t, expanded = stack.pop()
            if t in done:
                continue
            if expanded:
                done.add(t)
                out.append((t, "tree", trees[t]))
                continue
            stack.append((t, True))
            for ref in walker.tree_refs(t):
                if ref.oid in trees and ref.oid not in done and ref.kind == "tree":
                    stack.append((ref.oid, False))
    out += [(oid, "commit", size) for _, oid, size in sorted(commits)]
    return out


def sample_haves(store: ObjectStore, heads: Iterable[ObjectId], *, dense: int = 8, most: int = 4096) -> list[ObjectId]:
    """Heads and some of their first-parent ancestors: the first `dense`, then at doubling distances.

    The peer does not know this side's newest commits; it stops its walk at the newest of
    these it holds, so a history that diverged `d` commits ago costs at most about `d`
    commits sent twice, without a have/want round trip.

    Each head is also followed down the commits its own replica made (at most `RUN_WALK`, and
    no further than that replica's count in the head's clock) to the first another replica
    made, which is a have too: where that replica's run of work began on what it had received,
    most often the newest commit this side shares with the peer. A branch that diverged there
    then costs no commit sent twice (a fork 100 commits down was sampled 128 commits down: 28
    commits, a fifth of the fetch, sent again). A head whose clock names one replica only (a
    history one replica made) has no such commit: nothing more is read.

    Every session starts here, so the walk is bounded: the first-parent line is read up to
    `WALKED` commits, or `RUN_WALK` while its replica's run lasts (a window of rows at a time:
    the commit table's, or the stored objects' (`AheadReader.read_ahead`) along the run, whose
    replica ids only the commits hold); past that,
    in a `SqliteStore`, the samples at doubling distances are the commits stored about that
    many commits earlier (by the rate of stored rows per commit along the walked part), found
    by one query each instead of by reading the whole history. Any commit this side holds is a
    valid have (it holds it with its closure); one the peer does not know is ignored there.
    Elsewhere (or when stored order runs against the history) the whole line is walked.
    """
    out: list[ObjectId] = []
    seen: set[ObjectId] = set()
    # Every commit walked, from any head: a line that reaches one was sampled below it already.
    walked: set[ObjectId] = set()
    # Commit objects read ahead (along a replica's run, whose replica ids only the commits hold).
    ahead: dict[ObjectId, tuple[str, bytes]] = {}
    # First parents read ahead from the commit table (off a run), where the store has one.
    parents: dict[ObjectId, ObjectId | None] = {}
    links = store.commit_links if isinstance(store, SqliteStore) else None
    for head in sorted(set(heads)):
        oid: ObjectId | None = head
        distance, step = 0, 1
        run: bytes | None = None  # the head's replica, while the walk is on commits it made
        run_end = 0  # the walk's distance past which that run cannot last
        while oid is not None and len(out) < most:
            if oid in walked or oid in seen:  # sampled below here already (walked, or by stored order)
                if distance == 0 and oid not in seen:  # a head is always a have
                    seen.add(oid)
                    out.append(oid)
                break
            walked.add(oid)
            if distance >= WALKED and run is None and isinstance(store, SqliteStore):
                if _stored_samples(store, head, oid, distance, step, seen, out, most):
                    break
            sampled = distance <= dense or distance == step
            if sampled:
                seen.add(oid)
                out.append(oid)
                if distance > dense:
                    step *= 2
            # Off the run, only first parents are needed: the commit table's rows (a window at a
            # time, one row per commit), not the commit objects among the trees and blobs.
            if links is not None and run is None and distance > 0:
                if oid not in parents:
                    if len(parents) > _AHEAD_KEEP:
                        parents.clear()
                    for c, (_, ps) in links(oid, _LINK_ROWS).items():
                        parents[c] = ps[0] if ps else None
                if oid in parents:
                    oid = parents[oid]
                    distance += 1
                    if distance > dense and step <= dense:
                        step = dense * 2
                    continue
            try:
                got = ahead.pop(oid, None)
                if got is None and distance == 0 and isinstance(store, SqliteStore):
                    got = store.get(oid)  # the head alone: its run, if any, is read ahead below
                if got is None:
                    if len(ahead) > _AHEAD_KEEP:
                        ahead.clear()
                    ahead.update(store.read_ahead(oid, _AHEAD_ROWS))
                    got = ahead.pop(oid)
            except (CorruptObjectError, ObjectNotFoundError):
                break
            if distance == 0:
                run, run_end = _run_of(got)
            elif run is not None and (distance > run_end or _replica_of(got) != run):
                if distance <= run_end and not sampled:
                    seen.add(oid)
                    out.append(oid)
                run = None
            oid = _first_parent(got)
            distance += 1
            if distance > dense and step <= dense:
                step = dense * 2
    return out


# Stored rows `Walker.commit` reads ahead at first (twice as many after each commit found there, up to `_AHEAD_ROWS`).
_AHEAD_FIRST = 16
# First-parent commits `sample_haves` reads from each head before sampling by stored order.
WALKED = 64
# First-parent commits `sample_haves` follows down from a head while its replica made them, at most
# (about 6 us each when the whole run is one replica's: reading ahead, as for `WALKED`).
RUN_WALK = 256
# Stored rows read at once by `sample_haves` (a few per commit: its trees and blobs sit between
# commits), and the read-ahead commits it keeps unused (other lines of history) at most.
_AHEAD_ROWS = 512
# A sample by stored order is looked for within this many times the rows per commit (at least `_SAMPLE_ROWS` rows).
_SAMPLE_SPAN = 16
_SAMPLE_ROWS = 256
_AHEAD_KEEP = 4096
# Commit-table rows read at once by `sample_haves` and `Walker.links` (one per commit), and
# the links `Walker.links` keeps at most.
_LINK_ROWS = 128
_LINKS_KEEP = 65536
# A commit body starts with "tree <64 hex>\n" then, with parents, "parent <64 hex>\n".
_PARENT_AT = len("tree ") + 2 * OID_LEN + 1


def _stored_samples(
    store: SqliteStore,
    head: ObjectId,
    at: ObjectId,
    distance: int,
    step: int,
    seen: set[ObjectId],
    out: list[ObjectId],
    most: int,
) -> bool:
    """Add the samples from `distance` on (`at` is the commit there) by stored order; False if it cannot.

    The commit about `d` commits below `head` is taken to be the last commit stored at or
    before `head`'s row less `d` times the rows per commit between `head` and `at`: rows of
    the commit table where the store has one (about one per commit); else of the objects,
    found within `_SAMPLE_SPAN` times that many rows (else the sampling ends there: the rows
    before are a stretch without commits, such as a large first commit's trees and blobs,
    which would otherwise be read to the first row).
    """
    # By the commit table's order (one row per commit) where this store has one; else by the
    # objects' (trees and blobs between the commits), at the rate of rows per commit walked.
    top, low = store.commit_position(head), store.commit_position(at)
    by_table = top is not None and low is not None
    if not by_table:
        top, low = store.position(head), store.position(at)
    if top is None or low is None or low >= top:
        return False
    rate = (top - low) / distance
    d = max(step, distance)
    while len(out) < most:
        target = top - int(d * rate)
        if target < 1:
            break
        if by_table:
            got = store.commit_at(target)
        else:
            got = store.last_stored("commit", target, max(_SAMPLE_ROWS, int(_SAMPLE_SPAN * rate)))
        if got is None:
            break
        if got not in seen:
            seen.add(got)
            out.append(got)
        d *= 2
    return True


def _replica_of(got: tuple[str, bytes]) -> bytes | None:
    """The replica id (32 hex digits, as bytes) a stored commit names; None for anything else.

    The first ``replica`` line: the lines above it (tree, parents, author) hold no newline
    inside. A hint, as `_first_parent`'s reading is.
    """
    kind, body = got
    at = body.find(b"\nreplica ", _PARENT_AT - 1) if kind == "commit" else -1
    return None if at < 0 else body[at + 9 : at + 41]


def _run_of(got: tuple[str, bytes]) -> tuple[bytes | None, int]:
    """A head's replica and how far down its run of commits can reach (its count in the head's clock).

    ``(None, 0)`` when the clock names no other replica (the history holds no commit another
    replica made), or when the commit does not read as one. The distance is capped at `RUN_WALK`.
    """
    replica = _replica_of(got)
    body = got[1]
    at = body.find(b"\nclock ", _PARENT_AT - 1) if replica is not None else -1
    if at < 0:
        return None, 0
    counts = body[at + 7 : body.find(b"\n", at + 7)].split(b" ")
    if len(counts) < 2:
        return None, 0
    assert replica is not None
    mark = replica + b"="
    count = next((c[len(mark) :] for c in counts if c.startswith(mark)), b"")
    # A commit's counts have at most 19 digits (`Commit.from_bytes`); anything else is no hint.
    return (replica, min(int(count), RUN_WALK)) if count.isdigit() and len(count) <= 19 else (None, 0)


def _first_parent(got: tuple[str, bytes]) -> ObjectId | None:
    """The first parent a stored commit names (None for a root, or for anything not a commit).

    A have is a hint: the peer answers it only with what it holds itself, and this side checks
    the closure of everything it receives, so a body this reading misjudges costs bytes, never
    correctness.
    """
    kind, body = got
    if kind != "commit" or body[_PARENT_AT : _PARENT_AT + 7] != b"parent ":
        return None
    try:
        parent = bytes.fromhex(body[_PARENT_AT + 7 : _PARENT_AT + 7 + 2 * OID_LEN].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None
    return ObjectId(parent) if len(parent) == OID_LEN else None
