"""Blob, Tree and Commit values and their one canonical byte encoding.

An object's id is SHA-256 over ``b"<kind> <length>\\0"`` plus its canonical
body (see `hashing`). Encoders produce exactly one byte string per value and
decoders accept exactly those byte strings: anything else raises
`CorruptObjectError`, whatever the input. The format is documented in
docs/format.md.

Tree body: entries sorted by the UTF-8 bytes of their names, each
``<kind> <name>\\0<32-byte id>`` with kind one of ``file``, ``exec``,
``link``, ``tree`` and, for git submodules, ``subm``.

Commit body (UTF-8 text)::

    tree <hex>
    parent <hex>            (zero or more, first parent first)
    author <name> <<email>> <unix seconds> <+hhmm>
    replica <32 hex>
    lamport <n>
    clock <replica>=<n> ...  (sorted by replica: per replica the highest counter seen)
    gaps <replica>=<lo>-<hi>,<n> ...  (optional: counters below it not in the history)
    resolutions <hex>       (optional: merges only)
    git <hex>               (optional: the git record of an imported git commit or tag)

    <message>

Imports `hashing`, `ids`, `paths` and `errors` only.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Callable, Iterator
from functools import cache
from itertools import pairwise

from vcrdt.errors import BadPathError, CorruptObjectError
from vcrdt.hashing import digest, object_id
from vcrdt.ids import OID_LEN, ZERO_ID, ObjectId, ReplicaId, from_hex, is_hex_id, is_replica_id
from vcrdt.paths import check_component, decode, encode
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    import re
    from typing import ClassVar

MAX_PARENTS = 64
MAX_CLOCK_ENTRIES = 100_000
MAX_TZ_MINUTES = 14 * 60
MAX_TIMESTAMP = 2**53
MAX_GAP_RANGES = 100_000

# A convergent merge commit (`vcrdt merge --auto`) is a pure function of its parents: this author,
# this message, and a replica id derived from the sorted parent ids (`convergent_actor`).
AUTO_NAME = "vcrdt"
AUTO_EMAIL = "auto-merge@vcrdt.invalid"
AUTO_MESSAGE = "Merge concurrent heads (automatic)\n"

# A version vector with exceptions: per replica the highest counter in the history (`clock`) and
# the ranges of counters below it that are not (`gaps`, inclusive, sorted, never adjacent).
Gaps = tuple[tuple[int, int], ...]
ClockEntries = tuple[tuple[ReplicaId, int], ...]
ClockGaps = tuple[tuple[ReplicaId, Gaps], ...]


class _EntryKinds(type):
    """`EntryKind`'s metaclass: the class iterates over its kinds in declaration order, as an enum does."""

    _members: tuple[EntryKind, ...]

    def __iter__(cls) -> Iterator[EntryKind]:
        return iter(cls._members)

    def __len__(cls) -> int:
        return len(cls._members)


class EntryKind(metaclass=_EntryKinds):
    """What a tree entry points at.

    An enumeration with `enum.Enum`'s behaviour for what vcrdt uses: one instance per kind,
    compared by identity, with a `name` and a `value` (the word stored in trees); iterating the
    class gives the kinds; ``EntryKind(word)`` gives the kind of a word or raises ValueError; a
    copy or a pickle is the same instance. Not an `enum.Enum` subclass: every command creates the
    kinds, and loading `enum` cost each about 6 M instructions of start-up.
    """

    __slots__ = ("name", "value")

    name: str
    value: str

    FILE: ClassVar[EntryKind]
    EXECUTABLE: ClassVar[EntryKind]
    SYMLINK: ClassVar[EntryKind]
    TREE: ClassVar[EntryKind]
    # A git submodule (gitlink, mode 160000): the id names a blob holding the submodule commit's
    # git id in lowercase hex. Format 2 revision 1 (git interop); docs/format.md.
    GITLINK: ClassVar[EntryKind]

    def __new__(cls, value: str) -> EntryKind:
        """Return the kind whose `value` is `value`.

        Raises:
            ValueError: If no kind has that value.
        """
        for kind in cls._members:
            if kind.value == value:
                return kind
        raise ValueError(f"{value!r} is not a valid EntryKind")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to {name!r}: EntryKind is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {name!r}: EntryKind is immutable")

    def __repr__(self) -> str:
        return f"<EntryKind.{self.name}: {self.value!r}>"

    def __str__(self) -> str:
        return f"EntryKind.{self.name}"

    def __reduce__(self) -> tuple[type[EntryKind], tuple[str]]:
        return (EntryKind, (self.value,))  # copied or unpickled: the same instance

    def __copy__(self) -> EntryKind:
        return self

    def __deepcopy__(self, _memo: object) -> EntryKind:
        return self


