"""The Merkle descent over id-prefix buckets finds exactly the ids one side has and the other lacks."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcrdt.repo import Repository, Settings
from vcrdt.sync import session
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.transport import LocalTransport

blobs = st.sets(st.binary(min_size=1, max_size=12), max_size=120)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blobs, blobs, blobs)
def test_descent_finds_exactly_the_missing_ids(shared: set[bytes], only_a: set[bytes], only_b: set[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conf = Settings(author_name="t", author_email="t@x")
        a = Repository.init(Path(tmp) / "a", conf)
        b = Repository.init(Path(tmp) / "b", conf)
        try:
            with a.transaction():
                ids_a = {a.store.put("blob", x) for x in shared | only_a}
            with b.transaction():
                ids_b = {b.store.put("blob", x) for x in shared | only_b}
            transport = LocalTransport(b.root, conf, SyncLimits(), own_root=a.root)
            try:
                client = session._Client(a, transport, SyncLimits(), None)
                here, there = session._descend(client)
            finally:
                transport.close()
            assert set(here) == ids_b - ids_a and len(here) == len(set(here))
            assert set(there) == ids_a - ids_b and len(there) == len(set(there))
            # Only buckets that differ are looked into: equal sets cost the root alone.
            if ids_a == ids_b:
                assert client.stats.round_trips == 1
        finally:
            a.close()
            b.close()
