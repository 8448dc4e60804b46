"""The serving side of sync: answers one request against a repository, with no state between requests.

`respond(repo, request, limits)` reads one request (frames ending with ``E``)
and yields the response's frames. Everything the answer needs is in the
request (the client's ref-state digest, its heads, the session salt, the
buckets or ids it asks for), so any process serving the repository can
answer the next request of a session: this is the API the stdio server here
and an HTTP server call, each request's body in, a stream of frames out.
`serve_stream` runs requests one after another over a pair of byte streams
(``vcrdt serve --stdio``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from vcrdt import jsontext
from vcrdt.errors import ProtocolError, VcrdtError
from vcrdt.ids import ObjectId
from vcrdt.refs import BRANCH_PREFIX
from vcrdt.repo import Repository
from vcrdt.store.fingerprints import Fingerprint
from vcrdt.store.sqlite import ZSTD, SqliteStore, Stored
from vcrdt.sync import frames as F
from vcrdt.sync.frames import Bucket, FrameReader
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.partial import clear_partial, partial_commits
from vcrdt.sync.walk import (
    Walker,
    dependency_order,
    heads_of,
    objects_to_send,
    ref_state,
    sample_haves,
    tag_state,
)

# Bucket names asked in one request, and the depth below which a bucket is always answered with ids.
MAX_PREFIXES = 4096
IDS_DEPTH = 10
ID_FRAME = 64 << 10
# Objects whose stored forms are read with one query, when each is at most `PREFETCH` bytes.
FORMS_BATCH = 256
PREFETCH = 64 << 10
TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import BinaryIO, TypeVar

    from vcrdt.store import zstd as zstandard
    from vcrdt.sync.recent import RecentBodies

    _T = TypeVar("_T")


def salt_of(fields: dict[str, object], peer: str) -> bytes | None:
    """The session salt a request carries (hex, at most 64 bytes), or None.

    Raises:
        ProtocolError: If it is not hex of at most 64 bytes.
    """
    text = fields.get("salt")
    if text is None:
        return None
    try:
        salt = bytes.fromhex(str(text))
    except ValueError:
        salt = b""
    if not 8 <= len(salt) <= 64:
        raise ProtocolError(f"{peer}: the session salt must be 8 to 64 bytes of hex")
    return salt


def root_token(root: Bucket) -> str:
    """A Merkle root as a hello field: the object count and the salted fingerprint."""
    return f"{root.count}:{root.digest.hex()}"


def bucket_of(repo: Repository, prefix: str, salt: bytes, *, with_ids: bool | None = None) -> Bucket:
    """This side's answer for one bucket: count, salted fingerprint, and its ids when small or deep."""
    fp: Fingerprint = repo.store.bucket(prefix)
    send_ids = fp.count <= F.LEAF or len(prefix) >= IDS_DEPTH if with_ids is None else with_ids
    ids = tuple(repo.store.bucket_ids(prefix)) if send_ids else None
    return Bucket(prefix, fp.count, fp.digest(salt), ids)


