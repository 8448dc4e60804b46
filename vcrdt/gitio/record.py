"""Git object bytes and the git record: the pure half of git interop (no pygit2, no I/O).

A git object maps to vcrdt objects as docs/format.md ("Git interop") specifies: blobs byte for
byte, trees entry for entry (modes to entry kinds, submodules to ``subm`` entries), commits and
annotated tags to vcrdt commits. What git needs and vcrdt's own fields do not carry travels in
the *git record*, a blob the commit names in its ``git`` field, so it is part of the history
and every replica that holds the commit exports the same git bytes.

Record body (every length decimal, no leading zero)::

    vcrdt-git-record 1 LF
    type commit|tag LF
    [format sha256 LF]                  the git object format the object came from, when not SHA-1
    header <n> LF <n bytes> LF          the git header lines after tree/parent (commit) or object (tag)
    [message <n> LF <n bytes> LF]       the raw message, when the vcrdt message does not encode to it
    [shape <n> LF <path> NUL <entries> LF]...   trees whose git order or modes are not canonical

Imports `objects`, `ids` and `errors` only.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Sequence

from vcrdt.errors import GitInteropError
from vcrdt.objects import MAX_TIMESTAMP, MAX_TZ_MINUTES, Commit, EntryKind, Signature, Tree, format_gaps
from vcrdt.values import Value, value_class

RECORD_MAGIC = b"vcrdt-git-record 1\n"
RECORD_TYPES = (b"commit", b"tag")
# The object formats a record names (`format` line); SHA-1, the default, is never written.
RECORD_FORMATS = (b"sha1", b"sha256")
# The canonical git mode of each vcrdt entry kind (git writes trees as "40000", no leading zero).
CANONICAL_MODE = {
    EntryKind.FILE: b"100644",
    EntryKind.EXECUTABLE: b"100755",
    EntryKind.SYMLINK: b"120000",
    EntryKind.TREE: b"40000",
    EntryKind.GITLINK: b"160000",
}
_OCTAL = re.compile(rb"[0-7]{1,7}")
_HEX = re.compile(rb"[0-9a-f]+")
_NUM = re.compile(rb"0|[1-9][0-9]*")


@functools.cache
def mode_kind(mode: bytes) -> EntryKind | None:
    """The vcrdt entry kind of a git tree-entry mode, as git canonicalises modes; None if git has no such type.

    >>> mode_kind(b"100664"), mode_kind(b"40000"), mode_kind(b"160000"), mode_kind(b"777")
    (<EntryKind.FILE: 'file'>, <EntryKind.TREE: 'tree'>, <EntryKind.GITLINK: 'subm'>, None)
    """
    if not _OCTAL.fullmatch(mode):
        return None
    m = int(mode, 8)
    kind = m & 0o170000
    if kind == 0o100000:
        return EntryKind.EXECUTABLE if m & 0o100 else EntryKind.FILE
    return {0o120000: EntryKind.SYMLINK, 0o040000: EntryKind.TREE, 0o160000: EntryKind.GITLINK}.get(kind)


def git_sort_key(name: bytes, kind: EntryKind) -> bytes:
    """Git's tree order: names compared bytewise, a subtree's as if it ended in ``/``."""
    return name + b"/" if kind is EntryKind.TREE else name


@value_class(frozen=True, init=False, repr=False, eq=False)
class GitTreeEntry(Value):
    """One entry of a git tree, as stored: raw mode, raw name, raw id."""

    __slots__ = ("mode", "name", "oid")

    mode: bytes
    name: bytes
    oid: bytes

    def __init__(self, mode: bytes, name: bytes, oid: bytes) -> None:
        object.__setattr__(self, "mode", mode)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "oid", oid)


@functools.cache
def _entry_re(hash_len: int) -> re.Pattern[bytes]:
    return re.compile(rb"([^ \0]{1,7}) ([^\0]*)\0(.{%d})" % hash_len, re.DOTALL)


def parse_git_tree(body: bytes, hash_len: int) -> list[GitTreeEntry]:
    """Split a git tree body into its entries, in stored order.

    Raises:
        GitInteropError: If the body is not a sequence of ``<mode> SP <name> NUL <id>``.
    """
    match = _entry_re(hash_len).match
    out: list[GitTreeEntry] = []
    pos = 0
    n = len(body)
    while pos < n:
        m = match(body, pos)
        if m is None:
            raise GitInteropError(f"malformed git tree entry at byte {pos}")
        out.append(GitTreeEntry(m.group(1), m.group(2), m.group(3)))
        pos = m.end()
    return out


def format_git_tree(entries: list[GitTreeEntry]) -> bytes:
    """The git tree body of `entries`, in the order given."""
    return b"".join(e.mode + b" " + e.name + b"\0" + e.oid for e in entries)


def shape_of(entries: list[GitTreeEntry]) -> bytes:
    """A git tree without its ids: ``<mode> SP <name> NUL`` per entry, in stored order."""
    return b"".join(e.mode + b" " + e.name + b"\0" for e in entries)


def canonical_shape(tree: Tree) -> bytes:
    """The shape git gives the vcrdt tree: canonical modes, git's order."""
    items = sorted(((e.name.encode("utf-8", "surrogateescape"), e.kind) for e in tree.entries), key=_shape_key)
    return b"".join(CANONICAL_MODE[k] + b" " + name + b"\0" for name, k in items)


