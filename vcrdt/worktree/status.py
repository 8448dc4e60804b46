"""Status: how the work tree differs from HEAD, by a full look or from a file-system monitor's events.

A full status walks the tree (`scan`) and settles each tracked path by its
stat where the cache allows, hashing only the rest. With a file-system
monitor (passed in by whoever opened the repository: the command server's)
and a token that an earlier full status saved, only the paths the monitor
names are looked at; a property test holds the two answers equal.
"""

from __future__ import annotations

import os
import stat

from vcrdt.values import Value, value_class
from vcrdt.worktree.dirs import Disk
from vcrdt.worktree.ignore import IGNORE_FILE, IgnoreRules
from vcrdt.worktree.reading import Reader
from vcrdt.worktree.rows import ROWS_EPOCH, SETTLED, Keys, Row, RowTable
from vcrdt.worktree.scan import gitlinks, is_untracked, outside, sweep, walk

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from typing import Protocol
else:
    Protocol = object  # a plain base at run time: nothing checks a protocol then, and typing costs an import


@value_class(frozen=True, init=False, repr=False, eq=False)
class WorktreeStatus(Value):
    """The state of the work tree against HEAD (every list sorted)."""

    __slots__ = ("modified", "added", "deleted", "removed", "untracked", "ignored")  # noqa: RUF023 (field order)

    modified: list[str]
    added: list[str]
    deleted: list[str]
    removed: list[str]
    untracked: list[str]
    ignored: list[str]

    def __init__(
        self,
        modified: list[str] | None = None,
        added: list[str] | None = None,
        deleted: list[str] | None = None,
        removed: list[str] | None = None,
        untracked: list[str] | None = None,
        ignored: list[str] | None = None,
    ) -> None:
        object.__setattr__(self, "modified", [] if modified is None else modified)
        object.__setattr__(self, "added", [] if added is None else added)
        object.__setattr__(self, "deleted", [] if deleted is None else deleted)
        object.__setattr__(self, "removed", [] if removed is None else removed)
        object.__setattr__(self, "untracked", [] if untracked is None else untracked)
        object.__setattr__(self, "ignored", [] if ignored is None else ignored)

    @property
    def is_clean(self) -> bool:
        """True when nothing tracked differs from HEAD (untracked files aside)."""
        return not (self.modified or self.added or self.deleted or self.removed)


@value_class(frozen=True, init=False, repr=False, eq=False)
class Changes(Value):
    """A file-system monitor's answer: the paths with an event after a counter.

    `paths` (relative, files and directories) is None when the monitor cannot
    tell (it just started watching, or lost track): everything may have changed.
    """

    __slots__ = ("generation", "counter", "paths")  # noqa: RUF023 (field order)

    generation: str
    counter: int
    paths: frozenset[str] | None

    def __init__(self, generation: str, counter: int, paths: frozenset[str] | None) -> None:
        object.__setattr__(self, "generation", generation)
        object.__setattr__(self, "counter", counter)
        object.__setattr__(self, "paths", paths)


@value_class(frozen=True, init=False, repr=False, eq=False)
class Token(Value):
    """What a status with a monitor saw, kept in `meta` for the next one (see `MONITOR_TOKEN`)."""

    __slots__ = ("generation", "counter", "epoch", "untracked", "suspects")  # noqa: RUF023 (field order)

    generation: str
    counter: int
    epoch: str
    untracked: list[str]
    suspects: list[str]

    def __init__(self, generation: str, counter: int, epoch: str, untracked: list[str], suspects: list[str]) -> None:
        object.__setattr__(self, "generation", generation)
        object.__setattr__(self, "counter", counter)
        object.__setattr__(self, "epoch", epoch)
        object.__setattr__(self, "untracked", untracked)
        object.__setattr__(self, "suspects", suspects)

    def as_json(self) -> dict[str, object]:
        """The token as the JSON object `MONITOR_TOKEN` holds (one key per field)."""
        return {name: getattr(self, name) for name in self.__slots__}


class FsMonitor(Protocol):
    """What `Worktree.status` asks when a file-system monitor runs (the command server's)."""

    def changes(self, root: str, generation: str, counter: int) -> Changes | None:
        """Return what changed in the work tree at `root` after `counter` of `generation` (None: unknown)."""
        ...


# The monitor token in `meta`: the generation and counter a status saw, the rows epoch (`ROWS_EPOCH`),
# the
# untracked files then and the tracked paths their stat did not settle. Only a full status
# with a monitor writes it; a stale token only means a full status.
MONITOR_TOKEN = "fsmonitor"


