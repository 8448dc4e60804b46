"""The operation log table: one row per operation that moved a ref or rewrote the work tree.

A row keeps what `vcrdt undo` needs to put things back, and what keeps the
commits it names reachable (no commit a user made is lost to a reset, an
amend or an undo):

- ``head_before`` / ``head_after``: HEAD as stored in ``meta`` (``ref: NAME`` or a hex id),
  then a newline and ``HEAD_AT`` (the sibling the work tree is on; empty when unset);
- ``refs``: JSON ``{name: [[before heads], [after heads]]}`` (hex ids, sorted), for each ref
  the operation changed;
- ``wt_before`` / ``wt_after``: the tree of the tracked files' content before and after, when
  the operation rewrote work-tree files (NULL when it left them alone);
- ``undoes``: the ``seq`` of the operation an undo reverted.

Rows are written inside the caller's write transaction (the one that moves the refs).
Imports `store.db`, `ids`, `errors` and `jsontext` only.
"""

from __future__ import annotations

from vcrdt import jsontext
from vcrdt.errors import RepoError
from vcrdt.ids import ObjectId, from_hex, is_hex_id, to_hex
from vcrdt.store.db import Database
from vcrdt.values import Value, value_class

RefChanges = dict[str, tuple[frozenset[ObjectId], frozenset[ObjectId]]]


@value_class(frozen=True, init=False, repr=False, eq=False)
class OpRecord(Value):
    """One recorded operation."""

    __slots__ = (  # noqa: RUF023 (field order)
        "seq",
        "time",
        "kind",
        "summary",
        "head_before",
        "head_after",
        "refs",
        "wt_before",
        "wt_after",
        "undoes",
    )

    seq: int
    time: float
    kind: str
    summary: str
    head_before: str
    head_after: str
    refs: RefChanges
    wt_before: ObjectId | None
    wt_after: ObjectId | None
    undoes: int | None

    def __init__(
        self,
        seq: int,
        time: float,
        kind: str,
        summary: str,
        head_before: str,
        head_after: str,
        refs: RefChanges,
        wt_before: ObjectId | None,
        wt_after: ObjectId | None,
        undoes: int | None,
    ) -> None:
        object.__setattr__(self, "seq", seq)
        object.__setattr__(self, "time", time)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "summary", summary)
        object.__setattr__(self, "head_before", head_before)
        object.__setattr__(self, "head_after", head_after)
        object.__setattr__(self, "refs", refs)
        object.__setattr__(self, "wt_before", wt_before)
        object.__setattr__(self, "wt_after", wt_after)
        object.__setattr__(self, "undoes", undoes)

    def commits(self) -> set[ObjectId]:
        """Every commit the record names (ref heads before and after, detached HEADs)."""
        out: set[ObjectId] = set()
        for before, after in self.refs.values():
            out |= before | after
        for head in (self.head_before, self.head_after):
            for part in head.split("\n"):
                if is_hex_id(part):
                    out.add(from_hex(part))
        return out


def _encode_refs(refs: RefChanges) -> str:
    return jsontext.dumps(
        {name: [sorted(to_hex(h) for h in b), sorted(to_hex(h) for h in a)] for name, (b, a) in sorted(refs.items())},
        sort_keys=True,
        separators=(", ", ": "),
    )


def _decode_refs(text: str, seq: int) -> RefChanges:
    try:
        raw = jsontext.loads(text)
        out: RefChanges = {}
        for name, (before, after) in raw.items():
            out[str(name)] = (frozenset(from_hex(h) for h in before), frozenset(from_hex(h) for h in after))
        return out
    except (ValueError, TypeError, AttributeError) as exc:
        raise RepoError(f"operation {seq} in the operation log is malformed: {exc}") from exc


class OpLogTable:
    """Read and append rows of the ``oplog`` table."""

    def __init__(self, db: Database) -> None:
        """Wrap the database."""
        self.db = db

    def append(
        self,
        *,
        time: float,
        kind: str,
        summary: str,
        head_before: str,
        head_after: str,
        refs: RefChanges,
        wt_before: ObjectId | None,
        wt_after: ObjectId | None,
        undoes: int | None = None,
    ) -> int:
        """Append a row (inside the caller's write transaction); return its ``seq``."""
        with self.db.write() as conn:
            cur = conn.execute(
                "INSERT INTO oplog(time, kind, summary, head_before, head_after, refs, wt_before, wt_after, undoes)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (time, kind, summary, head_before, head_after, _encode_refs(refs), wt_before, wt_after, undoes),
            )
            return int(cur.lastrowid or 0)

    def _rows(self, where: str = "", args: tuple[object, ...] = (), limit: int | None = None) -> list[OpRecord]:
        sql = (
            "SELECT seq, time, kind, summary, head_before, head_after, refs, wt_before, wt_after, undoes"
            f" FROM oplog {where} ORDER BY seq DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        out = []
        for seq, time, kind, summary, hb, ha, refs, wb, wa, undoes in self.db.conn.execute(sql, args).fetchall():
            out.append(
                OpRecord(
                    int(seq),
                    float(time),
                    str(kind),
                    str(summary),
                    str(hb),
                    str(ha),
                    _decode_refs(str(refs), int(seq)),
                    ObjectId(bytes(wb)) if wb is not None else None,
                    ObjectId(bytes(wa)) if wa is not None else None,
                    int(undoes) if undoes is not None else None,
                )
            )
        return out

    def latest(self) -> OpRecord | None:
        """The last operation recorded, or None."""
        rows = self._rows(limit=1)
        return rows[0] if rows else None

    def get(self, seq: int) -> OpRecord | None:
        """The operation `seq`, or None."""
        rows = self._rows("WHERE seq = ?", (seq,))
        return rows[0] if rows else None

    def newest_first(self, limit: int | None = None) -> list[OpRecord]:
        """Every operation, newest first (at most `limit`)."""
        return self._rows(limit=limit)
