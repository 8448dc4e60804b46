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

__all__ = [
    "DICT_TYPE_RAWCONTENT",
    "ZstdCompressionDict",
    "ZstdCompressionParameters",
    "ZstdCompressor",
    "ZstdDecompressor",
    "ZstdError",
    "frame_content_size",
]
