"""The history rules: a commit's Lamport and vector clocks against its parents'."""

from __future__ import annotations

from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import Commit, Signature, history_problem

A, B, C = (ReplicaId(c * 32) for c in "abc")
T = ObjectId(b"\x01" * 32)
SIG = Signature("a", "a@x", 0, 0)


def _c(lamport: int, clock: dict[ReplicaId, int], parents: tuple[ObjectId, ...] = ()) -> Commit:
    return Commit(T, parents, SIG, "m\n", A, lamport, tuple(sorted(clock.items())))


def test_root_and_child() -> None:
    root = _c(1, {A: 1})
    assert history_problem(root, []) is None
    assert history_problem(_c(2, {A: 2}), [root]) is None
    assert history_problem(_c(2, {A: 1, B: 1}), [root]) is None  # a new actor


def test_merge_joins_then_counts_one_key() -> None:
    p, q = _c(3, {A: 3}), _c(5, {A: 1, B: 4})
    assert history_problem(_c(6, {A: 3, B: 4, C: 1}), [p, q]) is None
    assert history_problem(_c(6, {A: 4, B: 4}), [p, q]) is None


def test_wrong_lamport() -> None:
    root = _c(1, {A: 1})
    assert "lamport clock 5, but its parents make it 2" == history_problem(_c(5, {A: 2}), [root])
    assert history_problem(_c(2, {A: 1}), []) is not None


def test_wrong_vector_clock() -> None:
    p, q = _c(3, {A: 3}), _c(5, {A: 1, B: 4})
    bad = [
        _c(6, {A: 3, B: 4}),  # nothing counted up
        _c(6, {A: 4, B: 5}),  # two keys counted up
        _c(6, {A: 5, B: 4}),  # counted up by two
        _c(6, {B: 4, C: 1}),  # a parent's key dropped
        _c(6, {A: 2, B: 4, C: 1}),  # a key went down
    ]
    for commit in bad:
        assert history_problem(commit, [p, q]) == "vector clock is not its parents' clocks with one key counted up"
