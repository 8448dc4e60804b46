"""`diff A..B`, `diff A...B`, `diff [REV] -- PATH...` and `diff -p` (issue 14), read as git reads them."""

from __future__ import annotations

import json

import pytest

from tests.helpers.cli import CliRunner


def _files(r: CliRunner, *args: str) -> list[str]:
    return [f["path"] for f in json.loads(r.ok("diff", "--json", *args).out)["files"]]


@pytest.fixture
def hist(repo: CliRunner) -> CliRunner:
    repo.write("a.txt", "1\n")
    repo.write("d/b.txt", "1\n")
    repo.ok("commit", "-A", "-m", "c1")
    repo.ok("branch", "side")
    repo.write("a.txt", "2\n")
    repo.ok("commit", "-m", "c2")
    repo.write("d/b.txt", "2\n")
    repo.ok("commit", "-m", "c3")
    repo.ok("switch", "side")
    repo.write("s.txt", "side\n")
    repo.ok("commit", "-A", "-m", "s1")
    repo.ok("switch", "main")
    return repo


def test_diff_of_a_range(hist: CliRunner) -> None:
    assert hist.ok("diff", "HEAD~2..HEAD").out == hist.ok("diff", "HEAD~2", "HEAD").out
    assert _files(hist, "HEAD~2..HEAD") == ["a.txt", "d/b.txt"]
    assert _files(hist, "HEAD~1..") == ["d/b.txt"]  # an empty side is HEAD
    assert _files(hist, "..HEAD~1") == ["d/b.txt"]
    assert _files(hist, "HEAD..HEAD") == []
    # Two commits: what changed between them, both ways; A...B: only what B did since they forked.
    assert _files(hist, "main..side") == ["a.txt", "d/b.txt", "s.txt"]
    assert _files(hist, "main...side") == ["s.txt"]
    assert _files(hist, "side...main") == ["a.txt", "d/b.txt"]
    out = hist.ok("diff", "side...main", "--", "a.txt").out
    assert out == "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-1\n+2\n"


def test_diff_of_paths(hist: CliRunner) -> None:
    hist.write("a.txt", "3\n")
    hist.write("d/b.txt", "3\n")
    assert _files(hist) == ["a.txt", "d/b.txt"]
    assert _files(hist, "--", "a.txt") == ["a.txt"]
    assert _files(hist, "a.txt") == ["a.txt"]  # no revision by that name: an existing path
    assert _files(hist, "HEAD~2", "--", "d") == ["d/b.txt"]
    assert _files(hist, "HEAD~2", "HEAD", "--", "d", "a.txt") == ["a.txt", "d/b.txt"]
    assert _files(hist, "HEAD~2..HEAD", "--", "d") == ["d/b.txt"]
    assert _files(hist, "--path", "a.txt", "--", "d") == ["a.txt", "d/b.txt"]
    sub = hist.cwd / "d"
    assert [f["path"] for f in json.loads(hist.ok("diff", "--json", "--", "b.txt", cwd=sub).out)["files"]] == [
        "d/b.txt"
    ]


def test_diff_p_is_the_patch_as_in_git(hist: CliRunner) -> None:
    patch = hist.ok("diff", "HEAD~1", "HEAD").out
    assert patch.startswith("diff --git a/d/b.txt b/d/b.txt\n")
    assert hist.ok("diff", "-p", "HEAD~1", "HEAD").out == patch
    assert hist.ok("diff", "--patch", "HEAD~1", "HEAD").out == patch
    stat = hist.ok("diff", "--stat", "HEAD~1", "HEAD").out
    assert "diff --git" not in stat
    assert hist.ok("diff", "--stat", "-p", "HEAD~1", "HEAD").out == stat + "\n" + patch  # git's order: stat, patch


def test_diff_range_bad_inputs(hist: CliRunner) -> None:
    for args, message in [
        (("nosuch..main",), "error: unknown revision: nosuch"),
        (("main..nosuch",), "error: unknown revision: nosuch"),
        (("nosuch...main",), "error: unknown revision: nosuch"),
        (("neither-rev-nor-path",), "error: unknown revision: neither-rev-nor-path"),
        (("--", "../outside"), "error: ../outside: is outside the repository"),
    ]:
        r = hist("diff", *args)
        assert (r.code, r.out, r.err.splitlines()[0]) == (1, "", message), args
    r = hist("diff", "HEAD~1..HEAD", "HEAD")
    assert r.code == 2 and "at most two revisions, or one range A..B" in r.err
    r = hist("diff", "HEAD", "HEAD~1", "HEAD~2")
    assert r.code == 2 and "at most two revisions" in r.err
    assert "0 problems" in hist.ok("fsck").err
