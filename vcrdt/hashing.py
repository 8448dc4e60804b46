"""The one place that names the hash functions.

Object ids are SHA-256 over a kind/length header and the canonical body:
``b"<kind> <decimal length>\\0" + body``. xxh3 is used only for local,
non-adversarial hot paths (caches, in-memory tables); never for an id or for
anything a peer sends. Imports only `ids` and `errors`.
"""

from __future__ import annotations

import sys

from vcrdt.ids import ObjectId

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable
    from hashlib import _Hash

KINDS = ("blob", "tree", "commit")
# Up to this many bytes CPython's built-in SHA-256 hashes: loading OpenSSL (hashlib) costs more
# than it saves on the few small objects most reading commands hash (log verifies each commit it
# reads). Longer data goes to OpenSSL's, several times faster per byte. Both are SHA-256.
SMALL = 16 * 1024
# Once a process has hashed this many bytes with the built-in one, it hashes in bulk (a checkout
# verifying the files it writes, a status hashing many): OpenSSL's, 4 to 9 times faster on
# small data too, then hashes everything, its loading (a few milliseconds) paid for. So it does
# once loaded for any reason (a body over `SMALL`, `load_bulk`).
BULK = 256 * 1024
_builtin_bytes = 0


def _load_builtin(data: bytes) -> _Hash:
    """Load CPython's own SHA-256 on the first small hash, put it in `_builtin_sha256`'s place, and hash.

    Its extension module is loaded when first used: a command that hashes nothing (a plain
    `log`, which reads the commit table) does not pay for loading it (a few hundred
    microseconds). `_sha2` from 3.12, `_sha256` before: the name is chosen by version, not by
    trying one, as a failed import searches every finder and path entry.
    """
    global _builtin_sha256
    try:
        if sys.version_info >= (3, 12):
            from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]
        else:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:  # pragma: no cover - another interpreter
        from hashlib import sha256  # type: ignore[assignment,unused-ignore]
    _builtin_sha256 = sha256
    return _builtin_sha256(data)


_builtin_sha256: Callable[[bytes], _Hash] = _load_builtin
# hashlib's (OpenSSL's) SHA-256, once loaded (`_openssl`).
_bulk: Callable[[bytes], _Hash] | None = None


def _openssl() -> Callable[[bytes], _Hash]:
    """The SHA-256 of hashlib (OpenSSL's), loaded on first use and kept; it then hashes everything."""
    global _bulk, _builtin_bytes
    if _bulk is None:
        import hashlib

        _bulk = hashlib.sha256
        _builtin_bytes = BULK
    return _bulk


def load_bulk() -> None:
    """Load OpenSSL's SHA-256 now (a few milliseconds), for a process about to hash in bulk.

    A fetch loads it while it waits for the other replica's answer (`vcrdt.sync.receive.prepare`)
    rather than on its critical path, once the bodies it received have crossed `BULK`.
    """
    _openssl()


def sha256(data: bytes) -> _Hash:
    """Return a SHA-256 hasher fed with `data`, built-in for small data, OpenSSL's otherwise.

    Small data goes to OpenSSL's too once the process has hashed `BULK` bytes.

    >>> sha256(b"abc").digest() == sha256(b"abc" * 10_000).digest()
    False
    >>> import hashlib
    >>> all(sha256(b"x" * n).digest() == hashlib.sha256(b"x" * n).digest() for n in (0, SMALL, SMALL + 1))
    True
    """
    global _builtin_bytes
    if len(data) <= SMALL and _builtin_bytes < BULK:
        _builtin_bytes += len(data)
        small: _Hash = _builtin_sha256(data)
        return small
    return _openssl()(data)


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
    global _builtin_bytes
    size = len(body)
    header = object_header(kind, size)
    if size <= SMALL and _builtin_bytes < BULK:
        _builtin_bytes += size
        return ObjectId(_builtin_sha256(header + body).digest())
    # OpenSSL's, fed the header then the body (no copy of a large body).
    h = _openssl()(header)
    h.update(body)
    return ObjectId(h.digest())


class StreamingObjectHasher:
    """Hash an object whose body arrives in pieces; the size must be known first."""

    def __init__(self, kind: str, size: int) -> None:
        """Start hashing an object of `kind` whose body is `size` bytes long."""
        self._h = _openssl()(object_header(kind, size))  # streamed objects are large
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
    return sha256(data).digest()


def fast_hash(data: bytes) -> int:
    """Return a 64-bit xxh3 hash for local caches (never for identity).

    >>> fast_hash(b"abc") == fast_hash(b"abc")
    True
    """
    import xxhash  # lazy: only cache paths use it

    return xxhash.xxh3_64_intdigest(data)
