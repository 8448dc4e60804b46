"""The client side of a sync session: refs first, the DAG shortcut, the Merkle descent, then a push.

One session is a few requests over one `Transport`:

1. ``refs``: this side's ref-state digest and heads. Equal digests end a no-op
   session in this one round trip. Otherwise the peer answers with its ref
   state, then (when receiving) every object reachable from its heads and not
   from ours, then its salted Merkle root.
2. ``descend`` (sync only, when the roots still differ after the push; version 3):
   the 16-ary descent over id-prefix buckets, whose first step rides on the
   ``refs`` answer (the peer's root children): each request sends this side's
   children of the large buckets that differ and the salted short ids of the
   small ones; the answer brings the objects missing here. (``reconcile`` with a
   version-2 peer, ``buckets`` with a version-1 one.)
3. ``objects``: the ids a version-1 or version-2 descent found missing here.
4. ``push``: this side's ref state and the objects the peer lacks; the peer
   joins the state into its own.

Objects are stored (verified) before any ref moves; refs are joined, never
overwritten (`vcrdt.sync.receive`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

from vcrdt import jsontext
from vcrdt.crdt.refstate import RefState
from vcrdt.errors import ProtocolError
from vcrdt.ids import OID_LEN, ObjectId
from vcrdt.repo import Repository
from vcrdt.store import fingerprints
from vcrdt.sync import frames as F
from vcrdt.sync.frames import Bucket, DeltaInflater, FrameReader
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.partial import clear_partial, partial_commits
from vcrdt.sync.receive import (
    Applied,
    BranchChange,
    Receiver,
    apply_state,
    check_heads_present,
    check_names,
    prepare,
)
from vcrdt.sync.responder import (
    ID_FRAME,
    IDS_DEPTH,
    MAX_PREFIXES,
    bucket_of,
    by_list,
    children_frame,
    haves_frames,
    list_frame,
    object_frames,
    resolve_haves,
    root_token,
)
from vcrdt.sync.transport import Transport
from vcrdt.sync.walk import (
    Walker,
    dependency_order,
    heads_of,
    objects_to_send,
    ref_state,
    sample_haves,
    tag_state,
)
from vcrdt.values import Record, value_class

# progress(done, total, what): objects so far; total 0 when unknown.
Progress = Callable[[int, int, str], None]


@value_class(init=False, repr=False, eq=False)
class Stats(Record):
    """What a session cost."""

    __slots__ = (  # noqa: RUF023 (field order)
        "round_trips",
        "bytes_sent",
        "bytes_received",
        "payload_sent",
        "payload_received",
        "objects_sent",
        "objects_received",
        "seconds",
    )

    round_trips: int
    bytes_sent: int
    bytes_received: int
    payload_sent: int  # object bytes (compressed) sent
    payload_received: int
    objects_sent: int
    objects_received: int
    seconds: float

    def __init__(
        self,
        round_trips: int = 0,
        bytes_sent: int = 0,
        bytes_received: int = 0,
        payload_sent: int = 0,
        payload_received: int = 0,
        objects_sent: int = 0,
        objects_received: int = 0,
        seconds: float = 0.0,
    ) -> None:
        self.round_trips = round_trips
        self.bytes_sent = bytes_sent
        self.bytes_received = bytes_received
        self.payload_sent = payload_sent
        self.payload_received = payload_received
        self.objects_sent = objects_sent
        self.objects_received = objects_received
        self.seconds = seconds

    def as_dict(self) -> dict[str, int | float]:
        """The numbers, with the protocol overhead each way (bytes that are not object payload)."""
        return {
            "round_trips": self.round_trips,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "payload_sent": self.payload_sent,
            "payload_received": self.payload_received,
            "overhead_sent": self.bytes_sent - self.payload_sent,
            "overhead_received": self.bytes_received - self.payload_received,
            "objects_sent": self.objects_sent,
            "objects_received": self.objects_received,
            "seconds": round(self.seconds, 3),
        }


@value_class(init=False, repr=False, eq=False)
class SyncResult(Record):
    """What a session did (or, with `dry_run`, would do)."""

    __slots__ = (  # noqa: RUF023 (field order)
        "peer",
        "received",
        "pushed",
        "push_warnings",
        "stats",
        "noop",
        "differs",
        "verified",
        "dry_run",
        "peer_head",
    )

    peer: str
    received: Applied
    pushed: list[BranchChange]
    push_warnings: list[str]
    stats: Stats
    noop: bool
    # With --verify: None when both Merkle roots match, else the first bucket that differs.
    differs: str | None
    verified: bool
    dry_run: bool
    # The branch checked out on the peer, when it said.
    peer_head: str | None

    def __init__(
        self,
        peer: str,
        received: Applied | None = None,
        pushed: list[BranchChange] | None = None,
        push_warnings: list[str] | None = None,
        stats: Stats | None = None,
        noop: bool = False,
        differs: str | None = None,
        verified: bool = False,
        dry_run: bool = False,
        peer_head: str | None = None,
    ) -> None:
        self.peer = peer
        self.received = Applied() if received is None else received
        self.pushed = [] if pushed is None else pushed
        self.push_warnings = [] if push_warnings is None else push_warnings
        self.stats = Stats() if stats is None else stats
        self.noop = noop
        self.differs = differs
        self.verified = verified
        self.dry_run = dry_run
        self.peer_head = peer_head


class _Client:
    """One session's requests, counted."""

    def __init__(self, repo: Repository, transport: Transport, limits: SyncLimits, progress: Progress | None) -> None:
        self.repo = repo
        self.t = transport
        self.limits = limits
        self.progress = progress
        self.stats = Stats()
        self.salt = os.urandom(16)
        self.version = 1  # the protocol version the peer accepted

    def ask(
        self,
        frames: list[bytes] | Iterator[bytes],
        *,
        write: bool = False,
        meanwhile: Callable[[], None] | None = None,
    ) -> FrameReader:
        """Send one request and read the start of its answer; `meanwhile` runs in between (while the peer works)."""
        if self.stats.round_trips >= self.limits.max_rounds:
            raise ProtocolError(f"{self.t.peer}: more than limits.max_rounds ({self.limits.max_rounds}) requests")
        self.stats.round_trips += 1
        reader = self.t.request(frames, write=write)
        if meanwhile is not None:
            meanwhile()
        first = reader.expect(F.ACCEPT)
        if first.payload not in (bytes([v]) for v in F.SUPPORTED):
            raise ProtocolError(f"{self.t.peer}: accepted an unknown protocol version {first.payload[:4]!r}")
        self.version = first.payload[0]
        self._reader = reader
        return reader

    def done(self, reader: FrameReader) -> None:
        self.stats.bytes_received += reader.bytes
        self.stats.payload_received += reader.payload_bytes
        self.stats.bytes_sent = self.t.sent


