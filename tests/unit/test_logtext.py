"""The C walk of `log` (vcrdt/porcelain/_logtext.c) writes what its Python twin writes, on any rows.

Good rows, damaged rows (wrong types, short ids, parents that are not whole ids), values a C walk
cannot hold (past 64 bits, surrogates: it hands over to the twin) and dates `format_date` refuses:
the same text, then the same error.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.cli import render
from vcrdt.errors import ObjectNotFoundError
from vcrdt.porcelain import history
from vcrdt.porcelain.logtext import LogWalk

CLogWalk = pytest.importorskip("vcrdt.porcelain._logtext").LogWalk


class _Store:
    """A commit table and no objects: a commit without a (good) row is missing."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def commit_table_rows(self, oid: bytes, window: int) -> list[Any]:
        at = next((i for i, r in enumerate(self.rows) if isinstance(r, tuple) and r and r[0] == oid), None)
        if at is None:
            return []
        return self.rows[max(0, at - window) : at + 1]

    def get(self, oid: bytes) -> tuple[str, bytes]:
        raise ObjectNotFoundError(oid.hex())


def _oid(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


big = st.one_of(st.integers(-(2**70), 2**70), st.integers(-5, 2**40), st.integers(-7000, 7000))
text = st.text(max_size=8)
good_row = st.tuples(
    st.integers(0, 2**62) | big,
    st.integers(0, 2**40) | big,
    st.integers(-900, 900) | big,
    text,
    text,
    st.text(alphabet=st.sampled_from("ab \n\t\r\x07\x1c\u00e9\u2028\ud800"), max_size=12),
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Any], list[bytes]]:
    n = draw(st.integers(1, 14))
    rows: list[Any] = []
    for i in range(n):
        lamport, time, tz, name, email, message = draw(good_row)
        parents = draw(st.lists(st.integers(0, n + 2), max_size=3))
        parent_ids = b"".join(_oid(p) for p in parents if p != i)
        row: Any = (_oid(i), lamport, time, tz, parent_ids, name, email, message)
        damage = draw(st.integers(0, 12))
        if damage == 1:
            row = (_oid(i)[:31], *row[1:])
        elif damage == 2:
            row = (*row[:4], parent_ids + b"x", *row[5:])
        elif damage == 3:
            row = (*row[:1], True, *row[2:])
        elif damage == 4:
            row = (*row[:5], b"name", *row[6:])
        elif damage == 5:
            row = row[:7]
        rows.append(row)
    rows = draw(st.permutations(rows))
    heads = [_oid(i) for i in draw(st.lists(st.integers(0, n), min_size=1, max_size=3))]
    return rows, heads


def _run(walk_class: type, rows: list[Any], args: tuple[Any, ...]) -> tuple[str, str | None]:
    out: list[str] = []
    try:
        history.walk_text(_Store(rows), args, out.append, walk_class)
    except (ObjectNotFoundError, OverflowError, IndexError, ValueError, OSError) as exc:
        return "".join(out), f"{type(exc).__name__}: {exc}"
    return "".join(out), None


@settings(max_examples=400, deadline=None)
@given(
    history_=histories(),
    hidden=st.lists(st.integers(0, 14), max_size=3),
    labelled=st.dictionaries(st.integers(0, 14), st.text(max_size=6), max_size=3),
    limit=st.integers(-1, 8),
    first_parent=st.booleans(),
    oneline=st.booleans(),
)
def test_c_walk_writes_what_the_python_twin_writes(
    history_: tuple[list[Any], list[bytes]],
    hidden: list[int],
    labelled: dict[int, str],
    limit: int,
    first_parent: bool,
    oneline: bool,
) -> None:
    rows, heads = history_
    labels = {_oid(k): v for k, v in labelled.items()}
    args = (heads, {_oid(h) for h in hidden}, labels, limit, first_parent, oneline, render.format_date)
    assert _run(CLogWalk, rows, args) == _run(LogWalk, rows, args)


def test_dates_the_c_walk_writes_are_format_date_s() -> None:
    """Around the edges of the years 1-9999 and of offsets, every day of a few years, negative times."""
    stamps = [-62135596800, -62135596801, 253402300799, 253402300800, -1, 0, 951782400, 1700000000, 2**31]
    stamps += list(range(-86400 * 400, 86400 * 800, 86400 * 7 + 3607))
    for stamp in stamps:
        for tz in (0, 60, -90, 5999, -5999, 6000, 839, -720):
            rows = [(_oid(0), 1, stamp, tz, b"", "n", "e", "m")]
            args = ([_oid(0)], None, {}, -1, False, False, render.format_date)
            assert _run(CLogWalk, rows, args) == _run(LogWalk, rows, args), (stamp, tz)
