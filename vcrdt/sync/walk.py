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
import re
from collections.abc import Iterable, Iterator

from vcrdt.crdt.refstate import RefState, from_rows
from vcrdt.dag import read_commit
from vcrdt.errors import CorruptObjectError, ObjectNotFoundError
from vcrdt.ids import OID_LEN, ObjectId, to_hex
from vcrdt.objects import Commit, EntryKind, Reference, references
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX
from vcrdt.repo import Repository
from vcrdt.store import ObjectStore
from vcrdt.store.sqlite import Row, SqliteStore, Stored
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


# One tree entry: kind word, space, name, NUL, id.
_ENTRY = re.compile(rb"(?:" + b"|".join(_WORDS) + rb") [^\0]*\0.{32}", re.DOTALL)


def tree_entries(
    oid: ObjectId, body: bytes, heads: dict[bytes, tuple[str, Reference]] | None = None
) -> list[tuple[str, Reference]]:
    """The names and references of a stored tree, read for sending (the receiver validates it).

    A sender only needs what each entry names; the path rules are the receiver's to check,
    on every tree it receives, so this skips them (they cost most of decoding a tree).
    `heads` remembers each entry as decoded (successive trees repeat most of them).

    Raises:
        CorruptObjectError: If the body is not a sequence of tree entries.
    """
    entries = _ENTRY.findall(body)
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


# Decoded trees a walker keeps, and rows of trees read ahead.
TREE_CACHE = 512
TREE_ROWS = 4096


class Walker:
    """Reads this side's commits and trees for sending, each checked against the limits first."""

    def __init__(self, store: ObjectStore, limits: SyncLimits) -> None:
        """Walk `store`, refusing trees and commits larger than `limits` before reading them."""
        self.store = store
        self.limits = limits
        self._commits: dict[ObjectId, Commit] = {}
        self.kinds: dict[ObjectId, tuple[str, int]] = {}
        self._trees: dict[ObjectId, list[tuple[str, Reference]]] = {}
        self._heads: dict[bytes, tuple[str, Reference]] = {}
        # The bodies of the trees read last (the sender packs each just after walking it).
        self.bodies: dict[ObjectId, bytes] = {}
        # Rows of trees met as entries and not read yet (`SqliteStore.tree_rows`).
        self._rows: dict[ObjectId, Row] = {}
        # The bodies of the trees read last (the bases of those stored as deltas on them).
        self._recent: dict[ObjectId, bytes] = {}
        # The stored forms of the trees read last, until sent (`SqliteStore.stored_form`).
        self.forms: dict[ObjectId, Stored] = {}

    def info(self, oid: ObjectId) -> tuple[str, int]:
        """Kind and size of a stored object (remembered)."""
        got = self.kinds.get(oid)
        if got is None:
            got = self.kinds[oid] = self.store.info(oid)
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
            c = self._commits[oid] = read_commit(self.store, oid)
        return c

    def tree_refs(self, oid: ObjectId) -> list[Reference]:
        """The references of a tree, its size checked first."""
        return [r for _, r in self.tree_named(oid)]

    def tree_named(self, oid: ObjectId) -> list[tuple[str, Reference]]:
        """The entries of a tree, by name, each with its reference; its size checked first."""
        got = self._trees.get(oid)
        if got is not None:
            return got
        kind, size = self.info(oid)
        self.limits.check_object(oid, kind, size)
        if kind != "tree":
            raise CorruptObjectError(to_hex(oid), f"is a {kind}, not a tree")
        if isinstance(self.store, SqliteStore):
            # Read once, not verified (the receiver hashes it), and its stored form kept for sending.
            _, body, form = self.store.read_unverified(oid, self._recent, self._rows.pop(oid, None))
            if len(self._recent) >= TREE_CACHE:
                del self._recent[next(iter(self._recent))]
            self._recent[oid] = body
            if form is not None:
                if len(self.forms) >= TREE_CACHE:
                    del self.forms[next(iter(self.forms))]
                self.forms[oid] = form
        else:
            body = self.store.get(oid)[1]
        got = tree_entries(oid, body, self._heads)
        if len(self._heads) > 1 << 16:
            self._heads.clear()
        if len(self.bodies) >= TREE_CACHE:
            del self.bodies[next(iter(self.bodies))]
        self.bodies[oid] = body
        if isinstance(self.store, SqliteStore):
            # The kinds and sizes of the entries not met yet, in one query (the walk meets them next),
            # and the rows of the trees among them (it reads them next).
            for ref, (kind, size, row) in self.store.tree_rows(
                r.oid for _, r in got if r.oid not in self.kinds
            ).items():
                self.kinds[ref] = kind, size
                if row is not None:
                    self._rows[ref] = row
            while len(self._rows) > TREE_ROWS:
                del self._rows[next(iter(self._rows))]
        # The trees of one commit are the old trees of the next: keep the last few hundred decoded.
        if len(self._trees) >= TREE_CACHE:
            del self._trees[next(iter(self._trees))]
        self._trees[oid] = got
        return got