# Refreshed stat caches that spare the next status only hashing files again (see `worth_saving`)
# are saved when those files hold at least this many bytes (and more than the stat-cache pack).
REHASH_BYTES = 1 << 20


def worth_saving(refreshed: list[Row], pack: tuple[int, bytes] | None) -> bool:
    """Tell whether saving the stat caches of `refreshed` pays for the write it takes.

    A row whose refreshed cache is its HEAD entry (a file touched, or edited
    back) is settled by its stat alone from then on: always worth saving.
    Otherwise the next status reads the row either way, and a saved cache
    spares it only hashing the file again: nothing for a file too recent to
    cache (the racy rule), the file's bytes for one cached with another id.
    The write rewrites the whole stat-cache pack (about 70 bytes a tracked
    file) and syncs the database when it is closed, so those caches are saved
    only when their files hold at least `REHASH_BYTES` and more than the pack.
    Not saving a cache loses nothing but time: the row keeps the older stat,
    which the file no longer has.

    Args:
        refreshed: Rows whose cache `Reader.current` changed.
        pack: The stat-cache pack read (``(serial, bytes)``), if any.

    Returns:
        True to save them all.
    """
    rehash = 0
    for row in refreshed:
        if row.kind is None or row.oid is None:
            continue
        if row.state == "tracked" and row.kind is row.head_kind and row.oid == row.head_oid:
            return True
        rehash += row.size
    return rehash >= max(REHASH_BYTES, len(pack[1]) if pack is not None else 0)


