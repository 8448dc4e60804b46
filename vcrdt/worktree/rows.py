"""The ``worktree`` table: one row per tracked path, with its HEAD entry and its stat cache.

A row holds the path's entry in HEAD (NULL for a newly added path), the id and
stat of the work-tree file when it was last hashed, and its state
(``tracked``, or ``removed`` after `vcrdt rm`). `RowTable` is the only code
that reads or writes the table.

The stat-cache pack (table ``statpack``, one row) holds what `settle_keys`
reads of every row (path, whether a stat settles it, and the stat), packed in
one blob, so a status reads one value instead of 10,000 rows. Triggers delete
it on any change to ``worktree``, whoever writes (an older build too); a
status writes it again (`RowTable.save_pack`), only when nothing changed the
rows since it read them (the pack's random ``serial`` is the same). `vcrdt
fsck` checks it against the rows (`RowTable.pack_problems`).
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see vcrdt.store.db
import os
import struct
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from vcrdt.ids import ObjectId, from_hex, is_hex_id
from vcrdt.objects import EntryKind
from vcrdt.paths import check_path, encode
from vcrdt.store.db import Database
from vcrdt.values import Record

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from vcrdt.worktree._scan import PackIndex as CPackIndex

KINDS: dict[str | None, EntryKind] = {k.value: k for k in EntryKind}
FlatTree = dict[str, tuple[EntryKind, ObjectId]]
Progress = Callable[[int, int], None]
SettleKey = tuple[bytes, int, int, int, int, int]  # (path as stored, size, mtime_ns, ino, ctime_ns, 1): a row as read

# Bumped in `meta` whenever rows are deleted, which can make a kept file untracked without a
# file-system event (see `vcrdt.worktree.status`).
ROWS_EPOCH = "rows_epoch"
# The tree whose entries the rows' HEAD entries are, exactly (hex; `NO_TREE`: no entries), in `meta`. Set
# by the checkouts and commits that make the rows so (`RowTable.set_head_tree`); any other change to
# the HEAD entries (`RowTable.save`, `RowTable.delete`) removes it: absent, it is unknown.
HEAD_TREE = "worktree_head_tree"
NO_TREE = "none"
# A row a matching stat settles: tracked, and its cached entry is HEAD's.
SETTLED = "state = 'tracked' AND kind IS NOT NULL AND oid IS NOT NULL AND kind IS head_kind AND oid IS head_oid"
PACK_MAGIC = b"vsp1"
_PACK_HEAD = struct.Struct("<IB")
_PACK_STAT = struct.Struct("<qqqq")
# Past this many paths, reading every row and filtering beats looking each batch up.
_LOOKUP_LIMIT = 2000
_LOOKUP_BATCH = 500
# At most this many changed paths are written by patching the pack read (`patch_keys`, a pass
# over its bytes per path), more by packing every key again.
_PATCH_LIMIT = 32


class Row(Record):
    """One tracked path as stored in the ``worktree`` table."""

    __slots__ = ("path", "head_kind", "head_oid", "kind", "oid", "size", "mtime_ns", "ino", "ctime_ns", "state")  # noqa: RUF023 (field order)

    path: str
    head_kind: EntryKind | None
    head_oid: ObjectId | None
    kind: EntryKind | None
    oid: ObjectId | None
    size: int
    mtime_ns: int
    ino: int
    ctime_ns: int
    state: str

    def __init__(
        self,
        path: str,
        head_kind: EntryKind | None,
        head_oid: ObjectId | None,
        kind: EntryKind | None = None,
        oid: ObjectId | None = None,
        size: int = -1,
        mtime_ns: int = -1,
        ino: int = -1,
        ctime_ns: int = -1,
        state: str = "tracked",
    ) -> None:
        self.path = path
        self.head_kind = head_kind
        self.head_oid = head_oid
        self.kind = kind
        self.oid = oid
        self.size = size
        self.mtime_ns = mtime_ns
        self.ino = ino
        self.ctime_ns = ctime_ns
        self.state = state

    def matches(self, st: os.stat_result) -> bool:
        """Tell whether the cached stat equals `st` (so a cached id, if any, is current)."""
        return (
            self.size == st.st_size
            and self.mtime_ns == st.st_mtime_ns
            and self.ino == st.st_ino
            and self.ctime_ns == st.st_ctime_ns
        )


class RowTable:
    """Reads and writes of the ``worktree`` table.

    `version` grows with every change to the rows' HEAD entries or set (a
    cache of what HEAD holds compares it).
    """

    def __init__(self, db: Database) -> None:
        """Bind the table of `db`."""
        self.db = db
        self.version = 0
        self.pack_serial: int | None = None  # the stat-cache pack the last `settle_keys` read
        self.read_mark = (0, 0)  # `_write_mark` before the last `settle_keys`
        self.pack_keys_read: Keys | None = None  # what it returned
        self.pack_data: tuple[int, bytes] | None = None  # (serial, bytes) of the last pack read or written

    def all(self) -> dict[str, Row]:
        """Return every tracked path's row."""
        return self.select()

    def select(self, where: str = "", args: Sequence[bytes] = ()) -> dict[str, Row]:
        """Return the rows a ``WHERE`` clause (with its arguments) picks, by path."""
        kinds = KINDS
        # sqlite3 returns BLOB columns as bytes already; no copies on this hot path.
        return {
            (path := raw.decode("utf-8", "surrogateescape")): Row(
                path, kinds.get(hk), hoid, kinds.get(k), oid, size, mtime, ino, ctime, state
            )
            for raw, hk, hoid, k, oid, size, mtime, ino, ctime, state in self.db.conn.execute(
                "SELECT path, head_kind, head_oid, kind, oid, size, mtime_ns, ino, ctime_ns, state FROM worktree "
                + where,
                args,
            )
        }

    def of(self, paths: list[str]) -> dict[str, Row]:
        """Return the rows of those of `paths` that are tracked (all rows, filtered, when they are many).

        A path without a row (an untracked file or directory a monitor named,
        a temporary file) is left out, whichever way the rows are read.
        """
        if len(paths) > _LOOKUP_LIMIT:
            every = self.all()
            return {p: every[p] for p in paths if p in every}
        out: dict[str, Row] = {}
        for i in range(0, len(paths), _LOOKUP_BATCH):
            batch = paths[i : i + _LOOKUP_BATCH]
            out.update(self.select(f"WHERE path IN ({','.join('?' * len(batch))})", [encode(p) for p in batch]))
        return out

    def settle_keys(self) -> tuple[Keys, dict[str, Row]]:
        """Return every tracked path with its cached stat if a matching stat settles it; and the other rows.

        A path that is tracked and whose cached entry equals its HEAD entry
        (so a matching stat settles it) maps to ``(path as stored, size,
        mtime_ns, ino, ctime_ns, 1)``. Every other path maps to None, and its
        row comes whole in the second map. Read from the stat-cache pack when
        there is one (one value), else from the rows; `pack_serial` then says
        which pack (None: the rows), for `refresh_with_pack`. Inside a write
        transaction (a commit) keys read from the rows are packed at once, so
        that `record_head` can pack the commit's result (`update_pack`).
        """
        keys: Keys | None = None
        self.pack_serial = None
        self.pack_data = None
        self.read_mark = self._write_mark()  # before the read: a write after it moves the mark
        got = self.db.conn.execute("SELECT serial, data FROM statpack WHERE id = 1").fetchone()
        if got is not None:
            try:
                data = bytes(got[1])
                keys = PackedKeys(data) if PackIndex is not None else unpack_keys(data)
                self.pack_serial = int(got[0])
                self.pack_data = (self.pack_serial, data)
            except (ValueError, TypeError):
                keys = None  # damaged: read the rows (fsck names it; the next status replaces it)
        if keys is None:
            keys = self._keys_from_rows()
            if self.db.in_transaction and not self.db.read_only:
                self.pack_serial = self._write_pack(keys)
        self.pack_keys_read = keys
        if isinstance(keys, PackedKeys):
            pending = keys.index.pending()
        else:
            pending = [path for path, key in keys.items() if key is None]
        return keys, self.of(pending) if pending else {}

    def packed_keys(self) -> PackedKeys | None:
        """Return every tracked path as the stat-cache pack holds them, still packed (None: no pack, or no C index).

        Only for knowing which paths are tracked (`vcrdt.worktree.scan.walk` without `compare`):
        nothing here is remembered for a later pack write.
        """
        if PackIndex is None:
            return None
        got = self.db.conn.execute("SELECT data FROM statpack WHERE id = 1").fetchone()
        if got is None:
            return None
        try:
            return PackedKeys(bytes(got[0]))
        except (ValueError, TypeError):
            return None  # damaged: the caller reads the rows

    def _keys_from_rows(self) -> dict[str, SettleKey | None]:
        return {
            row[0].decode("utf-8", "surrogateescape"): row if row[5] else None
            for row in self.db.conn.execute(f"SELECT path, size, mtime_ns, ino, ctime_ns, {SETTLED} FROM worktree")
        }

    def _write_pack(self, keys: dict[str, SettleKey | None]) -> int:
        """Write `keys` as the stat-cache pack (inside a write transaction); return its serial."""
        return self._write_pack_bytes(pack_keys(keys))

    def _write_changed_pack(
        self, keys: Keys, data: bytes | None, drop: list[str], changes: dict[str, SettleKey | None]
    ) -> tuple[int, Keys]:
        """Write the pack of `keys` (read from the pack `data`, when known) with `drop` popped and `changes` set.

        A few changes are written by patching the bytes of `data` (`patch_keys`: the same bytes
        as packing the changed keys, without a pass over every key), and the keys then stay
        packed; otherwise every key is packed again. Returns the serial and the keys written.
        """
        if data is not None and len(drop) + len(changes) <= _PATCH_LIMIT:
            patched = patch_keys(data, drop, changes)
            serial = self._write_pack_bytes(patched)
            return serial, PackedKeys(patched) if PackIndex is not None else unpack_keys(patched)
        plain = dict(keys.as_dict() if isinstance(keys, PackedKeys) else keys)
        for p in drop:
            plain.pop(p, None)
        plain.update(changes)
        return self._write_pack(plain), plain

    def _write_pack_bytes(self, data: bytes) -> int:
        serial = int.from_bytes(os.urandom(7), "little")
        self.db.conn.execute("INSERT OR REPLACE INTO statpack(id, serial, data) VALUES (1, ?, ?)", (serial, data))
        self.pack_data = (serial, data)
        return serial

    def _pack_bytes(self, serial: int | None) -> bytes | None:
        """Return the bytes of the pack `serial` when this table read or wrote it last (else None)."""
        known = self.pack_data
        return known[1] if known is not None and serial is not None and known[0] == serial else None

    def _pack_unchanged(self) -> bool:
        """Tell whether the pack the last `settle_keys` read or wrote is still there: no row changed since."""
        if self.pack_serial is None:
            return False
        row = self.db.conn.execute("SELECT serial FROM statpack WHERE id = 1").fetchone()
        return row is not None and int(row[0]) == self.pack_serial

    def update_pack(self, drop: list[str], save: list[Row], *, head_same: bool = False) -> None:
        """Delete the rows of `drop` and save `save` (as `delete` and `save`), keeping the pack when possible.

        Inside a write transaction whose `settle_keys` pack is still there,
        the pack after the change is that one's keys with `drop` removed and
        `save`'s keys set; it is written in the same transaction, so the next
        command reads one value instead of every row. Otherwise the triggers
        just drop the pack. `head_same` is `save`'s and `delete`'s.
        """
        keys = self.pack_keys_read if self.db.in_transaction and self._pack_unchanged() else None
        data = self._pack_bytes(self.pack_serial)
        self.delete(drop, head_same=head_same)
        self.save(save, head_same=head_same)
        if keys is not None and (drop or save):
            changes = {r.path: _settle_key(r) for r in save}
            self.pack_serial, self.pack_keys_read = self._write_changed_pack(keys, data, drop, changes)

    def _write_mark(self) -> tuple[int, int]:
        """What moves when anyone writes the database: SQLite's ``data_version`` (other connections), our changes."""
        conn = self.db.conn
        return int(conn.execute("PRAGMA data_version").fetchone()[0]), conn.total_changes

    def refresh_with_pack(self, keys: Keys, read: tuple[int | None, tuple[int, int]], refreshed: list[Row]) -> None:
        """Save the caches of `refreshed` (as `refresh_caches`) and write the stat-cache pack, in one transaction.

        `keys` is what `settle_keys` returned, `read` its ``(pack_serial,
        read_mark)``. When the pack it read is still there (same serial), or
        it read the rows and nothing has been written to the database since
        (same mark), the rows are what it read: the pack to write is `keys`
        with the refreshed rows' new values. Otherwise the rows are read
        again, inside the transaction.
        """
        serial, mark = read
        with self.db.write() as conn:
            row = conn.execute("SELECT serial FROM statpack WHERE id = 1").fetchone()
            if serial is not None:
                unchanged = row is not None and int(row[0]) == serial
            else:
                unchanged = self._write_mark() == mark
            if refreshed:
                self.refresh_caches(refreshed)  # its triggers delete the pack
            data = self._pack_bytes(serial)
            if unchanged:
                self._write_changed_pack(keys, data, [], {r.path: _settle_key(r) for r in refreshed})
            else:
                self._write_pack(self._keys_from_rows())

    def pack_problems(self) -> list[str]:
        """Return what is wrong with the stat-cache pack (empty when it is absent or equals the rows)."""
        got = self.db.conn.execute("SELECT data FROM statpack").fetchall()
        if not got:
            return []
        if len(got) > 1:
            return [f"{len(got)} stat-cache packs (at most one)"]
        try:
            packed = unpack_keys(bytes(got[0][0]))
        except (ValueError, TypeError) as exc:
            return [f"stat-cache pack is damaged: {exc}"]
        rows = {p: None if k is None else k[:5] for p, k in self._keys_from_rows().items()}
        if {p: None if k is None else k[:5] for p, k in packed.items()} != rows:
            return ["stat-cache pack differs from the work-tree rows"]
        return []

    def head_tree(self) -> tuple[bool, ObjectId | None]:
        """Return whether the tree the rows' HEAD entries are is known, and that tree (None: no entries).

        Known only when the checkout or commit that last set the HEAD entries recorded its tree
        and nothing changed them since (`save` and `delete` forget it).
        """
        value = self.db.get_meta(HEAD_TREE)
        if value is None:
            return False, None
        if value == NO_TREE:
            return True, None
        if not is_hex_id(value):
            return False, None  # damaged: unknown, so the next checkout compares every row
        return True, from_hex(value)

    def set_head_tree(self, tree: ObjectId | None) -> None:
        """Record `tree` as the tree the rows' HEAD entries are (inside the caller's write transaction).

        The caller has just made the HEAD entries exactly the files of `tree` (None: no entries).
        """
        self.db.set_meta(HEAD_TREE, NO_TREE if tree is None else tree.hex())

    def forget_head_tree(self) -> None:
        """Forget which tree the HEAD entries are (inside the caller's write transaction)."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM meta WHERE key = ?", (HEAD_TREE,))

    def head_flat(self, rows: dict[str, Row] | None = None) -> FlatTree:
        """Return HEAD's flat tree as recorded in the rows (the caller's `rows` when given)."""
        return {
            p: (r.head_kind, r.head_oid)
            for p, r in (self.all() if rows is None else rows).items()
            if r.head_kind is not None and r.head_oid is not None
        }

    def gitlinks(self) -> list[str]:
        """Return the paths of the git submodules (gitlinks) in HEAD or in the index."""
        code = EntryKind.GITLINK.value
        return [
            raw.decode("utf-8", "surrogateescape")
            for (raw,) in self.db.conn.execute(
                "SELECT path FROM worktree WHERE head_kind = ? OR kind = ?", (code, code)
            ).fetchall()
        ]

    def head_links(self) -> list[tuple[str, ObjectId]]:
        """Return HEAD's symlinks: each path with its blob id."""
        return [
            (raw.decode("utf-8", "surrogateescape"), ObjectId(oid))
            for raw, oid in self.db.conn.execute(
                "SELECT path, head_oid FROM worktree WHERE head_kind = ? AND head_oid IS NOT NULL",
                (EntryKind.SYMLINK.value,),
            ).fetchall()
        ]

    def states(self) -> dict[str, str]:
        """Return every tracked path's state (``tracked`` or ``removed``), without loading whole rows."""
        return {
            raw.decode("utf-8", "surrogateescape"): state
            for raw, state in self.db.conn.execute("SELECT path, state FROM worktree")
        }

    def is_tracked(self, path: str) -> bool:
        """Tell whether `path` has a row."""
        return self.db.conn.execute("SELECT 1 FROM worktree WHERE path = ?", (encode(path),)).fetchone() is not None

    def has_tracked_under(self, directory: str) -> bool:
        """Tell whether any row lies below `directory`."""
        low = encode(directory + "/")
        high = encode(directory + "0")  # "0" follows "/" in byte order
        row = self.db.conn.execute("SELECT 1 FROM worktree WHERE path >= ? AND path < ? LIMIT 1", (low, high))
        return row.fetchone() is not None

    def save(self, rows: Iterable[Row], *, head_same: bool = False) -> None:
        """Write whole rows (inserted or replaced).

        Unless the caller says the rows keep their HEAD entries (`head_same`: only their stat
        cache or state changed), the recorded HEAD tree (`head_tree`) is forgotten.
        """
        rows = list(rows)
        if not rows:
            return
        self.version += 1
        with self.db.write() as conn:
            if not head_same:
                conn.execute("DELETE FROM meta WHERE key = ?", (HEAD_TREE,))
            _drop_pack(conn)
            conn.executemany(
                "INSERT OR REPLACE INTO worktree(path, head_kind, head_oid, kind, oid, size, mtime_ns, ino, ctime_ns,"
                " state) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        encode(r.path),
                        r.head_kind.value if r.head_kind else None,
                        r.head_oid,
                        r.kind.value if r.kind else None,
                        r.oid,
                        r.size,
                        r.mtime_ns,
                        r.ino,
                        r.ctime_ns,
                        r.state,
                    )
                    for r in rows
                ],
            )

    def refresh_caches(self, rows: Iterable[Row], *, keep_pack: bool = False) -> None:
        """Save the stat caches of rows read earlier, outside the write lock (by `status`).

        Only the cache columns are written, and only where the row still has
        the HEAD entry and state it was read with: a commit or checkout that
        landed since the rows were read keeps what it wrote (a cache is only
        ever a hint; losing one costs a rehash).

        With `keep_pack`, inside a write transaction whose `settle_keys` pack is still there
        (no row changed since it was read), and when every row was written, the pack is
        written again with their new keys (as `update_pack`), instead of being dropped.
        """
        rows = list(rows)
        if not rows:
            return
        keys = self.pack_keys_read if keep_pack and self.db.in_transaction and self._pack_unchanged() else None
        data = self._pack_bytes(self.pack_serial)
        with self.db.write() as conn:
            _drop_pack(conn)
            cur = conn.executemany(
                "UPDATE worktree SET kind = ?, oid = ?, size = ?, mtime_ns = ?, ino = ?, ctime_ns = ?"
                " WHERE path = ? AND head_kind IS ? AND head_oid IS ? AND state = ?",
                [
                    (
                        r.kind.value if r.kind else None,
                        r.oid,
                        r.size,
                        r.mtime_ns,
                        r.ino,
                        r.ctime_ns,
                        encode(r.path),
                        r.head_kind.value if r.head_kind else None,
                        r.head_oid,
                        r.state,
                    )
                    for r in rows
                ],
            )
            if keys is not None and cur.rowcount == len(rows):  # each row still had what it was read with
                changes = {r.path: _settle_key(r) for r in rows}
                self.pack_serial, self.pack_keys_read = self._write_changed_pack(keys, data, [], changes)

    def delete(self, paths: Iterable[str], *, head_same: bool = False) -> None:
        """Delete the rows of `paths` (and bump the rows epoch).

        Unless the caller says none of them had a HEAD entry (`head_same`), the recorded HEAD
        tree (`head_tree`) is forgotten.
        """
        keys = [(encode(p),) for p in paths]
        if not keys:
            return
        self.version += 1
        with self.db.write() as conn:
            if not head_same:
                conn.execute("DELETE FROM meta WHERE key = ?", (HEAD_TREE,))
            _drop_pack(conn)
            conn.executemany("DELETE FROM worktree WHERE path = ?", keys)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, '1')"
                " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                (ROWS_EPOCH,),
            )

    def reset_states(self) -> None:
        """Mark every row tracked again (undoes `remove` on all paths)."""
        with self.db.write() as conn:
            conn.execute("UPDATE worktree SET state = 'tracked' WHERE state != 'tracked'")

    def track(self, paths: list[str], states: dict[str, str]) -> list[str]:
        """Start tracking files given the current `states` (updated in place); return the paths newly tracked."""
        new = [p for p in paths if p not in states]
        revived = [p for p in paths if states.get(p) == "removed"]
        for p in new:
            check_path(p)  # tracked paths were checked when they were added or checked out
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO worktree(path, head_kind, head_oid, kind, oid, state) VALUES (?, NULL, NULL, NULL, NULL,"
                " 'tracked')",
                [(encode(p),) for p in new],
            )
            conn.executemany("UPDATE worktree SET state = 'tracked' WHERE path = ?", [(encode(p),) for p in revived])
        for p in new + revived:
            states[p] = "tracked"
        return sorted(new + revived)


