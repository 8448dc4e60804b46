"""`vcrdt concurrent` and `log --clock`: causality from vector clocks, checked against the DAG."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.helpers.cli import CliRunner
from vcrdt import porcelain
from vcrdt.dag import is_ancestor
from vcrdt.ids import ObjectId
from vcrdt.repo import Repository, Settings


def test_concurrent_branches_and_check(repo: CliRunner) -> None:
    repo.write("f", "1\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("switch", "-c", "side")
    repo.write("f", "side\n")
    repo.ok("commit", "-m", "side")
    repo.ok("switch", "main")
    repo.write("g", "main\n")
    repo.ok("commit", "-A", "-m", "main")
    assert repo.ok("concurrent", "main", "side").out == "concurrent\n"
    assert repo.ok("concurrent", "main~1", "side").out == "before\n"
    assert repo.ok("concurrent", "side", "main~1").out == "after\n"
    assert repo.ok("concurrent", "main", "main").out == "equal\n"
    assert repo("concurrent", "main", "side", "--check", "concurrent").code == 0
    assert repo("concurrent", "main", "side", "--check", "before").code == 1
    assert repo("concurrent", "main", "side", "--check", "sideways").code == 2
    doc = json.loads(repo.ok("concurrent", "--json", "main~1", "main").out)
    assert doc["relation"] == "before"
    repo.ok("merge", "side")
    assert repo.ok("concurrent", "side", "main").out == "before\n"
    line = repo.ok("log", "--oneline", "--clock", "-n", "1").out
    assert "[lamport 3, clock {" in line


def _dag_relation(repo: Repository, a: ObjectId, b: ObjectId) -> str:
    if a == b:
        return "equal"
    if is_ancestor(repo.store, a, b):
        return "before"
    if is_ancestor(repo.store, b, a):
        return "after"
    return "concurrent"


def test_clocks_agree_with_the_dag_on_random_histories(tmp_path: Path) -> None:
    """Random commits on random branches, with merges: every pair's clock relation matches the DAG."""
    rng = random.Random(4)
    settings = Settings(author_name="R", author_email="r@example.com")
    root = tmp_path / "r"
    root.mkdir()
    porcelain.init(root, settings)
    repo = Repository(root, settings)
    (root / "f").write_text("0\n")
    porcelain.commit(repo, "root", cwd=root, addremove=True)
    branches = ["main"]
    commits: list[ObjectId] = [repo.resolve("HEAD")]
    for i in range(40):
        action = rng.random()
        if action < 0.2:
            name = f"b{i}"
            porcelain.branch_create(repo, name, rng.choice(branches))
            branches.append(name)
            continue
        target = rng.choice(branches)
        porcelain.switch(repo, target, force=True)
        if action < 0.35 and len(branches) > 1:
            other = rng.choice([b for b in branches if b != target])
            outcome = porcelain.merge(repo, other, message=f"merge {other}")
            if outcome.status == "conflicts":
                porcelain.merge_abort(repo)
                continue
        else:
            (root / f"file{i % 5}").write_text(f"{i}\n")
            porcelain.commit(repo, f"c{i}", cwd=root, addremove=True)
        commits.append(repo.resolve("HEAD"))
    unique = sorted(set(commits))
    for a in unique:
        for b in unique:
            got = porcelain.concurrent(repo, a.hex(), b.hex()).relation
            assert got == _dag_relation(repo, a, b), (a.hex()[:8], b.hex()[:8])
    repo.close()