def _shape_key(item: tuple[bytes, EntryKind]) -> bytes:
    return git_sort_key(item[0], item[1])


def parse_shape(shape: bytes) -> list[tuple[bytes, bytes]]:
    """Decode a shape into ``(mode, name)`` pairs.

    Raises:
        GitInteropError: If it is malformed.
    """
    out: list[tuple[bytes, bytes]] = []
    for item in shape.split(b"\0")[:-1] if shape.endswith(b"\0") else [None]:
        if item is None:
            raise GitInteropError("git record: malformed tree shape")
        mode, sp, name = item.partition(b" ")
        if not sp or mode_kind(mode) is None or not name:
            raise GitInteropError("git record: malformed tree shape")
        out.append((mode, name))
    return out


@value_class(frozen=True, init=False, repr=False, eq=False)
class GitRecord(Value):
    """What an imported git commit or tag holds beyond its vcrdt commit's own fields."""

    __slots__ = ("type", "header", "message", "shapes", "object_format")  # noqa: RUF023 (field order)

    type: bytes  # b"commit" or b"tag"
    header: bytes
    message: bytes | None
    # (path of the tree inside the commit's root, b"" for the root; its shape), sorted by path.
    shapes: tuple[tuple[bytes, bytes], ...]
    # The object format of the git repository the object was imported from: b"sha1" or b"sha256".
    object_format: bytes

    def __init__(
        self,
        type: bytes,
        header: bytes,
        message: bytes | None = None,
        shapes: tuple[tuple[bytes, bytes], ...] = (),
        object_format: bytes = b"sha1",
    ) -> None:
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "object_format", object_format)

    def to_bytes(self) -> bytes:
        """The canonical record body (a SHA-1 record has no ``format`` line: older records are SHA-1)."""
        parts = [RECORD_MAGIC, b"type " + self.type + b"\n"]
        if self.object_format != b"sha1":
            parts.append(b"format " + self.object_format + b"\n")
        parts.append(_field(b"header", self.header))
        if self.message is not None:
            parts.append(_field(b"message", self.message))
        for path, shape in self.shapes:
            parts.append(_field(b"shape", path + b"\0" + shape))
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, body: bytes) -> GitRecord:
        """Decode a record; only the canonical form is accepted (it comes from another replica).

        Raises:
            GitInteropError: If it is not a canonical record.
        """
        if not body.startswith(RECORD_MAGIC):
            raise GitInteropError("git record: not a vcrdt git record")
        pos = len(RECORD_MAGIC)
        end = body.find(b"\n", pos)
        line = body[pos:end] if end >= 0 else b""
        typ = line[5:]
        if not line.startswith(b"type ") or typ not in RECORD_TYPES:
            raise GitInteropError("git record: bad type line")
        pos = end + 1
        object_format = b"sha1"
        if body.startswith(b"format ", pos):
            end = body.find(b"\n", pos)
            object_format = body[pos + 7 : end] if end >= 0 else b""
            # Only a format other than SHA-1 is written: "format sha1" is not canonical.
            if object_format not in RECORD_FORMATS or object_format == b"sha1":
                raise GitInteropError("git record: bad format line")
            pos = end + 1
        fields: list[tuple[bytes, bytes]] = []
        while pos < len(body):
            end = body.find(b"\n", pos, pos + 32)
            word, sp, length = body[pos:end].partition(b" ") if end >= 0 else (b"", b"", b"")
            if not sp or not _NUM.fullmatch(length):
                raise GitInteropError("git record: malformed field")
            start = end + 1
            stop = start + int(length)
            if body[stop : stop + 1] != b"\n":
                raise GitInteropError("git record: field length does not match")
            fields.append((word, body[start:stop]))
            pos = stop + 1
        if not fields or fields[0][0] != b"header":
            raise GitInteropError("git record: missing header")
        header = fields[0][1]
        i = 1
        message = None
        if i < len(fields) and fields[i][0] == b"message":
            message = fields[i][1]
            i += 1
        shapes: list[tuple[bytes, bytes]] = []
        for word, value in fields[i:]:
            path, nul, shape = value.partition(b"\0")
            if word != b"shape" or not nul:
                raise GitInteropError("git record: unexpected field")
            if shapes and path <= shapes[-1][0]:
                raise GitInteropError("git record: shapes not sorted")
            parse_shape(shape)
            shapes.append((path, shape))
        return cls(typ, header, message, tuple(shapes), object_format)


