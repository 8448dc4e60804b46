"""Garbage collection: drop the objects nothing keeps, expire old operations, give the space back.

What gc keeps is decided in one place, `roots`: every object some part of the
repository names, with where the name comes from. Anything reachable from a
root stays; the rest is *unreachable*. The roots are:

- every ref (branches with all their sibling heads, tags, and any other name
  under ``refs/``), and HEAD when it is detached;
- every head of a branch's stored CRDT entries (``ref_entries``): what a branch
  shows is computed from them, and computing it reads their commits. A deleted
  branch leaves no entry, only dots in the causal context (its tombstones), which
  name no object, so a deleted branch's commits are kept only by the undo log;
- the undo log (`vcrdt oplog`): the commits each operation's record names (ref
  heads before and after, detached HEADs) and its work-tree snapshot trees, for
  the operations younger than the expiry (older ones are deleted by gc);
- a merge in progress: the commit being merged, the commit HEAD was at, the
  record of the rules' resolutions, and the three sides of each recorded conflict;
- the work-tree table: the HEAD entry of each tracked path and the content id
  the stat cache holds (when it is stored), and an interrupted checkout's journal.

A feature that keeps objects in a table of its own (and not under ``refs/``)
must add its roots here, or gc drops what it keeps.

A delta (an object stored compressed against another, `vcrdt.store.sqlite`) needs
its base to be read: a kept object stored as a delta of one that goes is first
stored whole, in the same transaction.

Objects have no time of their own. So that gc never drops what a command running
at the same time has just stored and is about to name (a fetch stores objects
before it moves refs), an unreachable object is old only once gc has seen it
unreachable for the expiry: each gc notes, for every unreachable object it keeps,
when one first saw it so (`SEEN_KEY` in ``meta``). ``--prune=now`` drops every
unreachable object at once (as git's, safe only when nothing else writes to the
repository).

Everything gc deletes (objects, their chunks and fingerprint counts, expired log
rows, git-map rows of deleted objects) goes in one write transaction: a crash
leaves the repository as before or as after. The file is compacted (VACUUM)
afterwards, in a transaction of its own.
"""

from __future__ import annotations

import _sqlite3 as sqlite3  # the C module alone: see vcrdt.store.db
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from vcrdt.dag import iter_reachable, read_tree
from vcrdt.errors import CorruptObjectError, ObjectNotFoundError, RepoError
from vcrdt.ids import ObjectId, from_hex, is_hex_id, to_hex
from vcrdt.objects import EntryKind
from vcrdt.repo import Repository
from vcrdt.store.db import database_error
from vcrdt.store.oplog import OpLogTable

DEFAULT_EXPIRY = "2.weeks.ago"
# meta key: JSON {hex id: time} of each unreachable object gc kept, with when a gc first saw it unreachable.
SEEN_KEY = "gc.unreachable"
_UNITS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 7 * 86400,
    "month": 30 * 86400,
    "year": 365 * 86400,
}
_RELATIVE = re.compile(r"^(\d+)[. ]+(second|minute|hour|day|week|month|year)s?(?:[. ]+ago)?$")


@dataclass(frozen=True, slots=True)
class Expiry:
    """When operations and unreachable objects expire: before `cutoff` (seconds since the epoch).

    `everything` (``now``) drops every unreachable object, however recent.
    """

    text: str
    cutoff: float
    everything: bool = False


