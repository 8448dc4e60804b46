"""The one place that names the hash functions.

Object ids are SHA-256 over a kind/length header and the canonical body:
``b"<kind> <decimal length>\\0" + body``. xxh3 is used only for local,
non-adversarial hot paths (caches, in-memory tables); never for an id or for
anything a peer sends. Imports only `ids` and `errors`.
"""

from __future__ import annotations

import hashlib

from vcrdt.ids import ObjectId

KINDS = ("blob", "tree", "commit")


def object_header(kind: str, size: int) -> bytes:
    """Return the header hashed in front of an object's body.

    >>> object_header("blob", 5)
    b'blob 5\\x00'
    """
    return f"{kind} {size}\0".encode("ascii")


def object_id(kind: str, body: bytes) -> ObjectId:
    """Return the id of an object from its kind and canonical body.

    >>> object_id("blob", b"").hex()[:12]
    '473a0f4c3be8'
    """
    h = hashlib.sha256(object_header(kind, len(body)))
    h.update(body)
    return ObjectId(h.digest())


class StreamingObjectHasher:
    """Hash an object whose body arrives in pieces; the size must be known first."""

    def __init__(self, kind: str, size: int) -> None:
        """Start hashing an object of `kind` whose body is `size` bytes long."""
        self._h = hashlib.sha256(object_header(kind, size))
        self.expected = size
        self.seen = 0

    def update(self, chunk: bytes) -> None:
        """Feed the next piece of the body."""
        self._h.update(chunk)
        self.seen += len(chunk)

    def digest(self) -> ObjectId:
        """Return the id; the caller checks `seen == expected` first."""
        return ObjectId(self._h.digest())


def digest(data: bytes) -> bytes:
    """Return the SHA-256 digest of `data` (for summaries such as ref states; never xxhash).

    >>> len(digest(b""))
    32
    """
    return hashlib.sha256(data).digest()


def fast_hash(data: bytes) -> int:
    """Return a 64-bit xxh3 hash for local caches (never for identity).

    >>> fast_hash(b"abc") == fast_hash(b"abc")
    True
    """
    import xxhash  # lazy: only cache paths use it

    return xxhash.xxh3_64_intdigest(data)
