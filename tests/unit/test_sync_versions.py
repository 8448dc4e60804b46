"""Peers of protocol versions 1, 2 and 3 sync with each other, the Merkle descent included."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from vcrdt.repo import Repository, Settings
from vcrdt.sync import frames as F

PEER = Path(__file__).parents[1] / "helpers" / "sync_peer.py"


def _orphans(root: Path, label: str, n: int) -> None:
    with Repository(root, Settings()) as r, r.transaction():
        r.store.put_many([("blob", f"{label} {i}\n".encode(), None) for i in range(n)])


def _ids(root: Path) -> set[bytes]:
    with Repository(root, Settings(), read_only=True) as r:
        return set(r.store.iter_ids())


@pytest.mark.parametrize("server", ["v1", "v2", "honest"])
@pytest.mark.parametrize("client_speaks", [(1,), (1, 2), (1, 2, 3)])
def test_peers_of_any_version_reconcile(
    server: str, client_speaks: tuple[int, ...], repo: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each side holds objects the other lacks under equal refs: every pair of versions ends equal."""
    monkeypatch.setattr(F, "SUPPORTED", client_speaks)
    repo.write("mine.txt", "mine\n")
    repo.ok("commit", "-A", "-m", "mine")
    twin = repo.cwd.parent / "twin"
    shutil.copytree(repo.cwd, twin, symlinks=True)
    _orphans(twin, "peer", 150)
    _orphans(repo.cwd, "here", 20)
    twin_ids, my_ids = _ids(twin), _ids(repo.cwd)
    peer = shlex.join([sys.executable, str(PEER), server, str(twin)])
    doc = json.loads(repo.ok("sync", "--exec", peer, "--json", "--stats").out)
    assert _ids(repo.cwd) == _ids(twin) == twin_ids | my_ids
    assert doc["stats"]["objects_received"] == len(twin_ids - my_ids)
    assert doc["stats"]["objects_sent"] == len(my_ids - twin_ids)
    repo.ok("fsck")
    repo.ok("fsck", cwd=twin)