def _entry_kinds(*pairs: tuple[str, str]) -> None:
    members = []
    for name, value in pairs:
        kind = object.__new__(EntryKind)
        object.__setattr__(kind, "name", name)
        object.__setattr__(kind, "value", value)
        type.__setattr__(EntryKind, name, kind)
        members.append(kind)
    type.__setattr__(EntryKind, "_members", tuple(members))


_entry_kinds(("FILE", "file"), ("EXECUTABLE", "exec"), ("SYMLINK", "link"), ("TREE", "tree"), ("GITLINK", "subm"))


_KIND_BY_WORD = {k.value.encode("ascii"): k for k in EntryKind}


# The values below are immutable slotted classes (`vcrdt.values.Value`), not frozen dataclasses:
# the dataclass machinery (and the inspect, ast and dis modules it imports) cost every command a
# few milliseconds of start-up. __init__ sets the slots through object.__setattr__. Blob, Tree,
# TreeEntry and Reference keep their own __eq__ and __hash__ (same meaning as Value's): they are
# compared and hashed in bulk, and written out they cost a third of the generic methods.
_set = object.__setattr__


@value_class(frozen=True, init=False, repr=False, eq=False)
class Blob(Value):
    """File content (or a symlink's target)."""

    __slots__ = ("data",)

    data: bytes

    kind = "blob"

    def __init__(self, data: bytes) -> None:
        _set(self, "data", data)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self.data == other.data
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.data,))

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
@value_class(frozen=True, init=False, repr=False, eq=False)
class TreeEntry(Value):
    """One name in a tree."""

    __slots__ = ("name", "kind", "oid")  # noqa: RUF023 (field order)

    name: str
    kind: EntryKind
    oid: ObjectId

    def __init__(self, name: str, kind: EntryKind, oid: ObjectId) -> None:
        _set(self, "name", name)
        _set(self, "kind", kind)
        _set(self, "oid", oid)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            o: TreeEntry = other
            return self.name == o.name and self.kind == o.kind and self.oid == o.oid
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name, self.kind, self.oid))


@value_class(frozen=True, init=False, repr=False, eq=False)
class Tree(Value):
    """A directory: entries sorted by encoded name, names unique."""

    __slots__ = ("entries",)

    entries: tuple[TreeEntry, ...]

    kind = "tree"

    def __init__(self, entries: tuple[TreeEntry, ...]) -> None:
        _set(self, "entries", entries)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self.entries == other.entries
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.entries,))

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


# Names are checked once each: trees of one history repeat the same few thousand names.
@functools.lru_cache(maxsize=1 << 16)
def _entry_name_bytes(name: str) -> bytes:
    """Check a tree-entry name against the path rules and return its encoded bytes (remembered).

    Raises:
        CorruptObjectError: If the name breaks a path rule.
    """
    try:
        check_component(name)
    except BadPathError as exc:
        raise CorruptObjectError("tree", exc.message) from exc
    return encode(name)


