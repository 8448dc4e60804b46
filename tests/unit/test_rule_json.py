"""Named situations for the ``json`` rule."""

from __future__ import annotations

import json

import pytest

from vcrdt.crdt.order import TieKey
from vcrdt.merge.rules import AutoHunk, Fallback, Resolution
from vcrdt.merge.rules.json_doc import resolve_json

EARLY = TieKey(1, "r1", b"")
LATE = TieKey(2, "r2", b"")


def merge(base: str | bytes, ours: str | bytes, theirs: str | bytes, *, ours_later: bool = False) -> Resolution:
    b, o, t = (x.encode() if isinstance(x, str) else x for x in (base, ours, theirs))
    ok, tk = (LATE, EARLY) if ours_later else (EARLY, LATE)
    r = resolve_json(b, o, t, ours_key=ok, theirs_key=tk)
    assert isinstance(r, Resolution), r
    # Whatever the case, swapping the sides gives the same bytes.
    swapped = resolve_json(b, t, o, ours_key=tk, theirs_key=ok)
    assert isinstance(swapped, Resolution) and swapped.data == r.data
    return r


def fallback(base: bytes, ours: bytes, theirs: bytes) -> str:
    r = resolve_json(base, ours, theirs, ours_key=EARLY, theirs_key=LATE)
    assert isinstance(r, Fallback), r
    return r.reason


# --- objects --------------------------------------------------------------------------------------


def test_disjoint_key_edits_merge() -> None:
    r = merge('{"a": 1, "b": 2, "c": 3}', '{"a": 10, "b": 2, "c": 3}', '{"a": 1, "b": 2, "c": 30}')
    assert r.data == b'{"a": 10, "b": 2, "c": 30}'
    assert r.hunks == ()


def test_same_key_changed_on_both_sides_later_key_wins() -> None:
    r = merge('{"a": 1}', '{"a": 2}', '{"a": 3}')
    assert r.data == b'{"a": 3}'
    assert r.hunks == (AutoHunk("/a", "json", "theirs", b"3", (("ours", b"2"),)),)


def test_same_key_changed_on_both_sides_ours_later() -> None:
    r = merge('{"a": 1}', '{"a": 2}', '{"a": 3}', ours_later=True)
    assert r.data == b'{"a": 2}'
    assert r.hunks == (AutoHunk("/a", "json", "ours", b"2", (("theirs", b"3"),)),)


def test_identical_changes_are_not_conflicts() -> None:
    r = merge('{"a": 1, "b": 1}', '{"a": 2, "b": 1, "c": [1]}', '{"a": 2, "b": 0, "c": [1]}')
    assert json.loads(r.data) == {"a": 2, "b": 0, "c": [1]}
    assert r.hunks == ()


def test_nested_objects_merge_key_by_key() -> None:
    base = '{"db": {"host": "h", "port": 1, "opts": {"x": 1}}}'
    ours = '{"db": {"host": "H", "port": 1, "opts": {"x": 2}}}'
    theirs = '{"db": {"host": "h", "port": 2, "opts": {"x": 3, "y": 1}}}'
    r = merge(base, ours, theirs)
    assert json.loads(r.data) == {"db": {"host": "H", "port": 2, "opts": {"x": 3, "y": 1}}}
    assert r.hunks == (AutoHunk("/db/opts/x", "json", "theirs", b"3", (("ours", b"2"),)),)


def test_pointer_escapes_slash_and_tilde() -> None:
    r = merge('{"a/b": {"c~d": 0}}', '{"a/b": {"c~d": 1}}', '{"a/b": {"c~d": 2}}')
    assert [h.where for h in r.hunks] == ["/a~1b/c~0d"]


def test_deletion_against_modification_keeps_the_modification() -> None:
    r = merge('{"a": {"x": 1}, "b": 0}', '{"b": 0}', '{"a": {"x": 2}, "b": 0}', ours_later=True)
    assert r.data == b'{"a": {"x": 2}, "b": 0}'
    assert r.hunks == (AutoHunk("/a", "json", "theirs", b'{"x":2}', (("ours", b""),)),)


