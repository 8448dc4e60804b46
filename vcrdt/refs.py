"""Refs (branches and tags) and HEAD, stored in the repository database.

A ref maps a name such as ``refs/heads/main`` to a *set* of heads: a branch
is a multi-value register, so concurrent heads that sync brings in can sit
side by side as siblings until a merge joins them. Local commits move a ref
with compare-and-swap inside the caller's write transaction. HEAD is either
symbolic (``ref: refs/heads/main``) or detached (a hex commit id).

Ref names follow git's check-ref-format rules. Imports `store.db`, `ids`
and `errors` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from vcrdt.errors import BadRefNameError, RefError, RefNotFoundError, StaleRefError
from vcrdt.ids import ObjectId, from_hex, is_hex_id, short, to_hex
from vcrdt.store.db import Database

BRANCH_PREFIX = "refs/heads/"
TAG_PREFIX = "refs/tags/"
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


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


def _short_name_rule(name: str) -> str | None:
    if not name:
        return "empty name"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8"
    if name.startswith("-"):
        return "must not start with '-'"
    if name == "HEAD" or name == "@":
        return f"{name!r} is reserved"
    if _BAD_CHARS.search(name):
        return "control character, space, or one of ~ ^ : ? * [ \\"
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


@dataclass(frozen=True, slots=True)
class Head:
    """What HEAD points at: a branch (possibly unborn) or a detached commit."""

    branch: str | None
    commit: ObjectId | None


class RefStore:
    """Refs and HEAD in the repository database."""

    def __init__(self, db: Database) -> None:
        """Wrap the database."""
        self.db = db

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

    def update(self, name: str, new: ObjectId, *, expected: ObjectId | object | None = ...) -> None:
        """Point a ref at one head, with compare-and-swap.

        Args:
            name: The full ref name.
            new: The new head.
            expected: The head the caller read earlier (None: the ref must not
                exist); the default skips the check.

        Raises:
            StaleRefError: If the ref moved since the caller read it.
        """
        with self.db.write() as conn:
            if expected is not ...:
                current = self.get(name)
                if current != expected:
                    # CAS: another writer moved the ref since we read it.
                    was = "absent" if current is None else short(current)
                    want = "absent" if expected is None else short(expected)  # type: ignore[arg-type]
                    raise StaleRefError(f"{name} is at {was} but expected {want}")
            conn.execute("DELETE FROM refs WHERE name = ?", (name,))
            conn.execute("INSERT INTO refs(name, head) VALUES (?, ?)", (name, new))

    def delete(self, name: str) -> None:
        """Delete a ref.

        Raises:
            RefNotFoundError: If it does not exist.
        """
        with self.db.write() as conn:
            cur = conn.execute("DELETE FROM refs WHERE name = ?", (name,))
            if cur.rowcount == 0:
                raise RefNotFoundError(name)

    def rename(self, old: str, new: str) -> None:
        """Rename a ref, keeping its heads.

        Raises:
            RefNotFoundError: If `old` does not exist.
        """
        with self.db.write() as conn:
            cur = conn.execute("UPDATE refs SET name = ? WHERE name = ?", (new, old))
            if cur.rowcount == 0:
                raise RefNotFoundError(old)

    def iter_refs(self, prefix: str = "refs/") -> Iterator[tuple[str, frozenset[ObjectId]]]:
        """Yield ``(name, heads)`` for refs under `prefix`, sorted by name."""
        rows = self.db.conn.execute(
            "SELECT name, head FROM refs WHERE name >= ? AND name < ? ORDER BY name, head",
            (prefix, prefix + "\U0010ffff"),
        ).fetchall()
        current: str | None = None
        acc: list[ObjectId] = []
        for name, head in rows:
            if name != current:
                if current is not None:
                    yield current, frozenset(acc)
                current, acc = name, []
            acc.append(ObjectId(bytes(head)))
        if current is not None:
            yield current, frozenset(acc)

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
            return Head(name, self.get(name))
        if is_hex_id(raw):
            return Head(None, from_hex(raw))
        raise RefError(f"HEAD is malformed: {raw[:80]!r}")

    def set_head_branch(self, name: str) -> None:
        """Make HEAD point at a branch (which may not exist yet)."""
        self.db.set_meta("HEAD", f"ref: {name}")

    def set_head_detached(self, oid: ObjectId) -> None:
        """Detach HEAD at a commit."""
        self.db.set_meta("HEAD", to_hex(oid))
