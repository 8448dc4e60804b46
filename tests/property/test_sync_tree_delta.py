"""Tree deltas (protocol version 4): encode/decode round trips, and applying one makes the new tree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.ids import ObjectId
from vcrdt.sync import frames as F

_WORDS = sorted(F.ENTRY_CODES)
_NAMES = st.binary(min_size=1, max_size=12).filter(lambda b: b"\0" not in b and b"/" not in b)


@st.composite
def trees(draw: st.DrawFn, names: list[bytes]) -> list[bytes]:
    """The raw entries of a tree over some of `names` (sorted, unique), each of a random kind and id."""
    chosen = sorted(set(draw(st.lists(st.sampled_from(names), max_size=len(names))))) if names else []
    ids = st.binary(min_size=32, max_size=32) | st.sampled_from([bytes([i]) * 32 for i in range(1, 4)])
    return [draw(st.sampled_from(_WORDS)) + b" " + n + b"\0" + draw(ids) for n in chosen]


@st.composite
def tree_pairs(draw: st.DrawFn) -> tuple[list[bytes], list[bytes]]:
    """A base tree and a new one over a shared pool of names (so they share, change and drop entries)."""
    names = draw(st.lists(_NAMES, max_size=40, unique=True))
    base = draw(trees(names))
    if draw(st.booleans()):
        new = draw(trees(names))
    else:  # a few edits of the base, as successive versions of a tree mostly are
        new = list(base)
        for _ in range(draw(st.integers(0, 3))):
            if new and draw(st.booleans()):
                i = draw(st.integers(0, len(new) - 1))
                new[i] = new[i][:-32] + draw(st.binary(min_size=32, max_size=32))
        new = sorted(set(new) | set(draw(trees(names))), key=F.entry_name)
        dedup: dict[bytes, bytes] = {}
        for e in new:
            dedup.setdefault(F.entry_name(e), e)
        new = list(dedup.values())
    return base, new


@settings(max_examples=400, deadline=None)
@given(tree_pairs(), st.integers(1, 1 << 20) | st.binary(min_size=32, max_size=32))
def test_tree_delta_round_trips_and_applies(pair: tuple[list[bytes], list[bytes]], base: int | bytes) -> None:
    old, new = pair
    size = sum(map(len, new))
    replaced, removed, inserted = F.diff_trees(old, new)
    ref: int | ObjectId = base if isinstance(base, int) else ObjectId(base)
    frame = F.encode_tree_delta(ref, size, replaced, removed, inserted)
    assert frame[4] == F.TREE_DELTA and int.from_bytes(frame[:4], "big") == len(frame) - F.HEAD_SIZE
    d = F.decode_tree_delta(frame[F.HEAD_SIZE :], "peer")
    assert d == F.TreeDelta(ref, size, tuple(replaced), tuple(removed), tuple(inserted))
    assert F.encode_tree_delta(d.base, d.size, d.replaced, d.removed, d.inserted) == frame
    made, added = F.apply_tree_delta(old, d, "peer", "it")
    assert made == new
    # Only what the base lacks is new: the receiver checks exactly these.
    assert sorted(added) == sorted(set(new) - set(old))
    assert F.split_tree(b"".join(new)) == new