@value_class(frozen=True, init=False, repr=False, eq=False)
class Signature(Value):
    """Who made a commit and when (seconds since the epoch, UTC offset in minutes)."""

    __slots__ = ("name", "email", "timestamp", "tz_offset")  # noqa: RUF023 (field order)

    name: str
    email: str
    timestamp: int
    tz_offset: int

    def __init__(self, name: str, email: str, timestamp: int, tz_offset: int) -> None:
        _set(self, "name", name)
        _set(self, "email", email)
        _set(self, "timestamp", timestamp)
        _set(self, "tz_offset", tz_offset)

    def format_tz(self) -> str:
        """Return the offset as ``+hhmm``.

        >>> Signature("a", "b", 0, -90).format_tz()
        '-0130'
        """
        sign = "-" if self.tz_offset < 0 else "+"
        m = abs(self.tz_offset)
        return f"{sign}{m // 60:02d}{m % 60:02d}"


# The patterns are compiled on first use (`cache`): compiling them costs a command that decodes
# no commit, such as `status`, millions of instructions at start-up.


@cache
def _author_re() -> re.Pattern[str]:
    import re

    return re.compile(r"([^<>\n]*) <([^<>\n]*)> (0|[1-9][0-9]{0,15}) ([+-])([0-9]{2})([0-9]{2})")


@cache
def _num_re() -> re.Pattern[str]:
    import re

    return re.compile(r"0|[1-9][0-9]{0,18}")


_ZERO_HEX = "0" * 64


_DIGIT_CHARS = frozenset("0123456789")
_GAP_CHARS = frozenset("0123456789,-")
# A canonical header's fields, as the pattern of tests/property/test_commit_header.py groups
# them: tree, parent lines, name, email, seconds, sign, hours, minutes, replica, lamport, clock
# (or None), gaps, resolutions, git (each None when absent); and where the header ends.
_Header = tuple[
    tuple[str, str, str, str, str, str, str, str, str, str, str | None, str | None, str | None, str | None], int
]


def _is_num(text: str, most: int) -> bool:
    """`0|[1-9][0-9]{0,most-1}`: a number without a leading zero, at most `most` digits."""
    if text == "0":
        return True
    return 0 < len(text) <= most and text[0] != "0" and _DIGIT_CHARS.issuperset(text)


def _is_count_item(item: str) -> bool:
    """A clock entry, ``[0-9a-f]{32}=[1-9][0-9]{0,18}``."""
    return item[32:33] == "=" and is_replica_id(item[:32]) and item[33:] != "0" and _is_num(item[33:], 19)


def _is_gaps_item(item: str) -> bool:
    """A gaps entry, ``[0-9a-f]{32}=[0-9,-]+``."""
    return len(item) > 33 and item[32] == "=" and is_replica_id(item[:32]) and _GAP_CHARS.issuperset(item[33:])


