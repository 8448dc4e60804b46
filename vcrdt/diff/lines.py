"""Line diffs as values: hunks of added, deleted and context lines, their stat, and git-style unified text.

`FileDiff` / `Hunk` / `DiffLine` are what `vcrdt.diff.xdiff.diff_blobs` returns;
`format_unified` renders one as git-style unified text. `is_binary` is git's
rule for content that is not line-diffed.

Pure: no terminal I/O, no pygit2.
"""

from __future__ import annotations

from vcrdt.objects import EntryKind
from vcrdt.paths import encode
from vcrdt.values import Value, value_class

# How far git looks for a NUL byte when it decides whether content is binary.
BINARY_SNIFF = 8000

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Literal

    from vcrdt.diff.tree import ChangeStatus

    Origin = Literal[" ", "+", "-"]
else:
    Origin = str  # a Literal of these strings to the type checker


def is_binary(data: bytes) -> bool:
    """Tell whether content is binary: a NUL byte in its first 8000 bytes, as git decides.

    >>> is_binary(b"text\\n"), is_binary(b"\\x00\\x01"), is_binary(b"")
    (False, True, False)
    """
    return b"\0" in data[:BINARY_SNIFF]


@value_class(frozen=True, init=False, repr=False, eq=False)
class DiffLine(Value):
    """One line of a hunk: context (``" "``), addition (``"+"``) or deletion (``"-"``).

    `text` is the line without its ``\\n`` (a ``\\r`` before it is kept);
    `no_newline` is set on the last line of a side that does not end in a
    newline, shown as ``\\ No newline at end of file``.
    """

    __slots__ = ("origin", "text", "no_newline")  # noqa: RUF023 (field order)

    origin: Origin
    text: bytes
    no_newline: bool

    def __init__(self, origin: Origin, text: bytes, no_newline: bool = False) -> None:
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "no_newline", no_newline)


@value_class(frozen=True, init=False, repr=False, eq=False)
class Hunk(Value):
    """A run of changed lines with context.

    Starts are 1-based. An empty range (0 lines) names the line before it, so
    an insertion at the top of a file has ``old_start == 0``, as in git.
    `header` is the ``@@ -l,n +l,n @@`` line, with git's function context
    after it when there is one, and no newline.
    """

    __slots__ = ("old_start", "old_lines", "new_start", "new_lines", "header", "lines")  # noqa: RUF023 (field order)

    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    header: str
    lines: tuple[DiffLine, ...]

    def __init__(
        self, old_start: int, old_lines: int, new_start: int, new_lines: int, header: str, lines: tuple[DiffLine, ...]
    ) -> None:
        object.__setattr__(self, "old_start", old_start)
        object.__setattr__(self, "old_lines", old_lines)
        object.__setattr__(self, "new_start", new_start)
        object.__setattr__(self, "new_lines", new_lines)
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "lines", lines)


@value_class(frozen=True, init=False, repr=False, eq=False)
class FileDiff(Value):
    """The line diff of one path.

    `old_path` equals `path` unless the caller paired a rename. For a binary
    file (`binary`), `added` and `deleted` are 0, there are no hunks, and
    `sizes` holds the two versions' sizes in bytes (git's stat shows them). The
    kinds, when known, give the mode lines of `format_unified`.
    """

    __slots__ = (  # noqa: RUF023 (field order)
        "path",
        "old_path",
        "status",
        "binary",
        "added",
        "deleted",
        "hunks",
        "old_kind",
        "new_kind",
        "sizes",
    )

    path: str
    old_path: str
    status: ChangeStatus
    binary: bool
    added: int
    deleted: int
    hunks: tuple[Hunk, ...]
    old_kind: EntryKind | None
    new_kind: EntryKind | None
    sizes: tuple[int, int] | None

    def __init__(
        self,
        path: str,
        old_path: str,
        status: ChangeStatus,
        binary: bool,
        added: int,
        deleted: int,
        hunks: tuple[Hunk, ...],
        old_kind: EntryKind | None = None,
        new_kind: EntryKind | None = None,
        sizes: tuple[int, int] | None = None,
    ) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "old_path", old_path)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "binary", binary)
        object.__setattr__(self, "added", added)
        object.__setattr__(self, "deleted", deleted)
        object.__setattr__(self, "hunks", hunks)
        object.__setattr__(self, "old_kind", old_kind)
        object.__setattr__(self, "new_kind", new_kind)
        object.__setattr__(self, "sizes", sizes)