def _field(word: bytes, value: bytes) -> bytes:
    return word + b" " + str(len(value)).encode() + b"\n" + value + b"\n"


# --- git commit and tag bytes ----------------------------------------------------------------


@value_class(frozen=True, init=False, repr=False, eq=False)
class GitCommitParts(Value):
    """A git commit split at its fixed lines."""

    __slots__ = ("tree", "parents", "header", "message")  # noqa: RUF023 (field order)

    tree: bytes  # hex
    parents: tuple[bytes, ...]  # hex, in git's order
    header: bytes  # the header lines after the parents, each with its LF
    message: bytes

    def __init__(self, tree: bytes, parents: tuple[bytes, ...], header: bytes, message: bytes) -> None:
        object.__setattr__(self, "tree", tree)
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "message", message)


def split_commit(raw: bytes, hex_len: int) -> GitCommitParts:
    """Split a git commit's bytes.

    Raises:
        GitInteropError: If it lacks the tree line or the empty line before the message.
    """
    sep = raw.find(b"\n\n")
    if sep < 0:
        raise GitInteropError("no empty line between header and message")
    if not raw.startswith(b"tree ") or raw[5 + hex_len : 6 + hex_len] != b"\n":
        raise GitInteropError("no tree line")
    tree = raw[5 : 5 + hex_len]
    pos = 6 + hex_len
    parents: list[bytes] = []
    while raw.startswith(b"parent ", pos) and raw[pos + 7 + hex_len : pos + 8 + hex_len] == b"\n":
        parents.append(raw[pos + 7 : pos + 7 + hex_len])
        pos += 8 + hex_len
    if not _HEX.fullmatch(tree) or any(not _HEX.fullmatch(p) for p in parents) or pos > sep + 1:
        raise GitInteropError("malformed tree or parent line")
    return GitCommitParts(tree, tuple(parents), raw[pos : sep + 1], raw[sep + 2 :])


@value_class(frozen=True, init=False, repr=False, eq=False)
class GitTagParts(Value):
    """A git annotated tag split at its object line."""

    __slots__ = ("target", "target_type", "header", "message")  # noqa: RUF023 (field order)

    target: bytes  # hex
    target_type: bytes
    header: bytes  # the header lines after the object line, each with its LF
    message: bytes

    def __init__(self, target: bytes, target_type: bytes, header: bytes, message: bytes) -> None:
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "target_type", target_type)
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "message", message)


def split_tag(raw: bytes, hex_len: int) -> GitTagParts:
    """Split a git tag's bytes.

    Raises:
        GitInteropError: If it lacks the object or type line, or the empty line before the message.
    """
    sep = raw.find(b"\n\n")
    if sep < 0:
        raise GitInteropError("no empty line between header and message")
    if not raw.startswith(b"object ") or raw[7 + hex_len : 8 + hex_len] != b"\n":
        raise GitInteropError("no object line")
    target = raw[7 : 7 + hex_len]
    pos = 8 + hex_len
    end = raw.find(b"\n", pos)
    if not _HEX.fullmatch(target) or not raw.startswith(b"type ", pos) or end > sep:
        raise GitInteropError("malformed object or type line")
    return GitTagParts(target, raw[pos + 5 : end], raw[pos : sep + 1], raw[sep + 2 :])


def header_value(header: bytes, key: bytes) -> bytes | None:
    """The value of the first header line ``key SP value`` (continuation lines not joined)."""
    for line in header.split(b"\n"):
        if line.startswith(key + b" "):
            return line[len(key) + 1 :]
    return None


_IDENT = re.compile(rb"([^<>\n]*?) ?<([^<>\n]*)> ?(-?[0-9]+)? ?([+-][0-9]{4})?.*", re.DOTALL)


def _text(raw: bytes, encoding: str) -> str:
    return raw.decode(encoding, "replace")


