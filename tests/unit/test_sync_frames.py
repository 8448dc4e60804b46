"""The sync wire format: frames and messages round-trip; truncated, oversized and unknown frames are refused."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vcrdt.crdt.refstate import Dot, Entry, RefState
from vcrdt.errors import ProtocolError
from vcrdt.ids import ObjectId
from vcrdt.sync import frames as F
from vcrdt.sync.limits import SyncLimits

LIMITS = SyncLimits(max_frame_size=1 << 16, max_frames=50)
KINDS = sorted(F.NAMES.keys() - {F.ERROR})
ids = st.binary(min_size=32, max_size=32).map(ObjectId)


def _reader(data: bytes, limits: SyncLimits = LIMITS) -> F.FrameReader:
    return F.FrameReader(io.BytesIO(data).read, limits, "peer")


@given(st.lists(st.tuples(st.sampled_from(KINDS), st.binary(max_size=2000)), max_size=20))
def test_frames_round_trip(frames: list[tuple[int, bytes]]) -> None:
    data = b"".join(F.encode(k, p) for k, p in frames)
    r = _reader(data)
    got = []
    while (f := r.next(allow_eof=True)) is not None:
        got.append((f.kind, f.payload))
    assert got == frames
    assert r.bytes == len(data) and r.frames == len(frames)


@given(st.lists(st.tuples(st.sampled_from(KINDS), st.binary(max_size=300)), min_size=1, max_size=5), st.data())
def test_truncated_input_is_refused(frames: list[tuple[int, bytes]], data: st.DataObject) -> None:
    whole = b"".join(F.encode(k, p) for k, p in frames)
    cut = data.draw(st.integers(1, len(whole) - 1))
    r = _reader(whole[:cut])
    # Where a frame is due, the end of the input is a truncation (at a frame boundary too).
    with pytest.raises(ProtocolError, match="peer: truncated"):
        for _ in frames:
            r.next()


def test_oversized_frame_is_refused_before_it_is_read() -> None:
    # The header declares 1 GiB; nothing after it is there to read.
    r = _reader((1 << 30).to_bytes(4, "big") + bytes([F.OBJECT]))
    with pytest.raises(ProtocolError, match=r"object frame of 1073741824 bytes, more than limits.max_frame_size"):
        r.next()


def test_unknown_frame_type_and_too_many_frames_are_refused() -> None:
    with pytest.raises(ProtocolError, match="unknown frame type 0x7a"):
        _reader(F.encode(ord("z"), b"")).next()
    r = _reader(F.encode(F.END) * 51)
    with pytest.raises(ProtocolError, match=r"more than limits.max_frames \(50\)"):
        for _ in range(51):
            r.next()


def test_error_frame_raises_with_the_peers_message() -> None:
    with pytest.raises(F.PeerError, match=r"^peer: no such thing$"):
        _reader(F.encode(F.ERROR, b"no such thing")).next()


@st.composite
def states(draw: st.DrawFn) -> RefState:
    """Ref states that keep the invariants: each entry's dot unique and in the context."""
    replicas = ["a" * 32, "b" * 32]
    counters = dict.fromkeys(replicas, 0)
    branches: dict[str, frozenset[Entry]] = {}
    for name in draw(st.lists(st.sampled_from(["main", "dev", "feature/x"]), unique=True, max_size=3)):
        entries = set()
        for _ in range(draw(st.integers(1, 3))):
            r = draw(st.sampled_from(replicas))
            counters[r] += 1
            entries.add(Entry(Dot(r, counters[r]), draw(ids)))
        branches[name] = frozenset(entries)
    context = {r: c + draw(st.integers(0, 2)) for r, c in counters.items()}
    return RefState(dict(sorted(branches.items())), {r: c for r, c in sorted(context.items()) if c})


tags = st.dictionaries(st.sampled_from(["v1", "v2.0", "r/é"]), ids, max_size=3)