def run(
    repo: Repository,
    transport: Transport,
    *,
    receive: bool = True,
    send: bool = False,
    reconcile: bool | None = None,
    dry_run: bool = False,
    verify: bool = False,
    limits: SyncLimits | None = None,
    progress: Progress | None = None,
    verb: str = "sync",
    after_receive: Callable[[], None] | None = None,
) -> SyncResult:
    """Run one session: receive (fetch), send (push), or both (sync).

    Args:
        repo: This replica.
        transport: The way to the peer.
        receive: Bring in the peer's objects and join its refs here.
        send: Send the objects the peer lacks and have it join this side's refs.
        reconcile: Run the Merkle descent when the object sets still differ (default: when both).
        dry_run: Nothing is stored or moved on either side; the result tells what would move.
        verify: End by comparing both sides' Merkle roots (`SyncResult.differs`).
        limits: What is accepted from the peer (default: this repository's config).
        progress: Called as objects arrive or leave.
        verb: Names the command in messages.
        after_receive: Called after receiving and before sending (an automatic merge of siblings).

    Raises:
        VcrdtError: A refusal, with nothing stored and no ref moved (objects of complete earlier
            batches stay: they are verified and closed).
    """
    start = time.monotonic()
    if repo.merge_state.in_progress() and receive:
        from vcrdt.errors import MergeError

        raise MergeError("a merge is in progress", hint=f"commit it or run `vcrdt merge --abort`, then {verb}")
    # A peer that is a command starts up while this side reads its own state.
    transport.start()
    limits = limits or SyncLimits.from_config(repo)
    reconcile = receive and send if reconcile is None else reconcile
    c = _Client(repo, transport, limits, progress)
    result = SyncResult(transport.peer, stats=c.stats, dry_run=dry_run)
    try:
        _session(
            c,
            result,
            receive=receive,
            send=send,
            reconcile=reconcile,
            dry_run=dry_run,
            verify=verify,
            verb=verb,
            after_receive=after_receive,
        )
    finally:
        c.stats.bytes_sent = transport.sent
        c.stats.seconds = time.monotonic() - start
    result.peer = transport.peer
    return result