def _commit_header(text: str) -> _Header | None:
    """The fields of a canonical commit header at the start of `text`, read line by line without `re`; None if none.

    Loading `re` (with the `enum` module it imports) costs a process about 27 million
    instructions: more than a small fetch's whole work on either side, where every commit
    received or sent is decoded. Each line is checked as the pattern it replaced checked it
    (tests/property/test_commit_header.py holds the two to the same answers on valid, damaged
    and random headers).
    """
    pos = 0

    def line(word: str) -> str | None:
        nonlocal pos
        end = text.find("\n", pos)
        if end < 0 or not text.startswith(word, pos):
            return None
        got = text[pos + len(word) : end]
        pos = end + 1
        return got

    tree = line("tree ")
    if tree is None or not is_hex_id(tree):
        return None
    first = pos
    while text.startswith("parent ", pos):
        if not is_hex_id(text[pos + 7 : pos + 71]) or text[pos + 71 : pos + 72] != "\n":
            return None
        pos += 72
    parents = text[first:pos]
    author = line("author ")
    if author is None:
        return None
    # `[^<>\n]*` then " <": the name ends just before the first "<", which a space precedes.
    lt = author.find("<")
    gt = author.find(">", lt + 1)
    if lt < 1 or author[lt - 1] != " " or gt < 0:
        return None
    name, email, rest = author[: lt - 1], author[lt + 1 : gt], author[gt + 1 :]
    if ">" in name or "<" in email:
        return None
    seconds, _, zone = rest[1:].partition(" ")
    if rest[:1] != " " or not _is_num(seconds, 16) or len(zone) != 5 or zone[0] not in "+-":
        return None
    if not _DIGIT_CHARS.issuperset(zone[1:]):
        return None
    replica = line("replica ")
    if replica is None or not is_replica_id(replica):
        return None
    lamport = line("lamport ")
    if lamport is None or not _is_num(lamport, 19):
        return None
    clock = line("clock ")
    if clock is None or (clock and not all(map(_is_count_item, clock.split(" ")))):
        return None
    gaps = line("gaps ") if text.startswith("gaps ", pos) else None
    if gaps is not None and not all(map(_is_gaps_item, gaps.split(" "))):
        return None
    resolutions = line("resolutions ") if text.startswith("resolutions ", pos) else None
    if resolutions is not None and not is_hex_id(resolutions):
        return None
    git = line("git ") if text.startswith("git ", pos) else None
    if git is not None and not is_hex_id(git):
        return None
    if text[pos : pos + 1] != "\n":
        return None
    groups = (tree, parents, name, email, seconds, zone[0], zone[1:3], zone[3:5], replica, lamport)
    return (*groups, clock or None, gaps, resolutions, git), pos + 1


@value_class(frozen=True, init=False, repr=False, eq=False)
class Commit(Value):
    """A point in history."""

    __slots__ = ("tree", "parents", "author", "message", "replica", "lamport", "clock", "resolutions", "gaps", "git")  # noqa: RUF023 (field order)

    tree: ObjectId
    parents: tuple[ObjectId, ...]
    author: Signature
    message: str
    replica: ReplicaId
    lamport: int
    clock: ClockEntries
    # The blob recording the merge's automatic resolutions (docs/merge.md), when it made any.
    resolutions: ObjectId | None
    # Per clock key, the counters below its count that are not in this commit's history.
    gaps: ClockGaps
    # The git record blob (format 2 revision 1, `vcrdt.gitio`): what an imported git commit or
    # tag holds that the fields above do not, so any replica exports the same git bytes.
    git: ObjectId | None

    kind = "commit"

    def __init__(
        self,
        tree: ObjectId,
        parents: tuple[ObjectId, ...],
        author: Signature,
        message: str,
        replica: ReplicaId,
        lamport: int,
        clock: ClockEntries,
        resolutions: ObjectId | None = None,
        gaps: ClockGaps = (),
        git: ObjectId | None = None,
    ) -> None:
        _set(self, "tree", tree)
        _set(self, "parents", parents)
        _set(self, "author", author)
        _set(self, "message", message)
        _set(self, "replica", replica)
        _set(self, "lamport", lamport)
        _set(self, "clock", clock)
        _set(self, "resolutions", resolutions)
        _set(self, "gaps", gaps)
        _set(self, "git", git)

    def to_bytes(self) -> bytes:
        """Return the canonical body."""
        a = self.author
        lines = [f"tree {self.tree.hex()}"]
        lines += [f"parent {p.hex()}" for p in self.parents]
        lines.append(f"author {a.name} <{a.email}> {a.timestamp} {a.format_tz()}")
        lines.append(f"replica {self.replica}")
        lines.append(f"lamport {self.lamport}")
        lines.append("clock " + " ".join(f"{r}={c}" for r, c in self.clock))
        if self.gaps:
            lines.append("gaps " + " ".join(f"{r}={format_gaps(g)}" for r, g in self.gaps))
        if self.resolutions is not None:
            lines.append(f"resolutions {self.resolutions.hex()}")
        if self.git is not None:
            lines.append(f"git {self.git.hex()}")
        return ("\n".join(lines) + "\n\n" + self.message).encode("utf-8")

    @classmethod
    def from_bytes(cls, body: bytes) -> Commit:
        """Decode a commit body.

        `_commit_header` reads the whole header of a canonical commit (the fields of the
        pattern `tests/property/test_commit_header.py` holds it to), and the few rules a
        pattern cannot express (ids not all zero, distinct parents, limits, clock order) are
        checked on its fields; a body that fails either is handed to `_commit_problem` for the
        precise error. Every rule together pins every byte, so nothing is re-encoded: the
        property tests check that whatever decodes encodes back to the same bytes.

        Raises:
            CorruptObjectError: If the body is not a canonical commit.
        """
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorruptObjectError("commit", "not valid UTF-8") from exc
        header = _commit_header(text)
        if header is None or "\0" in text:
            raise _commit_problem(text)
        groups, header_end = header
        (tree_hex, parents_text, name, email, seconds, sign, hh, mm, replica, lamport, clock_text, gaps_text) = groups[
            :12
        ]
        res_hex, git_hex = groups[12], groups[13]
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
            or git_hex == _ZERO_HEX
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
        gaps: ClockGaps = ()
        if gaps_text is not None:
            try:
                gaps = _parse_gaps(gaps_text, clock)
            except CorruptObjectError:
                raise _commit_problem(text) from None
        make = _new_commit if cls is Commit else cls
        return make(
            ObjectId(bytes.fromhex(tree_hex)),
            parents,
            _new_signature(name, email, timestamp, -offset if sign == "-" else offset),
            text[header_end:],
            ReplicaId(replica),
            int(lamport),
            clock,
            None if res_hex is None else ObjectId(bytes.fromhex(res_hex)),
            gaps,
            None if git_hex is None else ObjectId(bytes.fromhex(git_hex)),
        )

    @property
    def id(self) -> ObjectId:
        """The object id."""
        return object_id(self.kind, self.to_bytes())

    @property
    def summary(self) -> str:
        """The message's subject, as git shows it (`vcrdt.messages.subject`)."""
        from vcrdt.messages import subject

        return subject(self.message)