@value_class(frozen=True, init=False, repr=False, eq=False)
class DiffStat(Value):
    """Lines added and deleted in one path (a binary file: the sizes of its versions, in bytes)."""

    __slots__ = ("path", "added", "deleted", "binary", "sizes")  # noqa: RUF023 (field order)

    path: str
    added: int
    deleted: int
    binary: bool
    sizes: tuple[int, int] | None

    def __init__(self, path: str, added: int, deleted: int, binary: bool, sizes: tuple[int, int] | None = None) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "added", added)
        object.__setattr__(self, "deleted", deleted)
        object.__setattr__(self, "binary", binary)
        object.__setattr__(self, "sizes", sizes)


def stat_from(diff: FileDiff) -> DiffStat:
    """Return the stat of a file diff.

    Args:
        diff: The file diff.

    Returns:
        Its path, counts and binary flag.
    """
    return DiffStat(diff.path, diff.added, diff.deleted, diff.binary, diff.sizes)


_MODES = {
    EntryKind.FILE: b"100644",
    EntryKind.EXECUTABLE: b"100755",
    EntryKind.SYMLINK: b"120000",
    EntryKind.TREE: b"040000",
    EntryKind.GITLINK: b"160000",
}
_C_ESCAPES = {7: b"\\a", 8: b"\\b", 9: b"\\t", 10: b"\\n", 11: b"\\v", 12: b"\\f", 13: b"\\r", 34: b'\\"', 92: b"\\\\"}


def _quote(name: bytes) -> bytes:
    """Quote a name in a diff header as git does (core.quotePath on).

    Names with control bytes, ``"``, ``\\`` or non-ASCII bytes are put in
    double quotes, with C escapes and octal for the rest.

    >>> _quote(b"a/x y"), _quote("a/café".encode()), _quote(b'a/q"t')
    (b'a/x y', b'"a/caf\\\\303\\\\251"', b'"a/q\\\\"t"')
    """
    if all(0x20 <= c < 0x7F and c not in (34, 92) for c in name):
        return name
    out = bytearray(b'"')
    for c in name:
        if 0x20 <= c < 0x7F and c not in (34, 92):
            out.append(c)
        else:
            out += _C_ESCAPES.get(c) or b"\\%03o" % c
    out += b'"'
    return bytes(out)


def _mode(kind: EntryKind | None) -> bytes:
    return _MODES[EntryKind.FILE if kind is None else kind]


def format_unified(diff: FileDiff) -> bytes:
    """Return the git-style unified diff of one file.

    The form is ``git diff``'s without its ``index`` line: ``diff --git``,
    mode lines for added, deleted and kind-changed files, ``rename from/to``
    when the paths differ, then ``--- a/…`` / ``+++ b/…`` (``/dev/null`` for
    an absent side) and the hunks, or ``Binary files … differ``. Names are
    quoted as git quotes them.

    Args:
        diff: The file diff.

    Returns:
        The text, ending in a newline.
    """
    new_raw, old_raw = encode(diff.path), encode(diff.old_path)
    a_name, b_name = _quote(b"a/" + old_raw), _quote(b"b/" + new_raw)
    out = [b"diff --git " + a_name + b" " + b_name]
    if diff.status == "added":
        out.append(b"new file mode " + _mode(diff.new_kind))
    elif diff.status == "deleted":
        out.append(b"deleted file mode " + _mode(diff.old_kind))
    else:
        if old_raw != new_raw:
            out.append(b"rename from " + _quote(old_raw))
            out.append(b"rename to " + _quote(new_raw))
        if diff.status == "kind":
            out.append(b"old mode " + _mode(diff.old_kind))
            out.append(b"new mode " + _mode(diff.new_kind))
    a_label = b"/dev/null" if diff.status == "added" else a_name
    b_label = b"/dev/null" if diff.status == "deleted" else b_name
    if diff.binary:
        out.append(b"Binary files " + a_label + b" and " + b_label + b" differ")
    elif diff.hunks:
        # git ends a name containing a space with a tab, so patch tools can tell where it stops.
        out.append(b"--- " + a_label + (b"\t" if a_label is a_name and b" " in old_raw else b""))
        out.append(b"+++ " + b_label + (b"\t" if b_label is b_name and b" " in new_raw else b""))
        for h in diff.hunks:
            out.append(h.header.encode("utf-8", "surrogateescape"))
            for ln in h.lines:
                out.append(ln.origin.encode("ascii") + ln.text)
                if ln.no_newline:
                    out.append(b"\\ No newline at end of file")
    out.append(b"")
    return b"\n".join(out)