def test_modification_against_deletion_keeps_the_modification() -> None:
    r = merge('{"a": 1, "b": 0}', '{"a": 5, "b": 0}', '{"b": 0}')
    assert r.data == b'{"a": 5, "b": 0}'
    assert r.hunks == (AutoHunk("/a", "json", "ours", b"5", (("theirs", b""),)),)


def test_deleted_on_both_sides() -> None:
    r = merge('{"a": 1, "b": 0}', '{"b": 0}', '{"b": 1}')
    assert r.data == b'{"b": 1}'
    assert r.hunks == ()


def test_type_change_on_both_sides_is_last_writer_wins() -> None:
    r = merge('{"a": {"x": 1}}', '{"a": [1]}', '{"a": "s"}')
    assert r.data == b'{"a": "s"}'
    assert r.hunks == (AutoHunk("/a", "json", "theirs", b'"s"', (("ours", b"[1]"),)),)


def test_type_change_on_one_side_wins() -> None:
    r = merge('{"a": {"x": 1}, "b": 1}', '{"a": [1], "b": 1}', '{"a": {"x": 1}, "b": 2}')
    assert r.data == b'{"a": [1], "b": 2}'
    assert r.hunks == ()


def test_both_change_to_objects_from_a_scalar_is_last_writer_wins() -> None:
    r = merge('{"a": 1}', '{"a": {"x": 1}}', '{"a": {"y": 1}}')
    assert json.loads(r.data) == {"a": {"y": 1}}
    assert [h.outcome for h in r.hunks] == ["theirs"]


def test_duplicate_keys_last_wins() -> None:
    r = merge('{"a": 1, "a": 2, "b": 0}', '{"a": 2, "b": 1}', '{"a": 2, "b": 0, "c": 1}')
    assert r.data == b'{"a": 2, "b": 1, "c": 1}'


# --- arrays ---------------------------------------------------------------------------------------


def test_insertions_at_the_same_point_ordered_by_key() -> None:
    base, ours, theirs = '{"l": [1, 2]}', '{"l": [1, "o", 2]}', '{"l": [1, "t", 2]}'
    r = merge(base, ours, theirs)
    assert r.data == b'{"l": [1, "o", "t", 2]}'
    assert r.hunks == (AutoHunk("/l/1", "json", "both", b'["o","t"]'),)
    r = merge(base, ours, theirs, ours_later=True)
    assert r.data == b'{"l": [1, "t", "o", 2]}'
    assert r.hunks == (AutoHunk("/l/1", "json", "both", b'["t","o"]'),)


def test_appends_on_both_sides_keep_both() -> None:
    r = merge("[1]", "[1, 2, 3]", "[1, 4]")
    assert r.data == b"[1, 2, 3, 4]"


def test_common_insertions_are_taken_once() -> None:
    r = merge("[1, 9]", '[1, "x", "a", 9]', '[1, "x", "b", 9]')
    assert r.data == b'[1, "x", "a", "b", 9]'


def test_deletion_against_insertion_drops_the_deleted_element() -> None:
    r = merge("[1, 2, 3]", "[1, 3]", '[1, 2, "n", 3]')
    assert r.data == b'[1, "n", 3]'
    assert r.hunks == (AutoHunk("/1", "json", "both", b'["n"]', (("theirs", b"[2]"),)),)


def test_edits_far_apart_merge_without_hunks() -> None:
    r = merge("[1, 2, 3, 4]", "[0, 2, 3, 4]", "[1, 2, 3, 5]")
    assert r.data == b"[0, 2, 3, 5]"
    assert r.hunks == ()


def test_edits_of_neighbouring_elements_merge_by_position() -> None:
    r = merge("[1, 2]", "[9, 2]", "[1, 8]")
    assert r.data == b"[9, 8]"
    assert r.hunks == ()


