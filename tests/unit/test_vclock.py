from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.crdt.vclock import compare, join, leq

clocks = st.dictionaries(st.sampled_from(["anna", "bill", "charlie", "dora"]), st.integers(1, 5), max_size=4)


def test_seed_example() -> None:
    a = {"anna": 1, "bill": 2, "charlie": 1}
    b = {"anna": 1, "bill": 1, "charlie": 2}
    c = {"anna": 2, "bill": 2, "charlie": 2}
    assert compare(a, b) == "concurrent"
    assert compare(b, a) == "concurrent"
    assert compare(a, c) == "before"
    assert compare(b, c) == "before"
    assert compare(c, a) == "after"
    assert compare(c, c) == "equal"


@settings(max_examples=300, deadline=None)
@given(clocks, clocks, clocks)
def test_join_laws(a: dict[str, int], b: dict[str, int], c: dict[str, int]) -> None:
    assert join([a, b]) == join([b, a])
    assert join([join([a, b]), c]) == join([a, join([b, c])])
    assert join([a, a]) == join([a])
    assert leq(a, join([a, b])) and leq(b, join([a, b]))


@settings(max_examples=300, deadline=None)
@given(clocks, clocks)
def test_compare_is_antisymmetric(a: dict[str, int], b: dict[str, int]) -> None:
    flipped = {"before": "after", "after": "before", "equal": "equal", "concurrent": "concurrent"}
    assert compare(b, a) == flipped[compare(a, b)]
