"""`vcrdt blame` (issue 14): git's layout, --json, -L, --porcelain, merges, renames, bad inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.test_editor_pager import PAGER, _finish, _script, _spawn
from tests.helpers.cli import CliRunner


def _ids(r: CliRunner) -> dict[str, str]:
    """Commit message (first line) -> full id, for every commit in the log."""
    return {e["message"].splitlines()[0]: e["id"] for e in json.loads(r.ok("log", "--json").out)}


def _owners(r: CliRunner, *args: str) -> list[tuple[str, str]]:
    """(commit message, text) per blamed line."""
    by_id = {v: k for k, v in _ids(r).items()}
    doc = json.loads(r.ok("blame", "--json", *args).out)
    return [(by_id[ln["commit"]], ln["text"]) for ln in doc["lines"]]


@pytest.fixture
def hist(repo: CliRunner) -> CliRunner:
    repo.write("f.txt", "one\ntwo\nthree\n")
    repo.ok("commit", "-A", "-m", "first")
    repo.write("f.txt", "one\nTWO\nthree\nfour\n")
    repo.ok("commit", "-m", "second")
    return repo


LINE = re.compile(r"^(\^?[0-9a-f]{11,12}) \((.+?) +(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}) +(\d+)\) (.*)$")


def test_blame_layout_is_gits(hist: CliRunner) -> None:
    ids = _ids(hist)
    r = hist.ok("blame", "f.txt")
    rows = [LINE.match(line) for line in r.out.splitlines()]
    assert all(rows), r.out
    got = [(m[1], m[2], m[4], m[5]) for m in rows if m]
    first, second = ids["first"], ids["second"]
    assert got == [
        ("^" + first[:11], "Ada Lovelace", "1", "one"),
        (second[:12], "Ada Lovelace", "2", "TWO"),
        ("^" + first[:11], "Ada Lovelace", "3", "three"),
        (second[:12], "Ada Lovelace", "4", "four"),
    ]
    assert r.err == ""
    # An older revision blames that version of the file.
    assert _owners(hist, "f.txt", "HEAD~1") == [("first", "one"), ("first", "two"), ("first", "three")]


def test_blame_json_and_line_ranges(hist: CliRunner) -> None:
    doc = json.loads(hist.ok("blame", "--json", "-L", "2,3", "f.txt").out)
    assert doc["schema"] == 1 and doc["path"] == "f.txt" and doc["revision"] == _ids(hist)["second"]
    assert [(ln["line"], ln["text"]) for ln in doc["lines"]] == [(2, "TWO"), (3, "three")]
    one = doc["lines"][0]
    assert {k: one[k] for k in ("author", "email", "orig_line", "path", "boundary")} == {
        "author": "Ada Lovelace",
        "email": "ada@example.com",
        "orig_line": 2,
        "path": "f.txt",
        "boundary": False,
    }
    assert isinstance(one["timestamp"], int) and one["time"][:4].isdigit()
    assert doc["lines"][1]["boundary"] is True
    assert [ln["line"] for ln in json.loads(hist.ok("blame", "--json", "-L", "3,+2", "f.txt").out)["lines"]] == [3, 4]
    assert [ln["line"] for ln in json.loads(hist.ok("blame", "--json", "-L", "3,", "f.txt").out)["lines"]] == [3, 4]
    assert [ln["line"] for ln in json.loads(hist.ok("blame", "--json", "-L", ",2", "f.txt").out)["lines"]] == [1, 2]
    assert [ln["line"] for ln in json.loads(hist.ok("blame", "--json", "-L", "3,2", "f.txt").out)["lines"]] == [2, 3]
    assert len(hist.ok("blame", "-L", "4,4", "f.txt").out.splitlines()) == 1


def test_blame_porcelain(hist: CliRunner) -> None:
    ids = _ids(hist)
    out = hist.ok("blame", "--porcelain", "f.txt").out.splitlines()
    assert out[0] == f"{ids['first']} 1 1 1"
    assert "summary first" in out and "boundary" in out and "filename f.txt" in out
    assert out.count("\tTWO") == 1
    assert f"{ids['first']} 3 3 1" in out  # details only the first time a commit appears
    assert out.count("summary first") == 1


def test_blame_from_a_subdirectory_and_without_final_newline(repo: CliRunner) -> None:
    repo.write("d/g.txt", "x\ny")
    repo.ok("commit", "-A", "-m", "only")
    by_id = {v: k for k, v in _ids(repo).items()}
    doc = json.loads(repo.ok("blame", "--json", "g.txt", cwd=repo.cwd / "d").out)
    assert [(by_id[ln["commit"]], ln["text"]) for ln in doc["lines"]] == [("only", "x"), ("only", "y")]
    assert repo.ok("blame", "d/g.txt").out.endswith(") y\n")


def _merged(repo: CliRunner) -> CliRunner:
    repo.write("f.txt", "a\nb\nc\nd\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.ok("switch", "-c", "side")
    repo.write("f.txt", "a\nb\nc\nD-side\n")
    repo.ok("commit", "-m", "side edit")
    repo.ok("switch", "main")
    repo.write("f.txt", "A-main\nb\nc\nd\n")
    repo.ok("commit", "-m", "main edit")
    repo.ok("merge", "--no-edit", "side")
    assert (repo.cwd / "f.txt").read_text() == "A-main\nb\nc\nD-side\n"
    return repo


def test_blame_follows_the_first_parent_of_a_merge(repo: CliRunner) -> None:
    _merged(repo)
    merge = next(m for m in _ids(repo) if m not in ("base", "side edit", "main edit"))
    assert _owners(repo, "f.txt") == [("main edit", "A-main"), ("base", "b"), ("base", "c"), (merge, "D-side")]
    assert _owners(repo, "--all-parents", "f.txt") == [
        ("main edit", "A-main"),
        ("base", "b"),
        ("base", "c"),
        ("side edit", "D-side"),
    ]


def test_blame_follows_a_rename(repo: CliRunner) -> None:
    repo.write("old.txt", "one\ntwo\n")
    repo.ok("commit", "-A", "-m", "create")
    repo.ok("mv", "old.txt", "new.txt")
    repo.ok("commit", "-m", "rename")
    repo.write("new.txt", "one\ntwo\nthree\n")
    repo.ok("commit", "-m", "grow")
    assert _owners(repo, "new.txt") == [("create", "one"), ("create", "two"), ("grow", "three")]
    doc = json.loads(repo.ok("blame", "--json", "new.txt").out)
    assert [ln["path"] for ln in doc["lines"]] == ["old.txt", "old.txt", "new.txt"]
    out = repo.ok("blame", "new.txt").out.splitlines()
    assert " old.txt (" in out[0] and " new.txt (" in out[2]  # git's file-name column when a line was elsewhere


def test_blame_bad_inputs(hist: CliRunner) -> None:
    hist.write("bin.dat", b"\x00\x01binary")
    hist.ok("commit", "-A", "-m", "binary")
    cases = [
        (("blame", "nope.txt"), "error: no such file 'nope.txt' in HEAD"),
        (("blame", "f.txt", "nosuch"), "error: unknown revision: nosuch"),
        (("blame", "bin.dat"), "error: cannot blame binary file: bin.dat"),
        (("blame", "bin.dat", "HEAD~1"), "error: no such file 'bin.dat' in HEAD~1"),
        (("blame", "-L", "9,12", "f.txt"), "error: file f.txt has only 4 lines"),
        (("blame", "-L", "x,y", "f.txt"), "error: invalid line range 'x,y': expected START,END"),
        (("blame", "-L", "0,2", "f.txt"), "error: invalid line range '0,2': lines are numbered from 1"),
        (("blame", "."), "error: no such file '.' in HEAD"),
        (("blame", "../outside.txt"), "error: ../outside.txt: is outside the repository"),
    ]
    for args, message in cases:
        r = hist(*args)
        assert (r.code, r.out, r.err.splitlines()[0]) == (1, "", message), args
    assert "0 problems" in hist.ok("fsck").err


def test_blame_in_an_empty_repository(repo: CliRunner) -> None:
    r = repo("blame", "f.txt")
    assert r.code == 1 and r.err.startswith("error: HEAD has no commits yet")


def test_blame_pages_on_a_terminal(hist: CliRunner, tmp_path: Path) -> None:
    pager = _script(tmp_path / "blame.sh", PAGER.format(dir=tmp_path, name="blame"))
    child, _ = _spawn(["blame", "f.txt"], hist.cwd, {"VCRDT_PAGER": str(pager)})
    code, out = _finish(child)
    assert code == 0, out
    paged = re.sub("\x1b\\[[0-9;]*m", "", (tmp_path / "blame.txt").read_text(encoding="utf-8"))
    assert re.search(r"Ada Lovelace .* 2\) TWO\n", paged), paged
    assert b"TWO" not in out


# The held lines move to a parent as runs (`_split`): the same lines, at the same places, as one
# line at a time would (the form blame first had).
def _split_one_by_one(
    lines: list[tuple[int, int, int]], blocks: list[tuple[int, int, int]]
) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    taken, left = set(), set()
    for final, idx, count in lines:
        for k in range(count):
            spot = next((i + idx + k - j for i, j, n in blocks if j <= idx + k < j + n), None)
            if spot is None:
                left.add((final + k, idx + k))
            else:
                taken.add((final + k, spot))
    return taken, left


def _lines(runs: list[tuple[int, int, int]]) -> set[tuple[int, int]]:
    return {(final + k, idx + k) for final, idx, count in runs for k in range(count)}


@settings(max_examples=300, deadline=None)
@given(
    held=st.lists(st.tuples(st.integers(0, 40), st.integers(1, 6)), max_size=6),
    gaps=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(1, 6)), max_size=6),
)
def test_runs_split_as_single_lines_do(held: list[tuple[int, int]], gaps: list[tuple[int, int, int]]) -> None:
    from vcrdt.porcelain.blaming import _split

    # Runs in any order, as several children hand a commit lines: the final lines apart.
    lines = [(100 * n, idx, count) for n, (idx, count) in enumerate(held)]
    blocks, i, j = [], 0, 0
    for skip_old, skip_new, n in gaps:  # matching blocks in order, apart on both sides
        i, j = i + skip_old, j + skip_new
        blocks.append((i, j, n))
        i, j = i + n, j + n
    taken, left = _split(lines, blocks)
    want_taken, want_left = _split_one_by_one(lines, blocks)
    assert _lines(taken) == want_taken and _lines(left) == want_left
    assert sum(c for *_, c in taken + left) == sum(c for *_, c in lines)