def _session(
    c: _Client,
    result: SyncResult,
    *,
    receive: bool,
    send: bool,
    reconcile: bool,
    dry_run: bool,
    verify: bool,
    verb: str,
    after_receive: Callable[[], None] | None,
) -> None:
    repo = c.repo
    mine, my_tags = ref_state(repo), tag_state(repo)
    haves = sample_haves(repo.store, heads_of(mine, my_tags) | set(partial_commits(repo)))
    fields: dict[str, object] = {"digest": F.state_digest(mine, my_tags).hex(), "want": receive, "salt": c.salt.hex()}
    if reconcile and not dry_run:
        # Equal refs end the session only when the object sets are equal too: objects one side holds
        # under no ref (a deleted branch's commits, a sync broken off) are reconciled like any others.
        fields["root"] = root_token(bucket_of(repo, "", c.salt, with_ids=False))
    req = [
        F.hello("refs", **fields),
        *haves_frames(haves),
        F.encode(F.END),
    ]
    # What receiving objects needs at its first one is loaded while a peer in another process works
    # on the answer; a peer in this process makes it as it is read, so a no-op would pay it for nothing.
    prepared: list[DeltaInflater] = []
    early = receive and c.t.answers_apart
    reader = c.ask(req, meanwhile=(lambda: prepared.append(prepare())) if early else None)
    frame = reader.expect(F.SAME, *F.state_kinds(c.version))
    last = not send and not verify  # the refs request is the session's only one
    if frame.kind == F.SAME:
        reader.expect(F.END)
        c.done(reader)
        if last:
            c.t.end_requests()
        result.noop = True
        if verify:
            result.verified = True
            result.differs = _first_difference(c)
        return
    theirs, their_tags = F.decode_state_frame(frame, reader.peer)
    check_names(theirs, their_tags, reader.peer)
    recv = Receiver(repo, c.limits, reader.peer, dry_run=dry_run, deltas=prepared[0] if prepared else None)
    if c.progress is not None:
        progress = c.progress
        recv.on_progress = lambda n, _t: progress(n, 0, "receiving")
    with recv:
        their_root: Bucket | None = None
        their_children: F.Children | None = None
        their_partial: list[ObjectId] = []
        descent = (F.CHILDREN,) if c.version >= F.DESCENT and "root" in fields else ()
        while True:
            frame = reader.expect(*F.object_kinds(c.version), F.BUCKET, F.IDS, F.HAVES, F.RESULT, *descent, F.END)
            if frame.kind == F.END:
                break
            if frame.kind == F.CHILDREN:
                their_children = F.decode_children(frame.payload, reader.peer)
                if their_children.prefix or their_root is None:
                    raise ProtocolError(f"{reader.peer}: sent children of a bucket other than its root")
                continue
            if frame.kind == F.IDS:
                their_partial += F.decode_ids(frame.payload, reader.peer)
            elif frame.kind == F.HAVES:
                their_partial += resolve_haves(repo, frame.payload, reader.peer)
            elif frame.kind == F.RESULT:
                result.peer_head = _peer_head(frame.payload)
            elif frame.kind in (F.OBJECT, F.PACKED, F.TREE_DELTA):
                if not receive:
                    raise ProtocolError(f"{reader.peer}: sent objects that were not asked for")
                recv.take(frame, reader)
            else:
                their_root = F.decode_bucket(frame.payload, reader.peer)
        c.done(reader)
        if last:
            c.t.end_requests()  # the peer ends while this side stores what it received
        if receive:
            recv.finish()
            check_heads_present(repo, theirs, their_tags, reader.peer)
            result.received = apply_state(repo, theirs, their_tags, verb=verb, dry_run=dry_run)
            if not dry_run:
                clear_partial(repo)
        c.stats.objects_received = recv.count
    if receive and not dry_run:
        if result.received.checkout is not None:
            recv.hold_for_checkout()  # the files to write were just received and verified
        try:
            # The checkout the join began, as its journal holds it: none, and the work tree is not loaded.
            repo.finish_interrupted_checkout()
        finally:
            recv.release_held()
        if after_receive is not None:
            after_receive()
    if not send:
        if verify:
            result.verified = True
            result.differs = _first_difference(c)
        return
    # The push: what the peer lacks by the DAG (it holds its heads' closures), then the join there.
    # (After a dry run nothing was kept: this side's own refs are what it would send.)
    now, now_tags = ref_state(repo), tag_state(repo)
    walker = Walker(repo.store, c.limits)
    their_heads = heads_of(theirs, their_tags) | set(their_partial)
    bases: dict[ObjectId, ObjectId] = {}
    with repo.db.read():
        items = list(objects_to_send(walker, heads_of(now, now_tags), their_heads, bases=bases))
    needs_push = items or F.state_digest(now, now_tags) != F.state_digest(theirs, their_tags)
    root_after: Bucket | None = their_root
    if needs_push:
        root_after = _push(c, result, now, now_tags, walker, items, dry_run=dry_run, bases=bases)
    if reconcile and not dry_run:
        mine_root = bucket_of(repo, "", c.salt, with_ids=False)
        if root_after is None or (root_after.count, root_after.digest) != (mine_root.count, mine_root.digest):
            if c.version >= F.DESCENT and root_after is not None:
                # After a push the peer's root children of the refs answer are out of date.
                here, there = list[ObjectId](), _descend3(c, root_after, None if needs_push else their_children)
            elif c.version >= F.DELTAS:
                here, there = _reconcile(c)
            else:
                here, there = _descend(c)
            if here:
                _fetch_ids(c, here)
            if there:
                with repo.db.read():
                    extra = dependency_order(walker, there)
                _push(c, result, ref_state(repo), tag_state(repo), walker, extra, dry_run=False)
    if verify:
        result.verified = True
        result.differs = _first_difference(c)