def _drop_pack(conn: sqlite3.Connection) -> None:
    """Delete the stat-cache pack before a change to the rows, on its own.

    The triggers would delete it anyway, in the first statement that changes a row; deleted
    there, its pages fill that statement's journal past what SQLite keeps in memory, and every
    later statement of the transaction then journals to a temporary file.
    """
    conn.execute("DELETE FROM statpack")


def _settle_key(r: Row) -> SettleKey | None:
    """The `settle_keys` value of a row (as the SQL expression `SETTLED` decides)."""
    if (
        r.state == "tracked"
        and r.kind is not None
        and r.oid is not None
        and r.kind == r.head_kind
        and r.oid == r.head_oid
    ):
        return (encode(r.path), r.size, r.mtime_ns, r.ino, r.ctime_ns, 1)
    return None


def pack_keys_py(keys: dict[str, SettleKey | None]) -> bytes:
    """Pack `settle_keys`'s dict into the stat-cache pack (the pure-Python twin of ``_scan.pack_keys``).

    The format is described in vcrdt/worktree/_scan.c and docs/format.md.
    """
    head, stat_ = _PACK_HEAD.pack, _PACK_STAT.pack
    out = [PACK_MAGIC]
    for path, key in keys.items():
        raw = encode(path)
        if key is None:
            out += (head(len(raw), 0), raw)
        else:
            out += (head(len(raw), 1), raw, stat_(key[1], key[2], key[3], key[4]))
    return b"".join(out)


