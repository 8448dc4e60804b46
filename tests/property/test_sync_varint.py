"""The varints of packed and tree delta frames: LEB128, read back as written."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vcrdt.sync import frames as F


def _leb128(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


@given(st.integers(0, 0x3FFF) | st.integers(0, 2**63 - 1) | st.sampled_from([0x7F, 0x80, 0x3FFF, 0x4000, 2**63 - 1]))
def test_varints_are_leb128_and_read_back(n: int) -> None:
    got = F._varint(n)
    assert got == _leb128(n)
    assert F._read_varint(got + b"tail", 0, "peer") == (n, len(got))
