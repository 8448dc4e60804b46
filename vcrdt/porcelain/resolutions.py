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
    """The conflicted paths to prompt for, when prompting is possible (`ask_default`): action ``ask`` only.

    A path with no action gets markers, as in git; ``on_conflict="ask"`` prompts for every path.
    """
    if not ask_default or on_conflict in ("markers", "fail", "crdt"):
        return []
    if on_conflict == "ask":
        return [c.path for c in conflicts]
    return [c.path for c in conflicts if policy.action_for(c.path) == "ask"]


@dataclass(frozen=True, slots=True)
class AutoRecord:
    """A merge commit's record of automatic resolutions (empty `resolutions` when it has none)."""

    commit: ObjectId
    record: ObjectId | None
    resolutions: list[dict[str, object]]


def auto_resolutions(repo: Repository, rev: str = "HEAD") -> AutoRecord:
    """Read what rules settled in the merge commit `rev`.

    A decision about a whole path (``where`` ``*``: a binary file, a symlink, a
    modification against a deletion) records its losing version by side only,
    with an empty text; each such alternative is given here the ``kind`` and
    ``id`` of that side's version (both None for a deletion), so a losing binary
    version can be told from a deletion and fetched by id.

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
    for entry in doc["resolutions"]:
        _name_whole_path_losers(entry)
    return AutoRecord(oid, commit.resolutions, doc["resolutions"])


def _name_whole_path_losers(entry: object) -> None:
    """Add the ``kind`` and ``id`` of the side each whole-path alternative names (see `auto_resolutions`)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("hunks"), list):
        return
    for hunk in entry["hunks"]:
        if not isinstance(hunk, dict) or hunk.get("where") != "*" or not isinstance(hunk.get("alternatives"), list):
            continue
        for alt in hunk["alternatives"]:
            if isinstance(alt, dict) and alt.get("side") in ("base", "ours", "theirs"):
                side = side_of_json(entry.get(alt["side"]))
                alt["kind"] = side.kind.value if side.kind is not None else None
                alt["id"] = side.oid.hex() if side.oid is not None else None


def side_of_json(doc: object) -> Side:
    """A side of a path from its record entry (absent when the entry names no object)."""
    if not isinstance(doc, dict) or doc.get("kind") is None or doc.get("id") is None:
        return Side()
    return Side(EntryKind(doc["kind"]), ObjectId(bytes.fromhex(doc["id"])))
