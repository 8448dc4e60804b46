"""Ids and their text forms: one spelling per id, everything else refused."""

from __future__ import annotations

import pytest

from vcrdt.errors import CorruptObjectError, ObjectError
from vcrdt.ids import (
    HEX_LEN,
    OID_LEN,
    SHORT_LEN,
    ZERO_ID,
    ObjectId,
    check_oid,
    from_hex,
    is_hex_id,
    is_replica_id,
    short,
    to_hex,
)

HELLO_HEX = "2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4"


def test_lengths_are_sha256_sized() -> None:
    assert (OID_LEN, HEX_LEN, SHORT_LEN) == (32, 64, 12)


def test_hex_round_trip() -> None:
    oid = from_hex(HELLO_HEX)
    assert len(oid) == OID_LEN
    assert to_hex(oid) == HELLO_HEX


def test_short_is_the_first_twelve_hex_digits() -> None:
    assert short(from_hex(HELLO_HEX)) == "2cf8d83d9ee2"


def test_zero_id_is_thirty_two_zero_bytes() -> None:
    assert ZERO_ID == bytes(32)
    assert to_hex(ZERO_ID) == "0" * 64


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(HELLO_HEX.upper(), id="uppercase"),
        pytest.param(HELLO_HEX[:-1], id="63-digits"),
        pytest.param(HELLO_HEX + "0", id="65-digits"),
        pytest.param(HELLO_HEX + "\n", id="trailing-newline"),
        pytest.param(" " + HELLO_HEX[1:], id="leading-space"),
        pytest.param("0x" + HELLO_HEX[2:], id="0x-prefix"),
        pytest.param("g" + HELLO_HEX[1:], id="non-hex-letter"),
        pytest.param("\u0660" * 64, id="arabic-indic-digits"),
        pytest.param("\uff10" * 64, id="fullwidth-digits"),
        pytest.param("", id="empty"),
    ],
)
def test_from_hex_rejects(text: str) -> None:
    assert not is_hex_id(text)
    with pytest.raises(CorruptObjectError, match="not a 64-digit lowercase hex object id") as info:
        from_hex(text)
    assert isinstance(info.value, ObjectError)


def test_from_hex_error_message_is_one_lowercase_clause() -> None:
    with pytest.raises(CorruptObjectError) as info:
        from_hex("xyz")
    assert str(info.value) == "corrupt object 'xyz': not a 64-digit lowercase hex object id"


def test_from_hex_error_quotes_at_most_80_characters() -> None:
    with pytest.raises(CorruptObjectError) as info:
        from_hex("z" * 10_000)
    assert info.value.what == repr("z" * 80)


def test_is_hex_id_accepts_a_full_id() -> None:
    assert is_hex_id(HELLO_HEX)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_check_oid_rejects_wrong_length(size: int) -> None:
    with pytest.raises(CorruptObjectError, match="object id must be 32 bytes"):
        check_oid(b"\x01" * size)


def test_check_oid_accepts_32_bytes() -> None:
    assert check_oid(b"\x01" * 32) == ObjectId(b"\x01" * 32)


@pytest.mark.parametrize("text", ["0123456789abcdef" * 2, "f" * 32])
def test_replica_id_accepted(text: str) -> None:
    assert is_replica_id(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("A" * 32, id="uppercase"),
        pytest.param("a" * 31, id="31-digits"),
        pytest.param("a" * 33, id="33-digits"),
        pytest.param("a" * 32 + "\n", id="trailing-newline"),
        pytest.param("g" * 32, id="non-hex"),
        pytest.param("", id="empty"),
    ],
)
def test_replica_id_rejected(text: str) -> None:
    assert not is_replica_id(text)
