"""Path rules shared by trees, the work tree and peers.

A repository path is a `str` of components joined by ``/``; file names that
are not valid UTF-8 are carried with ``surrogateescape`` so any byte string
round-trips. Every path read from a tree, the command line or a peer goes
through `check_component` / `check_path`: no empty names, no ``.`` or ``..``,
no ``/``, ``\\`` or NUL inside a name, no absolute paths, and no alias of the
metadata directory ``.vcrdt`` in any letter case or Unicode disguise (HFS+
ignorable code points, NTFS trailing dots/spaces and alternate streams, 8.3
short names). Imports only `errors`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from vcrdt.errors import BadPathError

META_DIR = ".vcrdt"
MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 4096

# Code points HFS+ ignores when comparing names (git's is_hfs_dotgit list).
_HFS_IGNORABLE = frozenset(
    "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u206a\u206b\u206c\u206d\u206e\u206f\ufeff"
)


def encode(path: str) -> bytes:
    """Return the on-disk bytes of a path (UTF-8 with surrogateescape).

    >>> encode("a/b")
    b'a/b'
    """
    return path.encode("utf-8", "surrogateescape")


def decode(raw: bytes) -> str:
    """Return the path for on-disk bytes; any bytes round-trip.

    >>> decode(b"caf\\xe9")
    'caf\\udce9'
    """
    return raw.decode("utf-8", "surrogateescape")


def _encode_checked(text: str, where: str) -> bytes:
    """Return the bytes of `text`, which must be the `decode` of some byte string.

    Other strings would raise UnicodeEncodeError from `encode` (a lone
    surrogate that is not an escaped byte, such as ``"\\ud800"``), or alias
    another name: ``"\\udcc3\\udca9"`` encodes to the bytes of ``"é"``, so
    two different names would become one tree entry.

    Raises:
        BadPathError: If `text` does not round-trip through `encode`/`decode`.
    """
    try:
        raw = encode(text)
    except UnicodeEncodeError:
        raise BadPathError(where, "not encodable as a file name (lone surrogate)") from None
    if decode(raw) != text:
        raise BadPathError(where, "escaped bytes that form valid UTF-8 (non-canonical name)")
    return raw


def is_meta_alias(name: str) -> bool:
    """Tell whether a single name would resolve to the metadata directory somewhere.

    >>> [is_meta_alias(n) for n in [".vcrdt", ".VCRDT", ".vcrdt.", "VCRDT~1", ".vc\\u200crdt", "x"]]
    [True, True, True, True, True, False]
    """
    if name.isascii():
        # Fast path: only ASCII spellings need checking; ignorables are never ASCII.
        lowered = name.lower()
        if "vcrdt" not in lowered:
            return False
        folded = lowered.split(":", 1)[0].rstrip(". ")
        return folded == META_DIR or (folded.startswith("vcrdt~") and folded[6:].isdigit())
    folded = "".join(ch for ch in name if ch not in _HFS_IGNORABLE)
    folded = unicodedata.normalize("NFC", folded).casefold()
    # NTFS: alternate data streams and trailing dots/spaces are ignored.
    folded = folded.split(":", 1)[0].rstrip(". ")
    if folded == META_DIR:
        return True
    # 8.3 short name of ".vcrdt" (first six letters after dropping the dot).
    return folded.startswith("vcrdt~") and folded[6:].isdigit()


def check_component(name: str, path: str | None = None) -> None:
    """Check one path component.

    Args:
        name: The component.
        path: The full path, for the message (defaults to `name`).

    Raises:
        BadPathError: If the component breaks a rule.
    """
    where = name if path is None else path
    if not name:
        raise BadPathError(where, "empty path component")
    if name in (".", ".."):
        raise BadPathError(where, f"{name!r} component not allowed")
    for bad, rule in (("/", "slash inside a name"), ("\\", "backslash inside a name"), ("\0", "NUL byte")):
        if bad in name:
            raise BadPathError(where, rule)
    if is_meta_alias(name):
        raise BadPathError(where, f"{META_DIR} (in any spelling) is reserved for repository metadata")
    if len(_encode_checked(name, where)) > MAX_COMPONENT_BYTES:
        raise BadPathError(where, f"component longer than {MAX_COMPONENT_BYTES} bytes")


def check_path(path: str) -> str:
    """Check a repository-relative path and return it.

    Args:
        path: A ``/``-separated relative path.

    Returns:
        The same path.

    Raises:
        BadPathError: If the path is absolute, too long, or a component is bad.

    >>> check_path("src/main.py")
    'src/main.py'
    """
    if not path:
        raise BadPathError(path, "empty path")
    # Any single character before ":" is a drive prefix, not just a letter:
    # Windows `subst` accepts digits and non-letters such as "1:" or "\u058d:"
    # as drive names (CVE-2019-1351); ``str.isalpha`` let those through.
    if path.startswith("/") or (len(path) >= 2 and path[1] == ":"):
        raise BadPathError(path, "absolute path not allowed")
    if len(_encode_checked(path, path)) > MAX_PATH_BYTES:
        raise BadPathError(path, f"path longer than {MAX_PATH_BYTES} bytes")
    for part in path.split("/"):
        check_component(part, path)
    return path


def parent_dirs(path: str) -> list[str]:
    """Return the proper parent directories of a path, outermost first.

    >>> parent_dirs("a/b/c")
    ['a', 'a/b']
    """
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def ancestor_dirs(paths: Iterable[str]) -> set[str]:
    """Return every proper parent directory of the given paths.

    >>> sorted(ancestor_dirs(["a/b/c", "a/d", "e"]))
    ['a', 'a/b']
    """
    out: set[str] = set()
    for p in paths:
        d = p.rpartition("/")[0]
        while d and d not in out:
            out.add(d)
            d = d.rpartition("/")[0]
    return out