def _peer_head(payload: bytes) -> str | None:
    """The peer's checked-out branch from its refs answer (JSON ``{"head": NAME}``), if well formed."""
    try:
        head = jsontext.loads(payload.decode("utf-8")).get("head")
    except (ValueError, AttributeError):
        return None
    return head if isinstance(head, str) and len(head) < 256 else None


def _push(
    c: _Client,
    result: SyncResult,
    state: RefState,
    tags: dict[str, ObjectId],
    walker: Walker,
    items: list[tuple[ObjectId, str, int]],
    *,
    dry_run: bool,
    bases: dict[ObjectId, ObjectId] | None = None,
) -> Bucket | None:
    """Send `items` and this side's ref state; return the peer's Merkle root after it joined them."""
    sent = {"objects": 0, "payload": 0}

    def frames() -> Iterator[bytes]:
        yield F.hello("push", salt=c.salt.hex(), dry_run=dry_run)
        yield F.encode_state_frame(state, tags, c.version)
        with c.repo.db.read():
            deltas = c.version >= F.TREE_DELTAS
            for f in object_frames(walker, items, packed=c.version >= F.DELTAS, bases=bases, tree_deltas=deltas):
                if f[4] == F.PACKED or f[4] == F.TREE_DELTA:
                    sent["objects"] += 1
                    sent["payload"] += len(f)
                    if c.progress is not None and sent["objects"] % 64 == 0:
                        c.progress(sent["objects"], len(items), "sending")
                elif f[4] == F.OBJECT:
                    sent["objects"] += 1
                    sent["payload"] += max(0, len(f) - F.HEAD_SIZE - 42)
                    if c.progress is not None and sent["objects"] % 64 == 0:
                        c.progress(sent["objects"], len(items), "sending")
                else:
                    sent["payload"] += len(f) - F.HEAD_SIZE
                yield f
        yield F.encode(F.END)

    reader = c.ask(frames(), write=True)
    raw = reader.expect(F.RESULT)
    try:
        info = jsontext.loads(raw.payload.decode("utf-8"))
        for b in info.get("branches", []):
            result.pushed.append(
                BranchChange(
                    str(b["name"]),
                    frozenset(ObjectId(bytes.fromhex(h)) for h in b["before"]),
                    frozenset(ObjectId(bytes.fromhex(h)) for h in b["after"]),
                )
            )
        result.push_warnings += [str(w) for w in info.get("warnings", [])]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"{reader.peer}: malformed push result") from exc
    reader.expect(*F.state_kinds(c.version))
    root: Bucket | None = None
    while True:
        frame = reader.expect(F.BUCKET, F.END)
        if frame.kind == F.END:
            break
        root = F.decode_bucket(frame.payload, reader.peer)
    c.done(reader)
    c.stats.objects_sent += sent["objects"]
    c.stats.payload_sent += sent["payload"]
    return root


