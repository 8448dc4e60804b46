"""The tie-break order and the rule results that depend on it, pinned by fixtures/tiebreak.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vcrdt.crdt.order import TieKey
from vcrdt.diff.xdiff import xdiff_matcher
from vcrdt.merge.diff3 import myers_matcher
from vcrdt.merge.rules.text import LineRule, resolve_lines

DOC = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "tiebreak.json").read_text())


def _key(doc: dict[str, object]) -> TieKey:
    return TieKey(int(str(doc["lamport"])), str(doc["replica"]), bytes.fromhex(str(doc["commit"])))


@pytest.mark.parametrize("vector", DOC["vectors"], ids=lambda v: v["name"])
def test_order_vectors(vector: dict[str, dict[str, object]]) -> None:
    earlier, later = _key(vector["earlier"]), _key(vector["later"])
    assert earlier < later and later > earlier and earlier != later


def test_content_key_is_the_sha256_of_the_bytes() -> None:
    key = TieKey.of_content(b"a\n")
    assert (key.lamport, key.replica) == (0, "")
    assert key.commit.hex() == "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7"


@pytest.mark.parametrize("matcher", [myers_matcher, xdiff_matcher], ids=["myers", "xdiff"])
@pytest.mark.parametrize("vector", DOC["resolutions"], ids=lambda v: f"{v['rule']}: {v['name']}")
def test_resolution_vectors(vector: dict[str, object], matcher: object) -> None:
    rule: LineRule = vector["rule"]  # type: ignore[assignment]
    o, a, b = (str(vector[k]).encode() for k in ("base", "ours", "theirs"))
    ka, kb = _key(vector["ours_key"]), _key(vector["theirs_key"])  # type: ignore[arg-type]
    expected = str(vector["result"]).encode()
    assert resolve_lines(rule, o, a, b, ours_key=ka, theirs_key=kb, matcher=matcher).data == expected  # type: ignore[arg-type]
    assert resolve_lines(rule, o, b, a, ours_key=kb, theirs_key=ka, matcher=matcher).data == expected  # type: ignore[arg-type]
