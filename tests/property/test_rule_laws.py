"""The laws of the line rules (union, lww, set, ours, theirs), with both matchers."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.crdt.order import TieKey
from vcrdt.diff.xdiff import xdiff_matcher
from vcrdt.merge.diff3 import Matcher, myers_matcher, split_lines
from vcrdt.merge.rules.text import LineRule, resolve_lines

SETTINGS = settings(max_examples=250, deadline=None)
WORDS = [b"a\n", b"b\n", b"c\n", b"d\n", b"}\n", b"e\n"]
texts = st.lists(st.sampled_from(WORDS), max_size=10).map(b"".join)
keys = st.builds(TieKey, st.integers(0, 5), st.sampled_from(["", "aa", "bb"]), st.binary(min_size=1, max_size=2))
MATCHERS = [pytest.param(myers_matcher, id="myers"), pytest.param(xdiff_matcher, id="xdiff")]
SYMMETRIC: tuple[LineRule, ...] = ("union", "lww", "set")


def run(rule: LineRule, o: bytes, a: bytes, b: bytes, ka: TieKey, kb: TieKey, m: Matcher) -> bytes:
    return resolve_lines(rule, o, a, b, ours_key=ka, theirs_key=kb, matcher=m).data


@st.composite
def edited(draw: st.DrawFn, base: bytes) -> bytes:
    """A side derived from `base` by a few line edits (so the sides share most of the base)."""
    lines = split_lines(base)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        at = draw(st.integers(0, len(lines)))
        if op == "insert" or not lines or at == len(lines):
            lines.insert(at, draw(st.sampled_from(WORDS)))
        elif op == "delete":
            del lines[at]
        else:
            lines[at] = draw(st.sampled_from(WORDS))
    return b"".join(lines)


@st.composite
def triples(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    o = draw(texts)
    return o, draw(edited(o)), draw(edited(o))


@st.composite
def unique_edited(draw: st.DrawFn, base: bytes, tag: bytes) -> bytes:
    """Like `edited`, but every inserted line is new (text where no line repeats, as in most real hunks)."""
    lines = split_lines(base)
    for n in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        at = draw(st.integers(0, len(lines)))
        fresh = tag + b"%d\n" % n
        if op == "insert" or not lines or at == len(lines):
            lines.insert(at, fresh)
        elif op == "delete":
            del lines[at]
        else:
            lines[at] = fresh
    return b"".join(lines)


@st.composite
def unique_triples(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    """Base lines all distinct; each side's new lines distinct from everything else."""
    n = draw(st.integers(0, 8))
    o = b"".join(b"base%d\n" % i for i in range(n))
    return o, draw(unique_edited(o, b"ours")), draw(unique_edited(o, b"theirs"))


@pytest.mark.parametrize("matcher", MATCHERS)
@pytest.mark.parametrize("rule", SYMMETRIC)
@SETTINGS
@given(triples(), keys, keys)
def test_commutative(rule: LineRule, matcher: Matcher, t: tuple[bytes, bytes, bytes], ka: TieKey, kb: TieKey) -> None:
    o, a, b = t
    assert run(rule, o, a, b, ka, kb, matcher) == run(rule, o, b, a, kb, ka, matcher)


@pytest.mark.parametrize("matcher", MATCHERS)
@SETTINGS
@given(triples(), keys, keys)
def test_ours_and_theirs_mirror(matcher: Matcher, t: tuple[bytes, bytes, bytes], ka: TieKey, kb: TieKey) -> None:
    o, a, b = t
    assert run("ours", o, a, b, ka, kb, matcher) == run("theirs", o, b, a, kb, ka, matcher)


@pytest.mark.parametrize("matcher", MATCHERS)
@pytest.mark.parametrize("rule", [*SYMMETRIC, "ours", "theirs"])
@SETTINGS
@given(triples(), keys, keys)
def test_identity_and_self_merge(
    rule: LineRule, matcher: Matcher, t: tuple[bytes, bytes, bytes], ka: TieKey, kb: TieKey
) -> None:
    o, a, b = t
    if rule != "set":
        assert run(rule, o, a, o, ka, kb, matcher) == a
        assert run(rule, o, o, a, ka, kb, matcher) == a
    r = run(rule, o, a, b, ka, kb, matcher)
    assert run(rule, o, r, r, ka, kb, matcher) == r


@pytest.mark.parametrize("matcher", MATCHERS)
@pytest.mark.parametrize("rule", SYMMETRIC)
@SETTINGS
@given(unique_triples(), keys, keys)
def test_merging_again_with_an_input_changes_nothing(
    rule: LineRule, matcher: Matcher, t: tuple[bytes, bytes, bytes], ka: TieKey, kb: TieKey
) -> None:
    o, a, b = t
    r = run(rule, o, a, b, ka, kb, matcher)
    kr = ka.successor(kb)
    assert run(rule, o, a, r, ka, kr, matcher) == r
    assert run(rule, o, r, b, kr, kb, matcher) == r


@pytest.mark.parametrize("matcher", MATCHERS)
@SETTINGS
@given(triples(), keys, keys)
def test_union_loses_no_inserted_line(matcher: Matcher, t: tuple[bytes, bytes, bytes], ka: TieKey, kb: TieKey) -> None:
    o, a, b = t
    out = split_lines(run("union", o, a, b, ka, kb, matcher))
    base = split_lines(o)
    for side in (a, b):
        for line in _inserted(base, split_lines(side), matcher):
            assert line.rstrip(b"\n") in {x.rstrip(b"\n") for x in out}


def _inserted(base: list[bytes], side: list[bytes], matcher: Matcher) -> list[bytes]:
    out: list[bytes] = []
    si = 0
    for _, ss, n in matcher(base, side):
        out.extend(side[si:ss])
        si = ss + n
    return out


@SETTINGS
@given(texts, st.lists(texts, min_size=3, max_size=4))
def test_set_is_order_free_for_many_heads(o: bytes, sides: list[bytes]) -> None:
    """Folding 3-4 heads with ``set`` in every order gives the same lines (as a set, each once)."""
    results = set()
    for order in itertools.permutations(range(len(sides))):
        acc, key = sides[order[0]], TieKey(order[0], "", b"")
        for i in order[1:]:
            acc = run("set", o, acc, sides[i], key, TieKey(i, "", b""), myers_matcher)
            key = key.successor(TieKey(i, "", b""))
        results.add(frozenset(x.rstrip(b"\n") for x in split_lines(acc)))
    assert len(results) == 1


@st.composite
def unique_heads(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    n = draw(st.integers(0, 6))
    o = b"".join(b"base%d\n" % i for i in range(n))
    count = draw(st.integers(3, 4))
    return o, [draw(unique_edited(o, b"head%d-" % i)) for i in range(count)]


@SETTINGS
@given(unique_heads())
def test_union_of_many_heads_has_the_same_lines_in_every_fold_order(t: tuple[bytes, list[bytes]]) -> None:
    """Folding 3-4 heads with ``union`` in every order keeps the same lines, each as often.

    The *order* of concurrent insertions at one place can differ between fold orders: a
    merge result carries its own (later) key, not the keys of the lines it took. See docs/merge.md.
    """
    o, sides = t
    results = set()
    for order in itertools.permutations(range(len(sides))):
        acc, key = sides[order[0]], TieKey(order[0], "", b"")
        for i in order[1:]:
            acc = run("union", o, acc, sides[i], key, TieKey(i, "", b""), myers_matcher)
            key = key.successor(TieKey(i, "", b""))
        results.add(tuple(sorted(split_lines(acc))))
    assert len(results) == 1
