"""`vcrdt.sync.jsontext` reads and writes exactly what `json.loads` and compact `json.dumps` do."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vcrdt.sync import jsontext

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
    kept = jsontext._CODEC
    assert kept is not None  # CPython has `_json`: the fast way is the one normally taken
    if way == "json":
        jsontext._CODEC = None
    try:
        yield
    finally:
        jsontext._CODEC = kept


@WAYS
@given(value=_values)
def test_dumps_writes_what_compact_json_dumps_writes(way: str, value: object) -> None:
    with _taken(way):
        text = jsontext.dumps(value)
        assert text == json.dumps(value, separators=(",", ":"))
        assert _same(jsontext.loads(text), json.loads(text))


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
        "import sys; from vcrdt.sync import jsontext; "
        "jsontext.loads(jsontext.dumps({'v': [3], 'op': 'refs'})); "
        "print(sorted(m for m in ('json', 're', 'enum') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
