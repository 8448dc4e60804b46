"""Blob, Tree and Commit values and their one canonical byte encoding.

An object's id is SHA-256 over ``b"<kind> <length>\\0"`` plus its canonical
body (see `hashing`). Encoders produce exactly one byte string per value and
decoders accept exactly those byte strings: anything else raises
`CorruptObjectError`, whatever the input. The format is documented in
docs/format.md.

Tree body: entries sorted by the UTF-8 bytes of their names, each
``<kind> <name>\\0<32-byte id>`` with kind one of ``file``, ``exec``,
``link``, ``tree``.

Commit body (UTF-8 text)::

    tree <hex>
    parent <hex>            (zero or more, first parent first)
    author <name> <<email>> <unix seconds> <+hhmm>
    replica <32 hex>
    lamport <n>
    clock <replica>=<n> ...  (sorted by replica; the sparse vector clock)

    <message>

Imports `hashing`, `ids`, `paths` and `errors` only.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from vcrdt.errors import BadPathError, CorruptObjectError
from vcrdt.hashing import object_id
from vcrdt.ids import OID_LEN, ZERO_ID, ObjectId, ReplicaId, from_hex, is_replica_id
from vcrdt.paths import check_component, decode, encode

MAX_PARENTS = 64
MAX_CLOCK_ENTRIES = 100_000
MAX_TZ_MINUTES = 14 * 60
MAX_TIMESTAMP = 2**53


class EntryKind(enum.Enum):
    """What a tree entry points at."""

    FILE = "file"
    EXECUTABLE = "exec"
    SYMLINK = "link"
    TREE = "tree"


_KIND_BY_WORD = {k.value.encode("ascii"): k for k in EntryKind}


@dataclass(frozen=True, slots=True)
class Blob:
    """File content (or a symlink's target)."""

    data: bytes

    kind = "blob"

    def to_bytes(self) -> bytes:
        """Return the canonical body."""
        return self.data

    @classmethod
    def from_bytes(cls, body: bytes) -> Blob:
        """Decode a body; every byte string is a valid blob."""
        return cls(bytes(body))

    @property
    def id(self) -> ObjectId:
        """The object id."""
        return object_id(self.kind, self.data)


# Equality covers all three fields: comparing by name alone made two trees that
# differ only in an entry's kind or id compare (and hash) equal. There is no
# ordering on entries; trees sort by the encoded name (`Tree.build`).
@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One name in a tree."""

    name: str
    kind: EntryKind
    oid: ObjectId


@dataclass(frozen=True, slots=True)
class Tree:
    """A directory: entries sorted by encoded name, names unique."""

    entries: tuple[TreeEntry, ...]

    kind = "tree"

    @classmethod
    def build(cls, entries: list[TreeEntry]) -> Tree:
        """Return a tree with `entries` sorted canonically.

        Raises:
            CorruptObjectError: If two entries share a name or a name is invalid.
        """
        # Names are checked before sorting by their bytes: a name that cannot be
        # encoded must raise CorruptObjectError here, not UnicodeEncodeError.
        ordered = sorted(entries, key=lambda e: _entry_name_bytes(e.name))
        tree = cls(tuple(ordered))
        tree.validate()
        return tree

    def validate(self) -> None:
        """Check names, order and ids.

        Raises:
            CorruptObjectError: On any broken rule.
        """
        prev: bytes | None = None
        for entry in self.entries:
            raw = _entry_name_bytes(entry.name)
            if prev is not None and raw <= prev:
                rule = "duplicate entry" if raw == prev else "entries not sorted"
                raise CorruptObjectError("tree", f"{rule} {entry.name!r}")
            if len(entry.oid) != OID_LEN or entry.oid == ZERO_ID:
                raise CorruptObjectError("tree", f"bad object id for entry {entry.name!r}")
            prev = raw

    def to_bytes(self) -> bytes:
        """Return the canonical body."""
        parts: list[bytes] = []
        for e in self.entries:
            parts.append(e.kind.value.encode("ascii") + b" " + encode(e.name) + b"\0" + e.oid)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, body: bytes) -> Tree:
        """Decode a tree body.

        Raises:
            CorruptObjectError: If the body is not a canonical tree.
        """
        entries: list[TreeEntry] = []
        pos = 0
        n = len(body)
        while pos < n:
            sp = body.find(b" ", pos, pos + 5)
            if sp < 0:
                raise CorruptObjectError("tree", f"bad entry kind at byte {pos}")
            kind = _KIND_BY_WORD.get(body[pos:sp])
            if kind is None:
                raise CorruptObjectError("tree", f"unknown entry kind at byte {pos}")
            nul = body.find(b"\0", sp + 1)
            if nul < 0:
                raise CorruptObjectError("tree", f"unterminated entry name at byte {sp + 1}")
            raw_name = body[sp + 1 : nul]
            if b"/" in raw_name:
                raise CorruptObjectError("tree", "slash inside an entry name")
            oid = body[nul + 1 : nul + 1 + OID_LEN]
            if len(oid) != OID_LEN:
                raise CorruptObjectError("tree", "truncated entry id")
            entries.append(TreeEntry(decode(raw_name), kind, ObjectId(bytes(oid))))
            pos = nul + 1 + OID_LEN
        tree = cls(tuple(entries))
        tree.validate()
        return tree

    @property
    def id(self) -> ObjectId:
        """The object id."""
        return object_id(self.kind, self.to_bytes())

    def get(self, name: str) -> TreeEntry | None:
        """Return the entry called `name`, if any."""
        for e in self.entries:
            if e.name == name:
                return e
        return None


def _entry_name_bytes(name: str) -> bytes:
    """Check a tree-entry name against the path rules and return its encoded bytes.

    Raises:
        CorruptObjectError: If the name breaks a path rule.
    """
    try:
        check_component(name)
    except BadPathError as exc:
        raise CorruptObjectError("tree", exc.message) from exc
    return encode(name)


@dataclass(frozen=True, slots=True)
class Signature:
    """Who made a commit and when (seconds since the epoch, UTC offset in minutes)."""

    name: str
    email: str
    timestamp: int
    tz_offset: int

    def format_tz(self) -> str:
        """Return the offset as ``+hhmm``.

        >>> Signature("a", "b", 0, -90).format_tz()
        '-0130'
        """
        sign = "-" if self.tz_offset < 0 else "+"
        m = abs(self.tz_offset)
        return f"{sign}{m // 60:02d}{m % 60:02d}"


_AUTHOR_RE = re.compile(r"([^<>\n]*) <([^<>\n]*)> (0|[1-9][0-9]{0,15}) ([+-])([0-9]{2})([0-9]{2})")
_NUM_RE = re.compile(r"0|[1-9][0-9]{0,18}")
_ZERO_HEX = "0" * 64
# The whole header of a canonical commit, through the empty line that ends it. Names and
# emails hold no "<", ">" or LF, so every field boundary is unique; NUL is checked apart.
_COMMIT_RE = re.compile(
    r"tree ([0-9a-f]{64})\n"
    r"((?:parent [0-9a-f]{64}\n)*)"
    r"author ([^<>\n]*) <([^<>\n]*)> (0|[1-9][0-9]{0,15}) ([+-])([0-9]{2})([0-9]{2})\n"
    r"replica ([0-9a-f]{32})\n"
    r"lamport (0|[1-9][0-9]{0,18})\n"
    r"clock ([0-9a-f]{32}=[1-9][0-9]{0,18}(?: [0-9a-f]{32}=[1-9][0-9]{0,18})*)?\n"
    r"(?:resolutions ([0-9a-f]{64})\n)?"
    r"\n"
)


@dataclass(frozen=True, slots=True)
class Commit:
    """A point in history."""

    tree: ObjectId
    parents: tuple[ObjectId, ...]
    author: Signature
    message: str
    replica: ReplicaId
    lamport: int
    clock: tuple[tuple[ReplicaId, int], ...]
    # The blob recording the merge's automatic resolutions (docs/merge.md), when it made any.
    resolutions: ObjectId | None = None

    kind = "commit"

    def to_bytes(self) -> bytes:
        """Return the canonical body."""
        a = self.author
        lines = [f"tree {self.tree.hex()}"]
        lines += [f"parent {p.hex()}" for p in self.parents]
        lines.append(f"author {a.name} <{a.email}> {a.timestamp} {a.format_tz()}")
        lines.append(f"replica {self.replica}")
        lines.append(f"lamport {self.lamport}")
        lines.append("clock " + " ".join(f"{r}={c}" for r, c in self.clock))
        if self.resolutions is not None:
            lines.append(f"resolutions {self.resolutions.hex()}")
        return ("\n".join(lines) + "\n\n" + self.message).encode("utf-8")

    @classmethod
    def from_bytes(cls, body: bytes) -> Commit:
        """Decode a commit body.

        One regular expression matches the whole header of a canonical commit and the few
        rules it cannot express (ids not all zero, distinct parents, limits, clock order) are
        checked on its groups; a body that fails either is handed to `_commit_problem` for the
        precise error. Every rule together pins every byte, so nothing is re-encoded: the
        property tests check that whatever decodes encodes back to the same bytes.

        Raises:
            CorruptObjectError: If the body is not a canonical commit.
        """
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorruptObjectError("commit", "not valid UTF-8") from exc
        m = _COMMIT_RE.match(text)
        if m is None or "\0" in text:
            raise _commit_problem(text)
        tree_hex, parents_text, name, email, seconds, sign, hh, mm, replica, lamport, clock_text, res_hex = m.groups()
        offset = int(hh) * 60 + int(mm)
        timestamp = int(seconds)
        # Each parent line is "parent " (7), 64 hex digits and LF: 72 characters.
        n = len(parents_text)
        if n == 72:  # most commits
            parents: tuple[ObjectId, ...] = (ObjectId(bytes.fromhex(parents_text[7:71])),)
            bad_parents = parents[0] == ZERO_ID
        else:
            parents = tuple([ObjectId(bytes.fromhex(parents_text[i + 7 : i + 71])) for i in range(0, n, 72)])
            bad_parents = len(parents) > MAX_PARENTS or ZERO_ID in parents or len(set(parents)) != len(parents)
        if (
            bad_parents
            or tree_hex == _ZERO_HEX
            or mm >= "60"
            or offset > MAX_TZ_MINUTES
            or (sign == "-" and offset == 0)
            or timestamp > MAX_TIMESTAMP
            or (res_hex is not None and (n < 2 * 72 or res_hex == _ZERO_HEX))
        ):
            raise _commit_problem(text)
        if clock_text is None:
            clock: tuple[tuple[ReplicaId, int], ...] = ()
        elif len(clock_text) <= 52:  # one entry (32 hex digits, "=", at most 19 digits); two take 69 or more
            clock = ((ReplicaId(clock_text[:32]), int(clock_text[33:])),)
        else:
            items = clock_text.split(" ")
            # Keys strictly increasing (each entry is "<32 hex>=<count>", so the key is [:32]).
            if len(items) > MAX_CLOCK_ENTRIES or any(a[:32] >= b[:32] for a, b in pairwise(items)):
                raise _commit_problem(text)
            clock = tuple([(ReplicaId(item[:32]), int(item[33:])) for item in items])
        make = _new_commit if cls is Commit else cls
        return make(
            ObjectId(bytes.fromhex(tree_hex)),
            parents,
            _new_signature(name, email, timestamp, -offset if sign == "-" else offset),
            text[m.end() :],
            ReplicaId(replica),
            int(lamport),
            clock,
            None if res_hex is None else ObjectId(bytes.fromhex(res_hex)),
        )

    @property
    def id(self) -> ObjectId:
        """The object id."""
        return object_id(self.kind, self.to_bytes())

    @property
    def summary(self) -> str:
        """The first line of the message."""
        return self.message.split("\n", 1)[0]


# The decoder builds its Commit and Signature through their slots. A frozen dataclass's
# __init__ sets each field with object.__setattr__, which checks the class's __setattr__ on
# every call; the slot's own setter does not, and costs about half (2 of the 7 us a commit
# took to decode). Same fields, same values: tests/unit/test_objects.py compares the two.
_COMMIT_SLOTS = Commit.__dict__
_SIGNATURE_SLOTS = Signature.__dict__


def _new_commit(
    tree: ObjectId,
    parents: tuple[ObjectId, ...],
    author: Signature,
    message: str,
    replica: ReplicaId,
    lamport: int,
    clock: tuple[tuple[ReplicaId, int], ...],
    resolutions: ObjectId | None,
    *,
    _new: Callable[[type[Commit]], Commit] = object.__new__,
    _tree: Callable[[Commit, ObjectId], None] = _COMMIT_SLOTS["tree"].__set__,
    _parents: Callable[[Commit, tuple[ObjectId, ...]], None] = _COMMIT_SLOTS["parents"].__set__,
    _author: Callable[[Commit, Signature], None] = _COMMIT_SLOTS["author"].__set__,
    _message: Callable[[Commit, str], None] = _COMMIT_SLOTS["message"].__set__,
    _replica: Callable[[Commit, ReplicaId], None] = _COMMIT_SLOTS["replica"].__set__,
    _lamport: Callable[[Commit, int], None] = _COMMIT_SLOTS["lamport"].__set__,
    _clock: Callable[[Commit, tuple[tuple[ReplicaId, int], ...]], None] = _COMMIT_SLOTS["clock"].__set__,
    _resolutions: Callable[[Commit, ObjectId | None], None] = _COMMIT_SLOTS["resolutions"].__set__,
) -> Commit:
    """Return ``Commit(tree, parents, ...)``, built as its __init__ would build it (for the decoder)."""
    c = _new(Commit)
    _tree(c, tree)
    _parents(c, parents)
    _author(c, author)
    _message(c, message)
    _replica(c, replica)
    _lamport(c, lamport)
    _clock(c, clock)
    _resolutions(c, resolutions)
    return c


def _new_signature(
    name: str,
    email: str,
    timestamp: int,
    tz_offset: int,
    *,
    _new: Callable[[type[Signature]], Signature] = object.__new__,
    _name: Callable[[Signature, str], None] = _SIGNATURE_SLOTS["name"].__set__,
    _email: Callable[[Signature, str], None] = _SIGNATURE_SLOTS["email"].__set__,
    _timestamp: Callable[[Signature, int], None] = _SIGNATURE_SLOTS["timestamp"].__set__,
    _tz_offset: Callable[[Signature, int], None] = _SIGNATURE_SLOTS["tz_offset"].__set__,
) -> Signature:
    """Return ``Signature(name, email, timestamp, tz_offset)``, built as its __init__ would build it."""
    s = _new(Signature)
    _name(s, name)
    _email(s, email)
    _timestamp(s, timestamp)
    _tz_offset(s, tz_offset)
    return s


def _commit_problem(text: str) -> CorruptObjectError:
    """Return the error for a commit body the fast path refused, naming the first broken rule.

    Walks the header line by line in the documented order, so each kind of damage gets its
    own message; a body that breaks no single rule yet did not match is not canonical.
    """
    if "\0" in text:
        return CorruptObjectError("commit", "NUL byte in commit")
    head, sep, _ = text.partition("\n\n")
    if not sep:
        return CorruptObjectError("commit", "missing blank line before the message")
    lines = head.split("\n")
    pos = 0

    def take(word: str) -> str | None:
        nonlocal pos
        if pos < len(lines) and lines[pos].startswith(word + " "):
            pos += 1
            return lines[pos - 1][len(word) + 1 :]
        return None

    try:
        tree_hex = take("tree")
        if tree_hex is None:
            return CorruptObjectError("commit", "missing tree")
        _oid_field(tree_hex, "tree")
        parents: list[ObjectId] = []
        while (p := take("parent")) is not None:
            parents.append(_oid_field(p, "parent"))
        if len(parents) > MAX_PARENTS:
            return CorruptObjectError("commit", f"more than {MAX_PARENTS} parents")
        if len(set(parents)) != len(parents):
            return CorruptObjectError("commit", "duplicate parent")
        author_text = take("author")
        if author_text is None:
            return CorruptObjectError("commit", "missing author")
        m = _AUTHOR_RE.fullmatch(author_text)
        if m is None:
            return CorruptObjectError("commit", "malformed author line")
        hours, minutes = int(m.group(5)), int(m.group(6))
        offset = hours * 60 + minutes
        if minutes >= 60 or offset > MAX_TZ_MINUTES:
            return CorruptObjectError("commit", "bad time-zone offset")
        if m.group(4) == "-" and offset == 0:
            return CorruptObjectError("commit", "negative zero time-zone offset")
        if int(m.group(3)) > MAX_TIMESTAMP:
            return CorruptObjectError("commit", "timestamp out of range")
        replica = take("replica")
        if replica is None or not is_replica_id(replica):
            return CorruptObjectError("commit", "missing or malformed replica id")
        lamport_text = take("lamport")
        if lamport_text is None or not _NUM_RE.fullmatch(lamport_text):
            return CorruptObjectError("commit", "missing or malformed lamport clock")
        clock_text = take("clock")
        if clock_text is None:
            return CorruptObjectError("commit", "missing vector clock")
        resolutions_hex = take("resolutions")
        if resolutions_hex is not None:
            _oid_field(resolutions_hex, "resolutions")
            if len(parents) < 2:
                return CorruptObjectError("commit", "resolutions on a commit that is not a merge")
        if pos != len(lines):
            return CorruptObjectError("commit", f"unexpected header line {lines[pos][:40]!r}")
        _parse_clock(clock_text)
    except CorruptObjectError as exc:
        return exc
    return CorruptObjectError("commit", "not in canonical form")


def _oid_field(text: str, what: str) -> ObjectId:
    try:
        oid = from_hex(text)
    except CorruptObjectError as exc:
        raise CorruptObjectError("commit", f"bad {what} id") from exc
    if oid == ZERO_ID:
        raise CorruptObjectError("commit", f"null {what} id")
    return oid


def _parse_clock(text: str) -> tuple[tuple[ReplicaId, int], ...]:
    if not text:
        return ()
    items = text.split(" ")
    if len(items) > MAX_CLOCK_ENTRIES:
        raise CorruptObjectError("commit", "vector clock too large")
    out: list[tuple[ReplicaId, int]] = []
    for item in items:
        r, eq, c = item.partition("=")
        if not eq or not is_replica_id(r) or not _NUM_RE.fullmatch(c) or c == "0":
            raise CorruptObjectError("commit", f"malformed vector clock entry {item[:40]!r}")
        if out and r <= out[-1][0]:
            raise CorruptObjectError("commit", "vector clock not sorted or duplicated")
        out.append((ReplicaId(r), int(c)))
    return tuple(out)


AnyObject = Blob | Tree | Commit

_DECODERS: dict[str, type[Blob] | type[Tree] | type[Commit]] = {"blob": Blob, "tree": Tree, "commit": Commit}


def decode_object(kind: str, body: bytes) -> AnyObject:
    """Decode a body of the given kind.

    Raises:
        CorruptObjectError: If the kind is unknown or the body malformed.
    """
    cls = _DECODERS.get(kind)
    if cls is None:
        raise CorruptObjectError(kind[:20], "unknown object kind")
    return cls.from_bytes(body)


def merge_clocks(
    clocks: list[tuple[tuple[ReplicaId, int], ...]], replica: ReplicaId
) -> tuple[tuple[ReplicaId, int], ...]:
    """Return the vector clock of a new commit: pointwise max of the parents', own count + 1.

    >>> r = ReplicaId("a" * 32)
    >>> merge_clocks([((r, 2),), ()], r)[0][1]
    3
    """
    merged: dict[ReplicaId, int] = {}
    for clock in clocks:
        for rep, count in clock:
            if count > merged.get(rep, 0):
                merged[rep] = count
    merged[replica] = merged.get(replica, 0) + 1
    return tuple(sorted(merged.items()))


def history_problem(commit: Commit, parents: list[Commit]) -> str | None:
    """Check a commit's clocks against its parents' (the history rules of docs/format.md).

    Returns:
        None when the Lamport clock is 1 + the parents' maximum and the vector clock is the
        parents' pointwise maximum with exactly one key counted up by one; else what is wrong.

    >>> r = ReplicaId("a" * 32)
    >>> c = Commit(ObjectId(b"\\1" * 32), (), Signature("a", "b", 0, 0), "m\\n", r, 1, ((r, 1),))
    >>> history_problem(c, []) is None
    True
    """
    want = 1 + max((p.lamport for p in parents), default=0)
    if commit.lamport != want:
        return f"lamport clock {commit.lamport}, but its parents make it {want}"
    joined: dict[ReplicaId, int] = {}
    for p in parents:
        for key, count in p.clock:
            if count > joined.get(key, 0):
                joined[key] = count
    clock = dict(commit.clock)
    grown = [k for k in clock if clock[k] != joined.get(k, 0)]
    if any(k not in clock for k in joined) or len(grown) != 1 or clock[grown[0]] != joined.get(grown[0], 0) + 1:
        return "vector clock is not its parents' clocks with one key counted up"
    return None


@dataclass(frozen=True, slots=True)
class Reference:
    """One object a tree or commit names, and the kind it must be (docs/format.md)."""

    oid: ObjectId
    kind: str
    # The start of the sentence that says it is of another kind, e.g. "its parent <hex> is".
    holder: str

    def problem(self, actual: str) -> str | None:
        """Return what is wrong when the named object is of kind `actual`, or None if that is right.

        >>> Reference(ObjectId(b"\\1" * 32), "blob", "entry 'f' of kind file names").problem("tree")
        "entry 'f' of kind file names a tree, not a blob"
        """
        return None if actual == self.kind else f"{self.holder} a {actual}, not a {self.kind}"


def references(obj: Tree | Commit) -> list[Reference]:
    """Every object `obj` names, with the kind each must be.

    A ``file``, ``exec`` or ``link`` entry names a blob and a ``tree`` entry a tree; a commit's
    tree is a tree, its parents are commits and its resolutions record is a blob.
    """
    if isinstance(obj, Tree):
        return [
            Reference(
                e.oid, "tree" if e.kind is EntryKind.TREE else "blob", f"entry {e.name!r} of kind {e.kind.value} names"
            )
            for e in obj.entries
        ]
    refs = [Reference(obj.tree, "tree", f"its tree {obj.tree.hex()} is")]
    refs += [Reference(p, "commit", f"its parent {p.hex()} is") for p in obj.parents]
    if obj.resolutions is not None:
        refs.append(Reference(obj.resolutions, "blob", f"its resolutions record {obj.resolutions.hex()} is"))
    return refs
