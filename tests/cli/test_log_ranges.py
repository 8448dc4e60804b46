"""`log A..B`, `log B ^A` and `log -- PATH` (issue 14), read as git reads them."""

from __future__ import annotations

import json

import pytest

from tests.helpers.cli import CliRunner


def _summaries(r: CliRunner, *args: str) -> list[str]:
    return [e["message"].splitlines()[0] for e in json.loads(r.ok("log", "--json", *args).out)]


@pytest.fixture
def hist(repo: CliRunner) -> CliRunner:
    repo.write("a.txt", "1\n")
    repo.ok("commit", "-A", "-m", "c1")
    repo.ok("branch", "old")
    repo.write("d/b.txt", "1\n")
    repo.ok("commit", "-A", "-m", "c2")
    repo.write("a.txt", "2\n")
    repo.ok("commit", "-m", "c3")
    return repo


def test_log_of_a_range(hist: CliRunner) -> None:
    assert _summaries(hist, "old..main") == ["c3", "c2"]
    assert _summaries(hist, "main", "^old") == ["c3", "c2"]
    assert _summaries(hist, "^old", "main") == ["c3", "c2"]
    assert _summaries(hist, "old..") == ["c3", "c2"]  # an empty side is HEAD
    assert _summaries(hist, "main..old") == []
    assert _summaries(hist, "-n", "1", "old..main") == ["c3"]
    assert "c2" in hist.ok("log", "--oneline", "HEAD~2..HEAD~1").out


def test_log_of_paths(hist: CliRunner) -> None:
    assert _summaries(hist, "--", "a.txt") == ["c3", "c1"]
    assert _summaries(hist, "main", "--", "d") == ["c2"]
    assert _summaries(hist, "d") == ["c2"]  # no revision by that name: an existing path
    assert _summaries(hist, "old..main", "--", "a.txt") == ["c3"]
    assert _summaries(hist, "--", "nothing/here") == []
    sub = hist.cwd / "d"
    assert [e["message"].splitlines()[0] for e in json.loads(hist.ok("log", "--json", "--", "b.txt", cwd=sub).out)] == [
        "c2"
    ]


def test_log_range_bad_inputs(hist: CliRunner) -> None:
    r = hist("log", "nosuch..main")
    assert r.code == 1 and r.err.startswith("error:") and "nosuch" in r.err
    r = hist("log", "old...main")
    assert r.code == 1 and "A...B" in r.err
    r = hist("log", "neither-rev-nor-path")
    assert r.code == 1 and "neither-rev-nor-path" in r.err
    r = hist("log", "--", "../outside")
    assert r.code == 1 and "outside the repository" in r.err
    assert "0 problems" in hist.ok("fsck").err
