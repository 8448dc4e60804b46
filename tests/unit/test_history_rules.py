"""The history rules: a commit's Lamport clock and version vector (with gaps) against its parents'."""

from __future__ import annotations

from vcrdt.ids import ObjectId, ReplicaId
from vcrdt.objects import (
    AUTO_EMAIL,
    AUTO_MESSAGE,
    AUTO_NAME,
    ClockGaps,
    Commit,
    Signature,
    commit_clock,
    convergent_actor,
    history_problem,
)

A, B, C = (ReplicaId(c * 32) for c in "abc")
T = ObjectId(b"\x01" * 32)
SIG = Signature("a", "a@x", 0, 0)
P1, P2 = ObjectId(b"\x02" * 32), ObjectId(b"\x03" * 32)


def _c(
    lamport: int,
    clock: dict[ReplicaId, int],
    gaps: ClockGaps = (),
    *,
    replica: ReplicaId = A,
    parents: tuple[ObjectId, ...] = (),
) -> Commit:
    return Commit(T, parents, SIG, "m\n", replica, lamport, tuple(sorted(clock.items())), None, gaps)


def test_root_and_child() -> None:
    root = _c(1, {A: 1})
    assert history_problem(root, []) is None
    assert history_problem(_c(2, {A: 2}), [root]) is None
    assert history_problem(_c(2, {A: 1, B: 1}, replica=B), [root]) is None  # another replica's first commit


def test_a_counter_that_skips_leaves_a_gap() -> None:
    root = _c(1, {A: 1})
    # A's commits 2..4 went to other branches: this one is A's fifth, and 2..4 are not in its history
    assert history_problem(_c(2, {A: 5}, ((A, ((2, 4),)),)), [root]) is None
    assert history_problem(_c(2, {A: 5}), [root]) == "vector clock is not its parents' clocks joined with its own dot"
    assert history_problem(_c(2, {A: 5}, ((A, ((3, 4),)),)), [root]) is not None


def test_merge_joins_then_adds_the_replicas_dot() -> None:
    p = _c(3, {A: 3}, ((A, ((2, 2),)),))
    q = _c(5, {A: 2, B: 4})
    assert history_problem(_c(6, {A: 3, B: 4, C: 1}, replica=C), [p, q]) is None
    assert history_problem(_c(6, {A: 4, B: 4}), [p, q]) is None
    assert history_problem(_c(6, {A: 3, B: 5}, replica=B), [p, q]) is None


def test_wrong_lamport() -> None:
    root = _c(1, {A: 1})
    assert "lamport clock 5, but its parents make it 2" == history_problem(_c(5, {A: 2}), [root])
    assert history_problem(_c(2, {A: 1}), []) is not None


def test_wrong_vector_clock() -> None:
    p, q = _c(3, {A: 3}), _c(5, {A: 1, B: 4})
    bad = [
        _c(6, {A: 3, B: 4}),  # no dot of its own
        _c(6, {A: 3, B: 5}),  # B's counter went up on a commit made by A
        _c(6, {A: 4, B: 5}),  # two keys counted up
        _c(6, {A: 5, B: 4}),  # counted up by two with no gap
        _c(6, {B: 4, C: 1}, replica=C),  # a parent's key dropped
        _c(6, {A: 2, B: 4, C: 1}, replica=C),  # a key went down
        _c(6, {A: 3, B: 4, C: 1}, ((A, ((2, 2),)),), replica=C),  # a gap the parents do not have
    ]
    for commit in bad:
        assert history_problem(commit, [p, q]) is not None, commit.clock
    assert history_problem(_c(6, {A: 3, B: 4}), [p, q]) == "vector clock does not count its replica up past its parents"


def _convergent(parents: list[Commit], ids: tuple[ObjectId, ...]) -> Commit:
    got_clock, gaps = commit_clock(parents, None)
    author = Signature(AUTO_NAME, AUTO_EMAIL, max(p.author.timestamp for p in parents), 0)
    lamport = 1 + max(p.lamport for p in parents)
    return Commit(T, ids, author, AUTO_MESSAGE, convergent_actor(list(ids)), lamport, got_clock, None, gaps)


def test_convergent_merge_has_no_dot_of_its_own() -> None:
    p, q = _c(3, {A: 3}), _c(5, {A: 1, B: 4}, replica=B)
    merge = _convergent([p, q], (P1, P2))
    assert merge.clock == ((A, 3), (B, 4))
    assert history_problem(merge, [p, q]) is None
    counted = Commit(
        merge.tree, merge.parents, merge.author, merge.message, merge.replica, merge.lamport, ((A, 3), (B, 5))
    )
    assert history_problem(counted, [p, q]) == "vector clock of a convergent merge is not its parents' clocks joined"


def test_convergent_merge_fields_are_fixed() -> None:
    p, q = _c(3, {A: 3}), _c(5, {A: 1, B: 4}, replica=B)
    merge = _convergent([p, q], (P1, P2))
    late = Signature(AUTO_NAME, AUTO_EMAIL, 99, 0)
    for bad in [
        Commit(T, merge.parents, late, AUTO_MESSAGE, merge.replica, merge.lamport, merge.clock),
        Commit(T, merge.parents, merge.author, "hello\n", merge.replica, merge.lamport, merge.clock),
        Commit(T, (P2, P1), merge.author, AUTO_MESSAGE, merge.replica, merge.lamport, merge.clock),
    ]:
        assert history_problem(bad, [p, q] if bad.parents == (P1, P2) else [q, p]) == (
            "convergent merge is not in its fixed form (sorted parents, author, time, message)"
        )