def _buckets(c: _Client, prefixes: list[str]) -> dict[str, Bucket]:
    """Ask the peer for buckets; return its answers by name."""
    reader = c.ask(
        [F.hello("buckets", salt=c.salt.hex()), F.encode(F.PREFIXES, F.encode_prefixes(prefixes)), F.encode(F.END)]
    )
    out: dict[str, Bucket] = {}
    while True:
        frame = reader.expect(F.BUCKET, F.END)
        if frame.kind == F.END:
            break
        b = F.decode_bucket(frame.payload, reader.peer)
        if b.prefix not in prefixes or b.prefix in out:
            raise ProtocolError(f"{reader.peer}: answered bucket {b.prefix!r}, which was not asked")
        out[b.prefix] = b
    c.done(reader)
    if set(out) != set(prefixes):
        raise ProtocolError(f"{c.t.peer}: left {len(set(prefixes) - set(out))} asked buckets unanswered")
    return out


def _descend(c: _Client) -> tuple[list[ObjectId], list[ObjectId]]:
    """The Merkle descent: return the ids the peer has and this side lacks, and the reverse."""
    repo = c.repo
    here: list[ObjectId] = []
    there: list[ObjectId] = []
    level = [""]
    while level:
        if len(level[0]) > F.MAX_PREFIX:
            break
        answers = _buckets(c, level)
        following: list[str] = []
        for p in level:
            theirs = answers[p]
            mine = bucket_of(repo, p, c.salt, with_ids=False)
            if (mine.count, mine.digest) == (theirs.count, theirs.digest):
                continue
            if theirs.ids is not None:
                their_ids = set(theirs.ids)
                my_ids = set(repo.store.bucket_ids(p))
                here += sorted(their_ids - my_ids)
                there += sorted(my_ids - their_ids)
            elif theirs.count == 0:
                there += repo.store.bucket_ids(p)
            else:
                following += [p + d for d in "0123456789abcdef"]
        level = following
    return here, there


