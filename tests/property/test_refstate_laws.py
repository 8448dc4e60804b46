"""Branches as a CRDT: join laws on random commit graphs, add-wins deletion, canonical encoding."""

from __future__ import annotations

import functools

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers.builders import build_dag
from vcrdt.crdt.refstate import BranchState, RefState
from vcrdt.dag import is_ancestor
from vcrdt.errors import VcrdtError
from vcrdt.ids import ObjectId
from vcrdt.store.memory import MemoryStore

# A fixed graph: 0 <- 1 <- 2, 0 <- 3 <- 4, merge 5 of (2, 4), 6 on 1, 7 on 5.
STORE = MemoryStore()
IDS = build_dag(STORE, [[], [0], [1], [0], [3], [2, 4], [1], [5]])


@functools.cache
def anc(a: ObjectId, b: ObjectId) -> bool:
    return is_ancestor(STORE, a, b)


commits = st.sampled_from(IDS)
branch_states = st.builds(
    BranchState,
    st.frozensets(commits, max_size=3).map(
        lambda hs: frozenset(h for h in hs if not any(h != o and anc(h, o) for o in hs))
    ),
    st.frozensets(commits, max_size=2),
)
ref_states = st.dictionaries(st.sampled_from(["main", "dev", "x"]), branch_states, max_size=3).map(RefState)
SETTINGS = settings(max_examples=300, deadline=None)


@SETTINGS
@given(ref_states, ref_states)
def test_join_commutative(a: RefState, b: RefState) -> None:
    assert a.join(b, anc).to_bytes() == b.join(a, anc).to_bytes()


@SETTINGS
@given(ref_states, ref_states, ref_states)
def test_join_associative(a: RefState, b: RefState, c: RefState) -> None:
    assert a.join(b, anc).join(c, anc).to_bytes() == a.join(b.join(c, anc), anc).to_bytes()


@SETTINGS
@given(ref_states)
def test_join_idempotent(a: RefState) -> None:
    once = a.join(a, anc)
    assert once.join(once, anc).to_bytes() == once.to_bytes()
    assert once.join(a, anc).to_bytes() == once.to_bytes()


@SETTINGS
@given(ref_states)
def test_heads_are_siblings_only(a: RefState) -> None:
    for heads in a.join(RefState(), anc).visible().values():
        assert not any(h != o and anc(h, o) for h in heads for o in heads)


def test_union_of_concurrent_heads_and_fast_forward() -> None:
    one = BranchState(frozenset({IDS[2]}))
    two = BranchState(frozenset({IDS[4]}))
    assert one.join(two, anc).heads == {IDS[2], IDS[4]}  # siblings
    assert one.join(two, anc).advance(IDS[5], anc).heads == {IDS[5]}  # a merge joins them
    assert one.join(BranchState(frozenset({IDS[1]})), anc).heads == {IDS[2]}  # the ancestor drops


def test_deleted_branch_stays_deleted_against_old_heads() -> None:
    alive = BranchState(frozenset({IDS[2]}))
    gone = alive.delete()
    assert gone.join(alive, anc).deleted
    assert gone.join(BranchState(frozenset({IDS[1]})), anc).deleted  # an older head either


def test_head_the_deletion_never_saw_brings_it_back() -> None:
    gone = BranchState(frozenset({IDS[2]})).delete()
    back = gone.join(BranchState(frozenset({IDS[7]})), anc)  # 7 descends from 2: new work
    assert back.heads == {IDS[7]}
    concurrent = gone.join(BranchState(frozenset({IDS[6]})), anc)  # 6 is concurrent with 2
    assert concurrent.heads == {IDS[6]}


@SETTINGS
@given(ref_states)
def test_encoding_round_trip(a: RefState) -> None:
    assert RefState.from_bytes(a.to_bytes()).to_bytes() == a.to_bytes()
    assert len(a.digest()) == 32


@SETTINGS
@given(ref_states, st.integers(0, 10_000), st.integers(0, 255))
def test_decoder_raises_only_vcrdt_errors(a: RefState, pos: int, value: int) -> None:
    data = bytearray(a.to_bytes())
    data[pos % len(data)] ^= value or 1
    try:
        decoded = RefState.from_bytes(bytes(data))
    except VcrdtError:
        return
    assert decoded.to_bytes() == bytes(data)
