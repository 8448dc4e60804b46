"""The commit table: one row per stored commit, so a walk down history reads no commit object.

Like git's commit-graph file, the ``commits`` table is derived data: each row repeats what a
walk and `log`'s default format read from a commit (its parents, Lamport clock, the author
signature and the message), and nothing that is not in the commit object. `add` writes the rows
in the same transaction as the object rows (`vcrdt.store.sqlite.SqliteStore` calls it from every
put), and `remove` drops them with the objects, so every writer keeps the table current. A
repository made before the table existed gets it filled on first open (`rebuild`). Only commits
stored whole have rows: one over `LARGE_OBJECT` bytes (stored in chunks) is read from its
object. `problems` (for ``vcrdt fsck``) compares every row with its commit object.

The table is trusted as the objects are not (it is not content-addressed): only a repository's
own table is read, never another replica's (`vcrdt.store.sqlite.SqliteStore.commit_rows`).
See docs/format.md, "The commit table".

Imports `objects`, `ids` and `errors` only.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see vcrdt.store.db

from vcrdt.errors import CorruptObjectError
from vcrdt.extensions import cache  # functools', not loaded
from vcrdt.ids import OID_LEN, ObjectId, to_hex

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from typing import Any

    from vcrdt.objects import Commit, Signature

    _Set = Callable[[Signature, Any], None]  # a slot's setter

# id, lamport, time, tz, parents (the ids one after the other), name, email, message.
_INSERT = (
    "INSERT OR REPLACE INTO commits(id, lamport, time, tz, parents, name, email, message) VALUES (?,?,?,?,?,?,?,?)"
)
# No CASTs: `parse` checks each value's type, and a text that is not UTF-8 fails the query
# (`sqlite3.OperationalError`), which the readers take as rows missing.
_COLUMNS = "id, lamport, time, tz, parents, name, email, message"
# The row of an id and the rows stored in the `window` rows before it (a walk's next commits).
SELECT_BEFORE = (
    f"SELECT {_COLUMNS} FROM commits WHERE rowid BETWEEN"
    " (SELECT rowid FROM commits WHERE id = ?1) - ?2 AND (SELECT rowid FROM commits WHERE id = ?1)"
)
# The same rows' ids, clocks and parents only: what a walk down history reads.
SELECT_LINKS_BEFORE = (
    "SELECT id, lamport, parents FROM commits WHERE rowid BETWEEN"
    " (SELECT rowid FROM commits WHERE id = ?1) - ?2 AND (SELECT rowid FROM commits WHERE id = ?1)"
)
_SELECT_ALL = f"SELECT {_COLUMNS} FROM commits"
_TYPES = (int, int, int, bytes, str, str, str)
_new = object.__new__
# The meta key set while the table still has to be filled from the objects (an upgraded repository).
PENDING = "commits_pending"


@cache
def _signature_slots() -> tuple[type[Signature], _Set, _Set, _Set, _Set]:
    """`Signature` and the setters of its slots, to build one as `vcrdt.objects` builds the ones it decodes.

    Its __init__ goes through object.__setattr__, checked against the class's refusal to assign.
    `vcrdt.objects` is imported here, on the first row parsed: a command that writes the table's
    rows as text (``log``) never loads it.
    """
    from vcrdt.objects import Signature

    slots = Signature.__dict__
    return (
        Signature,
        slots["name"].__set__,
        slots["email"].__set__,
        slots["timestamp"].__set__,
        slots["tz_offset"].__set__,
    )


class CommitInfo:
    """What a walk and `log`'s default format read from a commit: parents, clock, author, message.

    Attribute for attribute the same values as the `Commit` it comes from, so code that reads
    only these takes either.
    """

    __slots__ = ("parents", "lamport", "author", "message")  # noqa: RUF023 (field order)

    def __init__(self, parents: tuple[ObjectId, ...], lamport: int, author: Signature, message: str) -> None:
        self.parents = parents
        self.lamport = lamport
        self.author = author
        self.message = message

    @classmethod
    def of(cls, c: Commit) -> CommitInfo:
        """Return the part of `c` the table holds."""
        return cls(c.parents, c.lamport, c.author, c.message)

    @property
    def summary(self) -> str:
        """The message's subject, as git shows it (`vcrdt.messages.subject`)."""
        from vcrdt.messages import subject

        return subject(self.message)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CommitInfo):
            return NotImplemented
        return (self.parents, self.lamport, self.author, self.message) == (
            other.parents,
            other.lamport,
            other.author,
            other.message,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable slots: not hashable

    def __repr__(self) -> str:
        return f"CommitInfo(parents={self.parents!r}, lamport={self.lamport}, author={self.author!r})"


# `parse_rows` fills a CommitInfo through its slots (its __init__ is a Python call per row).
_info_parents = CommitInfo.__dict__["parents"].__set__
_info_lamport = CommitInfo.__dict__["lamport"].__set__
_info_author = CommitInfo.__dict__["author"].__set__
_info_message = CommitInfo.__dict__["message"].__set__


def row(oid: ObjectId, c: Commit) -> tuple[object, ...]:
    """Return the table row of commit `c` stored under `oid`."""
    a = c.author
    return (oid, c.lamport, a.timestamp, a.tz_offset, b"".join(c.parents), a.name, a.email, c.message)


def rows_of(
    items: Iterable[tuple[ObjectId, bytes]], decoded: Mapping[ObjectId, Commit | None] | None = None
) -> list[tuple[object, ...]]:
    """Return the rows of the commits among ``(id, body)`` pairs of commit bodies; bodies that do not decode get none.

    A commit that does not decode is damaged: it gets no row, and a walk that reaches it reads
    (and reports) the object. `decoded` may hold commits the caller decoded from these same
    bodies (a receiver decodes each to check it): those are not decoded again.
    """
    from vcrdt.objects import Commit

    out = []
    for oid, body in items:
        commit = decoded.get(oid) if decoded is not None else None
        try:
            out.append(row(oid, commit if commit is not None else Commit.from_bytes(body)))
        except CorruptObjectError:
            continue
    return out


def add(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    """Write rows made by `rows_of` (call in the transaction that stores their objects)."""
    if rows:
        conn.executemany(_INSERT, rows)


def remove(conn: sqlite3.Connection, oids: Iterable[ObjectId]) -> None:
    """Drop the rows of deleted objects (call in the transaction that deletes them)."""
    conn.executemany("DELETE FROM commits WHERE id = ?", [(oid,) for oid in oids])


def parse(raw: tuple[Any, ...]) -> tuple[ObjectId, CommitInfo]:
    """Return the id and `CommitInfo` of a row read with the table's columns (any values: each is checked).

    Raises:
        CorruptObjectError: If the row is malformed (a column of the wrong type, parents not whole ids).
    """
    oid, lamport, time, tz, parents, name, email, message = raw
    if type(oid) is not bytes or len(oid) != OID_LEN:
        raise CorruptObjectError(repr(oid)[:80], "commit table row with a malformed id")
    # Exact types (a bool is no lamport), checked at once: the common case costs one comparison.
    if (type(lamport), type(time), type(tz), type(parents), type(name), type(email), type(message)) != _TYPES:
        raise CorruptObjectError(to_hex(ObjectId(oid)), "malformed commit table row")
    ids = _parent_ids(parents)
    if ids is None:
        raise CorruptObjectError(to_hex(ObjectId(oid)), "malformed commit table row")
    signature, set_name, set_email, set_timestamp, set_tz = _signature_slots()
    author = _new(signature)
    set_name(author, name)
    set_email(author, email)
    set_timestamp(author, time)
    set_tz(author, tz)
    return ObjectId(oid), CommitInfo(ids, lamport, author, message)


def parse_rows(raws: Iterable[tuple[Any, ...]]) -> dict[ObjectId, CommitInfo]:
    """Return the ids and `CommitInfo` of rows read with the table's columns, leaving out each one `parse` refuses.

    `parse` over many rows, with its checks inline (a walk reads a window of rows at a time).
    """
    out: dict[ObjectId, CommitInfo] = {}
    types, oid_len, new = _TYPES, OID_LEN, _new
    signature, set_name, set_email, set_timestamp, set_tz = _signature_slots()
    set_parents, set_lamport, set_author, set_message = _info_parents, _info_lamport, _info_author, _info_message
    for raw in raws:
        oid, lamport, time, tz, parents, name, email, message = raw
        if type(oid) is not bytes or len(oid) != oid_len:
            continue
        if (type(lamport), type(time), type(tz), type(parents), type(name), type(email), type(message)) != types:
            continue
        if len(parents) == oid_len:  # most commits
            ids: tuple[ObjectId, ...] = (parents,)
        else:
            try:
                ids = parse(raw)[1].parents
            except CorruptObjectError:
                continue
        author = new(signature)
        set_name(author, name)
        set_email(author, email)
        set_timestamp(author, time)
        set_tz(author, tz)
        info = new(CommitInfo)
        set_parents(info, ids)
        set_lamport(info, lamport)
        set_author(info, author)
        set_message(info, message)
        out[raw[0]] = info  # the id checked above (a bytes, as ObjectId is at run time)
    return out


def _parent_ids(parents: bytes) -> tuple[ObjectId, ...] | None:
    """The ids a row's ``parents`` column holds one after the other; None when they are not whole ids."""
    n = len(parents)
    if n == OID_LEN:  # most commits
        return (ObjectId(parents),)
    if n % OID_LEN:
        return None
    return tuple([ObjectId(parents[i : i + OID_LEN]) for i in range(0, n, OID_LEN)])


def parse_links(raws: Iterable[tuple[Any, ...]]) -> dict[ObjectId, tuple[int, tuple[ObjectId, ...]]]:
    """Return ``{id: (lamport, parents)}`` of rows read by `SELECT_LINKS_BEFORE`, leaving out a malformed one."""
    out: dict[ObjectId, tuple[int, tuple[ObjectId, ...]]] = {}
    for oid, lamport, parents in raws:
        if type(oid) is not bytes or len(oid) != OID_LEN or type(lamport) is not int or type(parents) is not bytes:
            continue
        ids = _parent_ids(parents)
        if ids is not None:
            out[ObjectId(oid)] = (lamport, ids)
    return out


def iter_rows(conn: sqlite3.Connection) -> Iterator[tuple[object, ...]]:
    """Yield every row as stored (for `problems`)."""
    yield from conn.execute(_SELECT_ALL)
