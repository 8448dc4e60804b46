"""The sync wire format: typed, length-prefixed frames, and the messages they carry (docs/protocol.md).

A frame is a 4-byte big-endian payload length, a 1-byte type tag, and the
payload. Every transport (a local path, stdio, ssh, HTTP) carries the same
frames; a request is a sequence of frames ending with ``E`` and so is its
response. `FrameReader` refuses a frame that is truncated, larger than
``limits.max_frame_size``, of an unknown type, or one more than
``limits.max_frames`` allows, each with one `ProtocolError` naming the peer.
"""

from __future__ import annotations

import collections
import itertools
import struct
from collections.abc import Callable, Iterable, Iterator
from functools import cache

from vcrdt import jsontext
from vcrdt.crdt.refstate import RefState
from vcrdt.errors import ProtocolError, VcrdtError
from vcrdt.hashing import digest
from vcrdt.ids import OID_LEN, ObjectId
from vcrdt.store import CHUNK_SIZE, ObjectStore
from vcrdt.store.sqlite import SqliteStore, compress_chunk, delta_compressor
from vcrdt.sync.limits import SyncLimits
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    import re
    from typing import Any

    from vcrdt.store import zstd as zstandard
else:

    class _FirstUse:
        """`vcrdt.store.zstd`, imported when first used: an answer that compresses nothing (a no-op) loads no zstd."""

        def __getattr__(self, name: str) -> object:
            from vcrdt.store import zstd

            globals()["zstandard"] = zstd
            return getattr(zstd, name)

    zstandard = _FirstUse()

VERSION = 4
# Version 2 adds packed objects (`PACKED`): no id on the wire, and deltas against a base the receiver has.
# Version 3 adds the compact descent (`CHILDREN`, `LIST`, `WANT`, op ``descend``) and the compressed state.
# Version 4 adds tree deltas (`TREE_DELTA`): a tree as the entries that differ from a base tree, no zstd.
SUPPORTED = (1, 2, 3, 4)
DELTAS = 2  # the first version with packed objects
DESCENT = 3  # the first version with the compact descent and `STATE_Z`
TREE_DELTAS = 4  # the first version with `TREE_DELTA`

HELLO = ord("H")  # request: JSON {"v": [versions], "op": ..., ...}
ACCEPT = ord("A")  # response: 1 byte, the protocol version chosen
SAME = ord("Q")  # response: the ref states are equal (empty)
STATE = ord("S")  # a ref state and tags (`encode_state`)
IDS = ord("I")  # object ids (32 bytes each): the objects wanted, or commits held under no ref
HAVES = ord("V")  # request: the first 8 bytes of commits the client holds (heads and some ancestors)
PREFIXES = ord("P")  # request: bucket names (1-byte length + hex digits, repeated)
BUCKET = ord("B")  # response: one bucket's count and salted fingerprint, and its ids when small
OBJECT = ord("O")  # an object header, and its zstd body when not chunked
CHUNK = ord("C")  # the next zstd piece of a chunked object
PACKED = ord("D")  # v2: an object of at most PIECE bytes, without its id: plain zstd, or a delta on a base
RESULT = ord("J")  # response: JSON, what a push changed
END = ord("E")  # the end of a request or response (empty)
ERROR = ord("X")  # response: the request failed; UTF-8 message
STATE_Z = ord("Z")  # v3: a state frame's payload as one zstd frame
CHILDREN = ord("K")  # v3: a bucket's 16 children (count and salted digest each)
LIST = ord("T")  # v3: a bucket's count, digest and salted short ids
WANT = ord("W")  # v3: salted short ids of a bucket: the objects wanted, or the ids the sender lacks
TREE_DELTA = ord("U")  # v4: a tree of at most PIECE bytes as the entries that differ from a base tree

NAMES = {
    HELLO: "hello",
    ACCEPT: "accept",
    SAME: "same",
    STATE: "state",
    IDS: "ids",
    HAVES: "haves",
    PREFIXES: "prefixes",
    BUCKET: "bucket",
    OBJECT: "object",
    CHUNK: "chunk",
    PACKED: "packed object",
    RESULT: "result",
    END: "end",
    ERROR: "error",
    STATE_Z: "compressed state",
    CHILDREN: "children",
    LIST: "list",
    WANT: "want",
    TREE_DELTA: "tree delta",
}
_HEAD = struct.Struct(">IB")
HEAD_SIZE = _HEAD.size
# A chunked object's pieces each decode to at most this many bytes.
PIECE = 1 << 20
KIND_CODES = {"blob": 1, "tree": 2, "commit": 3}
KINDS = {v: k for k, v in KIND_CODES.items()}
_OBJECT = struct.Struct(">32sBQB")
CHUNKED_FLAG = 1
# A bucket of at most this many ids is answered with its ids.
LEAF = 32
MAX_PREFIX = 64
HAVE_LEN = 8


def encode(kind: int, payload: bytes = b"") -> bytes:
    """Return one frame.

    >>> encode(END)
    b'\\x00\\x00\\x00\\x00E'
    """
    return _HEAD.pack(len(payload), kind) + payload


@value_class(frozen=True, init=False, repr=False, eq=False)
class Frame(Value):
    """One frame read: its type tag and payload."""

    __slots__ = ("kind", "payload")

    kind: int
    payload: bytes

    def __init__(self, kind: int, payload: bytes) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "payload", payload)

    @property
    def name(self) -> str:
        """The frame type's name, for messages."""
        return NAMES.get(self.kind, f"0x{self.kind:02x}")


