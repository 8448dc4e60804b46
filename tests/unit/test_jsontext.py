"""`vcrdt.jsontext` reads and writes exactly what `json.loads` and compact `json.dumps` do."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vcrdt import jsontext

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    # NaN is not equal to itself: compare what json writes of each.
    return json.dumps(a) == json.dumps(b)


WAYS = pytest.mark.parametrize("way", ["c", "json"])


@contextmanager
def _taken(way: str) -> Iterator[None]:
    """Both ways: CPython's accelerator directly, and the json package (where `_json` is missing)."""
    kept = jsontext._SCANNER
    assert kept is not None  # CPython has `_json`: the fast way is the one normally taken
    if way == "json":
        jsontext._SCANNER = None
    try:
        yield
    finally:
        jsontext._SCANNER = kept


@WAYS
@given(value=_values)
def test_dumps_writes_what_compact_json_dumps_writes(way: str, value: object) -> None:
    with _taken(way):
        text = jsontext.dumps(value)
        assert text == json.dumps(value, separators=(",", ":"))
        assert _same(jsontext.loads(text), json.loads(text))


@WAYS
@given(value=_values, sort_keys=st.booleans(), separators=st.sampled_from([(",", ":"), (", ", ": "), (",", ": ")]))
def test_dumps_with_settings_writes_what_json_dumps_writes(
    way: str, value: object, sort_keys: bool, separators: tuple[str, str]
) -> None:
    with _taken(way):
        try:
            expected = json.dumps(value, sort_keys=sort_keys, separators=separators)
        except TypeError:  # keys of mixed types do not sort
            with pytest.raises(TypeError):
                jsontext.dumps(value, sort_keys=sort_keys, separators=separators)
            return
        assert jsontext.dumps(value, sort_keys=sort_keys, separators=separators) == expected


@WAYS
@given(value=_values, before=st.sampled_from(["", " ", "\n\t", "\r\n "]), after=st.sampled_from(["", " ", "\n"]))
def test_loads_reads_what_json_loads_reads(way: str, value: object, before: str, after: str) -> None:
    text = before + json.dumps(value, indent=1) + after
    with _taken(way):
        assert _same(jsontext.loads(text), json.loads(text))


@WAYS
@given(text=st.text(alphabet='{}[]":,.-+0123456789eEtrufalsnNIiy \n\\abc', max_size=30) | st.text(max_size=20))
def test_damaged_text_is_refused_as_json_refuses_it(way: str, text: str) -> None:
    with _taken(way):
        try:
            expected = json.loads(text)
        except ValueError:
            with pytest.raises(ValueError):
                jsontext.loads(text)
        else:
            assert _same(jsontext.loads(text), expected)


_keys = st.text(max_size=8) | st.integers() | st.floats() | st.booleans() | st.none()
_pretty_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple) | st.dictionaries(_keys, inner, max_size=4)
    ),
    max_leaves=20,
)


@given(value=_pretty_values)
def test_dumps_indented_writes_what_json_writes_for_the_cli(value: object) -> None:
    expected = json.dumps(value, indent=2, ensure_ascii=False)
    assert jsontext.dumps_indented(value) == expected
    kept = jsontext._STRING
    jsontext._STRING = None  # where `_json` is missing: the json package itself
    try:
        assert jsontext.dumps_indented(value) == expected
    finally:
        jsontext._STRING = kept


def test_dumps_indented_refuses_what_json_refuses() -> None:
    loop: dict[str, object] = {}
    loop["a"] = loop
    with pytest.raises(ValueError, match="Circular"):
        jsontext.dumps_indented(loop)
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsontext.dumps_indented([b"x"])
    with pytest.raises(TypeError, match="keys must be"):
        jsontext.dumps_indented({(1,): 2})


@WAYS
def test_what_json_cannot_hold_is_refused(way: str) -> None:
    loop: list[object] = []
    loop.append(loop)
    with _taken(way):
        with pytest.raises(TypeError, match="not JSON serializable"):
            jsontext.dumps({"a": b"bytes"})
        with pytest.raises(ValueError):
            jsontext.dumps(loop)


def test_loading_it_loads_neither_json_nor_re() -> None:
    code = (
        "import sys; from vcrdt import jsontext; "
        "jsontext.loads(jsontext.dumps({'v': [3], 'op': 'refs'})); jsontext.dumps_indented({'a': [1]}); "
        "print(sorted(m for m in ('json', 're', 'enum') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
