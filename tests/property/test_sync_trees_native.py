"""The C per-tree work of a sync (`vcrdt.sync._trees`) and its pure-Python twins give the same answers.

Random and malformed input: tree bodies (well formed, damaged, random bytes), entry lists (sorted
or not, short entries, unknown kind words), tree delta frames (made from two trees, then damaged,
or random bytes) applied to entry lists. A C function answers exactly as its twin, or None where
it leaves the answer to the twin (see vcrdt/sync/_trees.c); on well-formed input it always answers.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.ids import ObjectId
from vcrdt.sync import frames as F

_trees = pytest.importorskip("vcrdt.sync._trees")

_WORDS = [*sorted(F.ENTRY_CODES), b"blob", b"fil"]
_GOOD_WORDS = sorted(F.ENTRY_CODES)
_NAMES = st.sampled_from([b"a", b"b", b"c.txt", b"dir", b"\xffodd", b"caf\xc3\xa9", b"z" * 40]) | st.binary(
    min_size=1, max_size=8
).filter(lambda b: b"\0" not in b and b"/" not in b)
_IDS = st.sampled_from([bytes([i]) * 32 for i in range(1, 4)]) | st.binary(min_size=32, max_size=32)
BIG = 1 << 63


@st.composite
def trees(draw: st.DrawFn, names: list[bytes] | None = None) -> list[bytes]:
    """The raw entries of a well-formed tree (names sorted and unique)."""
    pool = names if names is not None else draw(st.lists(_NAMES, max_size=12, unique=True))
    chosen = sorted(set(draw(st.lists(st.sampled_from(pool), max_size=len(pool))))) if pool else []
    return [draw(st.sampled_from(_GOOD_WORDS)) + b" " + n + b"\0" + draw(_IDS) for n in chosen]


@st.composite
def tree_pairs(draw: st.DrawFn) -> tuple[list[bytes], list[bytes]]:
    """A base tree and a new one over a shared pool of names (they share, change and drop entries)."""
    names = draw(st.lists(_NAMES, max_size=16, unique=True))
    return draw(trees(names)), draw(trees(names))


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` with a few bytes changed, cut, inserted or dropped."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["flip", "cut", "insert", "drop"]))
        at = draw(st.integers(0, len(out)))
        if how == "flip" and at < len(out):
            out[at] = draw(st.sampled_from([0, 0x2F, 0x20, 0x80, 0xFF, draw(st.integers(0, 255))]))
        elif how == "cut":
            del out[at:]
        elif how == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=3))
        elif at < len(out):
            del out[at]
    return bytes(out)


@st.composite
def entry_lists(draw: st.DrawFn) -> list[bytes]:
    """A list of raw entries: a tree's, or one shuffled, with short entries, unknown words or duplicates."""
    tree = draw(trees())
    how = draw(st.sampled_from(["tree", "shuffled", "short", "word", "twice", "random"]))
    if how == "shuffled":
        return draw(st.permutations(tree))
    if how == "short" and tree:
        i = draw(st.integers(0, len(tree) - 1))
        tree[i] = tree[i][: draw(st.integers(0, 38))]
    elif how == "word" and tree:
        i = draw(st.integers(0, len(tree) - 1))
        tree[i] = draw(st.sampled_from(_WORDS)) + tree[i][4:]
    elif how == "twice" and tree:
        tree.insert(0, tree[0])
    elif how == "random":
        return draw(st.lists(st.binary(max_size=50), max_size=5))
    return tree


def _sorted_and_long(entries: list[bytes]) -> bool:
    names = [F.entry_name(e) for e in entries]
    return all(len(e) >= 38 for e in entries) and all(a < b for a, b in itertools.pairwise(names))


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    body = b"".join(draw(trees()))
    how = draw(st.sampled_from(["tree", "damaged", "random", "slash", "empty-name"]))
    if how == "damaged":
        return draw(damaged(body))
    if how == "random":
        return draw(st.binary(max_size=100))
    if how == "slash":
        return body + b"file a/b\0" + bytes(32)
    if how == "empty-name":
        return body + b"tree \0" + b"\1" * 32
    return body


@settings(max_examples=300, deadline=None)
@given(bodies(), st.booleans())
def test_split_tree(body: bytes, strict: bool) -> None:
    assert _trees.split_tree(body, strict) == F.split_tree_py(body, strict)


@settings(max_examples=300, deadline=None)
@given(entry_lists(), st.lists(entry_lists(), max_size=3))
def test_changed(new: list[bytes], olds: list[list[bytes]]) -> None:
    got = _trees.changed(new, olds)
    if got is None:
        assert not all(map(_sorted_and_long, [new, *olds]))
    else:
        assert got == F.changed_entries_py(new, olds)
        assert F.changed_entries(new, olds) == got