@given(states(), tags)
def test_state_round_trip_and_digest(state: RefState, tagged: dict[str, ObjectId]) -> None:
    payload = F.encode_state(state, tagged)
    assert F.decode_state(payload, "peer") == (state, tagged)
    assert F.state_digest(state, tagged) == F.state_digest(*F.decode_state(payload, "peer"))


@given(states(), tags, st.data())
def test_truncated_state_is_refused(state: RefState, tagged: dict[str, ObjectId], data: st.DataObject) -> None:
    payload = F.encode_state(state, tagged)
    cut = data.draw(st.integers(0, len(payload) - 1))
    with pytest.raises(ProtocolError):
        F.decode_state(payload[:cut], "peer")


@given(ids, st.sampled_from(["blob", "tree", "commit"]), st.integers(0, 2**40), st.booleans(), st.binary(max_size=50))
def test_object_header_round_trip(oid: ObjectId, kind: str, size: int, chunked: bool, body: bytes) -> None:
    payload = F.encode_object_head(oid, kind, size, chunked=chunked) + body
    assert F.decode_object_head(payload, "peer") == (oid, kind, size, chunked, body)


@given(st.lists(st.text("0123456789abcdef", max_size=F.MAX_PREFIX), max_size=20))
def test_prefixes_round_trip(prefixes: list[str]) -> None:
    assert F.decode_prefixes(F.encode_prefixes(prefixes), "peer") == prefixes


@given(st.text("0123456789abcdef", max_size=4), st.integers(0, 2**40), st.binary(min_size=16, max_size=16))
def test_bucket_round_trip(prefix: str, count: int, digest: bytes) -> None:
    b = F.Bucket(prefix, count, digest)
    frame = _reader(F.encode_bucket(b)).next()
    assert frame is not None and F.decode_bucket(frame.payload, "peer") == b


def test_bucket_ids_must_be_sorted_unique_and_under_the_prefix() -> None:
    a, b = ObjectId(b"\xa0" + bytes(31)), ObjectId(b"\xa1" + bytes(31))
    good = F.Bucket("a", 2, bytes(16), (a, b))
    assert F.decode_bucket(F.encode_bucket(good)[F.HEAD_SIZE :], "peer") == good
    for bad in [(b, a), (a, a), (a, ObjectId(b"\xb0" + bytes(31)))]:
        with pytest.raises(ProtocolError, match="is not its sorted, unique ids"):
            F.decode_bucket(F.encode_bucket(F.Bucket("a", 2, bytes(16), bad))[F.HEAD_SIZE :], "peer")


def test_hello_negotiates_the_highest_shared_version() -> None:
    frame = _reader(F.hello("refs", want=True)).next()
    assert frame is not None
    version, fields = F.read_hello(frame, "peer")
    assert version == F.VERSION and fields["op"] == "refs" and fields["want"] is True
    with pytest.raises(ProtocolError, match=r"no shared protocol version \(it speaks \[99\]"):
        F.read_hello(F.Frame(F.HELLO, b'{"v":[99],"op":"refs"}'), "peer")
    with pytest.raises(ProtocolError, match="not JSON"):
        F.read_hello(F.Frame(F.HELLO, b"\xff"), "peer")


@given(st.lists(st.binary(min_size=1, max_size=50), max_size=20), st.lists(st.integers(1, 40), min_size=1))
def test_a_buffered_read_hands_out_the_stream_in_order(pieces: list[bytes], sizes: list[int]) -> None:
    from vcrdt.sync.transport import buffered

    source = iter(pieces)
    asked: list[int] = []

    def read(n: int) -> bytes:
        asked.append(n)
        return next(source, b"")

    got = bytearray()
    read_some = buffered(read)
    for i in range(1000):
        n = sizes[i % len(sizes)]
        out = read_some(n)
        assert len(out) <= n
        if not out:
            break
        got += out
    assert bytes(got) == b"".join(pieces)
