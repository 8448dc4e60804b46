"""The convergence promise on criss-cross histories (tests/helpers/convergence.py).

Random programs of edits under every rule, adds, deletes, renames, mode
changes, a side branch, fetches between random pairs and `merge --auto`, on 3
to 5 replicas; after a final all-pairs sync every replica must agree, fsck
must be clean, no file may hold a marker or invalid JSON, and no write may be
lost that causally followed what it replaced. About 300 steps in all here;
``python -m tests.helpers.convergence --rounds 5000`` runs more by hand.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.convergence import random_step, run


@st.composite
def programs(draw: st.DrawFn) -> tuple[int, list[tuple[object, ...]], int]:
    replicas = draw(st.integers(3, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    size = draw(st.integers(20, 40))
    rng = random.Random(seed)
    return replicas, [random_step(rng, replicas) for _ in range(size)], seed


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_replicas_converge_and_lose_no_later_write(case: tuple[int, list[tuple[object, ...]], int]) -> None:
    replicas, program, seed = case
    run(program, replicas, seed)


# Seed 793 of the driver (120 steps, `--seed 777`), shrunk: replica 4's automatic merge folds four
# heads and takes port=2.1 from one of them although neither of its parents holds it any more;
# replica 2 then writes port=2.11 over port=2.1. The final join must not bring port=2.1 back.
SEED_793 = [
    ("lww", 2, 2, 0, False),
    ("lww", 4, 3, 0, False),
    ("fetch", 3, 4),
    ("set", 3, 0, 0, False),
    ("add", 2, 0, 2, False),
    ("bin", 2, 3, 1, True),
    ("lww", 4, 3, 0, False),
    ("shape", 1, 2, 1, False),
    ("fetch", 0, 4),
    ("add", 3, 2, 3, False),
    ("fetch", 4, 1),
    ("fetch", 3, 2),
    ("rename", 4, 2, 3, False),
    ("fetch", 4, 3),
    ("fetch", 1, 0),
    ("shape", 4, 0, 1, False),
    ("json", 1, 1, 3, False),
    ("lww", 2, 2, 0, False),
]


def test_a_version_a_fold_took_from_a_joined_head_stays_replaced() -> None:
    run(SEED_793, 5, 793)
