"""Tree deltas (protocol version 4) over the receiver's limits: refused before anything is applied, nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcrdt.errors import LimitError
from vcrdt.ids import ObjectId
from vcrdt.repo import Repository, Settings
from vcrdt.sync import frames as F
from vcrdt.sync.limits import SyncLimits
from vcrdt.sync.receive import Receiver

CONF = Settings(author_name="t", author_email="t@x")


def _frame(base: ObjectId, entries: int) -> F.Frame:
    inserted = [(i, b"file n%06d\0" % i + b"\x07" * 32) for i in range(entries)]
    size = sum(len(e) for _, e in inserted)
    raw = F.encode_tree_delta(base, size, [], [], inserted)
    return F.Frame(raw[4], raw[F.HEAD_SIZE :])


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("limits", "rule"),
    [
        (SyncLimits(max_tree_size=4096), "more than limits.max_tree_size"),
        (SyncLimits(max_fetch_size=4096), "more than limits.max_fetch_size"),
    ],
)
def test_a_tree_delta_over_the_limits_is_refused(tmp_path: Path, limits: SyncLimits, rule: str) -> None:
    repo = Repository.init(tmp_path / "r", CONF)
    try:
        with repo.transaction():
            base = repo.store.put("tree", b"")
        before = set(repo.store.iter_ids())
        with pytest.raises(LimitError, match=rule), Receiver(repo, limits, "peer") as recv:
            recv.take(_frame(base, 200), F.FrameReader(lambda n: b"", limits, "peer"))
        assert set(repo.store.iter_ids()) == before
    finally:
        repo.close()
