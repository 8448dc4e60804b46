"""The laws of the diff3 layer, for both matchers (pure Myers and libgit2's xdiff)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.diff import xdiff_matcher
from vcrdt.merge.diff3 import Matcher, merge_lines, myers_matcher

SETTINGS = settings(max_examples=300, deadline=None)
# Realistic texts: every line ends with a newline except perhaps the last.
lines = st.tuples(
    st.lists(st.sampled_from([b"a\n", b"b\n", b"c\n", b"d\n", b"}\n"]), max_size=12),
    st.sampled_from([None, b"a", b"x"]),
).map(lambda t: t[0] + ([t[1]] if t[1] is not None else []))
MATCHERS = [pytest.param(myers_matcher, id="myers"), pytest.param(xdiff_matcher, id="xdiff")]


@pytest.mark.parametrize("matcher", MATCHERS)
@SETTINGS
@given(lines, lines)
def test_one_side_unchanged_takes_the_other(matcher: Matcher, o: list[bytes], a: list[bytes]) -> None:
    r = merge_lines(o, a, o, matcher=matcher)
    assert r.is_clean and r.clean_lines() == a
    r = merge_lines(o, o, a, matcher=matcher)
    assert r.is_clean and r.clean_lines() == a


@pytest.mark.parametrize("matcher", MATCHERS)
@SETTINGS
@given(lines, lines)
def test_identical_changes_merge(matcher: Matcher, o: list[bytes], a: list[bytes]) -> None:
    r = merge_lines(o, a, a, matcher=matcher)
    assert r.is_clean and r.clean_lines() == a


@pytest.mark.parametrize("matcher", MATCHERS)
@SETTINGS
@given(lines)
def test_idempotent_on_equal_inputs(matcher: Matcher, o: list[bytes]) -> None:
    r = merge_lines(o, o, o, matcher=matcher)
    assert r.is_clean and r.clean_lines() == o


@pytest.mark.parametrize("matcher", MATCHERS)
@SETTINGS
@given(lines, lines, lines)
def test_symmetric(matcher: Matcher, o: list[bytes], a: list[bytes], b: list[bytes]) -> None:
    for style in ("merge", "diff3"):
        ab = merge_lines(o, a, b, matcher=matcher, style=style)
        ba = merge_lines(o, b, a, matcher=matcher, style=style)
        assert ab.conflicts == ba.conflicts
        if ab.is_clean:
            assert ab.clean_lines() == ba.clean_lines()
        else:
            # The merge style does not show the base, so only the sides are compared there.
            def shown(r: object, swap: bool, style: str = style) -> tuple[object, ...]:
                base = r.base if style == "diff3" else ()  # type: ignore[attr-defined]
                sides = (r.b, r.a) if swap else (r.a, r.b)  # type: ignore[attr-defined]
                return (base, *sides)

            assert [shown(r, False) for r in ab.regions if r.kind == "conflict"] == [
                shown(r, True) for r in ba.regions if r.kind == "conflict"
            ]


@pytest.mark.parametrize("matcher", MATCHERS)
@SETTINGS
@given(lines, lines, lines)
def test_clean_result_keeps_what_both_sides_kept(
    matcher: Matcher, o: list[bytes], a: list[bytes], b: list[bytes]
) -> None:
    r = merge_lines(o, a, b, matcher=matcher, style="diff3")
    if not r.is_clean:
        return
    out = r.clean_lines()
    # Every base line that both sides kept (matched in both) is in the result, in order.
    kept = [
        o[z]
        for reg in r.regions
        if reg.kind == "unchanged"
        for z in range(reg.base_start, reg.base_start + len(reg.base))
    ]
    it = iter(out)
    assert all(any(x == y for y in it) for x in kept)
    # Nothing either side added is lost: each side's lines not in the base survive.
    for side in (a, b):
        for line in set(side) - set(o):
            assert line in out
