"""The reused delta context (`frames.DeltaInflater`) decodes what python-zstandard decodes, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.errors import ProtocolError
from vcrdt.sync import frames as F

_INFLATER = F.DeltaInflater()


def _reference(base: bytes, data: bytes, size: int) -> bytes | None:
    """What `inflate` gives without the reused context (python-zstandard's own), None where it refuses."""
    try:
        return F.inflate(data, size, "peer", "it", base)
    except ProtocolError:
        return None


def _same(base: bytes, data: bytes, size: int) -> None:
    got = _INFLATER(base, data, size)
    if got is not None:
        assert got == _reference(base, data, size)
    # With the context `inflate` gives what it gives without, or refuses with the same message.
    try:
        expected: bytes | str = F.inflate(data, size, "peer", "it", base)
    except ProtocolError as exc:
        expected = str(exc)
    try:
        actual: bytes | str = F.inflate(data, size, "peer", "it", base, deltas=_INFLATER)
    except ProtocolError as exc:
        actual = str(exc)
    assert actual == expected


_TEXT = st.lists(st.sampled_from([b"alpha ", b"beta\n", b"gamma ", b"delta\n", b"\0", b"x" * 40]), max_size=200).map(
    b"".join
)


@st.composite
def deltas(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    """A base, a body made from it with a few edits, and the body as a delta on the base."""
    base = draw(_TEXT)
    body = bytearray(base)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(body)))
        body[at:at] = draw(_TEXT)
    if not body:
        body = bytearray(b"y")
    return base, bytes(body), F.delta(base, bytes(body)) if base else F.compressor().compress(bytes(body))


@settings(max_examples=300, deadline=None)
@given(deltas())
def test_good_deltas_decode_the_same(case: tuple[bytes, bytes, bytes]) -> None:
    base, body, data = case
    if base and _INFLATER.loaded:
        assert _INFLATER(base, data, len(body)) == body
    _same(base, data, len(body))


@settings(max_examples=400, deadline=None)
@given(deltas(), st.data())
def test_damaged_deltas_are_refused_or_decoded_the_same(case: tuple[bytes, bytes, bytes], data: st.DataObject) -> None:
    base, body, frame = case
    how = data.draw(st.sampled_from(["flip", "cut", "append", "base", "size", "skippable"]))
    size = len(body)
    if how == "flip":
        at = data.draw(st.integers(0, len(frame) - 1))
        frame = frame[:at] + bytes([frame[at] ^ data.draw(st.integers(1, 255))]) + frame[at + 1 :]
    elif how == "cut":
        frame = frame[: data.draw(st.integers(0, len(frame) - 1))]
    elif how == "append":
        frame += data.draw(st.binary(min_size=1, max_size=20)) if data.draw(st.booleans()) else frame
    elif how == "base":
        base = data.draw(_TEXT)
    elif how == "size":
        size = data.draw(st.integers(0, 2 * size + 2))
    else:  # a skippable frame after it (zstd itself would skip it)
        frame += b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + b"skip"
    _same(base, frame, size)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.binary(max_size=200), st.integers(0, 300))
def test_random_input_is_refused_or_decoded_the_same(base: bytes, data: bytes, size: int) -> None:
    _same(base, F.ZSTD_MAGIC + data, size)
    _same(base, data, size)


def test_without_the_cffi_build_every_delta_is_left_to_python_zstandard(monkeypatch: pytest.MonkeyPatch) -> None:
    import vcrdt.extensions

    monkeypatch.setattr(vcrdt.extensions, "load_alone", lambda *a, **k: None)
    alone = F.DeltaInflater()
    base, body = b"some base text\n" * 20, b"some base text\n" * 21
    data = F.delta(base, body)
    assert not alone.loaded
    assert alone(base, data, len(body)) is None
    assert F.inflate(data, len(body), "peer", "it", base, deltas=alone) == body
