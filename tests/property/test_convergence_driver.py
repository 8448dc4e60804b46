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
def programs(draw: st.DrawFn) -> tuple[int, list[tuple[object, ...]]]:
    replicas = draw(st.integers(3, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    size = draw(st.integers(20, 40))
    rng = random.Random(seed)
    return replicas, [random_step(rng, replicas) for _ in range(size)]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_replicas_converge_and_lose_no_later_write(case: tuple[int, list[tuple[object, ...]]]) -> None:
    replicas, program = case
    run(program, replicas)