def test_object_in_an_array_edited_in_place_on_both_sides() -> None:
    base = '[{"id": 1, "v": 0}, {"id": 2, "v": 0}, {"id": 3, "v": 0}]'
    ours = '[{"id": 1, "v": 0}, {"id": 2, "v": 1}, {"id": 3, "v": 0}]'
    theirs = '[{"id": 1, "v": 0}, {"id": 2, "v": 0, "w": 1}, {"id": 3, "v": 0}]'
    r = merge(base, ours, theirs)
    assert json.loads(r.data)[1] == {"id": 2, "v": 1, "w": 1}
    assert r.hunks == ()


def test_same_element_changed_on_both_sides_keeps_both() -> None:
    r = merge('["a", "b", "c"]', '["a", "B1", "c"]', '["a", "B2", "c"]')
    assert r.data == b'["a", "B1", "B2", "c"]'
    assert r.hunks == (AutoHunk("/1", "json", "both", b'["B1","B2"]'),)


# --- layout ---------------------------------------------------------------------------------------

LAYOUTS: dict[str, dict[str, object]] = {
    "2 spaces": {"indent": 2},
    "4 spaces": {"indent": 4},
    "tab": {"indent": "\t"},
    "one line": {},
    "compact": {"separators": (",", ":")},
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_layout_and_key_order_kept(name: str) -> None:
    def dump(v: object) -> str:
        return json.dumps(v, **LAYOUTS[name]) + "\n"  # type: ignore[arg-type]

    base = {"z": 1, "a": {"m": [1, 2], "b": 0}, "k": 0}
    ours = {"z": 2, "a": {"m": [1, 2], "b": 0, "o": 1}, "k": 0, "new_o": True}
    theirs = {"new_t": None, "a": {"b": 1, "m": [1, 2, 3]}, "z": 1, "k": 0}
    r = merge(dump(base), dump(ours), dump(theirs))
    # The base's order, then the later side's new keys, then the earlier side's.
    want = {"z": 2, "a": {"m": [1, 2, 3], "b": 1, "o": 1}, "k": 0, "new_t": None, "new_o": True}
    assert r.data == dump(want).encode()


def test_compact_layout_kept() -> None:
    r = merge('{"a":1,"b":[1,2]}', '{"a":2,"b":[1,2]}', '{"a":1,"b":[1,2,3]}')
    assert r.data == b'{"a":2,"b":[1,2,3]}'


def test_no_trailing_newline_when_the_base_has_none() -> None:
    r = merge('{\n  "a": 1,\n  "b": 1\n}', '{\n  "a": 2,\n  "b": 1\n}\n', '{\n  "a": 1,\n  "b": 2\n}\n')
    assert r.data == b'{\n  "a": 2,\n  "b": 2\n}'


def test_trailing_newline_kept() -> None:
    r = merge('{"a": 1, "b": 1}\n', '{"a": 2, "b": 1}', '{"a": 1, "b": 2}')
    assert r.data == b'{"a": 2, "b": 2}\n'


def test_crlf_kept() -> None:
    r = merge(
        '{\r\n  "a": 1,\r\n  "b": 1\r\n}\r\n',
        '{\r\n  "a": 2,\r\n  "b": 1\r\n}\r\n',
        '{\r\n  "a": 1,\r\n  "b": 2\r\n}\r\n',
    )
    assert r.data == b'{\r\n  "a": 2,\r\n  "b": 2\r\n}\r\n'


def test_layout_from_the_later_side_when_the_base_shows_none() -> None:
    r = merge("{}", '{"o": 1}', '{\n    "t": 1\n}\n')
    assert r.data == b'{\n    "t": 1,\n    "o": 1\n}'


def test_side_that_only_reformats_yields_to_the_other_side() -> None:
    theirs = '{"a":1,"b":2}'
    r = merge('{"a": 1, "b": 1}', '{\n  "b": 1,\n  "a": 1\n}\n', theirs)
    assert r.data == theirs.encode()


def test_numbers_keep_their_literal_text() -> None:
    r = merge('{"a": 1.0, "b": 1e5}', '{"a": 1.0, "b": 1e5, "c": 12345678901234567890123}', '{"a": 1.50, "b": 1e5}')
    assert r.data == b'{"a": 1.50, "b": 1e5, "c": 12345678901234567890123}'


# --- add/add ----------------------------------------------------------------------------------------


def test_empty_base_is_add_add() -> None:
    r = merge("", '{\n  "a": 1,\n  "c": 1\n}\n', '{\n  "b": 2,\n  "c": 2\n}\n')
    # No base: the later side's layout, its new keys first.
    assert r.data == b'{\n  "b": 2,\n  "c": 2,\n  "a": 1\n}\n'
    assert r.hunks == (AutoHunk("/c", "json", "theirs", b"2", (("ours", b"1"),)),)


def test_empty_base_arrays_keep_both() -> None:
    r = merge("", "[1, 2]", "[1, 3]")
    assert r.data == b"[1, 2, 3]"


def test_empty_base_same_document() -> None:
    r = merge("", '{"a": 1}', '{"a":1}')
    assert json.loads(r.data) == {"a": 1}


# --- text -----------------------------------------------------------------------------------------


def test_unicode_round_trips() -> None:
    base = '{"name": "café", "k": 0}'
    ours = '{"name": "café ☕", "k": 0}'
    theirs = '{"name": "café", "k": 1, "jp": "日本語", "esc": "\\u00e9\\ud83d\\ude00"}'
    r = merge(base, ours, theirs)
    assert r.data.decode("utf-8") == '{"name": "café ☕", "k": 1, "jp": "日本語", "esc": "é😀"}'


def test_lone_surrogate_stays_escaped() -> None:
    r = merge('{"a": 0}', '{"a": 1}', '{"a": 0, "s": "\\ud800"}')
    assert r.data == b'{"a": 1, "s": "\\ud800"}'


@pytest.mark.parametrize("side", ["base", "ours", "theirs"])
def test_invalid_json_on_each_side_falls_back(side: str) -> None:
    texts = {"base": b'{"a": 1}', "ours": b'{"a": 2}', "theirs": b'{"a": 3}'}
    texts[side] = b'{\n  "a": 1,\n}'
    reason = fallback(texts["base"], texts["ours"], texts["theirs"])
    assert reason == f"{side}: not valid JSON: Expecting property name enclosed in double quotes (line 3 column 1)"


def test_not_utf8_falls_back() -> None:
    reason = fallback(b'{"a": 1}', b'{"a": 1}', b'{\n"a": "\xff"}')
    assert reason == "theirs: not valid JSON: not UTF-8 (byte 0xff at line 2 column 7)"


def test_nan_is_not_json() -> None:
    reason = fallback(b'{"a": 1}', b'{"s": "NaN", "a": NaN}', b"{}")
    assert reason == "ours: not valid JSON: NaN is not a JSON value (line 1 column 19)"


def test_empty_side_is_not_json() -> None:
    assert fallback(b"{}", b"", b"{}").startswith("ours: not valid JSON: Expecting value (line 1 column 1)")


def test_equal_keys_still_symmetric() -> None:
    k = TieKey(3, "r", b"")
    ab = resolve_json(b'{"a": 0}', b'{"a": 1}', b'{"a": 2}', ours_key=k, theirs_key=k)
    ba = resolve_json(b'{"a": 0}', b'{"a": 2}', b'{"a": 1}', ours_key=k, theirs_key=k)
    assert isinstance(ab, Resolution) and isinstance(ba, Resolution)
    assert ab.data == ba.data


def test_absurdly_deep_nesting_falls_back() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert fallback(deep, b"[1]", b"[2]") == "base: not valid JSON: nested too deeply"
    deep = b"[" * 600 + b"1" + b"]" * 600
    assert fallback(b"[" * 600 + b"]" * 600, deep, deep.replace(b"1", b"2")).startswith("json: ")