def patch_keys_py(data: bytes, drop: list[str], changes: dict[str, SettleKey | None]) -> bytes:
    """Return the pack `data` with the paths of `drop` popped, then `changes` set (the twin of ``_scan.patch_keys``).

    The same bytes as `pack_keys` of the dict `unpack_keys` reads from `data`, changed so.

    Raises:
        ValueError: If `data` is not a whole, well-formed pack.
    """
    keys = unpack_keys_py(data)
    for path in drop:
        keys.pop(path, None)
    keys.update(changes)
    return pack_keys_py(keys)


def unpack_keys_py(data: bytes) -> dict[str, SettleKey | None]:
    """Read a stat-cache pack back (the pure-Python twin of ``vcrdt.worktree._scan.unpack_keys``).

    Raises:
        ValueError: If it is not a whole, well-formed pack.
    """
    if data[:4] != PACK_MAGIC:
        raise ValueError("not a stat-cache pack")
    out: dict[str, SettleKey | None] = {}
    head, stat_ = _PACK_HEAD.unpack_from, _PACK_STAT.unpack_from
    pos, end = 4, len(data)
    try:
        while pos < end:
            length, settled = head(data, pos)
            pos += 5
            if settled > 1 or pos + length + 32 * settled > end:
                raise ValueError("damaged stat-cache pack")
            raw = data[pos : pos + length]
            pos += length
            if settled:
                size, mtime, ino, ctime = stat_(data, pos)
                pos += 32
                out[raw.decode("utf-8", "surrogateescape")] = (raw, size, mtime, ino, ctime, 1)
            else:
                out[raw.decode("utf-8", "surrogateescape")] = None
    except struct.error as exc:
        raise ValueError("damaged stat-cache pack") from exc
    return out


