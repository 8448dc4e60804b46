"""`vcrdt log --stat` and `log -p` print what `git log` prints, on the same history.

The histories are drawn: commits of files with names of every length and changes of every size
(so names are cut and bars scaled), deletions only, a file emptied, a binary file, a merge (no diff in git's
log, but its first parent's with --first-parent), at terminal widths from narrow to wide. They
are made with git, imported with `vcrdt git import`, and both logs compared without the lines
that carry ids (``commit``, ``Merge:``, ``index``), which differ between the two.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.cli import CliRunner

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")

_ID_LINES = ("commit ", "Merge: ", "index ")
_clock = [1_700_000_000]


def _git(cwd: Path, *args: str, columns: int = 80) -> str:
    _clock[0] += 1  # each commit a second later: git's log and vcrdt's then list them in one order
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd),
        "COLUMNS": str(columns),
        "GIT_AUTHOR_NAME": "A",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "A",
        "GIT_COMMITTER_EMAIL": "a@x",
        "GIT_AUTHOR_DATE": f"{_clock[0]} +0000",
        "GIT_COMMITTER_DATE": f"{_clock[0]} +0000",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return done.stdout.decode("utf-8", "replace")


def _without_ids(text: str) -> list[str]:
    return [line for line in text.split("\n") if not line.startswith(_ID_LINES)]


names = st.text(alphabet="abcdefghij_/", min_size=1, max_size=90).filter(
    lambda n: not n.startswith("/") and not n.endswith("/") and "//" not in n
)
# Per commit: for each file, how many lines it has afterwards (0: deleted) and which are changed.
commit_spec = st.dictionaries(names, st.tuples(st.integers(0, 400), st.integers(0, 7)), min_size=1, max_size=4)


def _write(src: Path, files: dict[str, tuple[int, int]], step: int) -> None:
    for name, (count, salt) in files.items():
        path = src / name
        if count == 0:
            if path.is_file():
                path.unlink()
            continue
        if path.is_dir() or any(parent.is_file() for parent in path.parents if parent != src):
            continue  # a name that is a directory here, or under a file: left out of this commit
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"line {i} {(i * salt + step) % 5 if salt else 0}\n" for i in range(count)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(commits=st.lists(commit_spec, min_size=1, max_size=4), columns=st.sampled_from([40, 80, 200]))
def test_stats_and_patches_print_as_git_prints_them(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, commits: list[dict[str, tuple[int, int]]], columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        _git(src, "init", "-q", "-b", "main")
        _git(src, "commit", "-q", "--allow-empty", "-m", "root")
        _git(src, "checkout", "-q", "-b", "side")
        (src / "side.txt").write_text("side\n" * 30)
        _git(src, "add", "-A")
        _git(src, "commit", "-q", "-m", "on side")
        _git(src, "checkout", "-q", "main")  # side.txt is git's: the checkout takes it away
        for step, files in enumerate(commits):
            _write(src, files, step)
            (src / "data.bin").write_bytes(b"\0" + bytes(range(step * 97 % 256)))  # "Bin OLD -> NEW bytes"
            _git(src, "add", "-A")
            _git(src, "commit", "-q", "--allow-empty", "-m", f"c{step}")
        _git(src, "merge", "-q", "--no-ff", "-m", "merge side", "side")
        dst = Path(tmp) / "dst"
        cli.ok("init", str(dst))
        cli.ok("git", "import", str(src), "-q", cwd=dst)
        for args in (["--stat"], ["-p"], ["--stat", "--first-parent"], ["-p", "--first-parent"]):
            ours = cli.ok("--no-pager", "log", *args, cwd=dst).out
            theirs = _git(src, "log", *args, columns=columns)
            assert _without_ids(ours) == _without_ids(theirs), args
