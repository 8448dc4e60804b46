"""The record of a merge's automatic resolutions (docs/format.md): what each rule settled, as canonical bytes.

A merge commit that rules settled carries the id of a blob holding this
record, so `conflicts --auto` can list the decisions and `reopen` can put a
path back into conflict. The bytes are canonical (keys sorted, entries by
path, ASCII, one line), so replicas that make the same convergent merge
store the same record. Pure: imports only `ids` and the conflict values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from vcrdt.ids import ObjectId
from vcrdt.merge.conflicts import AutoResolution, Side
from vcrdt.objects import EntryKind

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
    auto: list[AutoResolution],
    sides: tuple[ObjectId | None, ObjectId | None],
    results: Mapping[str, tuple[EntryKind, ObjectId]],
) -> list[dict[str, object]]:
    """The resolutions record's entries for what rules settled, naming the commits of the two sides.

    Args:
        auto: What the rules settled.
        sides: The commits of the two sides (None for a side that is not one commit).
        results: What each settled path became (absent: deleted), so `reopen` can tell when
            something changed the path afterwards.

    Returns:
        One JSON-ready entry per settled path.
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
    doc = {"format": RESOLUTIONS_FORMAT, "resolutions": sorted(entries, key=lambda e: str(e["path"]))}
    return (json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode()