class FrameReader:
    """Frames from a byte source, checked against the limits; counts the bytes read."""

    def __init__(self, read: Callable[[int], bytes], limits: SyncLimits, peer: str) -> None:
        """Read from `read(n)` (which may return fewer bytes, or none at the end).

        Args:
            read: The byte source.
            limits: ``max_frame_size`` and ``max_frames`` apply.
            peer: Names the other side in error messages.
        """
        self._read = read
        self.limits = limits
        self.peer = peer
        self.frames = 0
        self.bytes = 0
        self.payload_bytes = 0  # object payload (OBJECT bodies and CHUNK frames)
        # Frames read ahead (`ahead`), and what reading the last one raised, both given out by `next` in order.
        self._ahead: collections.deque[Frame | ProtocolError] = collections.deque()

    def _exactly(self, n: int, what: str, whole: int | None = None) -> bytes:
        """The next `n` bytes, the last part of `whole` bytes (the rest read already; default `n`)."""
        whole = n if whole is None else whole
        parts: list[bytes] = []
        got = whole - n
        while got < whole:
            piece = self._read(whole - got)
            if not piece:
                raise ProtocolError(f"{self.peer}: truncated {what} (expected {whole} bytes, got {got})")
            parts.append(piece)
            got += len(piece)
        self.bytes += whole
        return b"".join(parts)

    def next(self, *, allow_eof: bool = False) -> Frame | None:
        """Read the next frame (None at a clean end of input when `allow_eof`).

        Raises:
            ProtocolError: If the frame is truncated, too large, of an unknown type, or one too many.
        """
        if self._ahead:
            item = self._ahead.popleft()
            if isinstance(item, Frame):
                return item
            raise item
        return self._next(allow_eof)

    def ahead(self, most: int, most_bytes: int) -> list[Frame]:
        """The frames read ahead of the one read last: a stream's next objects, read now when needed.

        Reads on while the frames are of objects (and their chunks), up to `most` frames or
        `most_bytes` of payload waiting, and the frame that ends them (so no more than the
        peer sends without an answer: every object stream ends with a frame of another kind).
        `next` gives them out in order; what reading one raised (a frame too large, truncated,
        one too many, the peer's error) `next` raises in its place, and reading stops there.
        """
        ahead = self._ahead
        waiting = sum(len(f.payload) for f in ahead if isinstance(f, Frame))
        while len(ahead) < most and waiting < most_bytes:
            if ahead and (not isinstance(ahead[-1], Frame) or ahead[-1].kind not in _OBJECT_FRAMES):
                break
            try:
                frame = self._next(True)
            except ProtocolError as exc:
                ahead.append(exc)
                break
            if frame is None:
                break  # the end of input: `next` reads it again, and answers as it would have
            ahead.append(frame)
            waiting += len(frame.payload)
        return [f for f in ahead if isinstance(f, Frame)]

    def _next(self, allow_eof: bool) -> Frame | None:
        read = self._read
        head = read(HEAD_SIZE)
        if not head and allow_eof:
            return None
        while len(head) < HEAD_SIZE:
            more = self._read(HEAD_SIZE - len(head))
            if not more:
                raise ProtocolError(
                    f"{self.peer}: truncated frame header (expected {HEAD_SIZE} bytes, got {len(head)})"
                )
            head += more
        self.bytes += HEAD_SIZE
        size, kind = _HEAD.unpack(head)
        if kind not in NAMES:
            raise ProtocolError(f"{self.peer}: unknown frame type 0x{kind:02x}")
        if size > self.limits.max_frame_size:
            raise ProtocolError(
                f"{self.peer}: {NAMES[kind]} frame of {size} bytes, more than limits.max_frame_size "
                f"({self.limits.max_frame_size})"
            )
        self.frames += 1
        if self.frames > self.limits.max_frames:
            raise ProtocolError(f"{self.peer}: more than limits.max_frames ({self.limits.max_frames}) frames")
        payload = read(size) if size else b""
        if len(payload) == size:
            self.bytes += size
        else:  # a short read: the rest comes in more reads, or the frame is truncated
            payload += self._exactly(size - len(payload), f"{NAMES[kind]} frame", size)
        if kind == ERROR:
            text = payload.decode("utf-8", "replace")[:2000]
            raise PeerError(f"{self.peer}: {text}")
        if kind == CHUNK:
            self.payload_bytes += size
        elif kind == OBJECT:
            self.payload_bytes += max(0, size - _OBJECT.size)
        elif kind == PACKED or kind == TREE_DELTA:
            # A packed object's whole frame is object bytes (git counts a pack's object headers too).
            self.payload_bytes += HEAD_SIZE + size
        return Frame(kind, payload)

    def expect(self, *kinds: int) -> Frame:
        """Read the next frame and check its type.

        Raises:
            ProtocolError: If it is of another type, or as `next`.
        """
        frame = self.next()
        assert frame is not None
        if frame.kind not in kinds:
            wanted = " or ".join(NAMES[k] for k in kinds)
            raise ProtocolError(f"{self.peer}: expected a {wanted} frame, got {frame.name}")
        return frame


# Frames of an object stream (`FrameReader.ahead` reads ahead through these only).
_OBJECT_FRAMES = frozenset((OBJECT, PACKED, TREE_DELTA, CHUNK))


class PeerError(ProtocolError):
    """The peer answered a request with an error frame (its message follows the peer's name)."""


def reader_of(chunks: Iterable[bytes]) -> Callable[[int], bytes]:
    """A `read(n)` over an iterator of byte strings (an in-process responder's output)."""
    it = iter(chunks)
    buf = bytearray()

    def read(n: int) -> bytes:
        while not buf:
            try:
                buf.extend(next(it))
            except StopIteration:
                return b""
        out = bytes(buf[:n])
        del buf[:n]
        return out

    return read


# --- messages ---------------------------------------------------------------------------------


def hello(op: str, **fields: object) -> bytes:
    """The first frame of a request: the versions the client speaks, the operation and its fields."""
    return encode(HELLO, jsontext.dumps({"v": list(SUPPORTED), "op": op, **fields}).encode())