def _reconcile(c: _Client) -> tuple[list[ObjectId], list[ObjectId]]:
    """The Merkle descent of version 2, two levels per round trip; receives what the peer sends.

    Each round sends this side's buckets below those known to differ: a small one with its
    ids, a large one as its 16 children's digests (the root is known to differ: it starts there).
    The peer answers the buckets that differ there: with its ids (small), with its 16
    children's digests (large), or, for one sent with ids, with the ids it lacks and the objects
    this side lacks, which are received here (one `Receiver` over all rounds: the closure is
    checked at the end). Returns the ids the peer listed that this side lacks (still to fetch),
    and those the peer lacks.
    """
    repo = c.repo
    here: list[ObjectId] = []
    there: list[ObjectId] = []
    level = _mine_below(c, "")
    with Receiver(repo, c.limits, c.t.peer) as recv:
        while level:
            batch, level = level[:MAX_PREFIXES], level[MAX_PREFIXES:]
            asked = {b.prefix: b for b in batch}
            listed = [p for p, b in asked.items() if b.ids is not None]
            req = [F.hello("reconcile", salt=c.salt.hex(), want=True), *(F.encode_bucket(b) for b in batch)]
            reader = c.ask([*req, F.encode(F.END)])
            while True:
                frame = reader.expect(F.BUCKET, F.IDS, F.OBJECT, F.PACKED, F.END)
                if frame.kind == F.END:
                    break
                if frame.kind == F.IDS:
                    ids = F.decode_ids(frame.payload, reader.peer)
                    if any(not any(i.hex().startswith(p) for p in listed) for i in ids):
                        raise ProtocolError(f"{reader.peer}: listed ids it lacks outside the buckets sent")
                    there += sorted(repo.store.has_many(ids))
                    continue
                if frame.kind in (F.OBJECT, F.PACKED):
                    oid = recv.take(frame, reader)
                    if not any(oid.hex().startswith(p) for p in listed):
                        raise ProtocolError(f"{reader.peer}: sent object {oid.hex()}, which was not asked for")
                    continue
                theirs = F.decode_bucket(frame.payload, reader.peer)
                parent = theirs.prefix[:-1]
                if theirs.prefix not in asked and not (parent in asked and len(theirs.prefix) == len(parent) + 1):
                    raise ProtocolError(f"{reader.peer}: answered bucket {theirs.prefix!r}, which was not asked")
                mine = bucket_of(repo, theirs.prefix, c.salt, with_ids=False)
                if (mine.count, mine.digest) == (theirs.count, theirs.digest):
                    continue
                if theirs.ids is not None:
                    their_ids = set(theirs.ids)
                    my_ids = set(repo.store.bucket_ids(theirs.prefix))
                    here += sorted(their_ids - my_ids)
                    there += sorted(my_ids - their_ids)
                elif len(theirs.prefix) > F.MAX_PREFIX:
                    raise ProtocolError(f"{reader.peer}: bucket {theirs.prefix!r} is deeper than any")
                else:
                    level += _mine_below(c, theirs.prefix)
            c.done(reader)
            recv.flush()  # the next round's buckets count what this one received
        recv.finish()
    c.stats.objects_received += recv.count
    return here, there