def parse_expiry(text: str, now: float) -> Expiry:
    """Read an expiry as git's ``--prune`` does: ``now``, ``never``, ``2.weeks.ago``, ``3 days ago``, a date.

    Args:
        text: The expiry.
        now: The current time (seconds since the epoch).

    Returns:
        The expiry.

    Raises:
        RepoError: If `text` is not one of those forms.

    >>> parse_expiry("2.weeks.ago", 1_000_000.0).cutoff
    -209600.0
    >>> parse_expiry("now", 5.0).everything
    True
    """
    word = text.strip().lower()
    if word == "now":
        return Expiry(text, now, everything=True)
    if word == "never":
        return Expiry(text, float("-inf"))
    match = _RELATIVE.match(word)
    if match:
        return Expiry(text, now - int(match.group(1)) * _UNITS[match.group(2)])
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RepoError(
            f"invalid expiry {text!r}: expected now, never, N.UNIT.ago (UNIT: second .. year) or a date",
            hint="for example --prune=2.weeks.ago or --prune=2026-01-31",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return Expiry(text, when.timestamp())


@dataclass(frozen=True, slots=True)
class Root:
    """An object some part of the repository names: `origin` says which part, `kind` how to walk from it.

    ``commit``: its history (commits, trees, blobs); ``tree``: the trees and blobs under it;
    ``object``: the object itself, walked as a tree when it is one, skipped when it is not stored.
    """

    origin: str
    oid: ObjectId
    kind: Literal["commit", "tree", "object"]


def roots(repo: Repository, expiry: Expiry) -> list[Root]:
    """Every reachability root of the repository (see the module docstring); the one list gc keeps.

    Args:
        repo: The repository (read inside the caller's transaction).
        expiry: Operations of the undo log older than its cutoff are not roots.

    Returns:
        The roots, in a stable order (an object may appear under several origins).
    """
    out: list[Root] = []
    for name, heads in repo.refs.iter_refs():
        out += [Root(name, h, "commit") for h in sorted(heads)]
    head = repo.refs.head()
    if head.branch is None and head.commit is not None:
        out.append(Root("HEAD", head.commit, "commit"))
    for name, h, _replica, _counter in repo.refs.iter_entries():
        out.append(Root(f"{name} (branch entry)", h, "commit"))
    for rec in OpLogTable(repo.db).newest_first():
        if rec.time < expiry.cutoff:
            continue
        out += [Root(f"oplog {rec.seq}", c, "commit") for c in sorted(rec.commits())]
        out += [Root(f"oplog {rec.seq}", t, "tree") for t in (rec.wt_before, rec.wt_after) if t is not None]
    state = repo.merge_state
    # A merge's other side and HEAD before it; a stopped cherry-pick's HEAD before it and the
    # commits it has still to pick; the stash entry a conflicted `stash apply` came from.
    for key in ("theirs", "orig", "pick_orig", "stash"):
        value = state.get(key)
        if value is not None and len(value) == 32:
            out.append(Root(f"merge state ({key})", ObjectId(value), "commit"))
    for line in (state.get("todo") or b"").decode("ascii", "replace").split():
        try:
            out.append(Root("merge state (todo)", ObjectId(bytes.fromhex(line)), "commit"))
        except ValueError:
            continue  # fsck reports a damaged merge state; gc keeps what it can read
    record = state.get("resolutions")
    if record is not None and len(record) == 32:
        out.append(Root("merge state (resolutions)", ObjectId(record), "object"))
    for conflict, _resolved in state.conflicts():
        for side in (conflict.base, conflict.ours, conflict.theirs):
            if side.oid is not None:
                kind: Literal["tree", "object"] = "tree" if side.kind is EntryKind.TREE else "object"
                out.append(Root(f"conflict {conflict.path}", side.oid, kind))
    for path, row in sorted(repo.worktree.rows().items()):
        for oid in (row.head_oid, row.oid):
            if oid is not None:
                out.append(Root(f"work tree {path}", oid, "object"))
    for (oid,) in repo.db.conn.execute("SELECT CAST(oid AS BLOB) FROM checkout_journal WHERE oid IS NOT NULL"):
        if len(oid) == 32:
            out.append(Root("checkout journal", ObjectId(bytes(oid)), "object"))
    return out


def reachable(repo: Repository, found: list[Root]) -> set[ObjectId]:
    """Every object reachable from the roots `found`.

    Raises:
        RepoError: If a root's history or tree is missing an object or does not decode
            (gc then deletes nothing: `vcrdt fsck` says what is wrong).
    """
    store = repo.store
    commits = sorted({r.oid for r in found if r.kind == "commit"})
    trees: set[ObjectId] = {r.oid for r in found if r.kind == "tree"}
    seen: set[ObjectId] = set()
    for r in found:
        if r.kind != "object" or not store.has(r.oid):
            continue
        if store.info(r.oid)[0] == "tree":
            trees.add(r.oid)
        else:
            seen.add(r.oid)
    try:
        seen |= iter_reachable(store, commits)
        todo = sorted(trees - seen)
        while todo:
            oid = todo.pop()
            if oid in seen:
                continue
            seen.add(oid)
            for entry in read_tree(store, oid).entries:
                if entry.kind is EntryKind.TREE:
                    todo.append(entry.oid)
                else:
                    seen.add(entry.oid)
    except (ObjectNotFoundError, CorruptObjectError) as exc:
        raise RepoError(
            f"cannot collect garbage: the history is broken ({exc.message}); nothing was deleted",
            hint="run `vcrdt fsck` to see what is missing",
        ) from exc
    return seen


@dataclass(frozen=True, slots=True)
class GcResult:
    """What gc removed (or, with `dry_run`, would remove) and kept."""

    objects: int
    reachable: int
    removed: int
    removed_bytes: int
    kept_recent: int
    rewritten: int
    expired_ops: int
    size_before: int
    size_after: int
    dry_run: bool
    removed_ids: tuple[ObjectId, ...] = ()


def gc(repo: Repository, expiry: Expiry, *, now: float, dry_run: bool = False, compact: bool = True) -> GcResult:
    """Delete unreachable old objects and expired operations, then compact the database file.

    Args:
        repo: The repository.
        expiry: What is old (`parse_expiry`).
        now: The current time, noted for the next gc's notion of old objects.
        dry_run: Say what would go; change nothing.
        compact: VACUUM the file after deleting (when anything was deleted).

    Returns:
        What was removed and kept.

    Raises:
        RepoError: If the history is broken (nothing is deleted then).
    """
    size_before = _file_size(repo)
    if dry_run:
        with repo.db.read():
            plan = _plan(repo, expiry, now)
        return _result(plan, size_before, size_before, dry_run=True)
    with repo.db.write() as conn:
        plan = _plan(repo, expiry, now)
        conn.execute("DELETE FROM oplog WHERE time < ?", (expiry.cutoff,))
        repo.store.store_whole(plan.rewrite)
        repo.store.delete(plan.removed)
        _forget_git_ids(conn, plan.removed)
        _note_seen(repo, plan.seen)
    if compact and plan.removed:
        _compact(repo)
    return _result(plan, size_before, _file_size(repo), dry_run=False)


@dataclass(frozen=True, slots=True)
class _Plan:
    objects: int
    reachable: int
    removed: list[ObjectId]
    removed_bytes: int
    seen: dict[ObjectId, float]
    kept_recent: int
    rewrite: list[ObjectId]
    expired_ops: int


def _plan(repo: Repository, expiry: Expiry, now: float) -> _Plan:
    keep = reachable(repo, roots(repo, expiry))
    rows = list(repo.store.storage_rows())
    seen_before = _seen(repo)
    candidates: dict[ObjectId, int] = {}
    seen: dict[ObjectId, float] = {}
    for oid, _base, size in rows:
        if oid in keep:
            continue
        first = seen_before.get(oid, now)
        if expiry.everything or first < expiry.cutoff:
            candidates[oid] = size
        seen[oid] = first
    # A kept object stored as a delta of one that goes is stored whole first.
    rewrite = sorted(oid for oid, base, _size in rows if base in candidates and oid not in candidates)
    kept_recent = len(seen) - len(candidates)
    (expired,) = repo.db.conn.execute("SELECT COUNT(*) FROM oplog WHERE time < ?", (expiry.cutoff,)).fetchone()
    present = {oid for oid, *_ in rows}
    return _Plan(
        objects=len(rows),
        reachable=len(keep & present),
        removed=sorted(candidates),
        removed_bytes=sum(candidates.values()),
        seen={oid: t for oid, t in seen.items() if oid not in candidates},
        kept_recent=kept_recent,
        rewrite=rewrite,
        expired_ops=int(expired),
    )


def _result(plan: _Plan, before: int, after: int, *, dry_run: bool) -> GcResult:
    return GcResult(
        objects=plan.objects,
        reachable=plan.reachable,
        removed=len(plan.removed),
        removed_bytes=plan.removed_bytes,
        kept_recent=plan.kept_recent,
        rewritten=len(plan.rewrite),
        expired_ops=plan.expired_ops,
        size_before=before,
        size_after=after,
        dry_run=dry_run,
        removed_ids=tuple(plan.removed),
    )


def _seen(repo: Repository) -> dict[ObjectId, float]:
    """When gc first saw each unreachable object it kept; a damaged note counts as none (all recent again)."""
    text = repo.db.get_meta(SEEN_KEY)
    if not text:
        return {}
    try:
        return {ObjectId(from_hex(h)): float(t) for h, t in json.loads(text).items() if is_hex_id(h)}
    except (ValueError, TypeError, AttributeError):
        return {}


def _note_seen(repo: Repository, seen: dict[ObjectId, float]) -> None:
    """Note the unreachable objects kept, with when each was first seen so (inside the write transaction)."""
    if seen:
        repo.db.set_meta(SEEN_KEY, json.dumps({to_hex(oid): t for oid, t in sorted(seen.items())}))
    else:
        repo.db.delete_meta(SEEN_KEY)


def _forget_git_ids(conn: sqlite3.Connection, removed: list[ObjectId]) -> None:
    """Drop the git-interop map's rows naming deleted objects (an import must bring them in again)."""
    if not removed or conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'git_map'").fetchone() is None:
        return
    conn.executemany("DELETE FROM git_map WHERE vcrdt_id = ?", [(oid,) for oid in removed])


def _file_size(repo: Repository) -> int:
    """The bytes of the database file and its write-ahead log."""
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += os.stat(str(repo.db.path) + suffix).st_size
        except OSError:
            pass
    return total


def _compact(repo: Repository) -> None:
    """Give the freed pages back to the file system: VACUUM, then empty the write-ahead log into the file.

    VACUUM is atomic (a crash leaves the file as before it); a database another process is
    using (busy) stays as it is, its free pages reused by later writes.
    """
    conn = repo.db.conn
    try:
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise database_error(exc, repo.db.path, f"cannot compact the database: {exc}", rolled_back=False) from exc