def new_commits(
    walker: Walker, heads: Iterable[ObjectId], exclude: Iterable[ObjectId]
) -> tuple[list[ObjectId], set[ObjectId]]:
    """Commits reachable from `heads` and not from `exclude`, parents first; and the excluded commits met.

    Raises:
        CorruptObjectError: If a head or parent is not a commit.
    """
    interesting, uninteresting = 1, 2
    flags: dict[ObjectId, int] = {}
    queue: list[tuple[int, bytes, ObjectId]] = []

    def push(oid: ObjectId, flag: int) -> None:
        old = flags.get(oid, 0)
        if old | flag == old:
            return
        flags[oid] = old | flag
        heapq.heappush(queue, (-walker.commit(oid).lamport, bytes(oid), oid))

    for h in exclude:
        push(h, uninteresting)
    for h in heads:
        walker.meet(Reference(h, "commit", "a ref names it, but it is"), h)
        push(h, interesting)
    out: list[ObjectId] = []
    boundary: set[ObjectId] = set()
    while queue and any(not flags[o] & uninteresting for _, _, o in queue):
        _, _, oid = heapq.heappop(queue)
        f = flags[oid]
        c = walker.commit(oid)
        if f & uninteresting:
            boundary.add(oid)
        else:
            out.append(oid)
        for ref in references(c):
            walker.meet(ref, oid)
        for p in c.parents:
            push(p, f & uninteresting or interesting)
    # The peer's commits next to the new ones: their trees tell which trees and blobs it holds.
    boundary |= {p for o in out for p in walker.commit(o).parents if flags.get(p, 0) & uninteresting}
    # Parents have smaller Lamport clocks than their children, so this order is parents first.
    out.sort(key=lambda o: (walker.commit(o).lamport, bytes(o)))
    return out, boundary


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
    With `bases`, each object yielded that has a delta base the peer is known to hold (it
    holds it with an excluded commit's closure, or it was yielded before) gets it there, by
    the time it is yielded: the same path's object in the commit's first parent, as git
    chooses (blobs and trees), or the first parent itself (commits).

    Raises:
        CorruptObjectError: If an object names one of the wrong kind.
        LimitError: If a tree or commit to read is larger than the limits.
    """
    present = [h for h in set(exclude) if _has_commit(walker, h)]
    commits, boundary = new_commits(walker, heads, present)
    sent: set[ObjectId] = set() if skip is None else skip
    # What the peer holds of the trees next to the new commits: the trees of the excluded commits met.
    for b in boundary:
        _expand(walker, walker.commit(b).tree, sent)
    # Known to be at the peer: held there, or yielded (`sent` also holds trees still being walked).
    known = set(sent) | boundary if bases is not None else None
    for oid in commits:
        c = walker.commit(oid)
        old: ObjectId | None = None
        if known is not None and c.parents and c.parents[0] in known:
            old = walker.commit(c.parents[0]).tree
        yield from _tree(walker, c.tree, oid, sent, old, known, bases)
        # The blobs a commit names beside its tree: its resolutions record and its git record.
        for record in (c.resolutions, c.git):
            if record is not None and record not in sent:
                sent.add(record)
                kind, size = walker.info(record)
                yield record, kind, size
                if known is not None:
                    known.add(record)
        if oid not in sent:
            sent.add(oid)
            if bases is not None and known is not None and c.parents and c.parents[0] in known:
                bases[oid] = c.parents[0]
            yield oid, "commit", walker.info(oid)[1]
            if known is not None:
                known.add(oid)


def _has_commit(walker: Walker, oid: ObjectId) -> bool:
    try:
        return walker.info(oid)[0] == "commit"
    except ObjectNotFoundError:
        return False


def _expand(walker: Walker, tree: ObjectId, seen: set[ObjectId]) -> None:
    """Add a tree and everything under it to `seen` (the peer holds them)."""
    stack = [tree]
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        for ref in walker.tree_refs(t):
            if ref.kind == "tree":
                stack.append(ref.oid)
            else:
                seen.add(ref.oid)


def _tree(
    walker: Walker,
    root: ObjectId,
    holder: ObjectId,
    sent: set[ObjectId],
    old_root: ObjectId | None = None,
    known: set[ObjectId] | None = None,
    bases: dict[ObjectId, ObjectId] | None = None,
) -> Iterator[tuple[ObjectId, str, int]]:
    """Yield the objects of a tree the peer lacks, children before their tree (post-order).

    With `old_root` (the parent commit's tree), `known` and `bases`: each object yielded whose
    path held another object of its kind in `old_root`, one in `known`, gets that as its base.
    """
    if root in sent:
        return
    kind, size = walker.meet(Reference(root, "tree", f"its tree {root.hex()} is"), holder)
    track = known is not None and bases is not None
    seen: set[ObjectId] = known if known is not None else set()
    chosen: dict[ObjectId, ObjectId] = bases if bases is not None else {}

    def olds(tree: ObjectId | None) -> dict[str, Reference] | None:
        if not track or tree is None:
            return None
        return dict(walker.tree_named(tree))

    def base_of(oid: ObjectId, old: Reference | None, kind: str) -> None:
        if track and old is not None and old.kind == kind and old.oid != oid and old.oid in seen:
            chosen[oid] = old.oid

    # (tree id, size, its entries, index of the next one, the old tree's entries at its path)
    stack: list[tuple[ObjectId, int, list[tuple[str, Reference]], int, dict[str, Reference] | None]] = [
        (root, size, walker.tree_named(root), 0, olds(old_root))
    ]
    if track and old_root is not None:
        base_of(root, Reference(old_root, "tree", ""), "tree")
    sent.add(root)
    while stack:
        tid, tsize, refs, i, old = stack[-1]
        if i == len(refs):
            stack.pop()
            yield tid, "tree", tsize
            seen.add(tid)
            continue
        stack[-1] = (tid, tsize, refs, i + 1, old)
        name, ref = refs[i]
        if ref.oid in sent:
            continue
        kind, size = walker.meet(ref, tid)
        sent.add(ref.oid)
        was = old.get(name) if old is not None else None
        base_of(ref.oid, was, kind)
        if kind == "tree":
            sub = olds(was.oid) if was is not None and was.kind == "tree" and was.oid in seen else None
            stack.append((ref.oid, size, walker.tree_named(ref.oid), 0, sub))
        else:
            yield ref.oid, kind, size
            seen.add(ref.oid)


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
    """
    out: list[ObjectId] = []
    seen: set[ObjectId] = set()
    for head in sorted(set(heads)):
        oid: ObjectId | None = head
        distance, step = 0, 1
        while oid is not None and len(out) < most:
            if oid in seen:
                break
            if distance <= dense or distance == step:
                seen.add(oid)
                out.append(oid)
                if distance > dense:
                    step *= 2
            try:
                c = read_commit(store, oid)
            except (CorruptObjectError, ObjectNotFoundError):
                break
            oid = c.parents[0] if c.parents else None
            distance += 1
            if distance > dense and step <= dense:
                step = dense * 2
    return out
