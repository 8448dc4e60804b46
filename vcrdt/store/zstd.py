"""The parts of zstandard the store uses, from its C backend, loaded without the package's ``__init__``.

Importing the ``zstandard`` package costs a command about 23 million
instructions (a third of a bare interpreter's start-up): its ``__init__``
imports ``typing`` and ``platform`` only to choose a backend, which on
CPython is always the C extension ``zstandard.backend_c``. This module loads
that extension directly (about 3 million instructions) and registers it under
its own name, so a later ``import zstandard`` (sync imports the package)
finds and uses the same module. When the extension cannot be loaded so (a
different layout or interpreter), the package is imported as usual.

Imported on first use of compression (`vcrdt.store.sqlite`): a command that
reads no compressed object loads neither.
"""

from __future__ import annotations

from vcrdt.extensions import load_alone

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from zstandard import (
        DICT_TYPE_RAWCONTENT,
        ZstdCompressionDict,
        ZstdCompressionParameters,
        ZstdCompressor,
        ZstdDecompressor,
        ZstdError,
        frame_content_size,
    )


def _load_backend() -> object:
    """Return zstandard's C backend module, loaded alone (or the package itself)."""
    module = load_alone("zstandard", "backend_c", needs=("ZstdCompressor", "ZstdDecompressor"))
    if module is not None:
        return module
    import zstandard  # pragma: no cover - the package's own choice of backend

    return zstandard  # pragma: no cover


if not TYPE_CHECKING:
    _backend = _load_backend()
    DICT_TYPE_RAWCONTENT = _backend.DICT_TYPE_RAWCONTENT
    ZstdCompressionDict = _backend.ZstdCompressionDict
    ZstdCompressionParameters = _backend.ZstdCompressionParameters
    ZstdCompressor = _backend.ZstdCompressor
    ZstdDecompressor = _backend.ZstdDecompressor
    ZstdError = _backend.ZstdError
    frame_content_size = _backend.frame_content_size

# A raw block holds at most this many bytes (zstd's largest block).
_RAW_BLOCK = 128 << 10


def raw_frame(data: bytes | memoryview) -> bytes:
    """One zstd frame that holds `data` as it is, in raw blocks: valid for any zstd decoder, decoded as a copy.

    For a body that does not compress (media, archives): it costs a copy, not a compression.
    The header declares the content size (single segment, no checksum, no dictionary).

    >>> raw_frame(b"abc").hex()
    '28b52ffda003000000190000616263'
    """
    n = len(data)
    if n >= 1 << 32:
        raise ValueError("raw_frame: at most 4 GiB")
    parts = [b"\x28\xb5\x2f\xfd\xa0", n.to_bytes(4, "little")]
    view = memoryview(data)
    for start in range(0, n, _RAW_BLOCK):
        block = view[start : start + _RAW_BLOCK]
        last = 1 if start + _RAW_BLOCK >= n else 0
        parts.append(((len(block) << 3) | last).to_bytes(3, "little"))
        parts.append(block)  # type: ignore[arg-type]
    if n == 0:
        parts.append(b"\x01\x00\x00")
    return b"".join(parts)


__all__ = [
    "DICT_TYPE_RAWCONTENT",
    "ZstdCompressionDict",
    "ZstdCompressionParameters",
    "ZstdCompressor",
    "ZstdDecompressor",
    "ZstdError",
    "frame_content_size",
    "raw_frame",
]