# The decoder builds its Commit and Signature through their slots. Their __init__ sets each
# field with object.__setattr__, which checks the class's __setattr__ on every call; the slot's
# own setter does not, and costs about half (2 of the 7 us a commit took to decode). Same
# fields, same values: tests/unit/test_objects.py compares the two.
_COMMIT_SLOTS = Commit.__dict__
_SIGNATURE_SLOTS = Signature.__dict__


def _new_commit(
    tree: ObjectId,
    parents: tuple[ObjectId, ...],
    author: Signature,
    message: str,
    replica: ReplicaId,
    lamport: int,
    clock: ClockEntries,
    resolutions: ObjectId | None,
    gaps: ClockGaps = (),
    git: ObjectId | None = None,
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
    _gaps: Callable[[Commit, ClockGaps], None] = _COMMIT_SLOTS["gaps"].__set__,
    _git: Callable[[Commit, ObjectId | None], None] = _COMMIT_SLOTS["git"].__set__,
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
    _gaps(c, gaps)
    _git(c, git)
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
        m = _author_re().fullmatch(author_text)
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
        if lamport_text is None or not _num_re().fullmatch(lamport_text):
            return CorruptObjectError("commit", "missing or malformed lamport clock")
        clock_text = take("clock")
        if clock_text is None:
            return CorruptObjectError("commit", "missing vector clock")
        gaps_text = take("gaps")
        resolutions_hex = take("resolutions")
        if resolutions_hex is not None:
            _oid_field(resolutions_hex, "resolutions")
            if len(parents) < 2:
                return CorruptObjectError("commit", "resolutions on a commit that is not a merge")
        git_hex = take("git")
        if git_hex is not None:
            _oid_field(git_hex, "git record")
        if pos != len(lines):
            return CorruptObjectError("commit", f"unexpected header line {lines[pos][:40]!r}")
        clock = _parse_clock(clock_text)
        if gaps_text is not None:
            _parse_gaps(gaps_text, clock)
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
        if not eq or not is_replica_id(r) or not _num_re().fullmatch(c) or c == "0":
            raise CorruptObjectError("commit", f"malformed vector clock entry {item[:40]!r}")
        if out and r <= out[-1][0]:
            raise CorruptObjectError("commit", "vector clock not sorted or duplicated")
        out.append((ReplicaId(r), int(c)))
    return tuple(out)


@cache
def _gap_entry_re() -> re.Pattern[str]:
    import re

    return re.compile(
        r"([0-9a-f]{32})=((?:[1-9][0-9]{0,18})(?:-[1-9][0-9]{0,18})?(?:,[1-9][0-9]{0,18}(?:-[1-9][0-9]{0,18})?)*)"
    )


def format_gaps(gaps: Gaps) -> str:
    """Return the text of one key's gaps: ranges ``lo-hi`` (one counter alone: ``n``), comma-separated.

    >>> format_gaps(((3, 5), (7, 7)))
    '3-5,7'
    """
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in gaps)