def read_hello(frame: Frame, peer: str) -> tuple[int, dict[str, object]]:
    """Decode a hello frame: the version chosen (the highest both speak) and its fields.

    Raises:
        ProtocolError: If it is not a JSON object, or no version is shared.
    """
    try:
        data = jsontext.loads(frame.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"{peer}: hello frame is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("v"), list) or not isinstance(data.get("op"), str):
        raise ProtocolError(f"{peer}: hello frame lacks the versions or the operation")
    shared = [v for v in data["v"] if isinstance(v, int) and v in SUPPORTED]
    if not shared:
        raise ProtocolError(
            f"{peer}: no shared protocol version (it speaks {data['v'][:8]}, this side {list(SUPPORTED)})"
        )
    return max(shared), data


def encode_ids(kind: int, ids: Iterable[ObjectId], frame_size: int) -> Iterator[bytes]:
    """Frames of ids, each holding as many as fit."""
    per = max(1, frame_size // OID_LEN)
    batch: list[bytes] = []
    for oid in ids:
        batch.append(oid)
        if len(batch) == per:
            yield encode(kind, b"".join(batch))
            batch = []
    if batch:
        yield encode(kind, b"".join(batch))


def decode_ids(payload: bytes, peer: str) -> list[ObjectId]:
    """The ids of an ids frame.

    Raises:
        ProtocolError: If the payload is not a whole number of ids.
    """
    if len(payload) % OID_LEN:
        raise ProtocolError(f"{peer}: an id list of {len(payload)} bytes, not a multiple of {OID_LEN}")
    return [ObjectId(payload[i : i + OID_LEN]) for i in range(0, len(payload), OID_LEN)]


def encode_state(state: RefState, tags: dict[str, ObjectId]) -> bytes:
    """A replica's branches and tags: the ref-state encoding, then each tag's name and id."""
    raw = state.to_bytes()
    parts = [len(raw).to_bytes(4, "big"), raw, len(tags).to_bytes(4, "big")]
    for name in sorted(tags):
        b = name.encode("utf-8")
        parts.append(len(b).to_bytes(2, "big") + b + tags[name])
    return b"".join(parts)


def state_digest(state: RefState, tags: dict[str, ObjectId]) -> bytes:
    """The digest equal ref states share (SHA-256 of `encode_state`)."""
    return digest(encode_state(state, tags))


def decode_state(payload: bytes, peer: str) -> tuple[RefState, dict[str, ObjectId]]:
    """Decode a state frame.

    Raises:
        ProtocolError: If it is malformed.
    """
    try:
        n = int.from_bytes(payload[:4], "big")
        if len(payload) < 8 + n:
            raise ProtocolError(f"{peer}: truncated ref state")
        state = RefState.from_bytes(payload[4 : 4 + n])
        pos = 4 + n
        count = int.from_bytes(payload[pos : pos + 4], "big")
        pos += 4
        tags: dict[str, ObjectId] = {}
        for _ in range(count):
            size = int.from_bytes(payload[pos : pos + 2], "big")
            name = payload[pos + 2 : pos + 2 + size].decode("utf-8")
            oid = payload[pos + 2 + size : pos + 2 + size + OID_LEN]
            if len(oid) != OID_LEN or not name or name in tags:
                raise ProtocolError(f"{peer}: malformed tag list in the ref state")
            tags[name] = ObjectId(oid)
            pos += 2 + size + OID_LEN
        if pos != len(payload):
            raise ProtocolError(f"{peer}: {len(payload) - pos} stray bytes after the ref state")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"{peer}: a tag name is not UTF-8") from exc
    except ProtocolError:
        raise
    except VcrdtError as exc:
        raise ProtocolError(f"{peer}: malformed ref state ({exc})") from exc
    return state, tags


# A compressed state decodes to at most this many bytes (100,000 branches of about 70 bytes fit many times).
MAX_STATE = 64 << 20


def state_kinds(version: int) -> tuple[int, ...]:
    """The frame types a ref state may come in from a peer speaking `version`."""
    return (STATE, STATE_Z) if version >= DESCENT else (STATE,)


def encode_state_frame(state: RefState, tags: dict[str, ObjectId], version: int) -> bytes:
    """A state frame for a peer speaking `version`: zstd-compressed (`STATE_Z`) from version 3 on.

    >>> s = RefState()
    >>> f = encode_state_frame(s, {}, DESCENT)
    >>> decode_state_frame(Frame(f[HEAD_SIZE - 1], f[HEAD_SIZE:]), "peer")[0] == s
    True
    """
    raw = encode_state(state, tags)
    if version < DESCENT:
        return encode(STATE, raw)
    return encode(STATE_Z, zstandard.ZstdCompressor(level=3).compress(raw))


def decode_state_frame(frame: Frame, peer: str) -> tuple[RefState, dict[str, ObjectId]]:
    """Decode a `STATE` or `STATE_Z` frame.

    A compressed state's declared size is checked against `MAX_STATE` before it is decoded, and
    its output is capped there (a decompression bomb costs nothing).

    Raises:
        ProtocolError: If the zstd frame is malformed, declares no size or more than `MAX_STATE`,
            does not decode to exactly its declared size, or the state in it is malformed.
    """
    if frame.kind == STATE:
        return decode_state(frame.payload, peer)
    try:
        declared = zstandard.frame_content_size(frame.payload)
    except zstandard.ZstdError as exc:
        raise ProtocolError(f"{peer}: compressed state: not a zstd frame ({exc})") from exc
    if not 0 <= declared <= MAX_STATE:
        raise ProtocolError(
            f"{peer}: compressed state declares {'no size' if declared < 0 else f'{declared} bytes'} "
            f"(at most {MAX_STATE})"
        )
    try:
        raw = zstandard.ZstdDecompressor().decompress(frame.payload, max_output_size=declared, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise ProtocolError(f"{peer}: compressed state does not decompress ({exc})") from exc
    if len(raw) != declared:
        raise ProtocolError(f"{peer}: compressed state decompresses to {len(raw)} bytes, not {declared}")
    return decode_state(raw, peer)


def encode_object_head(oid: ObjectId, kind: str, size: int, *, chunked: bool) -> bytes:
    """The fixed part of an object frame: id, kind code, size, flags."""
    return _OBJECT.pack(oid, KIND_CODES[kind], size, CHUNKED_FLAG if chunked else 0)


def decode_object_head(payload: bytes, peer: str) -> tuple[ObjectId, str, int, bool, bytes]:
    """Return the id, kind, size, whether chunks follow, and the inline zstd body of an object frame.

    Raises:
        ProtocolError: If the header is short or names an unknown kind.
    """
    if len(payload) < _OBJECT.size:
        raise ProtocolError(f"{peer}: object frame of {len(payload)} bytes, shorter than its header")
    oid, code, size, flags = _OBJECT.unpack_from(payload)
    kind = KINDS.get(code)
    if kind is None or flags & ~CHUNKED_FLAG:
        raise ProtocolError(f"{peer}: object {oid.hex()} has an unknown kind ({code}) or flags ({flags})")
    return ObjectId(oid), kind, size, bool(flags & CHUNKED_FLAG), payload[_OBJECT.size :]


def encode_prefixes(prefixes: Iterable[str]) -> bytes:
    """A prefixes frame's payload."""
    return b"".join(len(p).to_bytes(1, "big") + p.encode("ascii") for p in prefixes)


def decode_prefixes(payload: bytes, peer: str) -> list[str]:
    """The bucket names of a prefixes frame.

    Raises:
        ProtocolError: If one is not lowercase hex of at most `MAX_PREFIX` digits.
    """
    out: list[str] = []
    pos = 0
    while pos < len(payload):
        n = payload[pos]
        raw = payload[pos + 1 : pos + 1 + n]
        text = raw.decode("ascii", "replace")
        if len(raw) != n or n > MAX_PREFIX or any(c not in "0123456789abcdef" for c in text):
            raise ProtocolError(f"{peer}: malformed bucket name in a prefixes frame")
        out.append(text)
        pos += 1 + n
    return out


@value_class(frozen=True, init=False, repr=False, eq=False)
class Bucket(Value):
    """One side's answer for a bucket: its count, salted fingerprint, and its ids when given."""

    __slots__ = ("prefix", "count", "digest", "ids")  # noqa: RUF023 (field order)

    prefix: str
    count: int
    digest: bytes
    ids: tuple[ObjectId, ...] | None

    def __init__(self, prefix: str, count: int, digest: bytes, ids: tuple[ObjectId, ...] | None = None) -> None:
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "count", count)
        object.__setattr__(self, "digest", digest)
        object.__setattr__(self, "ids", ids)


def encode_bucket(b: Bucket) -> bytes:
    """A bucket frame."""
    head = len(b.prefix).to_bytes(1, "big") + b.prefix.encode("ascii") + b.count.to_bytes(8, "big") + b.digest
    if b.ids is None:
        return encode(BUCKET, head + b"\x00")
    return encode(BUCKET, head + b"\x01" + b"".join(b.ids))


def decode_bucket(payload: bytes, peer: str) -> Bucket:
    """Decode a bucket frame.

    Raises:
        ProtocolError: If it is malformed, or its ids are not sorted, unique and under its prefix.
    """
    n = payload[0] if payload else 0
    prefix = payload[1 : 1 + n].decode("ascii", "replace")
    pos = 1 + n
    if len(payload) < pos + 8 + 16 + 1 or any(c not in "0123456789abcdef" for c in prefix):
        raise ProtocolError(f"{peer}: malformed bucket frame")
    count = int.from_bytes(payload[pos : pos + 8], "big")
    fp = payload[pos + 8 : pos + 24]
    flag = payload[pos + 24]
    rest = payload[pos + 25 :]
    if flag == 0:
        if rest:
            raise ProtocolError(f"{peer}: stray bytes in a bucket frame")
        return Bucket(prefix, count, fp)
    ids = decode_ids(rest, peer)
    if ids != sorted(set(ids)) or len(ids) != count or any(not i.hex().startswith(prefix) for i in ids):
        raise ProtocolError(f"{peer}: the id list of bucket {prefix!r} is not its sorted, unique ids")
    return Bucket(prefix, count, fp, tuple(ids))


# --- packed objects and deltas (version 2) ----------------------------------------------------

# How a packed object names its base (the low 2 bits of its first byte; the kind code is above them).
BASE_NONE = 0  # the body is the object, zstd-compressed
BASE_BACK = 1  # a delta on an object earlier in this stream: varint distance back (1: the one before)
BASE_ID = 2  # a delta on an object the receiver holds: its 32-byte id
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# zstd level of packed objects and deltas (level 1 indexes too little of a dictionary).
PACK_LEVEL = 3
_BYTE = [bytes([i]) for i in range(256)]


def _varint(n: int) -> bytes:
    if 0 <= n < 0x80:
        return _BYTE[n]
    if 0 < n < 0x4000:  # a tree's or a commit's size, mostly: two bytes without the loop
        return bytes((n & 0x7F | 0x80, n >> 7))
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _read_varint(data: bytes, pos: int, peer: str) -> tuple[int, int]:
    if pos < len(data) and data[pos] < 0x80:
        return data[pos], pos + 1
    n = shift = 0
    for i in range(pos, min(len(data), pos + 10)):
        b = data[i]
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n, i + 1
        shift += 7
    raise ProtocolError(f"{peer}: a packed object frame has a malformed length")


@value_class(frozen=True, init=False, repr=False, eq=False)
class Packed(Value):
    """A packed object as it arrived: kind, size, base (None, a distance back, or an id), zstd frame."""

    __slots__ = ("kind", "size", "base", "data")  # noqa: RUF023 (field order)

    kind: str
    size: int
    base: int | ObjectId | None
    data: bytes

    def __init__(self, kind: str, size: int, base: int | ObjectId | None, data: bytes) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "data", data)