def _descend3(c: _Client, their_root: Bucket, their_children: F.Children | None) -> list[ObjectId]:
    """The compact Merkle descent of version 3; receives what the peer sends; returns the ids it lacks.

    Starting from the peer's root (and its root's children, when the refs answer carried them),
    each request holds, for every bucket known to differ, this side's 16 children (a large
    bucket) or its salted short ids (a small one, `by_list`), and a want frame for the short
    ids the peer listed that this side lacks. The peer answers children with its own children
    or short ids for those that differ, a list with the objects this side lacks (and the short
    ids it lacks itself), a want with the objects. So the round that finds the missing objects
    brings them. A bucket settled by short ids is checked at the end against the peer's digest
    (a collision of short ids would leave it differing) and, if it differs, compared again by
    whole ids.
    """
    repo, salt = c.repo, c.salt
    theirs_fp: dict[str, tuple[int, bytes]] = {"": (their_root.count, their_root.digest)}
    there: set[ObjectId] = set()
    # What the next request holds: children and list frames by bucket, and want frames.
    out: list[tuple[int, str, int, list[bytes]]] = []
    settled: dict[str, int] = {}  # buckets compared by list (or want): the width used
    checked: set[str] = set()

    def mine_shorts(prefix: str, width: int) -> dict[bytes, list[ObjectId]]:
        found: dict[bytes, list[ObjectId]] = {}
        for i in repo.store.bucket_ids(prefix):
            found.setdefault(F.short_id(i, salt, width), []).append(i)
        return found

    def differs(q: str, count: int, their_digest: bytes) -> None:
        theirs_fp[q] = (count, their_digest)
        mine = repo.store.bucket(q)
        if (mine.count, mine.digest(salt)) == (count, their_digest):
            return
        if count == 0:
            there.update(repo.store.bucket_ids(q))
        elif by_list(mine.count, q):
            out.append((F.LIST, q, F.SHORT_LEN, []))
        else:
            out.append((F.CHILDREN, q, 0, []))

    def listed(t: F.Listing) -> None:
        theirs_fp[t.prefix] = (t.count, t.digest)
        mine = mine_shorts(t.prefix, t.width)
        their_set = set(t.shorts)
        for short, ids in mine.items():
            if short not in their_set:
                there.update(ids)
        lacking = [x for x in t.shorts if x not in mine]
        if lacking:
            out.append((F.WANT, t.prefix, t.width, lacking))
        settled[t.prefix] = t.width

    if their_children is not None:
        for d, (count, their_digest) in zip(F.HEX, their_children.buckets, strict=True):
            differs(d, count, their_digest)
    else:
        differs("", their_root.count, their_root.digest)
    with Receiver(repo, c.limits, c.t.peer) as recv:
        while out:
            batch, out = out[:MAX_PREFIXES], out[MAX_PREFIXES:]
            asked_children = {q for kind, q, _, _ in batch if kind == F.CHILDREN}
            asked_lists = {q: w for kind, q, w, _ in batch if kind == F.LIST}
            asked_wants = {q: (w, set(xs)) for kind, q, w, xs in batch if kind == F.WANT}
            req = [F.hello("descend", salt=salt.hex())]
            with repo.db.read():
                for kind, q, width, shorts in batch:
                    if kind == F.CHILDREN:
                        req.append(children_frame(repo, q, salt))
                    elif kind == F.LIST:
                        req.append(list_frame(repo, q, salt, width))
                    else:
                        req.append(F.encode_listing(F.WANT, q, width, shorts))
            reader = c.ask([*req, F.encode(F.END)])
            while True:
                frame = reader.expect(F.CHILDREN, F.LIST, F.WANT, F.OBJECT, F.PACKED, F.END)
                if frame.kind == F.END:
                    break
                if frame.kind == F.CHILDREN:
                    ch = F.decode_children(frame.payload, reader.peer)
                    if ch.prefix in asked_lists:
                        # The peer holds too many there to compare by list: compare the children.
                        del asked_lists[ch.prefix]
                    elif ch.prefix[:-1] not in asked_children or not ch.prefix:
                        raise ProtocolError(f"{reader.peer}: answered bucket {ch.prefix!r}, which was not asked")
                    for d, (count, their_digest) in zip(F.HEX, ch.buckets, strict=True):
                        differs(ch.prefix + d, count, their_digest)
                elif frame.kind == F.LIST:
                    t = F.decode_listing(F.LIST, frame.payload, reader.peer)
                    if not t.prefix or t.prefix[:-1] not in asked_children:
                        raise ProtocolError(f"{reader.peer}: answered bucket {t.prefix!r}, which was not asked")
                    listed(t)
                elif frame.kind == F.WANT:
                    w = F.decode_listing(F.WANT, frame.payload, reader.peer)
                    if asked_lists.get(w.prefix) != w.width:
                        raise ProtocolError(f"{reader.peer}: lacks ids of bucket {w.prefix!r}, which was not listed")
                    mine = mine_shorts(w.prefix, w.width)
                    if any(x not in mine for x in w.shorts):
                        raise ProtocolError(f"{reader.peer}: lacks ids of bucket {w.prefix!r} that were not listed")
                    for x in w.shorts:
                        there.update(mine[x])
                else:
                    oid = recv.take(frame, reader)
                    text = oid.hex()
                    buckets = [text[:k] for k in range(len(text) + 1)]
                    if not any(q in asked_lists for q in buckets) and not any(
                        q in asked_wants and F.short_id(oid, salt, asked_wants[q][0]) in asked_wants[q][1]
                        for q in buckets
                    ):
                        raise ProtocolError(f"{reader.peer}: sent object {text}, which was not asked for")
            c.done(reader)
            recv.flush()  # the next round's buckets count what this one received
            settled.update(asked_lists)
            if not out:
                out = _recheck(c, settled, checked, theirs_fp, there)
        recv.finish()
    c.stats.objects_received += recv.count
    return sorted(there)