class PackedKeys(Mapping[str, "SettleKey | None"]):
    """`settle_keys`'s answer read from a stat-cache pack, kept packed (the C `PackIndex` over its bytes).

    A status's walk (`vcrdt.worktree.scan.walk`) settles the tracked files
    through `index` without a Python object per path. Used as a mapping (a
    commit's pack update, fsck, tests), it is the dict `unpack_keys` reads,
    made on first use.
    """

    def __init__(self, data: bytes) -> None:
        """Index the pack `data` (ValueError if it is damaged)."""
        assert PackIndex is not None
        self.data = data
        self.index = PackIndex(data)
        self._keys: dict[str, SettleKey | None] | None = None

    def as_dict(self) -> dict[str, SettleKey | None]:
        """The keys as `unpack_keys` reads them (made once)."""
        if self._keys is None:
            self._keys = unpack_keys(self.data)
        return self._keys

    def __getitem__(self, path: str) -> SettleKey | None:
        return self.as_dict()[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.index)


# What `settle_keys` returns: every tracked path with its key, as a dict or still packed.
Keys = dict[str, "SettleKey | None"] | PackedKeys

pack_keys: Callable[[dict[str, SettleKey | None]], bytes] = pack_keys_py
unpack_keys: Callable[[bytes], dict[str, SettleKey | None]] = unpack_keys_py
patch_keys: Callable[[bytes, list[str], dict[str, SettleKey | None]], bytes] = patch_keys_py
PackIndex: type[CPackIndex] | None = None
try:  # the C twins (vcrdt/worktree/_scan.c)
    from vcrdt.worktree._scan import PackIndex, pack_keys, patch_keys, unpack_keys
except ImportError:  # pragma: no cover - an install without a C compiler
    pass
# `PackIndex` matches the names the walk reads (file-system bytes) against the pack's (UTF-8 with
# surrogateescape, `vcrdt.paths.encode`) byte for byte: the same only when the file-system
# encoding is UTF-8. Under any other, names go through Python's str comparison, as they are written.
if (
    sys.getfilesystemencoding().lower().replace("-", "") != "utf8"
    or sys.getfilesystemencodeerrors() != "surrogateescape"
):
    PackIndex = None  # pragma: no cover - a non-UTF-8 locale without Python's UTF-8 mode