def object_kinds(version: int) -> tuple[int, ...]:
    """The frame types that start an object in a stream of this protocol version."""
    if version >= TREE_DELTAS:
        return (OBJECT, PACKED, TREE_DELTA)
    return (OBJECT, PACKED) if version >= DELTAS else (OBJECT,)


def encode_packed(kind: str, size: int, base: int | ObjectId | None, zframe: bytes) -> bytes:
    """A packed object frame (`zframe` a whole zstd frame; its 4-byte magic is left off the wire).

    >>> f = encode_packed("blob", 5, None, compressor().compress(b"hello"))
    >>> p = decode_packed(f[HEAD_SIZE:], "peer")
    >>> (p.kind, p.size, p.base, inflate(p.data, 5, "peer", "it"))
    ('blob', 5, None, b'hello')
    """
    if not zframe.startswith(ZSTD_MAGIC):
        raise ValueError("not a zstd frame")
    if base is None:
        head = bytes([KIND_CODES[kind] << 2 | BASE_NONE]) + _varint(size)
    elif isinstance(base, int):
        head = bytes([KIND_CODES[kind] << 2 | BASE_BACK]) + _varint(size) + _varint(base)
    else:
        head = bytes([KIND_CODES[kind] << 2 | BASE_ID]) + _varint(size) + base
    return encode(PACKED, head + zframe[len(ZSTD_MAGIC) :])


def decode_packed(payload: bytes, peer: str) -> Packed:
    """Decode a packed object frame (the zstd frame's magic restored).

    Raises:
        ProtocolError: If it is malformed, names an unknown kind, or declares more than `PIECE` bytes.
    """
    if not payload:
        raise ProtocolError(f"{peer}: an empty packed object frame")
    kind = KINDS.get(payload[0] >> 2)
    how = payload[0] & 3
    if kind is None or how > BASE_ID:
        raise ProtocolError(f"{peer}: a packed object of unknown kind or base ({payload[0]:#04x})")
    size, pos = _read_varint(payload, 1, peer)
    if size > PIECE:
        raise ProtocolError(f"{peer}: a packed {kind} of {size} bytes (at most {PIECE} travel packed)")
    base: int | ObjectId | None = None
    if how == BASE_BACK:
        base, pos = _read_varint(payload, pos, peer)
        if base < 1:
            raise ProtocolError(f"{peer}: a delta whose base is 0 objects back")
    elif how == BASE_ID:
        if len(payload) < pos + OID_LEN:
            raise ProtocolError(f"{peer}: a delta frame truncated in its base id")
        base = ObjectId(payload[pos : pos + OID_LEN])
        pos += OID_LEN
    return Packed(kind, size, base, ZSTD_MAGIC + payload[pos:])


def delta_base(frame: Frame) -> int | ObjectId | None:
    """The base a packed object or tree delta frame names (a distance back or an id); None if none or malformed.

    A quick look ahead (`FrameReader.ahead`): the frame is checked when it is received.
    """
    payload = frame.payload
    if frame.kind == TREE_DELTA:
        got = read_tree_delta(payload)
        if got is None:
            return None
        return got[0] if isinstance(got[0], int) else ObjectId(got[0])
    if frame.kind != PACKED or not payload:
        return None
    how = payload[0] & 3
    if how == BASE_NONE or how > BASE_ID:
        return None
    pos = 1
    while pos < len(payload) and payload[pos] & 0x80:
        pos += 1
    if how == BASE_BACK:
        try:
            return _read_varint(payload, pos + 1, "")[0]
        except ProtocolError:
            return None
    base = payload[pos + 1 : pos + 1 + OID_LEN]
    return ObjectId(base) if len(base) == OID_LEN else None


def compressor(base: bytes | None = None, size: int = 0) -> zstandard.ZstdCompressor:
    """A compressor for a packed object: plain, or with `base` as its raw-content dictionary.

    With a base the window covers base and body, so zstd finds copies anywhere in the base
    (`vcrdt.store.sqlite.delta_compressor`, the store's own deltas).
    """
    if base is None:
        return zstandard.ZstdCompressor(level=PACK_LEVEL)
    return delta_compressor(base, size, PACK_LEVEL)


def chunk_payloads(store: ObjectStore, oid: ObjectId, cctx: zstandard.ZstdCompressor) -> Iterator[bytes]:
    """The payloads of the `CHUNK` frames of an object over `PIECE` bytes: one zstd frame per `PIECE` bytes.

    An object a `SqliteStore` holds in chunks of `PIECE` bytes goes as its stored frames,
    neither decoded nor compressed again (the receiver hashes it, as any object). Otherwise
    each piece is compressed with `cctx`, or, when it looks incompressible (media, archives:
    `vcrdt.store.sqlite.incompressible`), sent as zstd raw blocks, which any zstd decoder
    reads and which cost a copy.
    """
    if isinstance(store, SqliteStore) and CHUNK_SIZE == PIECE:
        frames = store.chunk_frames(oid)
        if frames is not None:
            yield from frames
            return
    buf = b""
    for piece in store.iter_content(oid):
        if not buf and len(piece) == PIECE:
            yield compress_chunk(cctx, piece)
            continue
        buf += piece
        while len(buf) >= PIECE:
            yield compress_chunk(cctx, buf[:PIECE])
            buf = buf[PIECE:]
    if buf:
        yield compress_chunk(cctx, buf)


def delta(base: bytes, body: bytes) -> bytes:
    """`body` as a zstd frame compressed with `base` as its dictionary (`undelta` reverses it)."""
    return compressor(base, len(body)).compress(body)