class StatusCheck:
    """Compares the work tree with HEAD as the rows record it."""

    def __init__(
        self, table: RowTable, disk: Disk, reader: Reader, warnings: list[str], monitor: FsMonitor | None
    ) -> None:
        """Compare the files of `disk` with the rows of `table`, asking `monitor` (if any) what changed."""
        self.table = table
        self.disk = disk
        self.reader = reader
        self.warnings = warnings
        self.monitor = monitor

    def suspects(self) -> tuple[list[str], dict[str, Row]]:
        """Return the tracked paths that may differ from HEAD (sorted) and their rows.

        As in `status`: a path whose cached entry equals HEAD's and whose
        lstat still matches the cache is unchanged and is left out, without
        its row being read. Commit uses this to touch only what changed.

        Raises:
            WorktreeError: If a file cannot be stat'ed.
        """
        token, changed = self._ask_monitor() or (None, None)
        if token is not None and changed is not None:
            with self.table.db.read():
                watched = self._watched_suspects(changed, token)
            if watched is not None:
                found, rows, _, _ = watched
                out = sorted(found)
                return out, {p: rows[p] for p in out}
        with self.table.db.read():  # one snapshot for both reads of the rows
            keys, rows = self.table.settle_keys()
            # The walk status makes (its warnings are status's to show, not commit's).
            out = sweep(self.disk, keys, []).unsettled
            missing = [p for p in out if p not in rows]
            if missing:
                rows.update(self.table.of(missing))
        return out, {p: rows[p] for p in out}

    def status(self, *, want_ignored: bool = False) -> WorktreeStatus:
        """Compare the work tree with HEAD, updating the stat cache when the lock is free.

        A path whose cached entry equals HEAD's and whose stat still matches
        the cache is clean without reading its row; only the rest (changed
        stat, missing file, added, removed, or cached as different from HEAD)
        get their full rows and go through `current`. With a file-system
        monitor (passed in: `StatusCheck.monitor`) and a token from an earlier status, only the
        paths the monitor names are looked at (`_watched_status`).
        """
        if want_ignored:
            return self._full_status(want_ignored=True)
        asked = self._ask_monitor()
        if asked is None:
            return self._full_status()
        token, changed = asked
        if changed is not None:
            watched = self._watched_status(changed, token)
            if watched is not None:
                return watched
        # A full look; it saves the token for the next status (events since its counter are looked at
        # again then, which only costs time).
        return self._full_status(token=token)

    def _ask_monitor(self) -> tuple[Token, frozenset[str] | None] | None:
        """Ask the monitor what changed since the saved token (None: there is no monitor, or it cannot tell).

        Returns the saved token and the paths changed since it, or, when a
        full look is needed, a new token (without its untracked files and
        suspects, which the full look fills in) and None.
        """
        monitor = self.monitor
        if monitor is None:
            return None
        with self.table.db.read():
            token = self._monitor_token()
            epoch = self.table.db.get_meta(ROWS_EPOCH) or "0"
        changes = monitor.changes(self.disk.root_s, token.generation if token else "", token.counter if token else -1)
        if changes is None:
            return None
        if (
            token is None
            or changes.paths is None
            or changes.generation != token.generation
            or token.epoch != epoch
            or any(p == IGNORE_FILE or p.endswith("/" + IGNORE_FILE) for p in changes.paths)
        ):
            return Token(changes.generation, changes.counter, epoch, [], []), None
        return token, changes.paths

    def _monitor_token(self) -> Token | None:
        import json

        text = self.table.db.get_meta(MONITOR_TOKEN)
        if text is None:
            return None
        try:
            data = json.loads(text)
            return Token(
                str(data["generation"]),
                int(data["counter"]),
                str(data["epoch"]),
                [str(p) for p in data["untracked"]],
                [str(p) for p in data["suspects"]],
            )
        except (ValueError, KeyError, TypeError):
            return None

    def _full_status(self, *, want_ignored: bool = False, token: Token | None = None) -> WorktreeStatus:
        with self.table.db.read():  # one snapshot for both reads of the rows
            keys, rows = self.table.settle_keys()
            read = (self.table.pack_serial, self.table.read_mark)
            found = sweep(self.disk, keys, self.warnings, want_ignored=want_ignored)
            suspect = found.unsettled
            missing = [p for p in suspect if p not in rows]
            if missing:
                rows.update(self.table.of(missing))
        if token is not None:
            # A file with other hard links can change through one the monitor does not see (outside the
            # tree) or that names another path: every watched status looks at it again.
            token = Token(
                token.generation, token.counter, token.epoch, found.untracked, sorted({*suspect, *found.linked})
            )
        return self._compare(
            suspect,
            rows,
            found.files,
            untracked=found.untracked,
            ignored=found.ignored,
            token=token,
            pack=(keys, read),
        )

    def _compare(
        self,
        suspect: list[str],
        rows: dict[str, Row],
        files: dict[str, os.stat_result],
        *,
        untracked: list[str],
        ignored: list[str],
        token: Token | None,
        pack: tuple[Keys, tuple[int | None, tuple[int, int]]] | None = None,
    ) -> WorktreeStatus:
        """Compare the `suspect` paths with HEAD; save refreshed rows, and the monitor `token` when given.

        With `pack` (the keys a full status read, and where from: the serial of
        the stat-cache pack, or the database's write mark when it read the
        rows), the pack is written again when it is missing or a row's cache
        was refreshed (`RowTable.refresh_with_pack`). Refreshed caches are
        saved only when they pay for the write (`worth_saving`).
        """
        live = [p for p in suspect if rows[p].state != "removed"]
        cur, dirty = self.reader.current(rows, live, files, store=False)
        links = gitlinks({p: rows[p] for p in live})  # what a submodule's directory holds is the submodule's
        st = WorktreeStatus(untracked=outside(untracked, links), ignored=outside(ignored, links))
        for path in suspect:
            row = rows[path]
            if row.state == "removed":
                st.removed.append(path)
                continue
            now = cur[path]
            if now is None:
                st.deleted.append(path)
            elif row.head_oid is None:
                st.added.append(path)
            elif now != (row.head_kind, row.head_oid):
                st.modified.append(path)
        repack = pack is not None and pack[1][0] is None  # no pack was read: write one
        if dirty and not repack and not worth_saving(dirty, self.table.pack_data):
            dirty = []  # the next status hashes those files again: cheaper than the write (see `worth_saving`)
        repack = repack or (pack is not None and bool(dirty))
        if dirty or token is not None or repack:
            with self.table.db.try_write() as conn:
                if conn is not None:
                    if repack and pack is not None:
                        self.table.refresh_with_pack(pack[0], pack[1], dirty)
                    elif dirty:
                        self.table.refresh_caches(dirty)
                    if token is not None:
                        self._save_token(token)
        return st

    def _save_token(self, token: Token) -> None:
        import json

        self.table.db.set_meta(MONITOR_TOKEN, json.dumps(token.as_json(), sort_keys=True))

    def _watched_status(self, changed: frozenset[str], token: Token) -> WorktreeStatus | None:
        """Status from the paths a monitor says changed since the token, and what the token's status saw.

        The same answer as `_full_status` (a property test holds them equal).
        A path can differ from HEAD only if its row is not settled, or the
        token's status could not settle it by its stat (`token.suspects`), or
        it changed since. Those are read whole and compared as a full status
        would; each changed path that is not tracked is classified as the scan
        would classify it; the token's untracked files stay untracked unless
        they changed or became tracked since. None when a full look is needed
        (see `_watched_suspects`).
        """
        with self.table.db.read():
            watched = self._watched_suspects(changed, token)
            if watched is None:
                return None
            suspect, rows, changed_rows, files = watched
            untracked = self._untracked_since(token, changed, changed_rows)
        return self._compare(sorted(suspect), rows, files, untracked=untracked, ignored=[], token=None)

    def watched_untracked(self) -> list[str] | None:
        """Return the untracked files (sorted, as a walk lists them) from the monitor alone.

        The token's untracked files that are still untracked, and each path
        the monitor names since that is untracked now; no walk. `add` uses it.

        Returns:
            The files, or None when there is no monitor or it cannot tell (then only a walk can).
        """
        asked = self._ask_monitor()
        if asked is None:
            return None
        token, changed = asked
        if changed is None:
            return None
        with self.table.db.read():
            untracked = self._untracked_since(token, changed, self.table.of(sorted(changed)))
            # What a submodule's directory holds is the submodule's, as a walk leaves it.
            return outside(untracked, self.table.gitlinks()) if untracked else untracked

    def walked_untracked(self) -> list[str] | None:
        """Return the untracked files (sorted) by a walk that knows the tracked paths from the stat-cache pack.

        The walk `scan_tree` makes without stats, but no row is read: `add` uses it.

        Returns:
            The files, or None when there is no pack to read them from (then `scan_tree` over the rows).
        """
        with self.table.db.read():
            keys = self.table.packed_keys()
            if keys is None:
                return None
            links = self.table.gitlinks()
        found = walk(self.disk, keys, self.warnings, want_ignored=False, compare=False)
        # What a submodule's directory holds is the submodule's, as `watched_untracked` leaves it.
        return outside(found.untracked, links)

    def _untracked_since(self, token: Token, changed: frozenset[str], changed_rows: dict[str, Row]) -> list[str]:
        """The untracked files now: the token's, less those tracked or changed since, plus the changed untracked."""
        now_tracked = self.table.of(token.untracked)
        out = set(token.untracked).difference(now_tracked)
        ignore = IgnoreRules(self.disk.root, self.warnings)
        with self.disk.opened():
            for path in changed:
                if path in changed_rows:
                    continue
                out.discard(path)
                if is_untracked(self.disk, self.table, path, ignore):
                    out.add(path)
        return sorted(out)

    def _watched_suspects(
        self, changed: frozenset[str], token: Token
    ) -> tuple[set[str], dict[str, Row], dict[str, Row], dict[str, os.stat_result]] | None:
        """The tracked paths that may differ from HEAD, from a monitor's changes and the token.

        Returns the paths, their rows, the rows of the changed paths that are
        tracked, and the lstat of every path looked at. The paths include every
        path `_unsettled` would return (and may include more: a token suspect
        whose stat matches again), so commit may use them as well as status.
        None when a tracked file looked at has gained hard links since the
        token (it is not among the token's suspects), or a changed path is a
        regular file with several links: a write through another link changes
        a file with no event naming it, so only a full look, which makes every
        multiply-linked tracked file a suspect of the next token, can be
        trusted. (A link made from outside the work tree after the token, to
        a file not written since, sends no event at all: as with git's
        fsmonitor, that is not seen until the next full look.)
        """
        rows = self.table.select(f"WHERE NOT ({SETTLED})")
        suspect = set(rows)
        changed_rows = self.table.of(sorted(changed))
        rows.update(self.table.of(token.suspects))
        suspect.update(p for p in token.suspects if p in rows)
        files: dict[str, os.stat_result] = {}
        with self.disk.opened():
            for path in {*rows, *changed_rows}:
                st = self.disk.lstat_in_tree(path)
                if st is not None and not stat.S_ISDIR(st.st_mode):
                    files[path] = st
            known = set(token.suspects)
            if any(st.st_nlink > 1 and p not in known for p, st in files.items()):
                return None
            for path in changed.difference(files):
                # A new link in the tree to a tracked file: writes through it would name only the link.
                st = self.disk.lstat_in_tree(path)
                if st is not None and stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                    return None
        for path, row in changed_rows.items():
            if path not in rows:
                st = files.get(path)
                if st is None or not row.matches(st):
                    rows[path] = row
                    suspect.add(path)
        return suspect, rows, changed_rows, files