def message_encoding(header: bytes) -> str:
    """The Python codec for the commit's ``encoding`` header (UTF-8 when absent or unknown)."""
    name = header_value(header, b"encoding")
    if name:
        try:
            return codecs.lookup(name.decode("ascii", "replace")).name
        except LookupError:
            pass
    return "utf-8"


def display_signature(line: bytes | None, encoding: str) -> Signature:
    """The vcrdt signature shown for a git ident line (``Name <email> seconds tz``).

    Git accepts more than vcrdt stores (any bytes, any time, ``-0000``, offsets over 14 hours);
    the record keeps the exact bytes, so this is the closest value vcrdt can hold: text decoded
    with the commit's encoding (invalid bytes as U+FFFD), ``<``, ``>`` and control characters
    dropped, the time clamped to vcrdt's range, an offset it cannot hold as ``+0000``.
    """
    if line is None:
        return Signature("", "", 0, 0)
    m = _IDENT.fullmatch(line)
    if m is None:
        return Signature(_clean(_text(line, encoding)), "", 0, 0)
    name, email, seconds, tz = m.groups()
    ts = min(max(int(seconds), 0), MAX_TIMESTAMP) if seconds and len(seconds) < 20 else 0
    offset = 0
    if tz:
        hh, mm = int(tz[1:3]), int(tz[3:5])
        minutes = hh * 60 + mm
        if mm < 60 and minutes <= MAX_TZ_MINUTES:
            offset = -minutes if tz[:1] == b"-" else minutes
    return Signature(_clean(_text(name, encoding)), _clean(_text(email, encoding)), ts, offset)


def _clean(text: str) -> str:
    return "".join(c for c in text if c not in "<>" and (c.isprintable() or c == " "))


def display_message(raw: bytes, encoding: str) -> str:
    """The vcrdt message of a git message: decoded with the commit's encoding, invalid bytes as U+FFFD.

    Raises:
        GitInteropError: If the message holds a NUL byte (no vcrdt commit can hold one).
    """
    if b"\0" in raw:
        raise GitInteropError("message holds a NUL byte, which a vcrdt commit cannot hold")
    return _text(raw, encoding)


def git_ident(sig: Signature) -> bytes:
    """A vcrdt signature as git writes an ident: ``Name <email> seconds +hhmm``."""
    return f"{sig.name} <{sig.email}> {sig.timestamp} {sig.format_tz()}".encode()


# --- native vcrdt commits in git --------------------------------------------------------------


def native_header(commit: Commit, resolutions: bytes | None, parent_tags: Sequence[tuple[int, bytes]] = ()) -> bytes:
    """The git header lines (after tree and parents) of a vcrdt commit that has no git record.

    Author and committer are the vcrdt author; the fields git has no place for follow as
    ``vcrdt-replica``, ``vcrdt-lamport``, ``vcrdt-clock``, ``vcrdt-gaps`` (when the clock has
    gaps), ``vcrdt-resolutions`` (the record's one JSON line, when the merge has one) and
    ``vcrdt-parent-tags`` (``N=GITID`` for each parent that is an imported annotated tag: git
    names the commit the tag points to as parent N, the header the tag itself).

    Raises:
        GitInteropError: If the resolutions record is not one line of printable ASCII.
    """
    ident = git_ident(commit.author)
    lines = [b"author " + ident, b"committer " + ident, f"vcrdt-replica {commit.replica}".encode()]
    lines.append(f"vcrdt-lamport {commit.lamport}".encode())
    lines.append(("vcrdt-clock " + " ".join(f"{r}={c}" for r, c in commit.clock)).encode())
    if commit.gaps:
        lines.append(("vcrdt-gaps " + " ".join(f"{r}={format_gaps(g)}" for r, g in commit.gaps)).encode())
    if resolutions is not None:
        line = resolutions_line(resolutions)
        if line is None:
            raise GitInteropError("its resolutions record is not one line of printable ASCII")
        lines.append(b"vcrdt-resolutions " + line)
    if parent_tags:
        lines.append(b"vcrdt-parent-tags " + b" ".join(b"%d=%s" % (i, g.hex().encode()) for i, g in parent_tags))
    return b"\n".join(lines) + b"\n"


def resolutions_line(record: bytes) -> bytes | None:
    """The resolutions record as one header value (its line without the LF), if it is one line of ASCII."""
    if not record.endswith(b"\n"):
        return None
    line = record[:-1]
    if not line or any(b < 0x20 or b > 0x7E for b in line):
        return None
    import json  # here: only a commit made in vcrdt with a resolutions record needs it

    try:
        json.loads(line)
    except ValueError:
        return None
    return line
