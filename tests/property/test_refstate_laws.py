"""Branches as a CRDT: join laws, add-wins by dot, the shown heads, and the canonical encoding."""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.builders import build_dag
from vcrdt.crdt.refstate import Dot, Entry, RefState
from vcrdt.dag import is_ancestor
from vcrdt.errors import CorruptObjectError, VcrdtError
from vcrdt.ids import ObjectId
from vcrdt.store.memory import MemoryStore

# A fixed graph: 0 <- 1 <- 2, 0 <- 3 <- 4, merge 5 of (2, 4), 6 on 1, 7 on 5.
STORE = MemoryStore()
IDS = build_dag(STORE, [[], [0], [1], [0], [3], [2, 4], [1], [5]])
REPLICAS = ["aa" * 16, "bb" * 16, "cc" * 16]
NAMES = ["main", "dev", "x"]


@functools.cache
def anc(a: ObjectId, b: ObjectId) -> bool:
    return is_ancestor(STORE, a, b)


@functools.cache
def event(dot: Dot) -> tuple[str, ObjectId]:
    """What the event with this dot did: every replica that has seen a dot agrees on it."""
    n = int.from_bytes(dot.replica.encode(), "big") + dot.counter * 7919
    return NAMES[n % len(NAMES)], IDS[(n // 3) % len(IDS)]


@st.composite
def ref_states(draw: st.DrawFn) -> RefState:
    """A state some replica could hold: a context (a prefix of each replica's dots) and which of them are live."""
    context = {r: n for r in REPLICAS if (n := draw(st.integers(0, 5)))}
    branches: dict[str, set[Entry]] = {}
    for r, n in context.items():
        for c in range(1, n + 1):
            if draw(st.booleans()):
                name, head = event(Dot(r, c))
                branches.setdefault(name, set()).add(Entry(Dot(r, c), head))
    return RefState({n: frozenset(es) for n, es in sorted(branches.items())}, context)


SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(ref_states(), ref_states())
def test_join_commutative(a: RefState, b: RefState) -> None:
    assert a.join(b).to_bytes() == b.join(a).to_bytes()


@SETTINGS
@given(ref_states(), ref_states(), ref_states())
def test_join_associative(a: RefState, b: RefState, c: RefState) -> None:
    assert a.join(b).join(c).to_bytes() == a.join(b.join(c)).to_bytes()


@SETTINGS
@given(ref_states())
def test_join_idempotent(a: RefState) -> None:
    assert a.join(a).to_bytes() == a.join(RefState()).to_bytes()
    once = a.join(a)
    assert once.join(once).to_bytes() == once.to_bytes()
    assert once.join(a).to_bytes() == once.to_bytes()


@SETTINGS
@given(ref_states(), ref_states())
def test_join_is_an_upper_bound(a: RefState, b: RefState) -> None:
    j = a.join(b)
    assert j.join(a).to_bytes() == j.to_bytes()
    assert j.join(b).to_bytes() == j.to_bytes()
    assert j.problem() is None


@SETTINGS
@given(ref_states())
def test_heads_are_siblings_only(a: RefState) -> None:
    for heads in a.visible(anc).values():
        assert heads
        assert not any(h != o and anc(h, o) for h in heads for o in heads)


def test_union_of_concurrent_heads_and_fast_forward() -> None:
    a = RefState().put("main", IDS[2], REPLICAS[0])
    b = RefState().put("main", IDS[4], REPLICAS[1])
    both = a.join(b)
    assert both.heads("main", anc) == {IDS[2], IDS[4]}  # siblings
    merged = both.put("main", IDS[5], REPLICAS[0])  # a merge replaces both entries
    assert merged.heads("main", anc) == {IDS[5]}
    assert merged.join(a).join(b).heads("main", anc) == {IDS[5]}  # the replaced entries stay replaced
    older = RefState().put("main", IDS[1], REPLICAS[2])
    assert a.join(older).heads("main", anc) == {IDS[2]}  # an ancestor is not shown


def test_deletion_removes_exactly_the_entries_it_saw() -> None:
    a = RefState().put("f", IDS[2], REPLICAS[0])
    b = RefState().join(a).remove("f")  # b saw a's entry, and deleted it
    assert "f" not in a.join(b).branches and "f" not in b.join(a).branches
    advanced = a.put("f", IDS[7], REPLICAS[0])  # a commits on f, concurrently: b never saw it
    assert advanced.join(b).heads("f", anc) == {IDS[7]}
    c = RefState().put("f", IDS[6], REPLICAS[2])  # created on c, unseen by the deletion
    assert b.join(c).heads("f", anc) == {IDS[6]}


def test_recreation_takes_a_new_dot_and_clears_no_tombstone() -> None:
    a = RefState().put("f", IDS[1], REPLICAS[0])
    b = RefState().join(a)
    gone = a.remove("f")
    again = gone.put("f", IDS[1], REPLICAS[0])  # the same head, re-created
    (old,) = a.branches["f"]
    (new,) = again.branches["f"]
    assert new.dot != old.dot and again.seen(old.dot)
    assert again.join(b).branches["f"] == {new}  # b's copy of the deleted entry stays dead
    # A deletion on b of the entry it saw does not touch the re-creation it did not see.
    assert again.join(b.remove("f")).heads("f", anc) == {IDS[1]}


@SETTINGS
@given(ref_states())
def test_encoding_round_trip(a: RefState) -> None:
    assert RefState.from_bytes(a.to_bytes()) == a
    assert len(a.digest()) == 32


@SETTINGS
@given(ref_states(), st.integers(0, 10_000), st.integers(0, 255))
def test_decoder_raises_only_vcrdt_errors(a: RefState, pos: int, value: int) -> None:
    data = bytearray(a.to_bytes())
    data[pos % len(data)] ^= value or 1
    try:
        decoded = RefState.from_bytes(bytes(data))
    except VcrdtError:
        return
    assert decoded.to_bytes() == bytes(data)


@SETTINGS
@given(ref_states(), st.integers(0, 10_000))
def test_a_cut_encoding_is_refused_or_a_shorter_state(a: RefState, cut: int) -> None:
    data = a.to_bytes()
    data = data[: cut % len(data)]
    try:
        decoded = RefState.from_bytes(data)
    except CorruptObjectError as exc:
        assert "truncated" in str(exc) or "bad header" in str(exc) or "no entry" in str(exc)
        return
    assert decoded.to_bytes() == data  # cut between two branches: the state of the first ones


def test_format_1_is_refused_by_name() -> None:
    old = b"vcrdt-refstate 1\n" + (4).to_bytes(2, "big") + b"main" + (1).to_bytes(4, "big") + IDS[0] + bytes(4)
    try:
        RefState.from_bytes(old)
    except CorruptObjectError as exc:
        assert str(exc) == (
            "corrupt object ref state: format 1 keys tombstones by commit id, which cannot express add-wins;"
            " format 2 is read"
        )
    else:
        raise AssertionError("format 1 was read")


# The test vector of docs/format.md ("Ref state"): replica aa..aa made main at 11..11 (dot 1)
# and f at 22..22 (dot 2), then deleted f; replica bb..bb made f at 33..33 (its dot 1).
VECTOR = bytes.fromhex(
    "7663726474 2d7265667374617465 2032 0a"  # "vcrdt-refstate 2\n"
    "00000002"  # two replicas in the context
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0000000000000002"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 0000000000000001"
    "0001 66 00000001"  # branch "f", one entry
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb 0000000000000001" + "33" * 32 + "0004 6d61696e 00000001"  # "main"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 0000000000000001" + "11" * 32
)


def test_format_vector() -> None:
    a, b = "aa" * 16, "bb" * 16
    state = RefState().put("main", ObjectId(b"\x11" * 32), a).put("f", ObjectId(b"\x22" * 32), a).remove("f")
    state = state.join(RefState().put("f", ObjectId(b"\x33" * 32), b))
    assert state.to_bytes() == VECTOR
    assert RefState.from_bytes(VECTOR) == state
    assert state.digest().hex() == "0aca2c803bbcfc373a0c2a3a28112c94d7d38316e3246a92b0265337bd376163"
