"""Branch deletion between replicas: add-wins by dot (issue 11, failure 3).

A deletion removes exactly the (head, dot) entries it saw; a creation it did
not see survives, and a head it saw never comes back, even through a local
re-creation of the branch.
"""

from __future__ import annotations

import json
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