def _recheck(
    c: _Client,
    settled: dict[str, int],
    checked: set[str],
    theirs_fp: dict[str, tuple[int, bytes]],
    there: set[ObjectId],
) -> list[tuple[int, str, int, list[bytes]]]:
    """Buckets settled by short ids that still differ from the peer's: compared again by whole ids.

    After the objects arrived, such a bucket here, less the ids the peer lacks, must have the
    peer's digest; a short-id collision (or a peer that changed meanwhile) leaves it differing.
    Each bucket is compared by whole ids once.
    """
    again: list[tuple[int, str, int, list[bytes]]] = []
    for q, width in sorted(settled.items()):
        if q in checked or q not in theirs_fp:
            continue
        mine = c.repo.store.bucket(q) - fingerprints.of(i for i in there if i.hex().startswith(q))
        if (mine.count, mine.digest(c.salt)) == theirs_fp[q]:
            continue
        if width == OID_LEN:
            checked.add(q)
            continue
        checked.add(q)
        again.append((F.LIST, q, OID_LEN, []))
    settled.clear()
    return again


def _mine_below(c: _Client, prefix: str) -> list[Bucket]:
    """What to send for a bucket known to differ: itself with its ids when small, else its 16 children."""
    mine = bucket_of(c.repo, prefix, c.salt, with_ids=False)
    if mine.count <= 2 * F.LEAF or len(prefix) >= IDS_DEPTH:
        return [bucket_of(c.repo, prefix, c.salt, with_ids=True)]
    return [bucket_of(c.repo, prefix + d, c.salt, with_ids=False) for d in "0123456789abcdef"]


def _fetch_ids(c: _Client, ids: list[ObjectId]) -> None:
    """Fetch objects by id (the descent found them missing here) and store them."""
    reader = c.ask([F.hello("objects"), *F.encode_ids(F.IDS, ids, ID_FRAME), F.encode(F.END)])
    wanted = set(ids)
    with Receiver(c.repo, c.limits, reader.peer) as recv:
        while True:
            frame = reader.expect(*F.object_kinds(c.version), F.END)
            if frame.kind == F.END:
                break
            oid = recv.take(frame, reader)
            if oid not in wanted:
                raise ProtocolError(f"{reader.peer}: sent object {oid.hex()}, which was not asked for")
        recv.finish()
    c.done(reader)
    c.stats.objects_received += recv.count


def _first_difference(c: _Client) -> str | None:
    """Compare both sides' Merkle roots over refs and objects; return None, or the first bucket that differs."""
    mine, my_tags = ref_state(c.repo), tag_state(c.repo)
    reader = c.ask(
        [
            F.hello("refs", digest=F.state_digest(mine, my_tags).hex(), want=False, salt=c.salt.hex()),
            F.encode(F.END),
        ]
    )
    frame = reader.expect(F.SAME, *F.state_kinds(c.version))
    refs_equal = frame.kind == F.SAME
    while reader.expect(F.BUCKET, F.END, F.IDS, F.HAVES, F.RESULT).kind != F.END:
        pass
    c.done(reader)
    if not refs_equal:
        return "refs"
    level = [""]
    while level:
        answers = _buckets(c, level)
        following = []
        for p in level:
            mine_b = bucket_of(c.repo, p, c.salt, with_ids=False)
            theirs = answers[p]
            if (mine_b.count, mine_b.digest) != (theirs.count, theirs.digest):
                if len(p) >= 2:
                    return f"objects/{p}"
                following = [p + d for d in "0123456789abcdef"]
                break
        level = following
    return None
