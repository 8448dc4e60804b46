"""The laws of the diff3 layer, for both matchers (pure Myers and libgit2's xdiff)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vcrdt.diff.xdiff import xdiff_matcher
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
@example(  # found by hypothesis: a same change the Python matcher aligns as two overlapping edits
    o=[b"a\n", b"a\n", b"b\n", b"c\n", b"x"],
    a=[b"b\n", b"b\n", b"a\n", b"b\n"],
    b=[b"b\n", b"b\n", b"a\n", b"b\n", b"c\n", b"x"],
)
def test_symmetric(matcher: Matcher, o: list[bytes], a: list[bytes], b: list[bytes]) -> None:
    """Swapping the sides gives the same verdict, the same clean result, and the same conflicts swapped.

    Checked on the algorithm's regions (the diff3 style). The merge style only re-presents
    conflicts the way git does, splitting them where the sides agree; the line matcher is not
    symmetric (Myers picks among equal-length alignments by order), so there only the verdict
    and clean results are compared.
    """
    ab = merge_lines(o, a, b, matcher=matcher, style="diff3")
    ba = merge_lines(o, b, a, matcher=matcher, style="diff3")
    assert ab.conflicts == ba.conflicts
    if ab.is_clean:
        assert ab.clean_lines() == ba.clean_lines()
    swapped = [(r.base, r.b, r.a) for r in ba.regions if r.kind == "conflict"]
    assert [(r.base, r.a, r.b) for r in ab.regions if r.kind == "conflict"] == swapped
    mab = merge_lines(o, a, b, matcher=matcher, style="merge")
    mba = merge_lines(o, b, a, matcher=matcher, style="merge")
    assert mab.is_clean == mba.is_clean
    # The diff3 styles show the same change reached through overlapping edits as a conflict, as
    # git does; the merge style settles it. So a diff3 conflict the merge style does not have
    # has identical sides.
    assert mab.is_clean or not ab.is_clean
    if mab.is_clean and not ab.is_clean:
        assert all(r.a == r.b for r in ab.regions if r.kind == "conflict")
    if mab.is_clean:
        assert mab.clean_lines() == mba.clean_lines()


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