@settings(max_examples=200, deadline=None)
@given(tree_pairs(), st.integers(0, 3))
def test_changed_on_trees(pair: tuple[list[bytes], list[bytes]], olds: int) -> None:
    new, old = pair
    got = _trees.changed(new, [old] * olds)
    assert got is not None and got == F.changed_entries_py(new, [old] * olds)


def _edits_py(old: list[bytes], new: list[bytes]) -> bytes | None:
    try:
        return F.delta_edits_py(old, new)
    except KeyError:  # a kind word no tree delta can name
        return None


@settings(max_examples=300, deadline=None)
@given(entry_lists(), entry_lists())
def test_delta_edits(old: list[bytes], new: list[bytes]) -> None:
    got = _trees.delta_edits(old, new)
    if got is None:
        assert not (_sorted_and_long(old) and _sorted_and_long(new)) or _edits_py(old, new) is None
    else:
        assert got == F.delta_edits_py(old, new)


@st.composite
def frames_on(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A tree delta payload and the base entries it is applied to: made from two trees, maybe damaged."""
    old, new = draw(tree_pairs())
    base = draw(st.integers(1, 1 << 20) | st.binary(min_size=32, max_size=32))
    ref: int | ObjectId = base if isinstance(base, int) else ObjectId(base)
    payload = F.tree_delta_frame(ref, sum(map(len, new)), old, new)[F.HEAD_SIZE :]
    how = draw(st.sampled_from(["good", "good", "damaged", "random", "other-base", "bad-base"]))
    if how == "damaged":
        payload = draw(damaged(payload))
    elif how == "random":
        payload = draw(st.sampled_from([b"\1\1", b"\2" + bytes(32)])) + draw(st.binary(max_size=80))
    elif how == "other-base":
        old = draw(trees())
    elif how == "bad-base":
        old = draw(entry_lists())
    return payload, old


def _numbers(payload: bytes) -> list[int]:
    """The base distance and positions of a frame the Python twin decodes."""
    d = F.decode_tree_delta(payload, "peer")
    out = [d.base] if isinstance(d.base, int) else []
    return out + [at for at, _, _ in d.replaced] + list(d.removed) + [at for at, _ in d.inserted]


@settings(max_examples=400, deadline=None)
@given(frames_on())
def test_read_and_apply_tree_delta(case: tuple[bytes, list[bytes]]) -> None:
    payload, base = case
    want = F.read_tree_delta_py(payload)
    got = _trees.read_tree_delta(payload)
    if got is None:
        # Refused by the twin too, unless a number is past 63 bits (the twin reads those).
        assert want is None or max(_numbers(payload), default=0) >= BIG
    else:
        assert got == want
    made = F.apply_delta_py(payload, base)
    applied = _trees.apply_tree_delta(payload, base)
    if applied is None:
        assert made is None or got is None or not all(len(e) >= 38 for e in base)
    else:
        assert applied == made
        assert F.apply_tree_delta_frame(payload, base, "peer", "it") == made


@settings(max_examples=300, deadline=None)
@given(tree_pairs())
def test_well_formed_deltas_are_made_and_applied_in_c(pair: tuple[list[bytes], list[bytes]]) -> None:
    old, new = pair
    size = sum(map(len, new))
    frame = F.tree_delta_frame(3, size, old, new)
    assert frame == F.encode_tree_delta(3, size, *F.diff_trees(old, new))
    payload = frame[F.HEAD_SIZE :]
    assert _trees.read_tree_delta(payload) == (3, size)
    got = _trees.apply_tree_delta(payload, old)
    assert got is not None
    entries, body, added = got
    assert entries == new and body == b"".join(new)
    assert sorted(added) == sorted(set(new) - set(old))


def test_the_c_twins_are_the_ones_used() -> None:
    assert F.split_raw is _trees.split_tree
    assert F.changed is _trees.changed
    assert F.delta_edits is _trees.delta_edits
    assert F.read_tree_delta is _trees.read_tree_delta
    assert F.apply_delta is _trees.apply_tree_delta


@pytest.mark.parametrize(
    "payload",
    [
        # A base 2**63 objects back, and a removed position past 63 bits: the twin reads them.
        b"\1" + b"\x80" * 9 + b"\1" + b"\x00" + b"\x00" + b"\x00" + b"\x00",
        b"\1\1\x00\x00\x01" + b"\xff" * 9 + b"\x7f" + b"\x00",
    ],
)
def test_numbers_past_63_bits_are_left_to_python(payload: bytes) -> None:
    assert _trees.read_tree_delta(payload) is None
    assert F.read_tree_delta_py(payload) is not None
    assert F.read_tree_delta_head(payload, "peer") == F.read_tree_delta_py(payload)