def _parse_gaps(text: str, clock: ClockEntries) -> ClockGaps:
    """Decode the ``gaps`` line against the clock it qualifies.

    Raises:
        CorruptObjectError: If an entry is malformed, keys are not increasing or not in the
            clock, or a key's ranges are not increasing, separated and below its count.
    """
    counts = dict(clock)
    out: list[tuple[ReplicaId, Gaps]] = []
    total = 0
    for item in text.split(" "):
        m = _gap_entry_re().fullmatch(item)
        if m is None:
            raise CorruptObjectError("commit", f"malformed gaps entry {item[:40]!r}")
        key = ReplicaId(m.group(1))
        if out and key <= out[-1][0]:
            raise CorruptObjectError("commit", "gaps not sorted or duplicated")
        count = counts.get(key)
        if count is None:
            raise CorruptObjectError("commit", f"gaps for {key}, which is not in the vector clock")
        ranges: list[tuple[int, int]] = []
        for part in m.group(2).split(","):
            lo_text, dash, hi_text = part.partition("-")
            lo, hi = int(lo_text), int(hi_text) if dash else int(lo_text)
            # Canonical: lo < hi when written as a range, ranges apart by at least one
            # counter, and every gap below the key's count (the count itself is in the history).
            if (dash and lo >= hi) or (ranges and lo <= ranges[-1][1] + 1) or hi >= count:
                raise CorruptObjectError("commit", f"gaps of {key} not increasing, separate and below its count")
            ranges.append((lo, hi))
        total += len(ranges)
        if total > MAX_GAP_RANGES:
            raise CorruptObjectError("commit", "vector clock gaps too large")
        out.append((key, tuple(ranges)))
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


def convergent_actor(parents: list[ObjectId]) -> ReplicaId:
    """The replica id of the convergent merge of `parents` (sorted by id): derived, never a real replica's.

    >>> len(convergent_actor([ObjectId(b"\\1" * 32), ObjectId(b"\\2" * 32)]))
    32
    """
    return ReplicaId(digest(b"vcrdt-auto-merge\0" + b"".join(parents))[:16].hex())


def is_convergent_commit(commit: Commit) -> bool:
    """Tell whether `commit` is a convergent merge: two or more parents and the derived replica id.

    Its other fields are pinned by the history rules (`history_problem`); a convergent merge has
    no dot of its own (docs/format.md).
    """
    return (
        len(commit.parents) >= 2
        and commit.replica == convergent_actor(sorted(commit.parents))
        and commit.author.email == AUTO_EMAIL
        and commit.message == AUTO_MESSAGE
    )


