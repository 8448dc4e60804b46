"""The receiving side of any sync, fetch or push: objects checked before they are stored, refs joined after.

Every object that arrives is checked against the limits from its header (before its body is
read), hashed against the id it came under, decoded, and its references checked to name
objects of the right kind; a commit's clocks are checked against its parents'. Objects are
stored in transactions of a few megabytes as they arrived, each committed only when every tree and commit in
it names only objects that are present, so the store never holds a commit without its
closure and a sync broken off half-way keeps what it verified. Refs move last, in one
transaction with the final objects, by the ref-state join (`apply_state`), never overwritten.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
from collections.abc import Callable, Iterator
from functools import cache

from vcrdt.crdt.order import TieKey
from vcrdt.crdt.refstate import RefState
from vcrdt.dag import is_ancestor, read_commit
from vcrdt.errors import (
    BadPathError,
    BadRefNameError,
    CorruptObjectError,
    DirtyWorktreeError,
    HashMismatchError,
    LimitError,
    ObjectNotFoundError,
    ProtocolError,
)
from vcrdt.hashing import load_bulk, object_id
from vcrdt.ids import OID_LEN, ZERO_ID, ObjectId, to_hex
from vcrdt.objects import Commit, EntryKind, Tree, decode_object, history_problem, references
from vcrdt.paths import check_component, decode
from vcrdt.refs import BRANCH_PREFIX, TAG_PREFIX, check_short_name
from vcrdt.repo import Repository
from vcrdt.store import LARGE_OBJECT
from vcrdt.store import zstd as zstandard
from vcrdt.store.sqlite import DELTA, RAW, ZSTD, Encoded, SqliteStore
from vcrdt.sync import frames
from vcrdt.sync.frames import (
    CHUNK,
    ENTRY_CODES,
    OBJECT,
    PACKED,
    PIECE,
    TREE_DELTA,
    DeltaInflater,
    Frame,
    FrameReader,
    apply_tree_delta_frame,
    decode_object_head,
    decode_packed,
    inflate,
    read_tree_delta_head,
    split_raw,
    split_tree,
    split_tree_py,
)
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.partial import MAX_PARTIAL, PARTIAL_KEY
from vcrdt.sync.recent import RecentBodies
from vcrdt.values import Record, Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    import re

# Objects received are committed in transactions of about this many bytes as they arrived (so a
# sync broken off re-sends at most about this much of what it had verified).
BATCH_BYTES = 4 << 20
# Checked objects wait to be written until this many bodies' bytes are waiting (or `PENDING` objects).
PENDING_BYTES = 16 << 20
# What a tree entry of each kind word names.
_REF_KIND = {k.value.encode("ascii"): "tree" if k is EntryKind.TREE else "blob" for k in EntryKind}
# Objects checked and waiting to be written with one statement (`SqliteStore.put_encoded`).
PENDING = 4096
# The bytes of an entry beside its name (`_tree_entry`'s pattern matches one entry).
_ENTRY_FIXED = 1 + 1 + OID_LEN
# Whether `split_tree` is the C twin's (then `_tree_entries` needs no regular expression).
_C_SPLIT = split_raw is not split_tree_py


@cache
def _tree_entry() -> re.Pattern[bytes]:
    """One tree entry: its kind word, name and id (`Receiver._quick_tree`); compiled on first use.

    `re` loads `enum`: millions of instructions a fetch whose trees the C twin reads never needs.
    """
    import re

    return re.compile(rb"(" + b"|".join(_REF_KIND) + rb") ([^\0/]*)\0(.{32})", re.DOTALL)


_WORD = operator.itemgetter(0)
_NAME = operator.itemgetter(1)
# Checked trees whose entries are kept (a delta on one checks only the entries that differ).
KEEP_TREES = 256
KEEP_ENTRIES = 1 << 18
# Trees whose raw entries are kept for the tree deltas on them (`Receiver._entries_of`), and entries in all.
KEEP_LISTS = 8192
KEEP_LIST_ENTRIES = 1 << 19
# Deltas received before a reused decompression context is made (`DeltaInflater`: loading it takes milliseconds).
DELTA_CONTEXT_AFTER = 64
# Bodies of received blobs held for the checkout that follows a receive (`Receiver.hold_for_checkout`).
HOLD_BYTES = 64 << 20
# Frames read ahead for the delta bases held here (`Receiver._held_base`): at most so many, and payload bytes.
AHEAD_FRAMES = 1024
AHEAD_BYTES = 4 << 20
# The bodies of those bases read at once, at most.
AHEAD_BASE_BYTES = 32 << 20
# Where a raw tree entry's name starts and ends (`frames.entry_name`).
_NAME_AT = 5
_NAME_END = -OID_LEN - 1
# What a tree entry names, by its kind word (`TREE_DELTA` entries).
_NAMES_KIND = {word: "tree" if word == b"tree" else "blob" for word in ENTRY_CODES}

Progress = Callable[[int, int], None]


def prepare() -> DeltaInflater:
    """Load what receiving objects needs from its first one on: for a session to call while it waits for the peer.

    OpenSSL's SHA-256 (`vcrdt.hashing.load_bulk`): every object received is hashed, and so is
    every delta base read here, so even a small fetch hashes past `vcrdt.hashing.BULK`, where it
    would load it (a few milliseconds) in the middle of receiving. And the reused context that
    decodes deltas (`DeltaInflater`, returned for the `Receiver`), which is otherwise made only
    once `DELTA_CONTEXT_AFTER` deltas have come, loading it costing more than it saves on fewer.
    Loaded before the answer arrives, that time is spent while the peer starts and walks its
    history.
    """
    load_bulk()
    return DeltaInflater()


class Receiver:
    """Objects arriving from a peer, checked and stored; see the module doc."""

    def __init__(
        self,
        repo: Repository,
        limits: SyncLimits,
        peer: str,
        *,
        dry_run: bool = False,
        deltas: DeltaInflater | None = None,
    ) -> None:
        """Receive into `repo`; nothing is kept with `dry_run` (one transaction, rolled back).

        `deltas`: a context to decode deltas with from the first one (`prepare`'s), if loaded.
        """
        self.repo = repo
        self.limits = limits
        self.peer = peer
        self.dry_run = dry_run
        self.received: dict[ObjectId, str] = {}  # this session, stored or already present
        self.count = 0
        self.total = 0
        self._open: dict[ObjectId, Commit | None] = {}  # trees (None) and commits of the uncommitted batch
        self._refs: dict[ObjectId, list[tuple[ObjectId, str]]] = {}  # and what each names (id, kind)
        self._deferred: list[tuple[ObjectId, Commit]] = []  # commits whose parents had not arrived
        self._batch = 0
        self._stack = contextlib.ExitStack()
        self._dctx = zstandard.ZstdDecompressor()
        # One context for the deltas: made while the session waited for its answer (`prepare`),
        # or else once there are enough of them to pay for loading it.
        self._deltas = deltas if deltas is not None and deltas.loaded else None
        self._delta_count = 0
        self.on_progress: Progress | None = None
        # Every object of this stream in order (a packed delta names its base by the distance back).
        self._order: list[ObjectId] = []
        self._bodies = RecentBodies()
        # Kinds of objects found stored here (successive versions of a tree name mostly the same ones).
        self._stored_kinds: dict[ObjectId, str] = {}
        # Tree-entry names (bytes) that passed the path rules.
        self._names: set[bytes] = set()
        # The entries of the trees checked last (`_quick_tree`), and how many they hold in all.
        self._trees: dict[ObjectId, frozenset[tuple[bytes, bytes, bytes]]] = {}
        self._tree_entries = 0
        # The raw entries, in order, of trees checked or held here (the bases of tree deltas).
        self._lists: dict[ObjectId, list[bytes]] = {}
        self._list_entries = 0
        # Checked objects not written yet, in their compressed form as received (SqliteStore only).
        self._pending: list[Encoded] = []
        self._pending_ids: set[ObjectId] = set()
        self._pending_bytes = 0
        self._encoded = isinstance(repo.store, SqliteStore)
        # Blobs received that no later delta in the stream is based on (the likeliest to be checked out).
        self._tips: dict[ObjectId, bytes] = {}
        self._tip_bytes = 0
        # The frames come from here (`take`); delta bases held here read together for the frames ahead.
        self._reader: FrameReader | None = None
        self._held_bases: dict[ObjectId, tuple[str, bytes]] = {}
        self._asked: set[ObjectId] = set()

    # --- transactions ----------------------------------------------------------------------

    def __enter__(self) -> Receiver:
        self._begin()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.__exit__(*exc)  # type: ignore[arg-type]

    def _begin(self) -> None:
        self._stack.enter_context(_rolled_back(self.repo) if self.dry_run else self.repo.transaction())

    def finish(self) -> None:
        """Check the closure of everything received; the caller then moves refs and leaves the block.

        Raises:
            CorruptObjectError: If a tree or commit received names an object that is neither here nor sent.
        """
        self.flush()
        self._check_closed(raise_on_gap=True)

    def flush(self) -> None:
        """Write the objects checked so far that wait in memory (they count as received already)."""
        if self._pending:
            store = self.repo.store
            assert isinstance(store, SqliteStore)
            store.put_encoded(self._pending, self._open)  # the batch's commits, decoded when checked
            self._pending = []
            self._pending_ids.clear()
            self._pending_bytes = 0

    def _maybe_commit(self) -> None:
        if len(self._pending) >= PENDING or self._pending_bytes >= PENDING_BYTES:
            self.flush()
        if self.dry_run or self._batch < BATCH_BYTES:
            return
        self.flush()
        commits = [oid for oid, obj in self._open.items() if isinstance(obj, Commit)]
        if not self._check_closed(raise_on_gap=False):
            return
        # Commits stored with their closure but under no ref yet: a re-run tells the peer it has them.
        partial = (self.repo.db.get_meta(PARTIAL_KEY) or "").split()
        self.repo.db.set_meta(PARTIAL_KEY, " ".join([*partial, *(c.hex() for c in commits)][-MAX_PARTIAL:]))
        self._stack.close()
        self._stack = contextlib.ExitStack()
        self._begin()

    def _check_closed(self, *, raise_on_gap: bool) -> bool:
        store = self.repo.store
        named = {r for refs in self._refs.values() for r, _ in refs}
        present = set(self.received) | store.has_many(named - set(self.received))
        for oid in self._open:
            for ref, kind in self._refs[oid]:
                if ref not in present:
                    if not raise_on_gap:
                        return False
                    raise CorruptObjectError(
                        to_hex(oid), f"names {kind} {ref.hex()}, which is neither here nor was sent"
                    )
        for oid, commit in self._deferred:
            parents = [self._commit(p) for p in commit.parents]
            problem = history_problem(commit, parents)
            if problem is not None:
                raise CorruptObjectError(to_hex(oid), f"refusing a commit whose {problem}")
        self._open.clear()
        self._refs.clear()
        self._deferred.clear()
        self._batch = 0
        return True

    # --- objects -----------------------------------------------------------------------------

    def take(self, frame: Frame, reader: FrameReader) -> ObjectId:
        """Receive the object whose header is `frame` (reading its chunks from `reader`) and store it.

        Raises:
            LimitError: If it is larger than the limits allow, alone or with those before it.
            HashMismatchError: If its bytes hash to another id.
            CorruptObjectError: If it does not decode, or names an object of the wrong kind.
            ProtocolError: If its pieces are malformed or do not add up to its size.
        """
        self._reader = reader
        if frame.kind == PACKED:
            return self._take_packed(frame)
        if frame.kind == TREE_DELTA:
            return self._take_tree_delta(frame)
        assert frame.kind == OBJECT
        oid, kind, size, chunked, inline = decode_object_head(frame.payload, self.peer)
        self.limits.check_object(oid, kind, size)
        self._count_size(size)
        pieces = self._pieces(reader, oid, size, chunked, inline)
        store = self.repo.store
        if kind == "blob" and size > LARGE_OBJECT:
            # Hashed once, by the store as it writes, against the id the peer claims (nothing is kept
            # when it differs); a SqliteStore keeps each piece's frame as its chunk when it can.
            if isinstance(store, SqliteStore):
                store.put_received(kind, size, pieces, expected_id=oid)
            else:
                store.put_stream(kind, size, (p for p, _ in pieces), expected_id=oid)
        else:
            body = b"".join([p for p, _ in pieces])
            got = object_id(kind, body)
            if got != oid:
                raise HashMismatchError(to_hex(oid), to_hex(got))
            self._store(oid, kind, body)
            return oid
        self._stored(oid, kind, size)
        return oid

    def _count_size(self, size: int) -> None:
        self.total += size
        if self.total > self.limits.max_fetch_size:
            raise LimitError(
                f"the objects to fetch from {self.peer} hold more than limits.max_fetch_size "
                f"({self.limits.max_fetch_size})",
                hint="raise it with `vcrdt config limits.max_fetch_size SIZE` if the replica is trusted",
            )

    def _store(
        self, oid: ObjectId, kind: str, body: bytes, encoded: tuple[int, ObjectId | None, bytes] | None = None
    ) -> None:
        """Decode and check a whole object whose id is verified, store it, and count it.

        With `encoded` (storage, base, zstd frame: how it arrived, checked to decode to `body`)
        the store keeps that frame instead of compressing the body again.
        """
        if kind == "tree":
            base = encoded[1] if encoded is not None and encoded[0] == DELTA else None
            named = self._quick_tree(oid, body, base)
            if named is None:
                tree = decode_object(kind, body)  # raises the rule it breaks
                assert isinstance(tree, Tree)
                named = [(e.oid, "tree" if e.kind is EntryKind.TREE else "blob") for e in tree.entries]
            self._check_refs(oid, named, None, body)
        elif kind == "commit":
            commit = decode_object(kind, body)
            assert isinstance(commit, Commit)
            self._check_refs(oid, [(r.oid, r.kind) for r in references(commit)], commit, body)
        if encoded is not None and self._encoded:
            self._pending.append((oid, kind, body, *encoded))
            self._pending_bytes += len(body)
            self._pending_ids.add(oid)
        else:
            self.flush()
            self.repo.store.put(kind, body, verified_id=oid)
        self._bodies.put(oid, body)
        self._stored(oid, kind, len(body) if encoded is None else len(encoded[2]))

    def _stored(self, oid: ObjectId, kind: str, size: int) -> None:
        """Count an object received and stored; `size`: its bytes as they arrived (toward the transaction's)."""
        self.received[oid] = kind
        self._order.append(oid)
        self.count += 1
        self._batch += size
        if self.on_progress is not None and self.count % 64 == 0:
            self.on_progress(self.count, 0)
        self._maybe_commit()

    def _take_packed(self, frame: Frame) -> ObjectId:
        """Receive a packed object (protocol version 2): its id is the hash of what it decodes to.

        Raises:
            LimitError: If it is larger than the limits allow, alone or with those before it.
            ProtocolError: If it is malformed, its base is neither here nor earlier in the
                stream (or larger than `PIECE`), or it does not decode to its declared size.
            CorruptObjectError: If it does not decode as its kind, or names an object of the wrong kind.
        """
        p = decode_packed(frame.payload, self.peer)
        n = len(self._order) + 1
        what = f"packed {p.kind} #{n} of the stream"
        if p.size > self.limits.max_object_size or (p.kind != "blob" and p.size > self.limits.max_tree_size):
            limit = "max_object_size" if p.size > self.limits.max_object_size else "max_tree_size"
            raise LimitError(f"{what}: {p.size} bytes, more than limits.{limit}")
        self._count_size(p.size)
        base_body: bytes | None = None
        if isinstance(p.base, int):
            if p.base >= n:
                raise ProtocolError(
                    f"{self.peer}: {what} is a delta on the object {p.base} back, but only {n - 1} came before"
                )
            base: ObjectId | None = self._order[n - 1 - p.base]
        else:
            base = p.base
        if base is not None:
            what = f"{what} (a delta on {base.hex()})"
            base_body = self._base(base, what)
            self._delta_count += 1
            if self._delta_count == DELTA_CONTEXT_AFTER and self._deltas is None:
                self._deltas = DeltaInflater()
        body = inflate(p.data, p.size, self.peer, what, base_body, self._dctx, self._deltas)
        oid = object_id(p.kind, body)
        if oid in self.received:
            # Sent twice in one stream: harmless, but it must not count as two objects.
            self._order.append(oid)
            return oid
        self._store(oid, p.kind, body, (ZSTD, None, p.data) if base is None else (DELTA, base, p.data))
        if p.kind == "blob":
            self._tip(oid, body, base)
        return oid

    def _tip(self, oid: ObjectId, body: bytes, base: ObjectId | None) -> None:
        """Count a received blob among the tips, its base no longer one (at most `HOLD_BYTES`, the newest kept)."""
        tips = self._tips
        if base is not None:
            old = tips.pop(base, None)
            if old is not None:
                self._tip_bytes -= len(old)
        tips[oid] = body
        self._tip_bytes += len(body)
        while self._tip_bytes > HOLD_BYTES:
            self._tip_bytes -= len(tips.pop(next(iter(tips))))

    def hold_for_checkout(self) -> None:
        """Have the store hold the tips received (verified and stored) for the checkout that follows.

        A clone, or a fetch that moves the checked-out branch, then writes the files it just
        received without reading their rows and hashing them again. Call after the receiving
        transaction committed; `release_held` ends it.
        """
        store = self.repo.store
        if isinstance(store, SqliteStore) and self._tips and not self.dry_run:
            store.hold_verified((oid, "blob", body) for oid, body in self._tips.items())
        self._tips = {}
        self._tip_bytes = 0

    def release_held(self) -> None:
        """Have the store drop what `hold_for_checkout` gave it."""
        store = self.repo.store
        if isinstance(store, SqliteStore):
            store.release_held()

    def _take_tree_delta(self, frame: Frame) -> ObjectId:
        """Receive a tree delta (protocol version 4): its entries applied to its base's, then hashed.

        Only the entries it adds are checked (names by the path rules, ids not zero, the kinds
        of what they name) and join the closure check: the base's others were checked (received
        earlier in this stream, or held here with their closure). The tree is stored raw.

        Raises:
            LimitError: If the tree is larger than the limits allow, alone or with those before it.
            ProtocolError: If the frame is malformed, its base is neither here nor earlier in the
                stream or not a tree, a position is out of range, or the names it makes are not
                sorted and unique.
            CorruptObjectError: If an added entry breaks the tree rules or names an object of the wrong kind.
        """
        payload = frame.payload
        base, size = read_tree_delta_head(payload, self.peer)
        order = self._order
        n = len(order) + 1
        limits = self.limits
        if size > limits.max_object_size or size > limits.max_tree_size:
            limit = "max_object_size" if size > limits.max_object_size else "max_tree_size"
            raise LimitError(f"tree delta #{n} of the stream: {size} bytes, more than limits.{limit}")
        self._count_size(size)
        if isinstance(base, int):
            if base >= n:
                raise ProtocolError(
                    f"{self.peer}: tree delta #{n} of the stream is a delta on the object {base} back, "
                    f"but only {n - 1} came before"
                )
            base = order[n - 1 - base]
        # The message names the delta only when something is wrong (most bases are kept here).
        entries = self._lists.get(base)
        if entries is None:
            entries = self._entries_of(base, f"tree delta #{n} of the stream (on tree {base.hex()})")
        got = frames.apply_delta(payload, entries)
        if got is None:
            what = f"tree delta #{n} of the stream (on tree {base.hex()})"
            got = apply_tree_delta_frame(payload, entries, self.peer, what)
        entries, body, added = got
        oid = object_id("tree", body)
        received = self.received
        if oid in received:
            order.append(oid)
            return oid
        named: list[tuple[ObjectId, str]] = []
        names = self._names
        for entry in added:
            raw = entry[_NAME_AT:_NAME_END]
            if raw not in names:
                try:
                    check_component(decode(raw))
                except BadPathError as exc:
                    raise CorruptObjectError(to_hex(oid), f"entry {raw!r}: {exc}") from None
                names.add(raw)
            ref = entry[-OID_LEN:]
            if ref == ZERO_ID:
                raise CorruptObjectError(to_hex(oid), f"entry {raw!r} names the zero id")
            named.append((ObjectId(ref), _NAMES_KIND[entry[:4]]))
        if len(names) > 1 << 16:
            names.clear()
        self._check_refs(oid, named, None, body)
        size = len(body)
        if self._encoded:
            self._pending.append((oid, "tree", body, RAW, None, body))
            self._pending_bytes += size
            self._pending_ids.add(oid)
        else:
            self.flush()
            self.repo.store.put("tree", body)
        self._bodies.put(oid, body)
        self._keep_list(oid, entries)
        # `_stored`, inline: most objects of a stream are trees.
        received[oid] = "tree"
        order.append(oid)
        self.count += 1
        self._batch += len(payload)
        if self.on_progress is not None and self.count % 64 == 0:
            self.on_progress(self.count, 0)
        self._maybe_commit()
        return oid

    def _keep_list(self, oid: ObjectId, entries: list[bytes]) -> None:
        lists = self._lists
        lists[oid] = entries
        self._list_entries += len(entries)
        while len(lists) > KEEP_LISTS or self._list_entries > KEEP_LIST_ENTRIES:
            self._list_entries -= len(lists.pop(next(iter(lists))))

    def _entries_of(self, base: ObjectId, what: str) -> list[bytes]:
        """The raw entries of a tree delta's base: a tree checked in this stream or held here.

        Raises:
            ProtocolError: If it is neither, not a tree, or larger than `PIECE`.
        """
        got = self._lists.get(base)
        if got is not None:
            return got
        kind = self.received.get(base)
        body = self._bodies.get(base) if kind is not None else None
        if body is None and base not in self._pending_ids:
            held = self._held_base(base)
            if held is not None and held[0] == "tree":
                kind, body = held
        if body is None:
            if base in self._pending_ids:
                self.flush()
            try:
                kind, size = self.repo.store.info(base)
            except ObjectNotFoundError:
                raise ProtocolError(
                    f"{self.peer}: {what}: its base is neither here nor earlier in the stream"
                ) from None
            if kind == "tree" and size > PIECE:
                raise ProtocolError(
                    f"{self.peer}: {what}: its base is {size} bytes, more than a delta base may be ({PIECE})"
                )
            if kind == "tree":
                body = self.repo.store.get(base)[1]
        if kind != "tree" or body is None:
            raise ProtocolError(f"{self.peer}: {what}: its base is a {kind}, not a tree")
        entries = split_tree(body)
        if entries is None:
            # Checked or held here, so it keeps the tree rules: only an entry kind this format lacks.
            raise ProtocolError(f"{self.peer}: {what}: its base has entries a tree delta cannot name")
        self._keep_list(base, entries)
        return entries

    def _base(self, base: ObjectId, what: str) -> bytes:
        """The body of a delta's base: one held here or received before, of at most `PIECE` bytes.

        Raises:
            ProtocolError: If it is neither, or larger.
        """
        body = self._bodies.get(base) or self._tips.get(base)
        if body is not None:
            return body
        held = self._held_base(base) if base not in self._pending_ids else None
        if held is not None:
            kind, body = held
        else:
            if base in self._pending_ids:
                self.flush()
            try:
                size = self.repo.store.info(base)[1]
            except ObjectNotFoundError:
                raise ProtocolError(
                    f"{self.peer}: {what}: its base is neither here nor earlier in the stream"
                ) from None
            if size > PIECE:
                raise ProtocolError(
                    f"{self.peer}: {what}: its base is {size} bytes, more than a delta base may be ({PIECE})"
                )
            kind, body = self.repo.store.get(base)
        if kind == "tree" and base not in self._trees:
            # A tree stored here passed the tree rules and has its closure: a delta on it checks only what differs.
            entries = _tree_entries(body)
            if entries is not None:
                self._remember_tree(base, entries)
        return body

    def _held_base(self, base: ObjectId) -> tuple[str, bytes] | None:
        """A delta base held here, verified, read with those the next frames of the stream name; None if not.

        Reading a base's delta chain one row per statement is most of the cost of a delta on
        a base held here. So on the first one missing here, the frames that follow are read
        ahead (`FrameReader.ahead`), and the bases they name that are held here, not in this
        stream's recent bodies, are read with this one (`SqliteStore.get_chains`: one query
        per level of their chains, every body hashed against its id). None (the caller reads
        it alone, for the body or the error): not stored, not whole or a delta chain that
        decodes and verifies, or over `PIECE` bytes.
        """
        got = self._held_bases.get(base)
        store = self.repo.store
        if got is not None or base in self._asked or not isinstance(store, SqliteStore):
            return got
        want = [base]
        reader = self._reader
        if reader is not None:
            order, bodies, tips, pending = self._order, self._bodies, self._tips, self._pending_ids
            # The object after the one being received is the stream's number len(order) + 2 (from 1).
            number = len(order) + 1
            for frame in reader.ahead(AHEAD_FRAMES, AHEAD_BYTES):
                kind = frame.kind
                if kind == CHUNK:
                    continue
                number += 1
                if kind != TREE_DELTA and (kind != PACKED or not frame.payload or not frame.payload[0] & 3):
                    continue  # no base
                named = frames.delta_base(frame)
                if isinstance(named, int):
                    if not 0 < named < number or number - 1 - named >= len(order):
                        continue  # none, or an object that is not here yet
                    named = order[number - 1 - named]
                if named is not None and bodies.get(named) is None and named not in tips and named not in pending:
                    want.append(named)
        self._asked = set(want)
        undelta = self._deltas if self._deltas is not None and self._deltas.loaded else None
        self._held_bases = store.get_chains(want, PIECE, AHEAD_BASE_BYTES, undelta)
        return self._held_bases.get(base)

    def _pieces(
        self, reader: FrameReader, oid: ObjectId, size: int, chunked: bool, inline: bytes
    ) -> Iterator[tuple[bytes, bytes]]:
        """Decompress an object's body piece by piece, none beyond what its size leaves: each piece and its frame."""
        if not chunked:
            data = self._inflate(oid, inline, size)
            if len(data) != size:
                raise ProtocolError(f"{self.peer}: object {oid.hex()} holds {len(data)} bytes, declared {size}")
            yield data, inline
            return
        if inline:
            raise ProtocolError(f"{self.peer}: chunked object {oid.hex()} with an inline body")
        left = size
        while left:
            frame = reader.expect(CHUNK)
            piece = self._inflate(oid, frame.payload, min(left, PIECE))
            if not piece:
                raise ProtocolError(f"{self.peer}: empty chunk of object {oid.hex()}")
            left -= len(piece)
            yield piece, frame.payload

    def _inflate(self, oid: ObjectId, data: bytes, most: int) -> bytes:
        if not data:
            return b""
        try:
            # The size a frame declares is allocated at once: refuse it before decoding (a bomb).
            declared = zstandard.frame_content_size(data)
            if declared > most:
                raise ProtocolError(
                    f"{self.peer}: object {oid.hex()}: a piece declares {declared} bytes, "
                    f"so does not decompress to at most {most} bytes"
                )
            out: bytes = self._dctx.decompress(data, max_output_size=most)
        except zstandard.ZstdError as exc:
            raise ProtocolError(
                f"{self.peer}: object {oid.hex()}: a piece does not decompress to at most {most} bytes ({exc})"
            ) from exc
        if len(out) > most:
            raise ProtocolError(f"{self.peer}: object {oid.hex()}: a piece decompresses past {most} bytes")
        return out

    def _kind(self, oid: ObjectId) -> str | None:
        kind = self.received.get(oid) or self._stored_kinds.get(oid)
        if kind is not None:
            return kind
        try:
            kind = self._stored_kinds[oid] = self.repo.store.info(oid)[0]
        except ObjectNotFoundError:
            return None
        return kind

    def _commit(self, oid: ObjectId) -> Commit:
        """A commit held here or received (one still waiting to be written is read from memory)."""
        got = self._open.get(oid)
        if isinstance(got, Commit):
            return got
        if oid in self._pending_ids:
            self.flush()
        return read_commit(self.repo.store, oid)

    def _quick_tree(self, oid: ObjectId, body: bytes, base: ObjectId | None) -> list[tuple[ObjectId, str]] | None:
        """The ids and kinds a tree body names beyond its base's, when it passes the tree rules; None when in doubt.

        The rules of `Tree.from_bytes` (entry kinds, names by the path rules, sorted and
        unique by their bytes, ids of 32 bytes and not zero), without building the tree:
        one regular expression splits the body into entries (the matches must tile it), and
        each distinct name is checked once per session. When `base` (the tree it is a delta
        on) was checked before, the entries it holds too are not checked again, and not
        returned: they were checked, and their objects are present or named by the base
        (whose closure is checked). It accepts nothing `Tree.from_bytes` refuses: on
        anything it does not accept, the caller decodes the tree for the error.
        """
        found = _tree_entries(body)
        if found is None:
            return None
        raw_names = list(map(_NAME, found))
        if not all(map(operator.lt, raw_names, itertools.islice(raw_names, 1, None))):
            return None  # not sorted, or a name twice
        names = self._names
        known = self._trees.get(base) if base is not None else None
        out: list[tuple[ObjectId, str]] = []
        for word, raw, ref in found if known is None else set(found).difference(known):
            if raw not in names:
                try:
                    check_component(decode(raw))
                except BadPathError:
                    return None
                names.add(raw)
            if ref == ZERO_ID:
                return None
            out.append((ObjectId(ref), _REF_KIND[word]))
        if len(names) > 1 << 16:
            names.clear()
        self._remember_tree(oid, found)
        return out

    def _remember_tree(self, oid: ObjectId, entries: list[tuple[bytes, bytes, bytes]]) -> None:
        """Keep the entries of a tree that passed the rules: a delta on it checks only what differs."""
        trees = self._trees
        trees[oid] = frozenset(entries)
        self._tree_entries += len(entries)
        while len(trees) > KEEP_TREES or self._tree_entries > KEEP_ENTRIES:
            self._tree_entries -= len(trees.pop(next(iter(trees))))

    def _check_refs(self, oid: ObjectId, named: list[tuple[ObjectId, str]], commit: Commit | None, body: bytes) -> None:
        self._refs[oid] = named
        received, stored = self.received, self._stored_kinds
        for ref, want in named:
            kind = received.get(ref) or stored.get(ref) or self._kind(ref)
            if kind is not None and kind != want:
                full = commit if commit is not None else decode_object("tree", body)
                assert isinstance(full, Tree | Commit)
                problem = next((r.problem(kind) for r in references(full) if (r.oid, r.kind) == (ref, want)), None)
                raise CorruptObjectError(to_hex(oid), problem or f"names {ref.hex()}, a {kind}, not a {want}")
        self._open[oid] = commit
        obj = commit
        if obj is not None:
            if all(self._kind(p) == "commit" for p in obj.parents):
                parents = [self._commit(p) for p in obj.parents]
                problem = history_problem(obj, parents)
                if problem is not None:
                    raise CorruptObjectError(to_hex(oid), f"refusing a commit whose {problem}")
            else:
                self._deferred.append((oid, obj))


def _tree_entries(body: bytes) -> list[tuple[bytes, bytes, bytes]] | None:
    """A tree body's entries (kind word, name, id) as `_tree_entry` splits it, or None if they do not tile it.

    Split by the C twin of `split_tree` where it is built (no `re` loaded: a small fetch's
    receiver then never loads it); an empty name, which the pattern allows and `split_tree`
    does not, gives None, and the caller decodes the tree for the error the tree rules give.
    """
    if _C_SPLIT:
        raw = split_tree(body)
        if raw is None:
            return None
        return [(entry[: _NAME_AT - 1], entry[_NAME_AT:_NAME_END], entry[_NAME_END + 1 :]) for entry in raw]
    found: list[tuple[bytes, bytes, bytes]] = _tree_entry().findall(body)
    size = _ENTRY_FIXED * len(found) + sum(map(len, map(_NAME, found))) + sum(map(len, map(_WORD, found)))
    return found if size == len(body) else None


class _Undo(Exception):
    """Ends a dry run's transaction (caught by `_rolled_back`)."""


@contextlib.contextmanager
def _rolled_back(repo: Repository) -> Iterator[None]:
    """A write transaction whose writes are all rolled back at its end (a dry run)."""
    try:
        with repo.transaction():
            yield
            raise _Undo
    except _Undo:
        pass
    finally:
        repo.store.forget_cached()


# --- refs ----------------------------------------------------------------------------------------


def check_names(state: RefState, tags: dict[str, ObjectId], peer: str) -> None:
    """Refuse a peer's ref state when a name breaks the local ref-name rules (nothing is fetched).

    Raises:
        BadRefNameError: Naming the first bad ref and the rule it breaks.
    """
    for full in sorted([BRANCH_PREFIX + n for n in state.branches] + [TAG_PREFIX + n for n in tags]):
        kind = "branch" if full.startswith(BRANCH_PREFIX) else "tag"
        try:
            check_short_name(full.split("/", 2)[2], kind)
        except BadRefNameError as exc:
            err = BadRefNameError(full, exc.rule)
            err.hint = "the other replica has a ref this one does not accept; nothing was fetched"
            raise err from None


def check_heads_present(repo: Repository, state: RefState, tags: dict[str, ObjectId], peer: str) -> None:
    """Refuse a ref state naming a commit that is not here (neither held nor sent), or not a commit.

    Raises:
        ProtocolError: Naming the ref and the object.
    """
    store = repo.store
    named = [("branch", name, e.head) for name, es in sorted(state.branches.items()) for e in sorted(es)]
    # One query per few hundred heads when the store can (thousands of branches are thousands of heads).
    kinds = {h: k for h, (k, _) in store.info_many(h for _, _, h in named).items()}
    for what, name, h in [*named, *(("tag", n, h) for n, h in sorted(tags.items()))]:
        kind = kinds.get(h)
        try:
            kind = kind or store.info(h)[0]
        except ObjectNotFoundError:
            raise ProtocolError(f"{peer}: {what} {name!r} names commit {h.hex()}, which was not sent") from None
        if kind != "commit":
            raise ProtocolError(f"{peer}: {what} {name!r} names {h.hex()}, a {kind}, not a commit")


@value_class(frozen=True, init=False, repr=False, eq=False)
class BranchChange(Value):
    """How one branch changed in a sync."""

    __slots__ = ("name", "before", "after")  # noqa: RUF023 (field order)

    name: str
    before: frozenset[ObjectId]
    after: frozenset[ObjectId]

    def __init__(self, name: str, before: frozenset[ObjectId], after: frozenset[ObjectId]) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "before", before)
        object.__setattr__(self, "after", after)


@value_class(init=False, repr=False, eq=False)
class Applied(Record):
    """What joining a peer's ref state changed here."""

    __slots__ = ("branches", "tags", "warnings", "checkout")  # noqa: RUF023 (field order)

    branches: list[BranchChange]
    tags: list[str]
    warnings: list[str]
    checkout: ObjectId | None

    def __init__(
        self,
        branches: list[BranchChange] | None = None,
        tags: list[str] | None = None,
        warnings: list[str] | None = None,
        checkout: ObjectId | None = None,
    ) -> None:
        self.branches = [] if branches is None else branches
        self.tags = [] if tags is None else tags
        self.warnings = [] if warnings is None else warnings
        self.checkout = checkout


def tie_key(repo: Repository, oid: ObjectId) -> TieKey:
    """A commit's place in the tie-break order (Lamport clock, replica id, commit id)."""
    c = read_commit(repo.store, oid)
    return TieKey(c.lamport, c.replica, bytes(oid))


def apply_state(
    repo: Repository, theirs: RefState, tags: dict[str, ObjectId], *, verb: str = "fetch", dry_run: bool = False
) -> Applied:
    """Join a peer's branches and tags into this replica's refs (call inside the receiving transaction).

    Entries are joined by dot (add-wins); a branch shows its live heads, ancestors dropped. The
    checked-out branch is never deleted, and when it moves forward the work tree follows (it
    must be clean): the checkout
    journal is written here, and the caller runs ``repo.worktree.finish_checkout()`` after the
    transaction. A tag that differs here is kept as it is (a warning).

    Raises:
        DirtyWorktreeError: If the checked-out branch would move while local changes exist.
    """
    head = repo.refs.head()

    def ancestry(a: ObjectId, b: ObjectId) -> bool:
        return is_ancestor(repo.store, a, b)

    from vcrdt.sync.walk import ref_state

    ours = ref_state(repo)
    joined = ours.join(theirs)
    out = Applied()
    current = head.branch[len(BRANCH_PREFIX) :] if head.branch else None
    if not dry_run:
        # The context first: the entries this replica re-adds below take dots above it.
        repo.refs.join_context(joined.context)
    # Every branch's heads in one query (a replica may have thousands of branches).
    stored = dict(repo.refs.iter_refs(BRANCH_PREFIX))
    for name in sorted(set(ours.branches) | set(joined.branches)):
        full = BRANCH_PREFIX + name
        before = stored.get(full, frozenset())
        entries = joined.branches.get(name, frozenset())
        heads = joined.heads(name, ancestry)
        readd: frozenset[ObjectId] = frozenset()
        if name == current and head.commit is not None:
            heads, moved, note, readd = _keep_checked_out(repo, heads, before, head.commit, ancestry)
            out.checkout = moved
            if note:
                out.warnings.append(note)
        elif name == current and heads:
            # The checked-out branch was unborn here: check out what arrived.
            out.checkout = max(heads, key=lambda h: tie_key(repo, h))
        if entries != ours.branches.get(name, frozenset()) or heads != before:
            if not dry_run:
                repo.refs.set_state(full, heads, frozenset((e.head, e.dot.replica, e.dot.counter) for e in entries))
                if readd:
                    repo.refs.add_entries(full, readd)
            if heads != before:
                out.branches.append(BranchChange(name, before, heads))
    if out.checkout is not None and not dry_run:
        if not repo.worktree.status().is_clean:
            raise DirtyWorktreeError(
                f"the {verb} moves the checked-out branch {current!r}, and the work tree has local changes",
                hint=f"commit or restore them, then {verb} again",
            )
        # Only the paths that differ between HEAD's tree and the new one are compared and written.
        old_tree = None if head.commit is None else read_commit(repo.store, head.commit).tree
        try:
            repo.worktree.begin_checkout_trees(old_tree, read_commit(repo.store, out.checkout).tree, force=False)
        except DirtyWorktreeError as exc:
            exc.hint = f"move those files away, then {verb} again"  # no --force
            raise
    if head.branch is not None and not dry_run:
        at = out.checkout or head.commit
        if at is not None and len(repo.refs.heads(head.branch)) > 1:
            repo.refs.set_head_at(at)
    for name, oid in sorted(tags.items()):
        full = TAG_PREFIX + name
        mine = repo.refs.heads(full)
        if not mine:
            if not dry_run:
                repo.refs.update(full, oid, expected=None)
            out.tags.append(name)
        elif oid not in mine:
            out.warnings.append(f"tag {name!r} differs here; kept this replica's")
    return out


def _keep_checked_out(
    repo: Repository,
    heads: frozenset[ObjectId],
    before: frozenset[ObjectId],
    at: ObjectId,
    ancestry: Callable[[ObjectId, ObjectId], bool],
) -> tuple[frozenset[ObjectId], ObjectId | None, str, frozenset[ObjectId]]:
    """Adjust the joined heads of the checked-out branch.

    Returns:
        The heads it shows, the commit to move the work tree to (None: stay), a warning, and
        the heads this replica keeps although the join removed them: they get new entries (a
        re-creation here, which the other replica's deletion did not see).
    """
    if at in heads:
        return heads, None, "", frozenset()
    if not heads:
        # Deleted on the other replica: the branch under the work tree stays as it was here.
        return before, None, "the other replica deleted the checked-out branch; kept it here", before
    ahead = sorted(h for h in heads if ancestry(at, h))
    if ahead:
        return heads, min(ahead, key=lambda h: tie_key(repo, h)), "", frozenset()
    # The other replica saw this head (its dot is in that replica's context) and replaced it: a
    # reset or undo (the new heads are behind it), an amend or `branch -f` (beside it), or a
    # deletion and re-creation. That is a local rewrite there, and the join keeps it: the work
    # tree follows as it follows a move forward, and the replaced head stays in this replica's
    # operation log (`vcrdt oplog`, `vcrdt undo`). Keeping it as a sibling instead would send it
    # back with the next sync and undo the rewrite everywhere.
    return heads, max(heads, key=lambda h: tie_key(repo, h)), "", frozenset()
