"""Refs (branches and tags) and HEAD, stored in the repository database.

A ref maps a name such as ``refs/heads/main`` to a *set* of heads: a branch
is a multi-value register, so concurrent heads that a fetch brings in can
sit side by side as siblings until a merge joins them. Branches are also kept
as the add-wins CRDT of `vcrdt.crdt.refstate`: every time this replica points
a branch at a head it stores an entry ``(replica, counter) -> (name, head)``
with a new dot (table ``ref_entries``) and raises its own counter in the
causal context (``ref_context``, replica -> highest counter seen). Deleting a
branch removes its entries and leaves their dots in the context: those dots
are its tombstones, and nothing local clears them. The ``refs`` table holds
what each branch shows (its live heads, ancestors of another one dropped),
which the porcelain writes with the entries after a join.
Local commits move a ref with compare-and-swap inside the caller's write
transaction. HEAD is either symbolic (``ref: refs/heads/main``) or detached
(a hex commit id); when the branch has siblings, the meta key ``HEAD_AT``
says which of them the work tree is on.

A database made by an earlier build kept tombstones as commit ids
(``ref_tombstones``). It is read (and, when writable, upgraded once, meta
``refstate`` = 2) with one *legacy dot* per (branch, head): replica
``SHA-256("vcrdt-legacy-ref" NUL name NUL head)[0:16]``, counter 1; so every
replica that upgrades gives the same old entry the same dot, and an old
tombstone kills it as it did before.

Ref names follow git's check-ref-format rules. Imports `store.db`,
`hashing`, `ids` and `errors` only.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see vcrdt.store.db

from vcrdt.errors import BadRefNameError, RefError, RefNotFoundError, RepoError, StaleRefError
from vcrdt.hashing import digest
from vcrdt.ids import ObjectId, from_hex, is_hex_id, short, to_hex
from vcrdt.store.db import Database
from vcrdt.values import Value, value_class

TYPE_CHECKING = False  # as typing's (mypy reads it so), without importing typing at run time
if TYPE_CHECKING:
    from collections.abc import Iterator

BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
# Stash entries (`vcrdt stash`): ``refs/stash/N``, N a decimal number, larger for newer. Local: no
# sync sends them (a sync sends branches and tags only).
STASH_PREFIX = "refs/stash/"
REFSTATE_VERSION = "2"
# A stored branch entry: full name, head, and its dot (replica, counter).
EntryRow = tuple[str, ObjectId, str, int]


def legacy_replica(name: str, head: ObjectId) -> str:
    """The replica of the legacy dot of an entry stored by an earlier build (see the module docstring).

    Args:
        name: The full branch name.
        head: The head.

    Returns:
        32 hex digits.
    """
    return digest(b"vcrdt-legacy-ref\0" + name.encode("utf-8", "surrogateescape") + b"\0" + head)[:16].hex()


# Control characters (C0, DEL and C1) and the bidirectional-text controls, which reorder what a
# terminal shows; git refuses the first two, vcrdt all of them, since names reach terminals.
# Character sets, not patterns: `re` (with the `enum` module it imports) costs a command millions
# of instructions, and every fetch checks the names it receives.
_CONTROL_CHARS = frozenset(
    chr(c)
    for c in (
        *range(0x00, 0x20),
        *range(0x7F, 0xA0),
        0x061C,
        0x200E,
        0x200F,
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
)
_BAD_CHARS = frozenset(" ~^:?*[\\")


def check_short_name(name: str, kind: str = "branch") -> str:
    """Check a branch or tag name (the part after ``refs/heads/`` or ``refs/tags/``).

    Args:
        name: The short name, e.g. ``feature/x``.
        kind: ``branch`` or ``tag``, for the message.

    Returns:
        The name.

    Raises:
        BadRefNameError: If the name breaks a rule.

    >>> check_short_name("feature/x")
    'feature/x'
    """
    rule = _short_name_rule(name)
    if rule is not None:
        raise BadRefNameError(name, rule)
    return name


def check_full_name(name: str) -> str:
    """Check a full ref name: a valid branch or tag name under ``refs/heads/`` or ``refs/tags/``.

    These two are the only refs vcrdt syncs; a name from another replica is
    held to the rules local names follow. The local stash entries,
    ``refs/stash/N`` with N a decimal number, are valid too.

    Args:
        name: The full name, e.g. ``refs/tags/v1.0``.

    Returns:
        The name.

    Raises:
        BadRefNameError: If the name is outside both namespaces or its short name breaks a rule.

    >>> check_full_name("refs/heads/feature/x")
    'refs/heads/feature/x'
    """
    for prefix in (BRANCH_PREFIX, TAG_PREFIX):
        if name.startswith(prefix):
            rule = _short_name_rule(name[len(prefix) :])
            break
    else:
        number = name[len(STASH_PREFIX) :]
        if name.startswith(STASH_PREFIX) and number.isascii() and number.isdigit():
            rule = None
        else:
            rule = "not under refs/heads/ or refs/tags/"
    if rule is not None:
        raise BadRefNameError(name, rule)
    return name


def _short_name_rule(name: str) -> str | None:
    if not name:
        return "empty name"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8"
    if not _CONTROL_CHARS.isdisjoint(name):
        return "contains a control character"
    if name.startswith("-"):
        return "must not start with '-'"
    if name == "HEAD" or name == "@":
        return f"{name!r} is reserved"
    if not _BAD_CHARS.isdisjoint(name):
        return "contains a space or one of ~ ^ : ? * [ \\"
    if ".." in name:
        return "contains '..'"
    if "@{" in name:
        return "contains '@{'"
    if name.endswith("/") or name.startswith("/") or "//" in name:
        return "empty path component"
    if name.endswith("."):
        return "must not end with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return "component starts with '.'"
        if part.endswith(".lock"):
            return "component ends with '.lock'"
    if is_hex_id(name):
        return "looks like an object id"
    return None


@value_class(frozen=True, init=False, repr=False, eq=False)
class Head(Value):
    """What HEAD points at: a branch (possibly unborn) or a detached commit.

    `siblings` are the branch's other concurrent heads (empty when it has one).
    """

    __slots__ = ("branch", "commit", "siblings")

    branch: str | None
    commit: ObjectId | None
    siblings: frozenset[ObjectId]

    def __init__(
        self, branch: str | None, commit: ObjectId | None, siblings: frozenset[ObjectId] = frozenset()
    ) -> None:
        object.__setattr__(self, "branch", branch)
        object.__setattr__(self, "commit", commit)
        object.__setattr__(self, "siblings", siblings)


class RefStore:
    """Refs and HEAD in the repository database."""

    def __init__(self, db: Database) -> None:
        """Wrap the database; upgrade its branch state from the earlier form once, if it can be written."""
        self.db = db
        self.legacy = db.get_meta("refstate") != REFSTATE_VERSION
        if self.legacy and not db.read_only:
            try:
                self._upgrade()
            except RepoError as exc:
                if "readonly" not in str(exc.__cause__):
                    raise

    def _upgrade(self) -> None:
        """Store the legacy entries and tombstones as dots (`legacy_replica`), then mark the state format 2."""
        with self.db.write() as conn:
            rows = self._legacy_entries()
            context = self._legacy_context()
            conn.executemany(
                "INSERT OR IGNORE INTO ref_entries(replica, counter, name, head) VALUES (?, ?, ?, ?)",
                [(r, c, n, h) for n, h, r, c in rows],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO ref_context(replica, counter) VALUES (?, ?)", sorted(context.items())
            )
            conn.execute("DELETE FROM ref_tombstones")
            self.db.set_meta("refstate", REFSTATE_VERSION)
        self.legacy = False

    def _legacy_entries(self) -> list[EntryRow]:
        rows = self.db.conn.execute(
            "SELECT name, head FROM refs WHERE name >= ? AND name < ? ORDER BY name, head",
            (BRANCH_PREFIX, BRANCH_PREFIX + "\U0010ffff"),
        ).fetchall()
        out: list[EntryRow] = []
        for name, head in rows:
            h = ObjectId(bytes(head))
            out.append((str(name), h, legacy_replica(str(name), h), 1))
        return out

    def _legacy_context(self) -> dict[str, int]:
        context = {r: 1 for _, _, r, _ in self._legacy_entries()}
        for name, head in self.db.conn.execute("SELECT name, head FROM ref_tombstones").fetchall():
            context[legacy_replica(str(name), ObjectId(bytes(head)))] = 1
        return context

    # --- the branches' add-wins state ----------------------------------------------

    def iter_entries(self) -> list[EntryRow]:
        """Every live branch entry ``(full name, head, replica, counter)``, by name and dot."""
        if self.legacy:
            return self._legacy_entries()
        rows = self.db.conn.execute(
            "SELECT name, head, replica, counter FROM ref_entries ORDER BY name, replica, counter"
        ).fetchall()
        return [(str(n), ObjectId(bytes(h)), str(r), int(c)) for n, h, r, c in rows]

    def context(self) -> dict[str, int]:
        """The causal context: for each replica, the highest counter of its dots seen here."""
        if self.legacy:
            return self._legacy_context()
        rows = self.db.conn.execute("SELECT replica, counter FROM ref_context ORDER BY replica").fetchall()
        return {str(r): int(c) for r, c in rows}

    def _new_dot(self, conn: sqlite3.Connection) -> tuple[str, int]:
        """Take this replica's next dot (its counter in the context, plus one) and record it as seen."""
        replica = self.db.get_meta("replica")
        if replica is None:
            raise RefError("the repository has no replica id")
        row = conn.execute("SELECT counter FROM ref_context WHERE replica = ?", (replica,)).fetchone()
        counter = (int(row[0]) if row is not None else 0) + 1
        conn.execute("INSERT OR REPLACE INTO ref_context(replica, counter) VALUES (?, ?)", (replica, counter))
        return replica, counter

    def _add_entry(self, conn: sqlite3.Connection, name: str, head: ObjectId, keep: frozenset[ObjectId]) -> None:
        """Replace every entry of branch `name` whose head is not in `keep` by a new entry for `head`."""
        marks = ",".join("?" * len(keep))
        conn.execute(f"DELETE FROM ref_entries WHERE name = ? AND head NOT IN ({marks})", (name, *sorted(keep)))
        replica, counter = self._new_dot(conn)
        conn.execute(
            "INSERT INTO ref_entries(replica, counter, name, head) VALUES (?, ?, ?, ?)", (replica, counter, name, head)
        )

    def add_entries(self, name: str, heads: frozenset[ObjectId]) -> None:
        """Add a new entry (a new dot each) for each of `heads` to branch `name`, keeping its other entries.

        For a head this replica keeps although a join removed it (the commit under the work
        tree): a re-creation by this replica, which the other replicas' deletions did not see.
        """
        with self.db.write() as conn:
            for head in sorted(heads):
                replica, counter = self._new_dot(conn)
                conn.execute(
                    "INSERT INTO ref_entries(replica, counter, name, head) VALUES (?, ?, ?, ?)",
                    (replica, counter, name, head),
                )

    # --- refs --------------------------------------------------------------------

    def heads(self, name: str) -> frozenset[ObjectId]:
        """Return every head of a ref (empty if the ref does not exist)."""
        rows = self.db.conn.execute("SELECT head FROM refs WHERE name = ?", (name,)).fetchall()
        return frozenset(ObjectId(bytes(r[0])) for r in rows)

    def get(self, name: str) -> ObjectId | None:
        """Return the single head of a ref, or None if it does not exist.

        Raises:
            RefError: If the ref has several heads (siblings to merge first).
        """
        heads = self.heads(name)
        if not heads:
            return None
        if len(heads) > 1:
            listed = ", ".join(sorted(short(h) for h in heads))
            raise RefError(
                f"{name} has {len(heads)} concurrent heads ({listed})",
                hint="run `vcrdt merge` to join them",
            )
        return next(iter(heads))

    def exists(self, name: str) -> bool:
        """Tell whether the ref exists."""
        return bool(self.heads(name))

    def update(
        self,
        name: str,
        new: ObjectId,
        *,
        expected: ObjectId | object | None = ...,
        drop: frozenset[ObjectId] = frozenset(),
    ) -> None:
        """Point a ref at a new head, with compare-and-swap.

        Without siblings this sets the ref's one head. When the ref has
        siblings, only `expected` (and the heads in `drop`, e.g. the sibling a
        merge joined) are replaced by `new`; the other siblings stay.

        Args:
            name: The full ref name.
            new: The new head.
            expected: The head the caller read earlier (None: the ref must not
                exist); the default skips the check and replaces every head.
            drop: Other heads the new one supersedes.

        Raises:
            StaleRefError: If the ref moved since the caller read it.
        """
        with self.db.write() as conn:
            heads = self.heads(name)
            if expected is ...:
                keep: frozenset[ObjectId] = frozenset()
            else:
                if (expected is None and heads) or (expected is not None and expected not in heads):
                    # CAS: another writer moved the ref since we read it.
                    was = "absent" if not heads else ", ".join(sorted(short(h) for h in heads))
                    want = "absent" if expected is None else short(expected)  # type: ignore[arg-type]
                    raise StaleRefError(f"{name} is at {was} but expected {want}")
                keep = heads - {expected} - drop
            if name.startswith(BRANCH_PREFIX):
                # A new dot: a deletion that did not see it cannot remove it, and a re-creation
                # clears no tombstone (the dots an earlier deletion saw stay dead).
                self._add_entry(conn, name, new, keep)
            self._set_heads(conn, name, keep | {new})
            if keep and self._head_branch() == name:
                self.db.set_meta("HEAD_AT", to_hex(new))

    def rewrite(self, name: str, heads: frozenset[ObjectId]) -> None:
        """Set a ref's heads to exactly `heads`, whatever it held (a local rewrite: reset, amend, undo).

        A branch's every entry is removed (its dot stays in the context: a tombstone, so the
        next join does not bring a replaced head back) and each of `heads` gets a new entry with
        a new dot (which no other replica's deletion saw). No heads: the ref is deleted.
        """
        with self.db.write() as conn:
            if not heads:
                conn.execute("DELETE FROM refs WHERE name = ?", (name,))
                conn.execute("DELETE FROM ref_entries WHERE name = ?", (name,))
                return
            if name.startswith(BRANCH_PREFIX):
                conn.execute("DELETE FROM ref_entries WHERE name = ?", (name,))
                for head in sorted(heads):
                    replica, counter = self._new_dot(conn)
                    conn.execute(
                        "INSERT INTO ref_entries(replica, counter, name, head) VALUES (?, ?, ?, ?)",
                        (replica, counter, name, head),
                    )
            self._set_heads(conn, name, heads)

    def set_state(self, name: str, heads: frozenset[ObjectId], entries: frozenset[tuple[ObjectId, str, int]]) -> None:
        """Replace a branch's shown heads and its live entries ``(head, replica, counter)`` (after a join)."""
        with self.db.write() as conn:
            self._set_heads(conn, name, heads)
            conn.execute("DELETE FROM ref_entries WHERE name = ?", (name,))
            conn.executemany(
                "INSERT INTO ref_entries(replica, counter, name, head) VALUES (?, ?, ?, ?)",
                [(r, c, name, h) for h, r, c in sorted(entries, key=lambda e: (e[1], e[2]))],
            )

    def join_context(self, context: dict[str, int]) -> None:
        """Raise each replica's counter in the causal context to at least the one in `context`."""
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO ref_context(replica, counter) VALUES (?, ?)"
                " ON CONFLICT(replica) DO UPDATE SET counter = max(counter, excluded.counter)",
                sorted(context.items()),
            )

    @staticmethod
    def _set_heads(conn: sqlite3.Connection, name: str, heads: frozenset[ObjectId]) -> None:
        conn.execute("DELETE FROM refs WHERE name = ?", (name,))
        conn.executemany("INSERT INTO refs(name, head) VALUES (?, ?)", [(name, h) for h in sorted(heads)])

    def delete(self, name: str, *, tombstone: bool = True) -> None:
        """Delete a ref. A branch's entries go, and their dots stay in the context as its tombstones.

        Args:
            name: The full ref name.
            tombstone: Kept for callers; a branch deletion always leaves tombstones (its dots
                stay seen), and a tag has none.

        Raises:
            RefNotFoundError: If it does not exist.
        """
        del tombstone
        with self.db.write() as conn:
            cur = conn.execute("DELETE FROM refs WHERE name = ?", (name,))
            if cur.rowcount == 0:
                raise RefNotFoundError(name)
            conn.execute("DELETE FROM ref_entries WHERE name = ?", (name,))

    def rename(self, old: str, new: str) -> None:
        """Rename a ref, keeping its heads.

        Raises:
            RefNotFoundError: If `old` does not exist.
        """
        with self.db.write() as conn:
            heads = self.heads(old)
            cur = conn.execute("UPDATE refs SET name = ? WHERE name = ?", (new, old))
            if cur.rowcount == 0:
                raise RefNotFoundError(old)
            # The old name is deleted (its dots stay seen: replicas that still have it learn so);
            # the new name gets new entries, which no earlier deletion of it saw.
            conn.execute("DELETE FROM ref_entries WHERE name = ?", (old,))
            conn.execute("DELETE FROM ref_entries WHERE name = ?", (new,))
            if new.startswith(BRANCH_PREFIX):
                for head in sorted(heads):
                    replica, counter = self._new_dot(conn)
                    conn.execute(
                        "INSERT INTO ref_entries(replica, counter, name, head) VALUES (?, ?, ?, ?)",
                        (replica, counter, new, head),
                    )

    def iter_refs(self, prefix: str = "refs/") -> Iterator[tuple[str, frozenset[ObjectId]]]:
        """Yield ``(name, heads)`` for refs under `prefix`, sorted by name."""
        rows = self.db.conn.execute(
            "SELECT name, head FROM refs WHERE name >= ? AND name < ? ORDER BY name, head",
            (prefix, prefix + "\U0010ffff"),
        ).fetchall()
        from itertools import groupby  # here: refs loads on every command's start-up path

        for name, group in groupby(rows, key=_name_of):
            yield name, frozenset([ObjectId(bytes(head)) for _, head in group])

    def check_names(self) -> None:
        """Check every ref name stored, live or tombstoned, against the ref-name rules.

        For a replica that is not trusted (the source of a fetch): its names
        are held to `check_full_name`, in name order, before any is used.

        Raises:
            BadRefNameError: For the first name that breaks a rule.
        """
        for err in self.iter_bad_names():
            raise err

    def iter_bad_names(self) -> Iterator[BadRefNameError]:
        """Yield an error for each stored ref name (live or tombstoned) that breaks a rule, in name order.

        A name is read as bytes, so one that is not text or not UTF-8 is
        reported rather than failing the read.
        """
        entries = "" if self.legacy else " UNION SELECT CAST(name AS BLOB), typeof(name) FROM ref_entries"
        rows = self.db.conn.execute(
            "SELECT CAST(name AS BLOB), typeof(name) FROM refs"
            " UNION SELECT CAST(name AS BLOB), typeof(name) FROM ref_tombstones" + entries + " ORDER BY 1"
        ).fetchall()
        for raw, kind in rows:
            data = bytes(raw) if raw is not None else b""
            name = data.decode("utf-8", "surrogateescape")
            if kind != "text":
                yield BadRefNameError(name, f"stored as {kind}, not text")
                continue
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                yield BadRefNameError(name, "not valid UTF-8")
                continue
            try:
                check_full_name(name)
            except BadRefNameError as err:
                yield err

    def all_heads(self) -> set[ObjectId]:
        """Return every commit any ref points at."""
        return {ObjectId(bytes(r[0])) for r in self.db.conn.execute("SELECT DISTINCT head FROM refs")}

    # --- HEAD ----------------------------------------------------------------------

    def head(self) -> Head:
        """Return what HEAD points at.

        Raises:
            RefError: If the stored HEAD is malformed.
        """
        raw = self.db.get_meta("HEAD")
        if raw is None:
            raise RefError("HEAD is missing from the repository")
        if raw.startswith("ref: "):
            name = raw[5:]
            heads = self.heads(name)
            if len(heads) <= 1:
                return Head(name, next(iter(heads), None))
            at = self.db.get_meta("HEAD_AT")
            current = from_hex(at) if at is not None and is_hex_id(at) else None
            if current not in heads:
                current = min(heads)  # no record of where the work tree is: the same choice every time
            assert current is not None
            return Head(name, current, heads - {current})
        if is_hex_id(raw):
            return Head(None, from_hex(raw))
        raise RefError(f"HEAD is malformed: {raw[:80]!r}")

    def _head_branch(self) -> str | None:
        raw = self.db.get_meta("HEAD")
        return raw[5:] if raw is not None and raw.startswith("ref: ") else None

    def set_head_at(self, oid: ObjectId) -> None:
        """Record which sibling of the HEAD branch the work tree is on."""
        self.db.set_meta("HEAD_AT", to_hex(oid))

    def set_head_branch(self, name: str) -> None:
        """Make HEAD point at a branch (which may not exist yet)."""
        self.db.set_meta("HEAD", f"ref: {name}")

    def set_head_detached(self, oid: ObjectId) -> None:
        """Detach HEAD at a commit."""
        self.db.set_meta("HEAD", to_hex(oid))


def _name_of(row: tuple[str, bytes]) -> str:
    return row[0]
