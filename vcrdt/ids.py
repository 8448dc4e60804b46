"""Identifier types and their text forms.

`ObjectId` is the raw 32-byte SHA-256 digest; `HexId` its 64-character
lowercase hex form. `ReplicaId` is 16 random bytes shown as 32 hex digits.
Imports only `errors`.
"""

from __future__ import annotations

import re
from typing import NewType

from vcrdt.errors import CorruptObjectError

ObjectId = NewType("ObjectId", bytes)
HexId = NewType("HexId", str)
ReplicaId = NewType("ReplicaId", str)

OID_LEN = 32
HEX_LEN = 2 * OID_LEN
REPLICA_HEX_LEN = 32
SHORT_LEN = 12

_HEX_RE = re.compile(r"[0-9a-f]{64}")
_REPLICA_RE = re.compile(r"[0-9a-f]{32}")


def to_hex(oid: ObjectId) -> HexId:
    """Return the hex form of a raw id.

    >>> to_hex(ObjectId(bytes(32)))[:8]
    '00000000'
    """
    return HexId(oid.hex())


def short(oid: ObjectId) -> str:
    """Return the abbreviated hex form used in human output.

    >>> short(ObjectId(bytes.fromhex("ab" * 32)))
    'abababababab'
    """
    return oid.hex()[:SHORT_LEN]


def from_hex(text: str) -> ObjectId:
    """Parse a full 64-digit lowercase hex id.

    Args:
        text: The hex text.

    Returns:
        The raw id.

    Raises:
        CorruptObjectError: If `text` is not 64 lowercase hex digits.

    >>> len(from_hex("00" * 32))
    32
    """
    if not _HEX_RE.fullmatch(text):
        raise CorruptObjectError(repr(text[:80]), "not a 64-digit lowercase hex object id")
    return ObjectId(bytes.fromhex(text))


def is_hex_id(text: str) -> bool:
    """Tell whether `text` is a full hex object id.

    >>> is_hex_id("ab" * 32), is_hex_id("xyz")
    (True, False)
    """
    return _HEX_RE.fullmatch(text) is not None


def check_oid(raw: bytes) -> ObjectId:
    """Check that raw bytes have the length of an id.

    Raises:
        CorruptObjectError: If the length is wrong.
    """
    if len(raw) != OID_LEN:
        raise CorruptObjectError(raw[:8].hex(), f"object id must be {OID_LEN} bytes")
    return ObjectId(raw)


def is_replica_id(text: str) -> bool:
    """Tell whether `text` is a valid replica id (32 lowercase hex digits).

    >>> is_replica_id("0" * 32), is_replica_id("zz")
    (True, False)
    """
    return _REPLICA_RE.fullmatch(text) is not None


ZERO_ID = ObjectId(bytes(OID_LEN))