def commit_dot(commit: Commit) -> tuple[ReplicaId, int] | None:
    """The commit's own dot ``(replica, counter)``; None for a convergent merge, which has none.

    The counter of a commit is its replica's count in its own clock (0 if a damaged commit
    lacks it, which no clock covers).
    """
    if is_convergent_commit(commit):
        return None
    for key, count in commit.clock:
        if key == commit.replica:
            return key, count
    return commit.replica, 0


_INF = 1 << 64  # above every count (at most 19 decimal digits)


def _gaps_of(commit: Commit, key: ReplicaId) -> Gaps:
    for k, gaps in commit.gaps:
        if k == key:
            return gaps
    return ()


def _in_gaps(gaps: Gaps, n: int) -> bool:
    i = bisect_right(gaps, (n, _INF)) - 1
    return i >= 0 and gaps[i][0] <= n <= gaps[i][1]


def covers(commit: Commit, dot: tuple[ReplicaId, int]) -> bool:
    """Tell whether the dot ``(replica, counter)`` is in `commit`'s history (its count or below, not a gap).

    >>> r = ReplicaId("a" * 32)
    >>> s = Signature("a", "b", 0, 0)
    >>> c = Commit(ObjectId(b"\\1" * 32), (), s, "m\\n", r, 1, ((r, 5),), None, ((r, ((2, 3),)),))
    >>> [covers(c, (r, n)) for n in range(1, 7)]
    [True, False, False, True, True, False]
    """
    key, n = dot
    for k, count in commit.clock:
        if k == key:
            return 1 <= n <= count and not _in_gaps(_gaps_of(commit, key), n)
    return False


