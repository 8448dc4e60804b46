"""Identifier types and their text forms.

`ObjectId` is the raw 32-byte SHA-256 digest; `HexId` its 64-character
lowercase hex form. `ReplicaId` is 16 random bytes shown as 32 hex digits.
Imports only `errors`.
"""

from __future__ import annotations

from vcrdt.errors import CorruptObjectError

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import NewType

    ObjectId = NewType("ObjectId", bytes)
    HexId = NewType("HexId", str)
    ReplicaId = NewType("ReplicaId", str)
else:
    # What the type checker sees as new types are, at run time, the types themselves: a call
    # `ObjectId(raw)` returns `raw` (bytes(b) and str(s) return their exact-typed argument), and
    # `ObjectId | None` is a union, as they are for typing's NewType.
    ObjectId = bytes
    HexId = ReplicaId = str

OID_LEN = 32
HEX_LEN = 2 * OID_LEN
REPLICA_HEX_LEN = 32
SHORT_LEN = 12

_HEX_DIGITS = frozenset("0123456789abcdef")


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
    if not is_hex_id(text):
        raise CorruptObjectError(repr(text[:80]), "not a 64-digit lowercase hex object id")
    return ObjectId(bytes.fromhex(text))


def is_hex_id(text: str) -> bool:
    """Tell whether `text` is a full hex object id.

    >>> is_hex_id("ab" * 32), is_hex_id("xyz")
    (True, False)
    """
    return len(text) == HEX_LEN and _HEX_DIGITS.issuperset(text)


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
    return len(text) == REPLICA_HEX_LEN and _HEX_DIGITS.issuperset(text)


ZERO_ID = ObjectId(bytes(OID_LEN))