class DeltaInflater:
    """One zstd decompression context reused for every delta, its base given as a raw-content prefix.

    python-zstandard makes a new context and dictionary for each delta (about 20 us, most of a
    small delta's decoding). zstd decodes a frame made with a raw-content dictionary the same
    with that content as a one-use prefix (``ZSTD_DCtx_refPrefix``), so one context serves
    every delta. It is reached through zstandard's cffi build, loaded alone (as
    `vcrdt.store.zstd` loads the C one); where that does not load, every call answers None.
    One thread's own.
    """

    def __init__(self) -> None:
        """Load zstandard's cffi build and make the context (none when it does not load)."""
        from vcrdt.extensions import load_alone

        module: Any = load_alone("zstandard", "_cffi", needs=("ffi", "lib"))
        self._ffi: Any = None
        self._lib: Any = None
        self._dctx: Any = None
        if module is not None:
            ffi, lib = module.ffi, module.lib
            made = lib.ZSTD_createDCtx()
            if made != ffi.NULL:
                self._ffi, self._lib, self._dctx = ffi, lib, ffi.gc(made, lib.ZSTD_freeDCtx)

    @property
    def loaded(self) -> bool:
        """Whether the context was made (otherwise every call answers None)."""
        return self._dctx is not None

    def __call__(self, base: bytes, data: bytes, size: int) -> bytes | None:
        """The `size` bytes the zstd frame `data` decodes to with `base` as its prefix; None when in doubt.

        None (the caller decodes it with python-zstandard, for the body or the error) unless
        `data` is one zstd frame and nothing more, declares `size` bytes and decodes to them.
        Nothing is written beyond `size` bytes.
        """
        dctx = self._dctx
        if dctx is None or not 0 < size <= PIECE or not data.startswith(ZSTD_MAGIC):
            return None
        ffi, lib = self._ffi, self._lib
        src = ffi.from_buffer(data)
        if lib.ZSTD_findFrameCompressedSize(src, len(data)) != len(data):
            return None
        if lib.ZSTD_getFrameContentSize(src, len(data)) != size:
            return None
        if lib.ZSTD_isError(lib.ZSTD_DCtx_refPrefix(dctx, ffi.from_buffer(base), len(base))):
            return None
        out = bytearray(size)
        n = lib.ZSTD_decompressDCtx(dctx, ffi.from_buffer(out), size, src, len(data))
        if lib.ZSTD_isError(n):
            lib.ZSTD_DCtx_reset(dctx, lib.ZSTD_reset_session_and_parameters)  # no prefix left behind
            return None
        return bytes(out) if n == size else None


def inflate(
    data: bytes,
    size: int,
    peer: str,
    what: str,
    base: bytes | None = None,
    plain: zstandard.ZstdDecompressor | None = None,
    deltas: DeltaInflater | None = None,
) -> bytes:
    """Decompress a packed object's zstd frame that must declare and hold exactly `size` bytes.

    The declared size is checked before anything is decoded (zstd allocates it at once), and
    the output is capped at `size`, so a decompression bomb costs nothing.

    `plain`: a decompressor without a dictionary to use when there is no `base` (one
    thread's own: it is not safe to share between threads). `deltas`: the context to
    decode a delta with (one thread's own too); what it does not decode is decoded here.

    Raises:
        ProtocolError: Naming `what`, if the frame is malformed, declares another size, or
            does not decode (with `base`, a delta on another base fails here).
    """
    try:
        declared = zstandard.frame_content_size(data)
    except zstandard.ZstdError as exc:
        raise ProtocolError(f"{peer}: {what}: not a zstd frame ({exc})") from exc
    if declared != size:
        raise ProtocolError(f"{peer}: {what}: its zstd frame declares {declared} bytes, not the {size} the object has")
    if base is not None and deltas is not None:
        got = deltas(base, data, size)
        if got is not None:
            return got
    try:
        if base is None:
            dctx = plain or zstandard.ZstdDecompressor()
        else:
            d = zstandard.ZstdCompressionDict(base, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            dctx = zstandard.ZstdDecompressor(dict_data=d)
        # Nothing may follow the frame: the receiver stores it as it came (`SqliteStore.put_encoded`).
        out: bytes = dctx.decompress(data, max_output_size=size, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise ProtocolError(f"{peer}: {what}: does not decompress ({exc})") from exc
    if len(out) != size:
        raise ProtocolError(f"{peer}: {what}: decompresses to {len(out)} bytes, not {size}")
    return out


def undelta(base: bytes, data: bytes, size: int) -> bytes:
    """Reverse `delta`: the body of `size` bytes.

    Raises:
        ProtocolError: If `data` is not a delta of that size on `base`.
    """
    return inflate(data, size, "delta", "object", base)


# --- the compact descent (version 3) ----------------------------------------------------------

DIGEST_LEN = 16
# Salted short ids: this many bytes of BLAKE2b keyed by the session salt; `OID_LEN` means the ids themselves.
SHORT_LEN = 4
# Widths a list or want frame may use: 1 to 8 bytes of salted hash, or whole ids.
WIDTHS = (*range(1, 9), OID_LEN)
# Entries of one list or want frame.
MAX_LIST = 4096
HEX = "0123456789abcdef"


def short_id(oid: ObjectId, salt: bytes, width: int) -> bytes:
    """An id's short form in a session: `width` bytes of BLAKE2b keyed by the salt (the id itself at 32).

    A peer cannot grind ids whose short forms collide without the salt, which the client
    draws at random for each session.

    >>> oid = ObjectId(bytes(32))
    >>> short_id(oid, b"salt" * 4, OID_LEN) == oid, len(short_id(oid, b"salt" * 4, 4))
    (True, 4)
    >>> short_id(oid, b"salt" * 4, 4) != short_id(oid, b"tlas" * 4, 4)
    True
    """
    if width == OID_LEN:
        return bytes(oid)
    import hashlib  # here: a command that does not sync never loads OpenSSL

    return hashlib.blake2b(oid, digest_size=width, key=salt[:64], person=b"vcrdt-short").digest()


def _prefix_head(prefix: str) -> bytes:
    return len(prefix).to_bytes(1, "big") + prefix.encode("ascii")


def _read_prefix(payload: bytes, peer: str, what: str, deepest: int = MAX_PREFIX) -> tuple[str, int]:
    n = payload[0] if payload else 0
    raw = payload[1 : 1 + n]
    text = raw.decode("ascii", "replace")
    if not payload or len(raw) != n or n > deepest or any(c not in HEX for c in text):
        raise ProtocolError(f"{peer}: malformed bucket name in a {what} frame")
    return text, 1 + n


@value_class(frozen=True, init=False, repr=False, eq=False)
class Children(Value):
    """A bucket's 16 children as one side holds them: (count, salted digest) each, in digit order."""

    __slots__ = ("prefix", "buckets")  # noqa: RUF023 (field order)

    prefix: str
    buckets: tuple[tuple[int, bytes], ...]

    def __init__(self, prefix: str, buckets: tuple[tuple[int, bytes], ...]) -> None:
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "buckets", buckets)


def encode_children(prefix: str, buckets: Iterable[tuple[int, bytes]]) -> bytes:
    """A children frame: the bucket's name, then each child's count (varint) and digest.

    >>> f = encode_children("a7", [(i, bytes(16)) for i in range(16)])
    >>> c = decode_children(f[HEAD_SIZE:], "peer")
    >>> c.prefix, c.buckets[15][0]
    ('a7', 15)
    """
    parts = [_prefix_head(prefix)]
    entries = list(buckets)
    if len(entries) != 16 or any(len(d) != DIGEST_LEN for _, d in entries):
        raise ValueError("a children frame holds 16 digests")
    for count, d in entries:
        parts.append(_varint(count) + d)
    return encode(CHILDREN, b"".join(parts))


def decode_children(payload: bytes, peer: str) -> Children:
    """Decode a children frame.

    Raises:
        ProtocolError: If the name is malformed or too deep for children, or it does not hold
            exactly 16 counts and digests.
    """
    prefix, pos = _read_prefix(payload, peer, "children", MAX_PREFIX - 1)
    out: list[tuple[int, bytes]] = []
    for _ in range(16):
        if pos >= len(payload):
            raise ProtocolError(f"{peer}: truncated children frame for bucket {prefix!r}")
        count, pos = _read_varint(payload, pos, peer)
        d = payload[pos : pos + DIGEST_LEN]
        if len(d) != DIGEST_LEN or count >= 1 << 63:
            raise ProtocolError(f"{peer}: truncated children frame for bucket {prefix!r}")
        out.append((count, d))
        pos += DIGEST_LEN
    if pos != len(payload):
        raise ProtocolError(f"{peer}: stray bytes in the children frame for bucket {prefix!r}")
    return Children(prefix, tuple(out))


@value_class(frozen=True, init=False, repr=False, eq=False)
class Listing(Value):
    """A list frame (a bucket's count, digest and short ids) or a want frame (short ids only)."""

    __slots__ = ("prefix", "width", "shorts", "count", "digest")  # noqa: RUF023 (field order)

    prefix: str
    width: int
    shorts: tuple[bytes, ...]
    count: int
    digest: bytes

    def __init__(self, prefix: str, width: int, shorts: tuple[bytes, ...], count: int = 0, digest: bytes = b"") -> None:
        object.__setattr__(self, "prefix", prefix)
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "shorts", shorts)
        object.__setattr__(self, "count", count)
        object.__setattr__(self, "digest", digest)


