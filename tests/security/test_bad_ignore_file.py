"""An invalid ``.vcrdtignore`` line is skipped with a warning naming its file and line (issue 9, item 7).

The ignore file is repository content, so a fetched replica can bring any
line: one that is not a valid pattern must neither stop `status` or
`commit -A` (it used to exit 255 with a traceback) nor disable the file's
other lines.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner

BAD_LINES = ["!", "\\", "trailing\\", "!\\"]


def _hostile(lines: list[str]) -> list[object]:
    return [pytest.param(line, marks=pytest.mark.hostile, id=repr(line)) for line in lines]


@pytest.mark.parametrize("bad", _hostile(BAD_LINES))
def test_status_and_commit_skip_an_invalid_line(repo: CliRunner, bad: str) -> None:
    repo.write(".vcrdtignore", f"*.log\n{bad}\nbuild/\n")
    repo.write("keep.txt", "k\n")
    repo.write("noise.log", "n\n")
    repo.write("build/out.bin", "o\n")
    warning = f"warning: .vcrdtignore:2: invalid pattern {bad!r} (skipped)\n"
    r = repo("status")
    assert (r.code, r.err) == (0, warning)
    r = repo("status", "--json")
    assert (r.code, r.err) == (0, warning)
    assert json.loads(r.out)["untracked"] == [".vcrdtignore", "keep.txt"]  # the other lines still apply
    r = repo("commit", "-A", "-m", "one")
    assert (r.code, r.err.count(warning)) == (0, 1)
    assert repo.ok("log", "--stat").out.count("noise.log") == 0
    assert repo.ok("fsck").code == 0


@pytest.mark.hostile
def test_invalid_lines_in_a_subdirectory_are_reported_by_file_and_line(repo: CliRunner) -> None:
    repo.write("sub/.vcrdtignore", "ok.tmp\n\n# comment\n!\n*.o\n\\\n")
    repo.write("sub/ok.tmp", "t\n")
    repo.write("sub/x.o", "o\n")
    repo.write("sub/x.c", "c\n")
    r = repo("status", "--json", "-uall")
    assert r.code == 0
    assert r.err.splitlines() == [
        "warning: sub/.vcrdtignore:4: invalid pattern '!' (skipped)",
        "warning: sub/.vcrdtignore:6: invalid pattern '\\\\' (skipped)",
    ]
    assert json.loads(r.out)["untracked"] == ["sub/.vcrdtignore", "sub/x.c"]


@pytest.mark.hostile
def test_a_fetched_invalid_ignore_file_is_reported(repo: CliRunner, tmp_path: Path) -> None:
    peer = CliRunner(tmp_path / "peer")
    peer.cwd.mkdir()
    peer.ok("init")
    peer.write(".vcrdtignore", "*.log\n")
    peer.write("a.txt", "a\n")
    peer.ok("commit", "-A", "-m", "one")
    peer.write(".vcrdtignore", "*.log\n!\n")
    peer.ok("commit", "-m", "a line that is no pattern")
    r = repo("fetch", str(peer.cwd))
    assert r.code == 0, r.err
    assert (repo.cwd / ".vcrdtignore").read_text() == "*.log\n!\n"
    repo.write("x.log", "x\n")
    repo.write("b.txt", "b\n")
    r = repo("status", "--json")
    assert (r.code, r.err) == (0, "warning: .vcrdtignore:2: invalid pattern '!' (skipped)\n")
    assert json.loads(r.out)["untracked"] == ["b.txt"]
    r = repo("commit", "-A", "-m", "two")
    assert r.code == 0 and "invalid pattern '!'" in r.err
    assert "x.log" not in repo.ok("show", "--stat").out
