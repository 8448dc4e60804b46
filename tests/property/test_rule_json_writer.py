"""The json rule's fast internals against the json module: the writer's layout, and comparison keys."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.merge.rules.json_doc import _dump, _Keys, _parse, _same_layout, _Style

SETTINGS = settings(max_examples=300, deadline=None)
KEYS = st.text(alphabet='ab"\\é\n\x00\ud800', max_size=3)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([1.5, -0.25, 1e20]),
    st.text(alphabet='a"é\t\x01€', max_size=3),
)
VALUES = st.recursive(
    SCALARS,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(KEYS, kids, max_size=4)),
    max_leaves=15,
)
STYLES = st.sampled_from(
    [
        _Style(indent=None, item_sep=",", key_sep=":"),
        _Style(indent=None, item_sep=", ", key_sep=": "),
        _Style(indent=None, item_sep=",", key_sep=":", sort_keys=True),
        _Style(indent="  "),
        _Style(indent="\t", key_sep=":"),
        _Style(indent=""),
    ]
)


def parsed(v: Any) -> Any:
    got = _parse("x", json.dumps(v).encode())
    assert not hasattr(got, "reason"), got
    return got


def escape_surrogates(text: str) -> str:
    return "".join(f"\\u{ord(c):04x}" if "\ud800" <= c <= "\udfff" else c for c in text)


@SETTINGS
@given(VALUES, STYLES)
def test_writer_matches_json_dumps(v: Any, style: _Style) -> None:
    expected = json.dumps(
        v,
        ensure_ascii=False,
        indent=style.indent,
        separators=("," if style.indent is not None else style.item_sep, style.key_sep),
        sort_keys=style.sort_keys,
    )
    assert _dump(parsed(v), style) == escape_surrogates(expected)


@SETTINGS
@given(VALUES, VALUES)
def test_keys_equal_exactly_when_values_are(u: Any, v: Any) -> None:
    keys = _Keys()
    pu, pv = parsed(u), parsed(v)
    assert (keys.of(pu) == keys.of(pv)) == (pu == pv)
    assert keys.of(pu) == keys.of(parsed(u))


def test_numbers_keep_their_literal_text_in_keys_and_writing() -> None:
    keys = _Keys()
    one, one_point_zero, text_one = (_parse("x", t) for t in (b"[1]", b"[1.0]", b'["1"]'))
    assert len({keys.of(one), keys.of(one_point_zero), keys.of(text_one)}) == 3
    assert _dump(one_point_zero, _Style()) == "[1.0]"


@SETTINGS
@given(VALUES)
def test_same_layout_is_equal_compact_text(v: Any) -> None:
    pv = parsed(v)
    reordered = parsed(json.loads(json.dumps(v), object_pairs_hook=lambda kv: dict(reversed(kv))))
    compact = _Style(indent=None, item_sep=",", key_sep=":")
    assert _same_layout(pv, reordered) == (_dump(pv, compact) == _dump(reordered, compact))