def clock_leq(a: Commit, b: Commit) -> bool:
    """Tell whether every dot `a`'s clock covers is covered by `b`'s (a's history within b's, by dots)."""
    b_counts = dict(b.clock)
    b_gaps = dict(b.gaps)
    a_gaps = dict(a.gaps)
    for key, count in a.clock:
        if b_counts.get(key, 0) < count:
            return False
        mine = a_gaps.get(key, ())
        for lo, hi in b_gaps.get(key, ()):
            if lo > count:
                break
            # b lacks [lo, min(hi, count)]: a must lack all of it too, inside one of its gaps.
            top = min(hi, count)
            i = bisect_right(mine, (lo, _INF)) - 1
            if i < 0 or mine[i][1] < top:
                return False
    return True


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The intersection of two sorted lists of disjoint inclusive ranges."""
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def join_clocks(parents: list[Commit]) -> dict[ReplicaId, tuple[int, Gaps]]:
    """The clock of the union of the parents' histories: per key the highest count and the common gaps.

    A counter is in the union when some parent covers it, so it is a gap of the join when it is
    a gap of, or above the count of, every parent that has the key.
    """
    if len(parents) == 1:
        gaps = dict(parents[0].gaps)
        return {key: (count, gaps.get(key, ())) for key, count in parents[0].clock}
    counts: dict[ReplicaId, int] = {}
    missing: dict[ReplicaId, list[tuple[int, int]]] = {}
    for p in parents:
        p_gaps = dict(p.gaps)
        for key, count in p.clock:
            lacks = [*p_gaps.get(key, ()), (count + 1, _INF)]
            if key in counts:
                counts[key] = max(counts[key], count)
                missing[key] = _intersect(missing[key], lacks)
            else:
                counts[key] = count
                missing[key] = lacks
    return {key: (count, tuple(g for g in missing[key] if g[1] < count)) for key, count in counts.items()}


def commit_clock(parents: list[Commit], dot: tuple[ReplicaId, int] | None) -> tuple[ClockEntries, ClockGaps]:
    """Return the clock and gaps of a new commit: its parents' joined, plus its own `dot` (if any).

    The dot's counter must be above the parents' count for its replica (a replica's counter
    only grows); the counters skipped between become a gap (commits on other branches).

    Raises:
        ValueError: If the dot's counter is not above the parents' count for its replica.

    >>> r = ReplicaId("a" * 32)
    >>> commit_clock([], (r, 3))
    ((('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 3),), (('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', ((1, 2),)),))
    """
    joined = join_clocks(parents)
    if dot is not None:
        key, n = dot
        count, gaps = joined.get(key, (0, ()))
        if n <= count:
            raise ValueError(f"counter {n} of {key} is not above {count}")
        joined[key] = (n, (*gaps, (count + 1, n - 1)) if count + 1 < n else gaps)
    keys = sorted(joined)
    return (
        tuple((k, joined[k][0]) for k in keys),
        tuple((k, joined[k][1]) for k in keys if joined[k][1]),
    )


def history_problem(commit: Commit, parents: list[Commit]) -> str | None:
    """Check a commit's clocks against its parents' (the history rules of docs/format.md).

    Returns:
        None when the Lamport clock is 1 + the parents' maximum and the vector clock (with its
        gaps) is the parents' joined plus the commit's own dot: its replica's counter, above
        the parents' count for that replica; a convergent merge has no dot and its fixed fields.
        Otherwise what is wrong.

    >>> r = ReplicaId("a" * 32)
    >>> c = Commit(ObjectId(b"\\1" * 32), (), Signature("a", "b", 0, 0), "m\\n", r, 1, ((r, 1),))
    >>> history_problem(c, []) is None
    True
    """
    want = 1 + max((p.lamport for p in parents), default=0)
    if commit.lamport != want:
        return f"lamport clock {commit.lamport}, but its parents make it {want}"
    if len(commit.parents) >= 2 and commit.replica == convergent_actor(sorted(commit.parents)):
        fixed = Signature(AUTO_NAME, AUTO_EMAIL, max(p.author.timestamp for p in parents), 0)
        if list(commit.parents) != sorted(commit.parents) or commit.author != fixed or commit.message != AUTO_MESSAGE:
            return "convergent merge is not in its fixed form (sorted parents, author, time, message)"
        if (commit.clock, commit.gaps) != commit_clock(parents, None):
            return "vector clock of a convergent merge is not its parents' clocks joined"
        return None
    counts = dict(commit.clock)
    n = counts.get(commit.replica, 0)
    try:
        expected = commit_clock(parents, (commit.replica, n))
    except ValueError:
        return "vector clock does not count its replica up past its parents"
    if (commit.clock, commit.gaps) != expected:
        return "vector clock is not its parents' clocks joined with its own dot"
    return None


@value_class(frozen=True, init=False, repr=False, eq=False)
class Reference(Value):
    """One object a tree or commit names, and the kind it must be (docs/format.md)."""

    __slots__ = ("oid", "kind", "holder")  # noqa: RUF023 (field order)

    oid: ObjectId
    kind: str
    # The start of the sentence that says it is of another kind, e.g. "its parent <hex> is".
    holder: str

    def __init__(self, oid: ObjectId, kind: str, holder: str) -> None:
        _set(self, "oid", oid)
        _set(self, "kind", kind)
        _set(self, "holder", holder)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            o: Reference = other
            return self.oid == o.oid and self.kind == o.kind and self.holder == o.holder
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.oid, self.kind, self.holder))

    def problem(self, actual: str) -> str | None:
        """Return what is wrong when the named object is of kind `actual`, or None if that is right.

        >>> Reference(ObjectId(b"\\1" * 32), "blob", "entry 'f' of kind file names").problem("tree")
        "entry 'f' of kind file names a tree, not a blob"
        """
        return None if actual == self.kind else f"{self.holder} a {actual}, not a {self.kind}"


def references(obj: Tree | Commit) -> list[Reference]:
    """Every object `obj` names, with the kind each must be.

    A ``file``, ``exec``, ``link`` or ``subm`` entry names a blob and a ``tree`` entry a tree; a
    commit's tree is a tree, its parents are commits and its resolutions and git records are blobs.
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
    if obj.git is not None:
        refs.append(Reference(obj.git, "blob", f"its git record {obj.git.hex()} is"))
    return refs