def encode_listing(
    kind: int, prefix: str, width: int, shorts: Iterable[bytes], count: int = 0, d: bytes = b""
) -> bytes:
    """A list frame (`LIST`, with the sender's count and digest) or a want frame (`WANT`).

    The short ids are sent sorted and unique.

    >>> f = encode_listing(WANT, "a7", 4, [b"wxyz", b"abcd"])
    >>> decode_listing(WANT, f[HEAD_SIZE:], "peer").shorts
    (b'abcd', b'wxyz')
    """
    ordered = sorted(set(shorts))
    head = _prefix_head(prefix) + bytes([width])
    if kind == LIST:
        if len(d) != DIGEST_LEN:
            raise ValueError("a list frame carries the bucket's digest")
        head += _varint(count) + d
    return encode(kind, head + _varint(len(ordered)) + b"".join(ordered))


def decode_listing(kind: int, payload: bytes, peer: str) -> Listing:
    """Decode a list or want frame.

    Raises:
        ProtocolError: If it is truncated or has stray bytes, its width is not one of `WIDTHS`,
            it holds more than `MAX_LIST` entries, its short ids are not sorted and unique, or
            (whole ids) one is not under its bucket, or a list holds more ids than its count.
    """
    what = NAMES[kind]
    prefix, pos = _read_prefix(payload, peer, what)
    if pos >= len(payload):
        raise ProtocolError(f"{peer}: truncated {what} frame for bucket {prefix!r}")
    width = payload[pos]
    pos += 1
    if width not in WIDTHS:
        raise ProtocolError(f"{peer}: a {what} frame with short ids of {width} bytes (1 to 8, or {OID_LEN})")
    count, d = 0, b""
    if kind == LIST:
        count, pos = _read_varint(payload, pos, peer)
        d = payload[pos : pos + DIGEST_LEN]
        pos += DIGEST_LEN
        if len(d) != DIGEST_LEN:
            raise ProtocolError(f"{peer}: truncated {what} frame for bucket {prefix!r}")
    n, pos = _read_varint(payload, pos, peer)
    if n > MAX_LIST:
        raise ProtocolError(f"{peer}: a {what} frame of {n} entries (at most {MAX_LIST})")
    if len(payload) - pos != n * width:
        raise ProtocolError(
            f"{peer}: {what} frame for bucket {prefix!r} holds {len(payload) - pos} bytes, not {n} x {width}"
        )
    shorts = tuple(payload[i : i + width] for i in range(pos, len(payload), width))
    if any(a >= b for a, b in itertools.pairwise(shorts)):
        raise ProtocolError(f"{peer}: the short ids of bucket {prefix!r} are not sorted and unique")
    if width == OID_LEN and any(not s.hex().startswith(prefix) for s in shorts):
        raise ProtocolError(f"{peer}: an id outside bucket {prefix!r} in a {what} frame")
    if kind == LIST and n > count:
        raise ProtocolError(f"{peer}: a list frame of {n} ids for bucket {prefix!r} of {count}")
    return Listing(prefix, width, shorts, count, d)


# --- tree deltas (version 4) ------------------------------------------------------------------

# An entry kind's code in a tree delta, by the word that spells it in a tree body (4 bytes each).
ENTRY_CODES = {b"file": 1, b"exec": 2, b"link": 3, b"tree": 4, b"subm": 5}
ENTRY_WORDS = {v: k for k, v in ENTRY_CODES.items()}


# The entry patterns of the Python twin are compiled on first use (`cache`): compiling them costs
# every `serve --stdio` and every fetch millions of instructions at start-up, mostly for nothing
# (the C twin splits trees where it is built).
@cache
def entry_pattern(strict: bool) -> re.Pattern[bytes]:
    """One entry of a tree body: kind word, space, name, NUL, id (`split_tree`); not `strict`, any name.

    Any name (empty, or with a ``/``): a sender reads its trees by it and leaves the rules to the receiver.
    """
    import re  # here: `re` loads `enum`, millions of instructions a session that splits no tree in Python never needs

    name = rb"[^\0/]+" if strict else rb"[^\0]*"
    return re.compile(rb"(?:" + b"|".join(ENTRY_CODES) + rb") " + name + rb"\0.{32}", re.DOTALL)


# The fewest bytes an inserted entry takes in a tree delta (position, kind, name length, 1-byte name, id).
_MIN_INSERT = 1 + 1 + 1 + 1 + OID_LEN
_WORD_LEN = 4
_NAME_AT = _WORD_LEN + 1
_ID_AT = -OID_LEN
_NAME_END = -OID_LEN - 1


def split_tree(body: bytes) -> list[bytes] | None:
    """A tree body's entries as their raw bytes (``word name\\0id``), or None if they do not tile it.

    Names are not checked against the path rules here (a receiver checks those of new entries).

    >>> a, b = b"file a\\0" + bytes(32), b"tree b\\0" + bytes(32)
    >>> split_tree(a + b) == [a, b]
    True
    >>> split_tree(b"file a\\0" + bytes(31)) is None
    True
    """
    return split_raw(body, True)


def split_tree_py(body: bytes, strict: bool) -> list[bytes] | None:
    """`split_tree` (`strict`: names not empty, without ``/``) or, not `strict`, any name: the C twin's reference."""
    found: list[bytes] = entry_pattern(strict).findall(body)
    return found if sum(map(len, found)) == len(body) else None


def entry_name(entry: bytes) -> bytes:
    """The name of a raw tree entry."""
    return entry[_NAME_AT:_NAME_END]