def object_frames(
    walker: Walker,
    items: Iterable[tuple[ObjectId, str, int]],
    *,
    packed: bool = False,
    bases: dict[ObjectId, ObjectId] | None = None,
    tree_deltas: bool = False,
) -> Iterator[bytes]:
    """The frames of objects: each header before its body is read (a receiver may refuse the header).

    With `packed` (protocol version 2), an object of at most `F.PIECE` bytes goes in a packed
    frame, without its id; as a delta when `bases` names a base for it (one the receiver holds,
    or sent before in this stream: then named by its distance back) and the delta is smaller.
    `bases` may be filled while `items` is consumed (`objects_to_send` does). With
    `tree_deltas` (protocol version 4, and `packed`), a tree with a base goes as a tree delta
    (`F.TREE_DELTA`: the entries that differ, no zstd) when that is at most half its size.
    """
    from vcrdt.store import zstd as zstandard
    from vcrdt.sync.recent import RecentBodies

    cctx = zstandard.ZstdCompressor(level=3)
    pack = F.compressor()
    store = walker.store
    # Stream positions of the objects sent so far, for naming bases by their distance back.
    position: dict[ObjectId, int] = {}
    bodies = RecentBodies()
    stored_forms = store.stored_forms if isinstance(store, SqliteStore) and packed else None
    n = -1
    for batch in _batches(items, FORMS_BATCH):
        forms: dict[ObjectId, tuple[str, int, Stored | None]] = {}
        if stored_forms is not None:
            # The stored forms of a few hundred objects in one query (trees' were kept by the walk).
            forms = stored_forms([oid for oid, _, size in batch if size <= PREFETCH and oid not in walker.forms])
            # And the kinds and sizes of the bases of those stored as deltas (`_as_stored` asks), in one query.
            walker.learn({form[1] for _, _, form in forms.values() if form is not None and form[1] is not None})
        for oid, kind, size in batch:
            n += 1
            if tree_deltas and kind == "tree" and bases and size <= F.PIECE:
                frame = _tree_delta(walker, oid, size, bases.get(oid), position, n)
                if frame is not None:
                    position[oid] = n
                    walker.forms.pop(oid, None)
                    walker.bodies.pop(oid, None)
                    yield frame
                    continue
            yield from _object_frames(walker, oid, kind, size, n, packed, bases, forms, position, bodies, pack, cctx)


