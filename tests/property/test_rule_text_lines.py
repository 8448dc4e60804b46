"""The line rules' counting shortcuts against their per-line definitions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.diff.xdiff import xdiff_matcher
from vcrdt.merge.diff3 import Matcher, myers_matcher, split_lines
from vcrdt.merge.rules.text import _edits, _eol, _join, merge_insertions

SETTINGS = settings(max_examples=400, deadline=None)
TEXTS = st.lists(st.sampled_from([b"a", b"b", b"\n", b"\r\n", b"\r", b"c\n"]), max_size=12).map(b"".join)


def eol_by_lines(*texts: bytes) -> bytes:
    crlf = lf = 0
    for text in texts:
        for ln in split_lines(text):
            if ln.endswith(b"\r\n"):
                crlf += 1
            elif ln.endswith(b"\n"):
                lf += 1
    return b"\r\n" if crlf > lf else b"\n"


@SETTINGS
@given(TEXTS, TEXTS, TEXTS)
def test_eol_counts_line_endings(a: bytes, b: bytes, c: bytes) -> None:
    assert _eol(a, b, c) == eol_by_lines(a, b, c)


@SETTINGS
@given(st.lists(TEXTS, max_size=4), st.sampled_from([b"\n", b"\r\n"]))
def test_join_ends_every_line_but_the_last(texts: list[bytes], eol: bytes) -> None:
    lines = [ln for t in texts for ln in split_lines(t)]
    last = len(lines) - 1
    assert _join(lines, eol) == b"".join(
        ln if ln.endswith(b"\n") or i == last else ln + eol for i, ln in enumerate(lines)
    )


def edits_by_matcher(base: list[bytes], side: list[bytes], matcher: Matcher) -> tuple[list[bool], list[list[bytes]]]:
    """`_edits` read straight off the matcher's blocks, with no shortcut."""
    kept = [False] * len(base)
    inserted: list[list[bytes]] = [[] for _ in range(len(base) + 1)]
    zi = si = 0
    for zs, ss, n in matcher(base, side):
        inserted[zs].extend(side[si:ss])
        kept[zs : zs + n] = [True] * n
        zi, si = zs + n, ss + n
    inserted[zi].extend(side[si:])
    return kept, inserted


def insertions_by_matcher(first: list[bytes], second: list[bytes], matcher: Matcher) -> list[bytes]:
    out: list[bytes] = []
    i = j = 0
    for fs, ss, n in matcher(first, second):
        out += first[i:fs] + second[j:ss] + first[fs : fs + n]
        i, j = fs + n, ss + n
    return out + first[i:] + second[j:]


@SETTINGS
@given(TEXTS, TEXTS)
def test_runs_without_a_common_line_skip_the_matcher(a: bytes, b: bytes) -> None:
    la, lb = split_lines(a), split_lines(b)
    for matcher in (myers_matcher, xdiff_matcher):
        assert _edits(la, lb, matcher) == edits_by_matcher(la, lb, matcher)
        assert merge_insertions(la, lb, matcher) == insertions_by_matcher(la, lb, matcher)