@value_class(frozen=True, init=False, repr=False, eq=False)
class TreeDelta(Value):
    """A tree delta as it arrived: the base (a distance back, or an id), the tree's size, and the edits.

    `replaced`: ``(position in the base, kind word, id)``, the entry keeping its name;
    `removed`: positions in the base; `inserted`: ``(position in the new tree, raw entry)``.
    Each list is in ascending order of its positions.
    """

    __slots__ = ("base", "size", "replaced", "removed", "inserted")  # noqa: RUF023 (field order)

    base: int | ObjectId
    size: int
    replaced: tuple[tuple[int, bytes, bytes], ...]
    removed: tuple[int, ...]
    inserted: tuple[tuple[int, bytes], ...]

    def __init__(
        self,
        base: int | ObjectId,
        size: int,
        replaced: tuple[tuple[int, bytes, bytes], ...],
        removed: tuple[int, ...],
        inserted: tuple[tuple[int, bytes], ...],
    ) -> None:
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "replaced", replaced)
        object.__setattr__(self, "removed", removed)
        object.__setattr__(self, "inserted", inserted)


def diff_trees(
    base: list[bytes], new: list[bytes]
) -> tuple[list[tuple[int, bytes, bytes]], list[int], list[tuple[int, bytes]]]:
    """The edits turning the entries of `base` into those of `new` (both sorted by name): `TreeDelta`'s lists.

    An entry whose name stays and whose kind or id changes is replaced; other entries of `base`
    not in `new` are removed, other entries of `new` not in `base` inserted.
    """
    new_set = set(new)
    gone = set(base).difference(new_set)
    came = new_set.difference(base)
    if len(gone) < 16:
        gone_at = {e: base.index(e) for e in gone}
    else:
        gone_at = {e: i for i, e in enumerate(base) if e in gone}
    if len(came) < 16:
        came_at = {e: new.index(e) for e in came}
    else:
        came_at = {e: i for i, e in enumerate(new) if e in came}
    by_name = {entry_name(e): i for e, i in gone_at.items()}
    replaced: list[tuple[int, bytes, bytes]] = []
    inserted: list[tuple[int, bytes]] = []
    for e, i in came_at.items():
        at = by_name.pop(entry_name(e), None)
        if at is None:
            inserted.append((i, e))
        else:
            replaced.append((at, e[:_WORD_LEN], e[_ID_AT:]))
    replaced.sort()
    inserted.sort()
    return replaced, sorted(by_name.values()), inserted


def encode_tree_delta(
    base: int | ObjectId,
    size: int,
    replaced: Iterable[tuple[int, bytes, bytes]],
    removed: Iterable[int],
    inserted: Iterable[tuple[int, bytes]],
) -> bytes:
    """A tree delta frame (`TREE_DELTA`): `size` is the new tree's, the edits as `diff_trees` returns them.

    >>> old = [b"file a\\0" + bytes(31) + b"\\1", b"file b\\0" + bytes(31) + b"\\2"]
    >>> new = [b"file a\\0" + bytes(31) + b"\\3", b"tree c\\0" + bytes(31) + b"\\4"]
    >>> f = encode_tree_delta(1, sum(map(len, new)), *diff_trees(old, new))
    >>> apply_tree_delta(old, decode_tree_delta(f[HEAD_SIZE:], "peer"), "peer", "it")[0] == new
    True
    """
    head = bytes([BASE_BACK]) + _varint(base) if isinstance(base, int) else bytes([BASE_ID]) + base
    return encode(TREE_DELTA, head + _varint(size) + _edits(replaced, removed, inserted))


def _edits(
    replaced: Iterable[tuple[int, bytes, bytes]], removed: Iterable[int], inserted: Iterable[tuple[int, bytes]]
) -> bytes:
    """The edits part of a tree delta (counts and lists, docs/protocol.md)."""
    reps = list(replaced)
    parts = [_varint(len(reps))]
    parts += [_varint(at) + bytes([ENTRY_CODES[word]]) + oid for at, word, oid in reps]
    dels = list(removed)
    parts.append(_varint(len(dels)))
    parts += [_varint(at) for at in dels]
    ins = list(inserted)
    parts.append(_varint(len(ins)))
    for at, entry in ins:
        name = entry_name(entry)
        parts.append(_varint(at) + bytes([ENTRY_CODES[entry[:_WORD_LEN]]]) + _varint(len(name)) + name + entry[_ID_AT:])
    return b"".join(parts)


def tree_delta_frame(base: int | ObjectId, size: int, old: list[bytes], new: list[bytes]) -> bytes:
    """The tree delta frame turning the raw entries `old` (the base's) into `new` (a tree of `size` bytes).

    The same frame as `encode_tree_delta` of `diff_trees` (the C twin makes the edits when it can).

    >>> old = [b"file a\\0" + bytes(31) + b"\\1", b"file b\\0" + bytes(31) + b"\\2"]
    >>> new = [b"file a\\0" + bytes(31) + b"\\3", b"tree c\\0" + bytes(31) + b"\\4"]
    >>> tree_delta_frame(1, 76, old, new) == encode_tree_delta(1, 76, *diff_trees(old, new))
    True
    """
    edits = delta_edits(old, new)
    if edits is None:
        edits = delta_edits_py(old, new)
    head = bytes([BASE_BACK]) + _varint(base) if isinstance(base, int) else bytes([BASE_ID]) + base
    return encode(TREE_DELTA, head + _varint(size) + edits)


def delta_edits_py(old: list[bytes], new: list[bytes]) -> bytes:
    """The edits part of the tree delta turning `old` into `new` (`diff_trees`, encoded): the C twin's reference."""
    return _edits(*diff_trees(old, new))


def changed_entries(new: list[bytes], olds: list[list[bytes]]) -> list[int]:
    """The positions of the raw entries of `new` that are in none of `olds` (by their bytes), ascending."""
    got = changed(new, olds)
    return got if got is not None else changed_entries_py(new, olds)


def changed_entries_py(new: list[bytes], olds: list[list[bytes]]) -> list[int]:
    """`changed_entries` in Python: the C twin's reference."""
    gone = set(new).difference(*olds)
    return [i for i, e in enumerate(new) if e in gone]


