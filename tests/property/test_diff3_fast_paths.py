"""The fast paths of `merge_bytes` and of the xdiff matcher give what the general paths give.

`merge_bytes` assembles a clean merge straight from the sync regions and returns early when
two of the texts are equal; `xdiff_matcher` / `xdiff_pair` hand libgit2 token texts built
by `_token_texts` and skip libgit2 for equal or empty sides. Each is checked against the
layered path (`merge_lines` then `render`) or against the plain matcher, on small alphabets
so that repeated lines, missing final newlines, lone CRs and NULs all occur.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vcrdt.diff.xdiff import _token_texts, xdiff_matcher, xdiff_pair
from vcrdt.merge.diff3 import (
    STYLES,
    Matcher,
    Style,
    merge_bytes,
    merge_lines,
    myers_matcher,
    render,
    split_lines,
)

SETTINGS = settings(max_examples=400, deadline=None)
PIECES = [b"a\n", b"b\n", b"c\n", b"}\n", b"\n", b"a\r\n", b"x\ry\n", b"\0\n", b"<<<<<<<\n", b"z"]
texts = st.lists(st.sampled_from(PIECES), max_size=14).map(b"".join)
line_lists = st.lists(st.sampled_from(PIECES), max_size=14)
MATCHERS = [pytest.param(myers_matcher, id="myers"), pytest.param(xdiff_matcher, id="xdiff")]


def _layered(base: bytes, a: bytes, b: bytes, matcher: Matcher, style: Style) -> tuple[bytes, int]:
    """What `merge_bytes` computes, through the public layers only."""
    bl, al, ol = split_lines(base), split_lines(a), split_lines(b)
    result = merge_lines(bl, al, ol, matcher=matcher, style=style)
    if result.is_clean:
        return b"".join(result.clean_lines()), 0
    text = render(result, style=style)
    return text, result.conflicts


@pytest.mark.parametrize("matcher", MATCHERS)
@pytest.mark.parametrize("style", STYLES)
@SETTINGS
@given(texts, texts, texts)
@example(b"a\nb\n", b"a\nb\n", b"c\n")
@example(b"a\nb\n", b"c\n", b"c\n")
@example(b"", b"a\n", b"b\n")
def test_merge_bytes_equals_the_layered_merge(matcher: Matcher, style: Style, base: bytes, a: bytes, b: bytes) -> None:
    assert merge_bytes(base, a, b, matcher=matcher, style=style) == _layered(base, a, b, matcher, style)


@SETTINGS
@given(st.lists(line_lists, min_size=1, max_size=4))
def test_token_texts_keep_exactly_the_equalities_of_lines(texts: list[list[bytes]]) -> None:
    tokenised = [t.splitlines(keepends=True) for t in _token_texts(*texts)]
    assert [len(t) for t in tokenised] == [len(t) for t in texts]
    lines = [x for t in texts for x in t]
    tokens = [x for t in tokenised for x in t]
    assert all(t.endswith(b"\n") and t.count(b"\n") == 1 and b"\r" not in t for t in tokens)
    # invariant: the map line -> token is a bijection between the distinct lines and tokens
    assert len(set(zip(lines, tokens, strict=True))) == len(set(lines)) == len(set(tokens))


@SETTINGS
@given(line_lists, line_lists, line_lists)
def test_xdiff_pair_equals_two_matcher_calls(base: list[bytes], a: list[bytes], b: list[bytes]) -> None:
    assert xdiff_pair(base, a, b) == (xdiff_matcher(base, a), xdiff_matcher(base, b))


@SETTINGS
@given(line_lists)
def test_xdiff_matcher_on_equal_inputs_is_one_block(a: list[bytes]) -> None:
    expected = [(0, 0, len(a)), (len(a), len(a), 0)] if a else [(0, 0, 0)]
    assert xdiff_matcher(a, list(a)) == expected
    assert xdiff_pair(a, list(a), list(a)) == (expected, expected)


def test_long_inputs_draw_tokens_past_the_cache() -> None:
    # More lines than the kept token table: the formatted tail must stay distinct from it.
    base = [b"%d\n" % i for i in range(70_000)]
    side = list(base)
    side[69_990] = b"changed\n"
    assert xdiff_matcher(base, side) == [(0, 0, 69_990), (69_991, 69_991, 9), (70_000, 70_000, 0)]


@SETTINGS
@given(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"b"]), max_size=12).map(b"".join))
def test_split_lines_splits_at_newlines_only(data: bytes) -> None:
    """As xdiff: every line but the last ends in \\n, and a lone \\r stays inside its line."""
    pieces = data.split(b"\n")
    expected = [p + b"\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    assert split_lines(data) == expected
