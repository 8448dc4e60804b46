"""A hostile peer sending a large object (stored in chunks) under a wrong id: refused, nothing kept.

The receiver no longer hashes a large object itself: the store hashes it once, as it writes
its chunks straight under the id the peer claims, and must refuse it and drop every chunk.
"""

from __future__ import annotations

import random
import shlex
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.security.hostile_source import assert_refused, victim_state
from vcrdt.store import LARGE_OBJECT

PEER = Path(__file__).parents[1] / "helpers" / "sync_peer.py"


@pytest.mark.hostile
@pytest.mark.parametrize("verb", ["fetch", "sync"])
def test_a_large_object_under_a_wrong_id_is_refused(verb: str, repo: CliRunner) -> None:
    root = repo.cwd.parent / "src"
    repo.ok("init", str(root))
    # The only blob, so the first object of the stream (the one the peer sends under a wrong id).
    (root / "big.bin").write_bytes(random.Random(1).randbytes(LARGE_OBJECT + 12345))
    repo.ok("commit", "-A", "-m", "big", cwd=root)
    repo.write("mine.txt", "mine\n")
    repo.ok("commit", "-A", "-m", "mine")
    before = victim_state(repo.cwd)
    r = repo(verb, "--exec", shlex.join([sys.executable, str(PEER), "wrong-id", str(root)]))
    assert_refused(r.code, r.err, "hashes to")
    assert victim_state(repo.cwd) == before
    conn = sqlite3.connect(f"file:{repo.cwd / '.vcrdt' / 'store.db'}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT COUNT(*) FROM chunks").fetchone() == (0,)
    finally:
        conn.close()
    repo.ok("fsck")
