"""Path rules shared by trees, the work tree and peers.

A repository path is a `str` of components joined by ``/``; file names that
are not valid UTF-8 are carried with ``surrogateescape`` so any byte string
round-trips. Every path read from a tree, the command line or a peer goes
through `check_component` / `check_path`: no empty names, no ``.`` or ``..``,
no ``/``, ``\\`` or NUL inside a name, no absolute paths, and no alias of the
metadata directory ``.vcrdt`` in any letter case or Unicode disguise (HFS+
ignorable code points, NTFS trailing dots/spaces and alternate streams, 8.3
short names). `resolve_link` resolves a symlink's target against the links
around it, so a chain (``x -> .`` with ``up -> x/..``) is judged whole.
Imports only `errors`.
"""

from __future__ import annotations

from vcrdt.errors import BadPathError

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

META_DIR = ".vcrdt"
# What the scratch directories `init` lays `.vcrdt` out in start with (`vcrdt.scratch`): a killed
# `init` can leave one in a work tree, and the scan never lists it, as it never lists `.vcrdt`.
META_SCRATCH = ".vcrdt.vcrdt-init-"
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


def reserved_at_root(name: str) -> bool:
    """Tell whether a name at a work tree's root is vcrdt's own: `META_DIR`, or an `init`'s scratch directory."""
    return name == META_DIR or name.startswith(META_SCRATCH)


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
    import unicodedata  # here: only a name that is not ASCII is normalized

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


# Linux's limit on symlinks followed while resolving one path (MAXSYMLINKS).
MAX_LINK_HOPS = 40


def resolve_link(path: str, target: str, link_at: Callable[[str], str | None], *, max_hops: int = MAX_LINK_HOPS) -> str:
    """Resolve the symlink at `path` (pointing to `target`) inside the work tree, as the kernel would.

    Resolution is lexical, against the links `link_at` reports: it returns
    the target of the link at a repository path, or None where there is no
    link (a directory, a file, or nothing). Each name is looked up after the
    names before it are resolved, so a chain is judged whole: with ``x -> .``,
    ``up -> x/..`` leaves the work tree although its text alone does not.
    ``..`` pops a resolved name (as it does on disk once the names are
    directories; if they are not, the kernel fails where this does not).

    Args:
        path: The link's repository path.
        target: Its target (``/`` and ``\\`` both separate names).
        link_at: The links of the tree the link is judged in.
        max_hops: How many links may be followed in all.

    Returns:
        The repository path the link resolves to (``""`` for the root).

    Raises:
        BadPathError: If the target is empty or absolute, or a step leaves the
            work tree, enters ``.vcrdt`` (in any spelling), meets an absolute
            link or follows more than `max_hops` links.

    >>> links = {"x": ".", "up": "x/.."}
    >>> resolve_link("a/b", "../c", links.get)
    'c'
    >>> resolve_link("up", "x/..", links.get)
    Traceback (most recent call last):
    ...
    vcrdt.errors.BadPathError: invalid path 'up': symlink target 'x/..' points outside the work tree (through x -> '.')
    """
    if not target or "\0" in target:
        raise BadPathError(path, "empty symlink target")
    if _is_absolute(target):
        raise BadPathError(path, f"symlink target {target!r} is absolute")
    resolved = path.split("/")[:-1]
    todo = _names(target)
    hops = 0
    via: list[str] = []  # the links followed, for the message

    def fail(rule: str) -> BadPathError:
        shown = ", ".join(via[:3]) + (f" and {len(via) - 3} more" if len(via) > 3 else "")
        return BadPathError(path, f"symlink target {target!r} {rule}" + (f" (through {shown})" if via else ""))

    while todo:
        name = todo.pop()
        if name in ("", "."):
            continue
        if name == "..":
            if not resolved:
                raise fail("points outside the work tree")
            resolved.pop()
            continue
        if is_meta_alias(name):
            raise fail(f"points into {META_DIR}")
        resolved.append(name)
        here = "/".join(resolved)
        text = link_at(here)
        if text is None:
            continue
        hops += 1
        via.append(f"{here} -> {text!r}")
        if hops > max_hops:
            raise fail("has too many levels of symbolic links")
        if not text or _is_absolute(text):
            raise fail("points outside the work tree")
        resolved.pop()
        todo.extend(_names(text))
    return "/".join(resolved)


def _is_absolute(text: str) -> bool:
    return text.startswith(("/", "\\")) or (len(text) >= 2 and text[1] == ":")


def _names(text: str) -> list[str]:
    """The names of a link target, last first (a stack to pop)."""
    names = text.replace("\\", "/").split("/")
    names.reverse()
    return names
