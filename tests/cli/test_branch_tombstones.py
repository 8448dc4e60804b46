"""Branch deletion between replicas: add-wins by dot (issue 11, failure 3).

A deletion removes exactly the (head, dot) entries it saw; a creation it did
not see survives, and a head it saw never comes back, even through a local
re-creation of the branch.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


def _replica(root: Path, name: str) -> CliRunner:
    r = CliRunner(root / name)
    r.cwd.mkdir()
    r.ok("init")
    return r


def _heads(r: CliRunner, branch: str) -> list[str]:
    for b in json.loads(r.ok("branch", "--json").out):
        if b["name"] == branch:
            return sorted(b["heads"])
    return []


def _head(r: CliRunner) -> str:
    return str(json.loads(r.ok("log", "--json", "-n", "1").out)[0]["id"])


@pytest.fixture
def pair(cli: CliRunner) -> tuple[CliRunner, CliRunner]:
    """Two replicas, a and b, sharing one base commit (b fetched it)."""
    a = _replica(cli.cwd, "a")
    b = _replica(cli.cwd, "b")
    a.write("notes.txt", "one\n")
    a.ok("commit", "-A", "-m", "base")
    b.ok("fetch", "../a")
    return a, b


def test_branch_recreated_after_a_concurrent_deletion_survives(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    a.ok("branch", "f")
    b.ok("fetch", "../a")
    b.ok("branch", "-D", "f")
    r = a.ok("fetch", "../b")
    assert "f: deleted" in r.out
    assert _heads(a, "f") == []
    a.ok("branch", "f")  # a new creation, which b's deletion never saw
    base = _head(a)
    r = a.ok("fetch", "../b")
    assert "f: deleted" not in r.out
    assert _heads(a, "f") == [base]
    b.ok("fetch", "../a")  # and b takes the re-creation in
    assert _heads(b, "f") == [base]


def test_head_the_deletion_saw_never_returns(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    a.ok("switch", "-c", "exp")
    a.write("x.txt", "x\n")
    a.ok("commit", "-A", "-m", "X")
    x = _head(a)
    a.ok("switch", "main")
    b.ok("fetch", "../a")
    assert _heads(b, "exp") == [x]
    a.ok("branch", "-D", "exp")
    a.write("y.txt", "y\n")
    a.ok("commit", "-A", "-m", "Y")
    y = _head(a)
    a.ok("branch", "exp")
    a.ok("fetch", "../b")
    assert _heads(a, "exp") == [y]
    b.ok("fetch", "../a")  # b learns of the deletion of X and of the new exp
    assert _heads(b, "exp") == [y]


def _downgrade(r: CliRunner, *, deleted: dict[str, str] | None = None) -> None:
    """Turn a replica's database into the form an earlier build wrote: heads and head-keyed tombstones only."""
    db = sqlite3.connect(r.cwd / ".vcrdt" / "store.db")
    with db:
        db.execute("DROP TABLE ref_entries")
        db.execute("DROP TABLE ref_context")
        db.execute("DELETE FROM meta WHERE key = 'refstate'")
        for name, head in (deleted or {}).items():
            db.execute("DELETE FROM refs WHERE name = ?", (f"refs/heads/{name}",))
            db.execute(
                "INSERT INTO ref_tombstones(name, head) VALUES (?, ?)", (f"refs/heads/{name}", bytes.fromhex(head))
            )
    db.close()


def test_old_tombstones_keep_killing_old_heads_after_the_upgrade(pair: tuple[CliRunner, CliRunner]) -> None:
    a, b = pair
    base = _head(a)
    a.ok("branch", "g")
    b.ok("fetch", "../a")
    b.ok("branch", "h")
    _downgrade(a, deleted={"g": base})  # a deleted g under the earlier build
    _downgrade(b)
    # b is read in the old form (a fetch never writes the other replica); a upgrades when opened.
    r = a.ok("fetch", "../b")
    assert "h: new at" in r.out
    assert _heads(a, "g") == [] and _heads(a, "h") == [base]
    r = b.ok("fetch", "../a")  # b upgrades now: its g has the same legacy dot as a's tombstone
    assert "g: deleted" in r.out
    assert _heads(b, "g") == [] and _heads(b, "h") == [base]
    db = sqlite3.connect(b.cwd / ".vcrdt" / "store.db")
    assert db.execute("SELECT value FROM meta WHERE key = 'refstate'").fetchone() == ("2",)
    assert db.execute("SELECT COUNT(*) FROM ref_tombstones").fetchone() == (0,)
    db.close()
    assert json.loads(a.ok("fsck", "--json").out)["problems"] == []


def test_fsck_checks_the_branch_state(repo: CliRunner) -> None:
    repo.write("a.txt", "a\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("branch", "f")
    head = _head(repo)
    assert json.loads(repo.ok("fsck", "--json").out)["problems"] == []
    db = sqlite3.connect(repo.cwd / ".vcrdt" / "store.db")
    with db:
        db.execute("DELETE FROM ref_entries WHERE name = 'refs/heads/f'")
    db.close()
    problems = json.loads(repo("fsck", "--json").out)["problems"]
    assert problems == [{"object": "refs/heads/f", "message": f"shows {head[:12]} but its live entries give nothing"}]
    db = sqlite3.connect(repo.cwd / ".vcrdt" / "store.db")
    with db:
        db.execute("UPDATE ref_context SET counter = 0")
    db.close()
    problems = json.loads(repo("fsck", "--json").out)["problems"]
    assert problems == [{"object": "refs/heads/", "message": "branch state: malformed context"}]
