"""Which conflicts to prompt for, and reading the record of what rules settled (docs/format.md)."""

from __future__ import annotations

from dataclasses import dataclass

from vcrdt.dag import read_commit
from vcrdt.errors import (
    CorruptObjectError,
)
from vcrdt.ids import ObjectId, to_hex
from vcrdt.merge.conflicts import PathConflict, Side
from vcrdt.merge.policy import OnConflict, Policy
from vcrdt.merge.record import RESOLUTIONS_FORMAT as RESOLUTIONS_FORMAT
from vcrdt.objects import EntryKind
from vcrdt.repo import Repository


def ask_paths(
    policy: Policy, conflicts: list[PathConflict], on_conflict: OnConflict | None, ask_default: bool
) -> list[str]:
    """The conflicted paths to prompt for: action ``ask`` (or none set, when asking is the default)."""
    if not ask_default or on_conflict in ("markers", "fail", "crdt"):
        return []
    if on_conflict == "ask":
        return [c.path for c in conflicts]
    return [c.path for c in conflicts if (policy.action_for(c.path) or "ask") == "ask"]


@dataclass(frozen=True, slots=True)
class AutoRecord:
    """A merge commit's record of automatic resolutions (empty `resolutions` when it has none)."""

    commit: ObjectId
    record: ObjectId | None
    resolutions: list[dict[str, object]]


def auto_resolutions(repo: Repository, rev: str = "HEAD") -> AutoRecord:
    """Read what rules settled in the merge commit `rev`.

    Raises:
        BadRevisionError: If `rev` does not name a commit.
        CorruptObjectError: If the record is not a valid resolutions record.
    """
    import json

    oid = repo.resolve(rev)
    commit = read_commit(repo.store, oid)
    if commit.resolutions is None:
        return AutoRecord(oid, None, [])
    kind, body = repo.store.get(commit.resolutions)
    try:
        doc = json.loads(body)
        if kind != "blob" or doc.get("format") != RESOLUTIONS_FORMAT or not isinstance(doc["resolutions"], list):
            raise ValueError("unknown format")
    except (ValueError, KeyError, AttributeError) as exc:
        raise CorruptObjectError(to_hex(commit.resolutions), f"not a resolutions record: {exc}") from exc
    return AutoRecord(oid, commit.resolutions, doc["resolutions"])


def side_of_json(doc: object) -> Side:
    """A side of a path from its record entry (absent when the entry names no object)."""
    if not isinstance(doc, dict) or doc.get("kind") is None or doc.get("id") is None:
        return Side()
    return Side(EntryKind(doc["kind"]), ObjectId(bytes.fromhex(doc["id"])))
