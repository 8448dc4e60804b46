"""The laws of the ``json`` rule: commutative, idempotent, identities, well-formed, nothing added is lost."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt.crdt.order import TieKey
from vcrdt.merge.rules import Fallback, Resolution
from vcrdt.merge.rules.json_doc import resolve_json

SETTINGS = settings(max_examples=200, deadline=None)

KEYS = st.sampled_from(["a", "b", "c", "d", "é", "x/y", "t~"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([1.5, -0.25]),
    st.text(alphabet="ab€\n", max_size=3),
)
VALUES = st.recursive(
    SCALARS,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(KEYS, kids, max_size=4)),
    max_leaves=12,
)
DOCS = st.dictionaries(KEYS, VALUES, max_size=5)
TIE_KEYS = st.builds(TieKey, st.integers(0, 3), st.sampled_from(["", "r1", "r2"]), st.sampled_from([b"", b"\x01"]))
LAYOUTS = st.sampled_from([None, 2, 4, "\t", 0]).flatmap(
    lambda indent: st.tuples(st.just(indent), st.booleans(), st.booleans())
)


@st.composite
def edited(draw: st.DrawFn, v: Any, depth: int = 0) -> Any:
    """A random edit of `v`: keep, replace, or (for containers) edit inside."""
    action = draw(st.sampled_from(["keep", "keep", "replace", "inside", "inside"]))
    if action == "keep":
        return v
    if action == "replace" or not isinstance(v, dict | list) or depth > 3:
        return draw(VALUES)
    if isinstance(v, dict):
        items = [(k, draw(edited(x, depth + 1))) for k, x in v.items() if not draw(st.integers(0, 4)) == 0]
        for k, x in draw(st.lists(st.tuples(KEYS, VALUES), max_size=2)):
            if k not in dict(items):
                items.insert(draw(st.integers(0, len(items))), (k, x))
        if draw(st.integers(0, 9)) == 0:
            items.reverse()
        return dict(items)
    out = [draw(edited(x, depth + 1)) for x in v if not draw(st.integers(0, 4)) == 0]
    for x in draw(st.lists(VALUES, max_size=2)):
        out.insert(draw(st.integers(0, len(out))), x)
    return out


def dump(v: Any, layout: tuple[Any, bool, bool]) -> bytes:
    indent, ascii_, newline = layout
    return (json.dumps(v, indent=indent, ensure_ascii=ascii_) + ("\n" if newline else "")).encode()


@st.composite
def triples(draw: st.DrawFn) -> tuple[bytes, bytes, bytes, dict[str, Any], dict[str, Any], dict[str, Any]]:
    o = draw(DOCS)
    a = draw(edited(o))
    b = draw(edited(o))
    a = a if isinstance(a, dict) else o
    b = b if isinstance(b, dict) else o
    return dump(o, draw(LAYOUTS)), dump(a, draw(LAYOUTS)), dump(b, draw(LAYOUTS)), o, a, b


def resolve(o: bytes, a: bytes, b: bytes, ka: TieKey, kb: TieKey) -> bytes:
    r = resolve_json(o, a, b, ours_key=ka, theirs_key=kb)
    assert isinstance(r, Resolution), r
    return r.data


def has_array(v: Any) -> bool:
    if isinstance(v, list):
        return True
    return isinstance(v, dict) and any(has_array(x) for x in v.values())


@SETTINGS
@given(triples(), TIE_KEYS, TIE_KEYS)
def test_commutative(t: tuple[bytes, bytes, bytes, Any, Any, Any], ka: TieKey, kb: TieKey) -> None:
    o, a, b = t[:3]
    ab = resolve_json(o, a, b, ours_key=ka, theirs_key=kb)
    ba = resolve_json(o, b, a, ours_key=kb, theirs_key=ka)
    assert isinstance(ab, Resolution) and isinstance(ba, Resolution)
    assert ab.data == ba.data
    # The same decisions, with the side names swapped.
    swap = {"ours": "theirs", "theirs": "ours"}
    assert [(h.where, swap.get(h.outcome, h.outcome), h.chosen) for h in ab.hunks] == [
        (h.where, h.outcome, h.chosen) for h in ba.hunks
    ]


@SETTINGS
@given(triples(), TIE_KEYS, TIE_KEYS)
def test_result_parses_and_keeps_one_sided_additions(
    t: tuple[bytes, bytes, bytes, Any, Any, Any], ka: TieKey, kb: TieKey
) -> None:
    o, a, b, po, pa, pb = t
    r = json.loads(resolve(o, a, b, ka, kb))
    assert isinstance(r, dict)
    for mine, other in ((pa, pb), (pb, pa)):
        for k in mine:
            if k not in po and k not in other:
                assert r[k] == mine[k]


@SETTINGS
@given(triples(), TIE_KEYS, TIE_KEYS)
def test_identities(t: tuple[bytes, bytes, bytes, Any, Any, Any], ka: TieKey, kb: TieKey) -> None:
    o, a = t[0], t[1]
    assert resolve(o, a, o, ka, kb) == a
    assert resolve(o, o, a, ka, kb) == a
    assert resolve(o, a, a, ka, kb) == a


@SETTINGS
@given(triples(), TIE_KEYS, TIE_KEYS)
def test_idempotent(t: tuple[bytes, bytes, bytes, Any, Any, Any], ka: TieKey, kb: TieKey) -> None:
    """Re-merging the result with either input gives it back (as values; bytes when there are no arrays)."""
    o, a, b, _, pa, pb = t
    r = resolve(o, a, b, ka, kb)
    kr = ka.successor(kb)
    assert resolve(o, r, r, kr, kr) == r
    for side, key in ((a, ka), (b, kb)):
        again = resolve(o, r, side, kr, key)
        if not has_array(pa) and not has_array(pb):
            assert again == r


# --- arrays ---------------------------------------------------------------------------------------

ELEMENTS = st.one_of(st.integers(0, 3), st.dictionaries(st.sampled_from("ab"), st.integers(0, 2), max_size=2))


@st.composite
def array_triples(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    """Arrays with repeated elements, each side deleting, replacing and inserting elements."""
    o = draw(st.lists(ELEMENTS, max_size=6))

    def side() -> list[Any]:
        out = [draw(ELEMENTS) if draw(st.integers(0, 3)) == 0 else x for x in o if draw(st.integers(0, 3))]
        for x in draw(st.lists(ELEMENTS, max_size=3)):
            out.insert(draw(st.integers(0, len(out))), x)
        return out

    return json.dumps(o).encode(), json.dumps(side()).encode(), json.dumps(side()).encode()


@st.composite
def distinct_array_triples(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    """Arrays whose elements are distinct: new elements are new values, objects keep their "id"."""
    o: list[Any] = [i if draw(st.booleans()) else {"id": i, "v": 0} for i in range(draw(st.integers(0, 6)))]
    fresh = iter(range(100, 200))

    def side() -> list[Any]:
        out: list[Any] = []
        for x in o:
            action = draw(st.integers(0, 4))
            if action == 0:
                continue
            if action == 1 and isinstance(x, dict):
                x = {**x, "v": draw(st.integers(0, 3))}
                if draw(st.booleans()):
                    x[draw(st.sampled_from(["w", "z"]))] = 1
            out.append(x)
        for _ in range(draw(st.integers(0, 3))):
            new = next(fresh)
            out.insert(draw(st.integers(0, len(out))), new if draw(st.booleans()) else {"id": new, "v": 0})
        return out

    return json.dumps(o).encode(), json.dumps(side()).encode(), json.dumps(side()).encode()


@SETTINGS
@given(array_triples(), TIE_KEYS, TIE_KEYS)
def test_arrays_commutative(t: tuple[bytes, bytes, bytes], ka: TieKey, kb: TieKey) -> None:
    o, a, b = t
    r = resolve(o, a, b, ka, kb)
    assert r == resolve(o, b, a, kb, ka)
    assert resolve(o, r, r, ka, kb) == r
    assert isinstance(json.loads(r), list)


@SETTINGS
@given(distinct_array_triples(), TIE_KEYS, TIE_KEYS)
def test_arrays_of_distinct_elements_idempotent(t: tuple[bytes, bytes, bytes], ka: TieKey, kb: TieKey) -> None:
    o, a, b = t
    r = resolve(o, a, b, ka, kb)
    kr = ka.successor(kb)
    assert resolve(o, r, a, kr, ka) == r
    assert resolve(o, r, b, kr, kb) == r


def test_idempotence_does_not_hold_for_repeated_elements() -> None:
    """The documented limit (found by hypothesis): B's new 0 survives A's deletion of the base 0, but R == O."""
    o, a, b = b"[0]", b"[]", b"[0, 0]"
    ka, kb = TieKey(1, "r1", b""), TieKey(1, "r2", b"")
    r = resolve(o, a, b, ka, kb)
    assert r == b"[0]" == o
    # By the identity law, re-merging R (equal to O) with a side gives that side, not R.
    assert resolve(o, r, a, ka.successor(kb), ka) == a
    assert resolve(o, r, b, ka.successor(kb), kb) == b


def test_invalid_input_falls_back_rather_than_raising() -> None:
    r = resolve_json(b"{}", b"[", b"{}", ours_key=TieKey(0, "", b""), theirs_key=TieKey(0, "", b""))
    assert isinstance(r, Fallback)