def _batches(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


def _object_frames(
    walker: Walker,
    oid: ObjectId,
    kind: str,
    size: int,
    n: int,
    packed: bool,
    bases: dict[ObjectId, ObjectId] | None,
    forms: dict[ObjectId, tuple[str, int, Stored | None]],
    position: dict[ObjectId, int],
    bodies: RecentBodies,
    pack: zstandard.ZstdCompressor,
    cctx: zstandard.ZstdCompressor,
) -> Iterator[bytes]:
    """The frames of one object (`object_frames`), the `n`-th of the stream."""
    store = walker.store
    if packed:
        position[oid] = n
    if size <= F.PIECE and packed:
        base = bases.get(oid) if bases else None
        form = walker.forms.pop(oid, None)
        if form is None:
            got = forms.get(oid)
            if got is not None:
                form = got[2]
            elif size > PREFETCH and isinstance(store, SqliteStore):
                form = store.stored_form(oid)
        if form is not None:
            frame = _as_stored(walker, form, kind, size, base, position, n)
            if frame is not None:
                yield frame
                return
        body = walker.pop_body(oid, kind)
        if body is None:
            _, body = store.get(oid)
        bodies.put(oid, body)
        yield _packed_frame(walker, kind, body, base, position, n, pack, bodies)
        return
    if size <= F.PIECE:
        _, body = store.get(oid)
        yield F.encode(F.OBJECT, F.encode_object_head(oid, kind, size, chunked=False) + cctx.compress(body))
        return
    yield F.encode(F.OBJECT, F.encode_object_head(oid, kind, size, chunked=True))
    for payload in F.chunk_payloads(store, oid, cctx):
        yield F.encode(F.CHUNK, payload)


# Bases smaller than this are not worth a delta.
MIN_DELTA = 64


def _tree_delta(
    walker: Walker, oid: ObjectId, size: int, base: ObjectId | None, position: dict[ObjectId, int], n: int
) -> bytes | None:
    """A tree as a tree delta on `base` (`F.TREE_DELTA`), or None when it has no base or the delta is not small."""
    if base is None or base == oid:
        return None
    try:
        base_kind, base_size = walker.info(base)
    except VcrdtError:
        return None
    if base_kind != "tree" or base_size > F.PIECE:
        return None
    new = walker.raw_entries(oid)
    old = walker.raw_entries(base) if new is not None else None
    if new is None or old is None:
        return None
    at = position.get(base)
    frame = F.tree_delta_frame(n - at if at is not None else base, size, old, new)
    return frame if len(frame) < size else None


def _as_stored(
    walker: Walker,
    form: Stored | None,
    kind: str,
    size: int,
    base: ObjectId | None,
    position: dict[ObjectId, int],
    n: int,
) -> bytes | None:
    """The packed frame of an object as the store holds it (no decoding, no compressing), or None.

    A stored delta goes as it is when its base is one the receiver holds: the base chosen
    for it (`base`), or one sent before in this stream. An object stored compressed alone goes
    as it is when no base was chosen for it (a delta could be smaller). The receiver hashes
    what the frame decodes to, as for any packed object.
    """
    if form is None or not form[2].startswith(F.ZSTD_MAGIC):
        return None
    storage, stored_base, data = form
    if storage == ZSTD:
        return F.encode_packed(kind, size, None, data) if base is None else None
    assert stored_base is not None
    at = position.get(stored_base)
    if stored_base != base and at is None:
        return None
    try:
        if walker.info(stored_base)[1] > F.PIECE:
            return None
    except VcrdtError:
        return None
    return F.encode_packed(kind, size, n - at if at is not None else stored_base, data)


def _packed_frame(
    walker: Walker,
    kind: str,
    body: bytes,
    base: ObjectId | None,
    position: dict[ObjectId, int],
    n: int,
    pack: zstandard.ZstdCompressor,
    bodies: RecentBodies,
) -> bytes:
    """One packed frame: the smaller of a delta on `base` (when given) and the plain body."""
    if base is not None and len(body) > MIN_DELTA and walker.info(base)[1] <= F.PIECE:
        base_body = bodies.read(walker.store, base)
        if len(base_body) > MIN_DELTA:
            data = F.delta(base_body, body)
            # A delta well under half the body is smaller than the plain form: skip computing that.
            if 2 * len(data) > len(body):
                plain = pack.compress(body)
                if len(plain) <= len(data):
                    return F.encode_packed(kind, len(body), None, plain)
            at = position.get(base)
            return F.encode_packed(kind, len(body), n - at if at is not None else base, data)
    return F.encode_packed(kind, len(body), None, pack.compress(body))


def respond(repo: Repository, request: FrameReader, limits: SyncLimits, *, writable: bool = True) -> Iterator[bytes]:
    """Answer one request: read its frames from `request`, yield the response's frames.

    Errors are raised (a server turns them into an error frame with `respond_safely`).

    Raises:
        ProtocolError: If the request is malformed, or asks what this side does not serve.
        VcrdtError: Whatever checking a push or reading this store raises.
    """
    peer = request.peer
    first = request.next(allow_eof=True)
    if first is None:
        return
    if first.kind != F.HELLO:
        raise ProtocolError(f"{peer}: a request must start with a hello frame, not {first.name}")
    version, fields = F.read_hello(first, peer)
    op = fields["op"]
    if op == "refs":
        yield from _refs(repo, request, limits, fields, version)
    elif op == "buckets":
        yield from _buckets(repo, request, fields, version)
    elif op == "objects":
        yield from _objects(repo, request, limits, version)
    elif op == "descend" and version >= F.DESCENT:
        yield from _descend(repo, request, limits, fields, version)
    elif op == "reconcile" and version >= F.DELTAS:
        yield from _reconcile(repo, request, limits, fields, version)
    elif op == "push":
        if not writable:
            raise ProtocolError(f"{peer}: this repository is served read-only; push is refused")
        yield from _push(repo, request, limits, fields, version)
    else:
        raise ProtocolError(f"{peer}: unknown operation {str(op)[:40]!r}")


def _read_ids(request: FrameReader) -> list[ObjectId]:
    """The ids frames of a request, up to its end frame."""
    out: list[ObjectId] = []
    while True:
        frame = request.expect(F.IDS, F.END)
        if frame.kind == F.END:
            return out
        out += F.decode_ids(frame.payload, request.peer)


def haves_frames(haves: list[ObjectId]) -> list[bytes]:
    """Haves frames: the first `F.HAVE_LEN` bytes of each commit."""
    per = ID_FRAME // F.HAVE_LEN
    return [F.encode(F.HAVES, b"".join(h[: F.HAVE_LEN] for h in haves[i : i + per])) for i in range(0, len(haves), per)]


def resolve_haves(repo: Repository, payload: bytes, peer: str) -> list[ObjectId]:
    """The commits a haves frame names that this side holds (each by its first bytes, when unambiguous).

    Raises:
        ProtocolError: If the payload is not a whole number of prefixes.
    """
    if len(payload) % F.HAVE_LEN:
        raise ProtocolError(f"{peer}: a haves frame of {len(payload)} bytes")
    out: list[ObjectId] = []
    for i in range(0, len(payload), F.HAVE_LEN):
        found = repo.store.ids_with_prefix(payload[i : i + F.HAVE_LEN], limit=2)
        if len(found) == 1:
            out.append(found[0])
    return out


def _read_haves(repo: Repository, request: FrameReader) -> list[ObjectId]:
    """The commits of the request's haves frames that this side holds (each named by its first bytes)."""
    out: list[ObjectId] = []
    while True:
        frame = request.expect(F.HAVES, F.END)
        if frame.kind == F.END:
            return out
        out += resolve_haves(repo, frame.payload, request.peer)


def _refs(
    repo: Repository, request: FrameReader, limits: SyncLimits, fields: dict[str, object], version: int
) -> Iterator[bytes]:
    haves = _read_haves(repo, request)
    salt = salt_of(fields, request.peer)
    with repo.db.read():
        state, tags = ref_state(repo), tag_state(repo)
        yield F.encode(F.ACCEPT, bytes([version]))
        same_objects = "root" not in fields or (
            salt is not None and fields["root"] == root_token(bucket_of(repo, "", salt, with_ids=False))
        )
        if fields.get("digest") == F.state_digest(state, tags).hex() and same_objects:
            yield F.encode(F.SAME)
            yield F.encode(F.END)
            return
        yield F.encode_state_frame(state, tags, version)
        branch = repo.refs.head().branch
        if branch is not None and branch.startswith(BRANCH_PREFIX):
            yield F.encode(F.RESULT, jsontext.dumps({"head": branch[len(BRANCH_PREFIX) :]}).encode())
        # Commits a broken-off sync stored here under no ref: the client need not send them again.
        yield from F.encode_ids(F.IDS, partial_commits(repo), ID_FRAME)
        if not fields.get("want"):
            # A push follows: what this side holds, so the client sends only what is missing here.
            yield from haves_frames(sample_haves(repo.store, heads_of(state, tags)))
        streamed = False
        if fields.get("want"):
            walker = Walker(repo.store, limits)
            bases: dict[ObjectId, ObjectId] = {}
            items = objects_to_send(walker, heads_of(state, tags), haves, bases=bases)
            deltas = version >= F.TREE_DELTAS
            for f in object_frames(walker, items, packed=version >= F.DELTAS, bases=bases, tree_deltas=deltas):
                streamed = True
                yield f
        if salt is not None:
            yield F.encode_bucket(bucket_of(repo, "", salt, with_ids=False))
            if version >= F.DESCENT and not same_objects and not streamed:
                # The object sets differ and the DAG explains none of it: the descent's first step
                # rides on this round trip (the client compares these with its own root's children).
                yield children_frame(repo, "", salt)
        yield F.encode(F.END)


def _buckets(repo: Repository, request: FrameReader, fields: dict[str, object], version: int) -> Iterator[bytes]:
    salt = salt_of(fields, request.peer) or b""
    prefixes: list[str] = []
    while True:
        frame = request.expect(F.PREFIXES, F.END)
        if frame.kind == F.END:
            break
        prefixes += F.decode_prefixes(frame.payload, request.peer)
        if len(prefixes) > MAX_PREFIXES:
            raise ProtocolError(f"{request.peer}: more than {MAX_PREFIXES} buckets asked in one request")
    with repo.db.read():
        yield F.encode(F.ACCEPT, bytes([version]))
        for p in prefixes:
            yield F.encode_bucket(bucket_of(repo, p, salt))
        yield F.encode(F.END)


# A bucket compared by its id list is read whole only up to this many ids (else its children answer).
MAX_LIST = 4096


def _reconcile(
    repo: Repository, request: FrameReader, limits: SyncLimits, fields: dict[str, object], version: int
) -> Iterator[bytes]:
    """The Merkle descent, two levels per round trip (version 2; docs/protocol.md, `reconcile`).

    The client sends its own buckets; for each that differs here this side answers with its
    ids (when small), or its 16 children's fingerprints; for one the client sent with its ids
    it answers with the ids it lacks itself and, with ``want``, the objects the client lacks.
    """
    salt = salt_of(fields, request.peer) or b""
    theirs: list[Bucket] = []
    while True:
        frame = request.expect(F.BUCKET, F.END)
        if frame.kind == F.END:
            break
        theirs.append(F.decode_bucket(frame.payload, request.peer))
        if len(theirs) > MAX_PREFIXES:
            raise ProtocolError(f"{request.peer}: more than {MAX_PREFIXES} buckets in one request")
    with repo.db.read():
        yield F.encode(F.ACCEPT, bytes([version]))
        lack_here: list[ObjectId] = []  # the client lacks them
        lack_there: list[ObjectId] = []  # this side lacks them
        for b in theirs:
            mine = bucket_of(repo, b.prefix, salt, with_ids=False)
            if (mine.count, mine.digest) == (b.count, b.digest):
                continue
            if b.ids is not None and (mine.count <= MAX_LIST or len(b.prefix) >= IDS_DEPTH):
                have = set(repo.store.bucket_ids(b.prefix))
                given = set(b.ids)
                lack_here += sorted(have - given)
                lack_there += sorted(given - have)
            elif mine.count <= 2 * F.LEAF or len(b.prefix) >= IDS_DEPTH:
                yield F.encode_bucket(bucket_of(repo, b.prefix, salt, with_ids=True))
            else:
                for d in "0123456789abcdef":
                    yield F.encode_bucket(bucket_of(repo, b.prefix + d, salt, with_ids=False))
        yield from F.encode_ids(F.IDS, lack_there, ID_FRAME)
        if fields.get("want") and lack_here:
            walker = Walker(repo.store, limits)
            yield from object_frames(walker, dependency_order(walker, lack_here), packed=True)
        yield F.encode(F.END)


# Version 3: a bucket of at most this many ids is compared by its salted short ids, a larger one by its children.
SHORT_MAX = 2 * F.LEAF


def by_list(count: int, prefix: str) -> bool:
    """Whether a differing bucket of `count` ids (on the side answering) is sent as its id list."""
    return count <= SHORT_MAX or (len(prefix) >= IDS_DEPTH and count <= F.MAX_LIST)


def children_frame(repo: Repository, prefix: str, salt: bytes) -> bytes:
    """This side's 16 children of a bucket, each as its count and salted digest."""
    fps = [repo.store.bucket(prefix + d) for d in F.HEX]
    return F.encode_children(prefix, [(fp.count, fp.digest(salt)) for fp in fps])


def list_frame(repo: Repository, prefix: str, salt: bytes, width: int) -> bytes:
    """This side's bucket as its count, salted digest and short ids (`width` bytes each)."""
    fp = repo.store.bucket(prefix)
    shorts = [F.short_id(i, salt, width) for i in repo.store.bucket_ids(prefix)]
    return F.encode_listing(F.LIST, prefix, width, shorts, fp.count, fp.digest(salt))


def _descend(
    repo: Repository, request: FrameReader, limits: SyncLimits, fields: dict[str, object], version: int
) -> Iterator[bytes]:
    """The compact Merkle descent (version 3; docs/protocol.md, `descend`).

    For each children frame, the children that differ here are answered: a small one with
    this side's short ids (a list frame), a larger one with its own children. For each list
    frame, the objects the client lacks are sent, and a want frame names the short ids this
    side lacks. For each want frame, the objects named are sent. The objects go last, each
    after those it names.
    """
    peer = request.peer
    salt = salt_of(fields, peer)
    if salt is None:
        raise ProtocolError(f"{peer}: a descend request must carry the session salt")
    items: list[F.Children | tuple[int, F.Listing]] = []
    while True:
        frame = request.expect(F.CHILDREN, F.LIST, F.WANT, F.END)
        if frame.kind == F.END:
            break
        if frame.kind == F.CHILDREN:
            items.append(F.decode_children(frame.payload, peer))
        else:
            items.append((frame.kind, F.decode_listing(frame.kind, frame.payload, peer)))
        if len(items) > MAX_PREFIXES:
            raise ProtocolError(f"{peer}: more than {MAX_PREFIXES} buckets in one request")
    with repo.db.read():
        yield F.encode(F.ACCEPT, bytes([version]))
        send: dict[ObjectId, None] = {}
        for item in items:
            if isinstance(item, F.Children):
                for d, (count, their_digest) in zip(F.HEX, item.buckets, strict=True):
                    q = item.prefix + d
                    mine = repo.store.bucket(q)
                    if (mine.count, mine.digest(salt)) == (count, their_digest):
                        continue
                    if by_list(mine.count, q):
                        yield list_frame(repo, q, salt, F.SHORT_LEN)
                    else:
                        yield children_frame(repo, q, salt)
                continue
            kind, listing = item
            mine = repo.store.bucket(listing.prefix)
            if mine.count > F.MAX_LIST and len(listing.prefix) < F.MAX_PREFIX:
                if kind == F.WANT:
                    raise ProtocolError(f"{peer}: wants objects of bucket {listing.prefix!r}, which was not listed")
                # Too many here to compare by list: the client compares the children instead.
                yield children_frame(repo, listing.prefix, salt)
                continue
            width = listing.width
            theirs = set(listing.shorts)
            ids = repo.store.bucket_ids(listing.prefix)
            if kind == F.WANT:
                send.update((i, None) for i in ids if F.short_id(i, salt, width) in theirs)
                continue
            shorts = set()
            for i in ids:
                s_i = F.short_id(i, salt, width)
                shorts.add(s_i)
                if s_i not in theirs:
                    send[i] = None
            lacking = [s_i for s_i in listing.shorts if s_i not in shorts]
            if lacking:
                yield F.encode_listing(F.WANT, listing.prefix, width, lacking)
        if send:
            walker = Walker(repo.store, limits)
            yield from object_frames(walker, dependency_order(walker, list(send)), packed=True)
        yield F.encode(F.END)


def _objects(repo: Repository, request: FrameReader, limits: SyncLimits, version: int) -> Iterator[bytes]:
    wanted = _read_ids(request)
    with repo.db.read():
        present = repo.store.has_many(wanted)
        walker = Walker(repo.store, limits)
        yield F.encode(F.ACCEPT, bytes([version]))
        yield from object_frames(walker, dependency_order(walker, present), packed=version >= F.DELTAS)
        yield F.encode(F.END)


def _push(
    repo: Repository, request: FrameReader, limits: SyncLimits, fields: dict[str, object], version: int
) -> Iterator[bytes]:
    from vcrdt.sync.receive import Receiver, apply_state, check_heads_present, check_names

    salt = salt_of(fields, request.peer)
    theirs, tags = F.decode_state_frame(request.expect(*F.state_kinds(version)), request.peer)
    check_names(theirs, tags, request.peer)
    with Receiver(repo, limits, request.peer, dry_run=bool(fields.get("dry_run"))) as recv:
        while True:
            frame = request.expect(*F.object_kinds(version), F.END)
            if frame.kind == F.END:
                break
            recv.take(frame, request)
        recv.finish()
        check_heads_present(repo, theirs, tags, request.peer)
        applied = apply_state(repo, theirs, tags, verb="push", dry_run=recv.dry_run)
        if not recv.dry_run:
            clear_partial(repo)
        state, now_tags = ref_state(repo), tag_state(repo)
        root = bucket_of(repo, "", salt, with_ids=False) if salt is not None else None
    if not recv.dry_run:
        # The checkout the join began, as its journal holds it: none, and the work tree is not loaded.
        repo.finish_interrupted_checkout()
    yield F.encode(F.ACCEPT, bytes([version]))
    result = {
        "objects": recv.count,
        "branches": [
            {"name": b.name, "before": sorted(h.hex() for h in b.before), "after": sorted(h.hex() for h in b.after)}
            for b in applied.branches
        ],
        "tags": applied.tags,
        "warnings": applied.warnings,
    }
    yield F.encode(F.RESULT, jsontext.dumps(result).encode())
    yield F.encode_state_frame(state, now_tags, version)
    if root is not None:
        yield F.encode_bucket(root)
    yield F.encode(F.END)


def respond_safely(
    repo: Repository, request: FrameReader, limits: SyncLimits, *, writable: bool = True
) -> Iterator[bytes]:
    """`respond`, with a failure sent as an error frame (one line) instead of raised: for servers."""
    try:
        yield from respond(repo, request, limits, writable=writable)
    except VcrdtError as exc:
        yield F.encode(F.ERROR, str(exc).encode("utf-8", "replace")[:2000])


# Bytes of frames `serve_stream` gathers before writing them.
OUT_BUFFER = 64 << 10


def serve_stream(
    repo: Repository, stdin: BinaryIO, stdout: BinaryIO, limits: SyncLimits, *, writable: bool = True
) -> int:
    """Answer requests from `stdin` on `stdout` until the input ends; return how many were answered.

    After an error frame the session ends (the request may not have been read to its end).
    """
    served = 0
    while True:
        request = FrameReader(stdin.read, limits, "client")
        try:
            first = request.next(allow_eof=True)
        except VcrdtError as exc:
            stdout.write(F.encode(F.ERROR, str(exc).encode("utf-8", "replace")))
            stdout.flush()
            return served
        if first is None:
            return served
        failed = False
        # Frames leave in writes of about `OUT_BUFFER` bytes: one system call (and one wake-up of
        # the reader) per frame would cost more than the frame, and stdout may be unbuffered
        # (``python -u``, PYTHONUNBUFFERED). An answer's last frame is written at once.
        pending = bytearray()
        for frame in respond_safely(repo, _again(first, request), limits, writable=writable):
            failed = failed or frame[4] == F.ERROR
            pending += frame
            if len(pending) >= OUT_BUFFER or frame[4] in (F.END, F.ERROR):
                stdout.write(pending)
                stdout.flush()
                pending.clear()
        if pending:
            stdout.write(pending)
        stdout.flush()
        served += 1
        if failed:
            return served


def _again(first: F.Frame, reader: FrameReader) -> FrameReader:
    """A reader that yields `first` once more, then continues with `reader`."""
    pending = [F.encode(first.kind, first.payload)]

    def read(n: int) -> bytes:
        if pending:
            data = pending[0]
            out, rest = data[:n], data[n:]
            if rest:
                pending[0] = rest
            else:
                pending.pop()
            return out
        return reader._read(n)

    again = FrameReader(read, reader.limits, reader.peer)
    return again
