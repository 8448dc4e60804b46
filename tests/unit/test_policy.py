"""`.vcrdtattributes`: parsing, last match wins, errors that name the line."""

from __future__ import annotations

import pytest

from vcrdt.errors import PolicyError, VcrdtError
from vcrdt.merge.policy import Policy, crdt_rule, parse_policy


def test_last_match_wins() -> None:
    p = parse_policy(b"* markers\n*.txt union\ndocs/*.txt lww\n")
    assert p.action_for("a.txt") == "union"
    assert p.action_for("docs/a.txt") == "lww"
    assert p.action_for("docs/sub/a.txt") == "union"
    assert p.action_for("x.bin") == "markers"


def test_comments_blank_lines_and_gitattributes_spelling() -> None:
    p = parse_policy(b"# policy\n\n  requirements.txt   merge=set  \n/top.json json\n")
    assert p.action_for("requirements.txt") == "set"
    assert p.action_for("sub/requirements.txt") == "set"
    assert p.action_for("top.json") == "json"
    assert p.action_for("sub/top.json") is None


def test_directory_patterns() -> None:
    p = parse_policy(b"generated/ theirs\n")
    assert p.action_for("generated/a/b.c") == "theirs"
    assert p.action_for("src/generated.c") is None


def test_empty_policy_decides_nothing() -> None:
    assert Policy().action_for("a") is None
    assert parse_policy(b"").action_for("a") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"*.txt union\n*.c maybe\n", ".vcrdtattributes:2: unknown action 'maybe'"),
        (b"*.txt\n", ".vcrdtattributes:1: expected 'PATTERN ACTION', got '*.txt'"),
        (b"a b c\n", ".vcrdtattributes:1: unknown action 'b'"),
        (b"a union lww\n", ".vcrdtattributes:1: more than one action for 'a'"),
        (
            b"*.rst conflict-marker-size=0\n",
            ".vcrdtattributes:1: conflict-marker-size must be a whole number from 1 to 1024, got '0'",
        ),
        (
            b"*.rst union conflict-marker-size=\n",
            ".vcrdtattributes:1: conflict-marker-size must be a whole number from 1 to 1024, got ''",
        ),
        (b"# ok\n!*.txt union\n", ".vcrdtattributes:2: negative patterns are not supported: '!*.txt'"),
        (b"\xff\xfe union\n", ".vcrdtattributes: not valid UTF-8 (byte 0)"),
    ],
)
def test_malformed_lines_are_named(text: bytes, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text)
    assert str(info.value) == message
    assert isinstance(info.value, VcrdtError)


def test_conflict_marker_size_attribute() -> None:
    p = parse_policy(b"*.rst conflict-marker-size=32\n*.rst union\ndocs/* markers conflict-marker-size=9\n")
    assert (p.marker_size_for("a.rst"), p.action_for("a.rst")) == (32, "union")
    assert (p.marker_size_for("docs/a.rst"), p.action_for("docs/a.rst")) == (9, "markers")
    assert (p.marker_size_for("a.txt"), p.action_for("a.txt")) == (None, None)


def test_crdt_defaults() -> None:
    assert crdt_rule(None, binary=False) == "union"
    assert crdt_rule(None, binary=True) == "lww"
    assert crdt_rule("markers", binary=False) == "union"
    assert crdt_rule("json", binary=False) == "json"