def decode_tree_delta(payload: bytes, peer: str) -> TreeDelta:
    """Decode a tree delta frame (its positions are checked against the base by `apply_tree_delta`).

    Raises:
        ProtocolError: If it is truncated or has stray bytes, names its base in an unknown way
            or 0 objects back, declares more than `PIECE` bytes, names an unknown entry kind,
            holds an empty name or one with a NUL or ``/``, or its positions are not ascending
            and unique, or it announces more entries than its payload can hold.
    """
    what = f"{peer}: a tree delta frame"
    if not payload or payload[0] not in (BASE_BACK, BASE_ID):
        raise ProtocolError(f"{what} names its base in an unknown way")
    pos = 1
    base: int | ObjectId
    if payload[0] == BASE_BACK:
        base, pos = _read_varint(payload, pos, peer)
        if base < 1:
            raise ProtocolError(f"{what} has a base 0 objects back")
    else:
        if len(payload) < pos + OID_LEN:
            raise ProtocolError(f"{what} is truncated in its base id")
        base = ObjectId(payload[pos : pos + OID_LEN])
        pos += OID_LEN
    size, pos = _read_varint(payload, pos, peer)
    if size > PIECE:
        raise ProtocolError(f"{what} declares a tree of {size} bytes (at most {PIECE} travel as deltas)")
    end = len(payload)

    def count(least: int, name: str) -> int:
        nonlocal pos
        n, pos = _read_varint(payload, pos, peer)
        if n * least > end - pos:
            raise ProtocolError(f"{what} announces {n} {name}, more than its {end - pos} bytes left can hold")
        return n

    def ascending(at: int, last: int, name: str) -> None:
        if at <= last:
            raise ProtocolError(f"{what} lists {name} positions out of order or twice ({at} after {last})")

    def kind_word(code: int) -> bytes:
        word = ENTRY_WORDS.get(code)
        if word is None:
            raise ProtocolError(f"{what} names an unknown entry kind ({code})")
        return word

    replaced: list[tuple[int, bytes, bytes]] = []
    last = -1
    for _ in range(count(2 + OID_LEN, "replaced entries")):
        at, pos = _read_varint(payload, pos, peer)
        ascending(at, last, "replaced")
        last = at
        if pos + 1 + OID_LEN > end:
            raise ProtocolError(f"{what} is truncated in a replaced entry")
        replaced.append((at, kind_word(payload[pos]), payload[pos + 1 : pos + 1 + OID_LEN]))
        pos += 1 + OID_LEN
    removed: list[int] = []
    last = -1
    for _ in range(count(1, "removed entries")):
        at, pos = _read_varint(payload, pos, peer)
        ascending(at, last, "removed")
        removed.append(last := at)
    inserted: list[tuple[int, bytes]] = []
    last = -1
    for _ in range(count(_MIN_INSERT, "inserted entries")):
        at, pos = _read_varint(payload, pos, peer)
        ascending(at, last, "inserted")
        last = at
        if pos >= end:
            raise ProtocolError(f"{what} is truncated in an inserted entry")
        word = kind_word(payload[pos])
        n, pos = _read_varint(payload, pos + 1, peer)
        name = payload[pos : pos + n]
        oid = payload[pos + n : pos + n + OID_LEN]
        if len(oid) != OID_LEN:
            raise ProtocolError(f"{what} is truncated in an inserted entry")
        if not name or b"\0" in name or b"/" in name:
            raise ProtocolError(f"{what} inserts an entry with an empty name or a NUL or '/' in it")
        inserted.append((at, word + b" " + name + b"\0" + oid))
        pos += n + OID_LEN
    if pos != end:
        raise ProtocolError(f"{what} has {end - pos} stray bytes after its last entry")
    return TreeDelta(base, size, tuple(replaced), tuple(removed), tuple(inserted))


def apply_tree_delta(base: list[bytes], d: TreeDelta, peer: str, what: str) -> tuple[list[bytes], list[bytes]]:
    """The entries of the tree a delta makes of `base`'s (raw entries), and the entries it added.

    The new tree's names are checked to be sorted and unique where the delta changed the
    order (around each inserted entry; replaced entries keep their names, removals keep the
    order), and its size against the size the delta declares. Nothing else of the new entries
    is checked here (names against the path rules, ids): the receiver checks those.

    Raises:
        ProtocolError: Naming `what`, if a position is outside the base (or the new tree), a
            position is both replaced and removed, the names are not sorted and unique, or the
            tree is not of the declared size.
    """
    entries = list(base)
    n = len(entries)
    added: list[bytes] = []
    for at, word, oid in d.replaced:
        if at >= n:
            raise ProtocolError(f"{peer}: {what}: replaces entry {at} of a base of {n} entries")
        old = entries[at]
        entries[at] = new = word + old[_WORD_LEN:_ID_AT] + oid
        added.append(new)
    if d.removed:
        if d.removed[-1] >= n:
            raise ProtocolError(f"{peer}: {what}: removes entry {d.removed[-1]} of a base of {n} entries")
        gone = set(d.removed)
        if d.replaced and not gone.isdisjoint(at for at, _, _ in d.replaced):
            raise ProtocolError(f"{peer}: {what}: replaces and removes the same entry")
        entries = [e for i, e in enumerate(entries) if i not in gone]
    for at, entry in d.inserted:
        if at > len(entries):
            raise ProtocolError(f"{peer}: {what}: inserts at position {at} of a tree of {len(entries)} entries")
        entries.insert(at, entry)
        added.append(entry)
    for at, _ in d.inserted:
        name = entry_name(entries[at])
        if (at and entry_name(entries[at - 1]) >= name) or (
            at + 1 < len(entries) and name >= entry_name(entries[at + 1])
        ):
            raise ProtocolError(f"{peer}: {what}: its entries are not sorted by name and unique after applying it")
    size = sum(map(len, entries))
    if size != d.size:
        raise ProtocolError(f"{peer}: {what}: makes a tree of {size} bytes, not the {d.size} it declares")
    return entries, added


def read_tree_delta_head(payload: bytes, peer: str) -> tuple[int | ObjectId, int]:
    """A tree delta frame's base and size, the whole frame checked as `decode_tree_delta` checks it.

    Raises:
        ProtocolError: As `decode_tree_delta`.
    """
    got = read_tree_delta(payload)
    if got is None:
        d = decode_tree_delta(payload, peer)
        return d.base, d.size
    base, size = got
    return (base if isinstance(base, int) else ObjectId(base)), size


def apply_tree_delta_frame(
    payload: bytes, base: list[bytes], peer: str, what: str
) -> tuple[list[bytes], bytes, list[bytes]]:
    """A tree delta frame applied to `base`'s raw entries: the new entries, the new body, the entries added.

    As `apply_tree_delta` of `decode_tree_delta`, the body the entries joined.

    Raises:
        ProtocolError: As `decode_tree_delta` and `apply_tree_delta`.
    """
    got = apply_delta(payload, base)
    if got is None:
        entries, added = apply_tree_delta(base, decode_tree_delta(payload, peer), peer, what)
        return entries, b"".join(entries), added
    return got


def read_tree_delta_py(payload: bytes) -> tuple[int | bytes, int] | None:
    """`read_tree_delta_head` in Python, None for a frame it refuses: the C twin's reference."""
    try:
        d = decode_tree_delta(payload, "peer")
    except ProtocolError:
        return None
    return d.base, d.size


def apply_delta_py(payload: bytes, base: list[bytes]) -> tuple[list[bytes], bytes, list[bytes]] | None:
    """`apply_tree_delta_frame` in Python, None for a frame it refuses: the C twin's reference."""
    try:
        entries, added = apply_tree_delta(base, decode_tree_delta(payload, "peer"), "peer", "it")
    except ProtocolError:
        return None
    return entries, b"".join(entries), added


# The ones used (tests switch them to compare the twins): the C twins answer None where the Python
# twins would refuse or where they leave the answer to them (see vcrdt/sync/_trees.c).
split_raw: Callable[[bytes, bool], list[bytes] | None] = split_tree_py
changed: Callable[[list[bytes], list[list[bytes]]], list[int] | None] = changed_entries_py
delta_edits: Callable[[list[bytes], list[bytes]], bytes | None] = delta_edits_py
read_tree_delta: Callable[[bytes], tuple[int | bytes, int] | None] = read_tree_delta_py
apply_delta: Callable[[bytes, list[bytes]], tuple[list[bytes], bytes, list[bytes]] | None] = apply_delta_py
try:  # the C twins (vcrdt/sync/_trees.c), built by `pip install` when a C compiler is there
    from vcrdt.sync._trees import apply_tree_delta as apply_delta
    from vcrdt.sync._trees import changed, delta_edits, read_tree_delta
    from vcrdt.sync._trees import split_tree as split_raw
except ImportError:  # pragma: no cover - an install without a C compiler works in Python
    pass
