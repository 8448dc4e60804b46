"""Clocks keyed by replica: as many keys as replicas that committed, whatever the branching and merging.

Before format 2, every branch switch, fetch and automatic merge started a new clock key, so
these histories gave clocks with several keys per replica.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cli import CliRunner


def _log(runner: CliRunner) -> list[dict[str, object]]:
    doc = json.loads(runner.ok("log", "--json").out)
    return doc if isinstance(doc, list) else doc["commits"]


def _keys(commit: dict[str, object]) -> set[str]:
    clock = commit["clock"]
    assert isinstance(clock, dict)
    return set(clock)


def test_one_replica_on_several_branches_has_one_key(repo: CliRunner) -> None:
    repo.write("f", "0\n")
    repo.ok("commit", "--addremove", "-m", "root")
    for i in range(3):
        for branch in ("side", "main"):
            repo.ok("switch", "-c", branch) if i == 0 and branch == "side" else repo.ok("switch", branch)
            repo.write(f"{branch}.txt", f"{i}\n")
            repo.ok("commit", "--addremove", "-m", f"{branch} {i}")
    repo.ok("merge", "side", "-m", "join side")
    commits = _log(repo)
    assert len(commits) == 8
    replicas = {c["replica"] for c in commits}
    assert len(replicas) == 1
    assert all(_keys(c) == replicas for c in commits)
    # main's commits skipped side's counters: those are gaps until the merge joins them
    merge = next(c for c in commits if c["message"] == "join side\n")
    before = next(c for c in commits if c["message"] == "main 2\n")
    assert merge["gaps"] == {} and merge["clock"] == {next(iter(replicas)): 8}
    assert before["gaps"] == {next(iter(replicas)): [[2, 2], [4, 4], [6, 6]]}
    line = repo.ok("log", "--oneline", "--clock", "-n", "1", "main~1").out
    assert f"clock {{{str(next(iter(replicas)))[:8]}:7 except 2,4,6}}" in line


def test_fetches_and_automatic_merges_add_no_keys(cli: CliRunner, tmp_path: Path) -> None:
    work = tmp_path / "work"
    a, b = CliRunner(work / "a"), CliRunner(work / "b")
    cli.ok("init", "a")
    a.write("f", "0\n")
    a.ok("commit", "--addremove", "-m", "root")
    cli.ok("init", "b")
    b.ok("fetch", "../a")
    for i in range(3):
        a.write("a.txt", f"{i}\n")
        a.ok("commit", "--addremove", "-m", f"a {i}")
        b.write("b.txt", f"{i}\n")
        b.ok("commit", "--addremove", "-m", f"b {i}")
        a.ok("fetch", "../b")
        b.ok("fetch", "../a")
        a.ok("merge", "--auto")
        b.ok("merge", "--auto")
        assert _log(a)[0]["id"] == _log(b)[0]["id"]  # the same convergent merge on both
    commits = _log(b)
    automatic = [c for c in commits if c["message"] == "Merge concurrent heads (automatic)\n"]
    assert automatic
    makers = {c["replica"] for c in commits if c not in automatic}
    assert len(makers) == 2
    assert all(_keys(c) <= makers for c in commits)
    assert b.ok("fsck").code == 0
    assert b.ok("concurrent", automatic[0]["id"], "HEAD").out in ("before\n", "equal\n")


def test_a_format_1_repository_is_refused_with_a_hint(repo: CliRunner) -> None:
    (repo.cwd / ".vcrdt" / "format").write_text("vcrdt repository format 1\n")
    r = repo("status")
    assert r.code == 1
    assert "unsupported format 'vcrdt repository format 1': its commits' vector clocks are keyed by actors" in r.err
    assert "hint: this vcrdt reads format 2 only" in r.err
