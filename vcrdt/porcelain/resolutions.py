"""The merge policy as a merge applies it, and the record of what rules settled (docs/format.md)."""

from __future__ import annotations

from dataclasses import dataclass

from vcrdt.dag import read_commit
from vcrdt.diff.xdiff import xdiff_matcher
from vcrdt.errors import (
    CorruptObjectError,
    MergeError,
)
from vcrdt.ids import ObjectId, to_hex
from vcrdt.merge.conflicts import AutoResolution, PathConflict, Side
from vcrdt.merge.diff3 import (
    merge_bytes,
)
from vcrdt.merge.policy import POLICY_FILE, OnConflict, Policy, crdt_rule, parse_policy
from vcrdt.merge.rules import RULES, RuleName
from vcrdt.merge.trees import Decide
from vcrdt.objects import EntryKind
from vcrdt.porcelain._shared import (
    blob_bytes,
)
from vcrdt.repo import Repository
from vcrdt.worktree import FlatTree


def merge_policy(repo: Repository, base: FlatTree, ours: FlatTree, theirs: FlatTree, *, strict: bool) -> Policy:
    """The policy a merge follows: the merged ``.vcrdtattributes`` when it merges cleanly, else ours.

    Raises:
        PolicyError: If the file is malformed.
        MergeError: If `strict` and the policy file itself conflicts.
    """
    b, o, t = (f.get(POLICY_FILE) for f in (base, ours, theirs))
    data: bytes | None
    if o == t or t == b:
        data = blob_bytes(repo, o[1]) if o else None
    elif o == b:
        data = blob_bytes(repo, t[1]) if t else None
    else:
        texts = [(blob_bytes(repo, e[1]) or b"") if e else b"" for e in (b, o, t)]
        merged, conflicts = merge_bytes(texts[0], texts[1], texts[2], matcher=xdiff_matcher)
        if conflicts and strict:
            raise MergeError(f"{POLICY_FILE}: the merge policy itself conflicts", hint="merge it by hand first")
        data = merged if not conflicts else texts[1]
    return parse_policy(data) if data else Policy()


def decider(policy: Policy, on_conflict: OnConflict | None) -> Decide | None:
    """Which rule settles each path's conflicts under `policy` and the `--on-conflict` override."""
    if on_conflict in ("markers", "ask"):
        return None
    if on_conflict == "crdt":
        return lambda path, binary: crdt_rule(policy.action_for(path), binary=binary)

    def by_policy(path: str, binary: bool) -> RuleName | None:
        action = policy.action_for(path)
        return action if action in RULES else None

    return by_policy


def ask_paths(
    policy: Policy, conflicts: list[PathConflict], on_conflict: OnConflict | None, ask_default: bool
) -> list[str]:
    """The conflicted paths to prompt for: action ``ask`` (or none set, when asking is the default)."""
    if not ask_default or on_conflict in ("markers", "fail", "crdt"):
        return []
    if on_conflict == "ask":
        return [c.path for c in conflicts]
    return [c.path for c in conflicts if (policy.action_for(c.path) or "ask") == "ask"]


RESOLUTIONS_FORMAT = 1


def _side_json(side: Side, commit: ObjectId | None) -> dict[str, object]:
    return {
        "commit": commit.hex() if commit is not None else None,
        "kind": side.kind.value if side.kind else None,
        "id": side.oid.hex() if side.oid else None,
    }


def _text_json(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def record_entries(
    auto: list[AutoResolution], sides: tuple[ObjectId | None, ObjectId | None], results: FlatTree
) -> list[dict[str, object]]:
    """The resolutions record's entries for what rules settled, naming the commits of the two sides.

    `results` holds what each settled path became (absent: deleted), so `reopen` can tell when
    something changed the path afterwards.
    """
    return [
        {
            "path": a.path,
            "rule": a.rule,
            "base": _side_json(a.base, None),
            "ours": _side_json(a.ours, sides[0]),
            "theirs": _side_json(a.theirs, sides[1]),
            "result": _side_json(Side(*results[a.path]) if a.path in results else Side(), None),
            "hunks": [
                {
                    "where": h.where,
                    "rule": h.rule,
                    "outcome": h.outcome,
                    "chosen": _text_json(h.chosen),
                    "alternatives": [{"side": s, "text": _text_json(t)} for s, t in h.alternatives],
                }
                for h in a.hunks
            ],
        }
        for a in auto
    ]


def dump_record(entries: list[dict[str, object]]) -> bytes:
    """The canonical bytes of a resolutions record (keys sorted, entries by path, ASCII, one line)."""
    import json

    doc = {"format": RESOLUTIONS_FORMAT, "resolutions": sorted(entries, key=lambda e: str(e["path"]))}
    return (json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode()


def store_resolutions(
    repo: Repository, auto: list[AutoResolution], sides: tuple[ObjectId, ObjectId], results: FlatTree
) -> ObjectId:
    """Store the canonical record of a merge's automatic resolutions (docs/format.md)."""
    return repo.store.put("blob", dump_record(record_entries(auto, sides, results)))


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
