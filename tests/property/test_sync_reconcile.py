"""The version-2 Merkle descent (`reconcile`, two levels per round trip) brings exactly the missing objects."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcrdt.repo import Repository, Settings
from vcrdt.sync import session
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.transport import LocalTransport

CONF = Settings(author_name="t", author_email="t@x")


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.integers(0, 3000), st.integers(0, 40), st.integers(0, 40))
def test_reconcile_brings_exactly_the_missing_objects(seed: int, shared: int, only_a: int, only_b: int) -> None:
    rng = random.Random(seed)
    blobs = [rng.randbytes(rng.randint(1, 40)) for _ in range(shared + only_a + only_b)]
    with tempfile.TemporaryDirectory() as tmp:
        a = Repository.init(Path(tmp) / "a", CONF)
        b = Repository.init(Path(tmp) / "b", CONF)
        try:
            with a.transaction():
                ids_a = set(a.store.put_many([("blob", x, None) for x in blobs[: shared + only_a]]))
            with b.transaction():
                ids_b = set(b.store.put_many([("blob", x, None) for x in blobs[:shared] + blobs[shared + only_a :]]))
            transport = LocalTransport(b.root, CONF, SyncLimits(), own_root=a.root)
            try:
                client = session._Client(a, transport, SyncLimits(), None)
                client.version = 2
                here, there = session._reconcile(client)
            finally:
                transport.close()
            now = set(a.store.iter_ids())
            # What b has and a lacked arrived (or is listed to fetch); what a has and b lacks is listed.
            assert now | set(here) == ids_a | ids_b
            assert not set(here) & now
            assert sorted(there) == sorted(ids_a - ids_b)
            # Nothing arrives twice, and equal sets cost one round trip (the root alone).
            assert client.stats.objects_received == len(now - ids_a)
            if ids_a == ids_b:
                assert client.stats.round_trips == 1
        finally:
            a.close()
            b.close()
