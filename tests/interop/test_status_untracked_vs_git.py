"""`vcrdt status` lists untracked files as `git status` lists them, in its -u modes.

By default (``normal``) a directory that holds no tracked file is one ``dir/`` line, however
many files are under it; ``-u all`` lists each file, ``-u no`` none. The same files are
tracked in a git and a vcrdt work tree, others left untracked in both, and the ``??`` lines of
both porcelain outputs compared.
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

paths = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4).map("/".join)


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    env |= {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@x"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _untracked(porcelain: str) -> list[str]:
    return [line[3:] for line in porcelain.splitlines() if line.startswith("?? ")]


def _place(root: Path, files: list[str]) -> list[str]:
    """Write the files that fit (a name that is a directory already, or under a file, is skipped)."""
    placed = []
    for name in files:
        path = root / name
        if path.exists() or any(parent.is_file() for parent in path.parents):
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name + "\n")
        placed.append(name)
    return placed


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tracked=st.lists(paths, min_size=1, max_size=6), untracked=st.lists(paths, max_size=8))
def test_untracked_files_are_listed_as_git_lists_them(cli: CliRunner, tracked: list[str], untracked: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp) / "vcrdt", Path(tmp) / "git"
        ours.mkdir()
        theirs.mkdir()
        cli.ok("init", str(ours))
        _git(theirs, "init", "-q")
        kept = _place(ours, tracked)
        assert _place(theirs, tracked) == kept
        cli.ok("commit", "-A", "-m", "tracked", cwd=ours)
        _git(theirs, "add", "-A")
        _git(theirs, "commit", "-q", "-m", "tracked")
        assert _place(ours, untracked) == _place(theirs, untracked)
        for mode in ("normal", "all", "no"):
            got = _untracked(cli.ok("status", "--porcelain", f"--untracked-files={mode}", cwd=ours).out)
            assert got == _untracked(_git(theirs, "status", "--porcelain", f"--untracked-files={mode}")), mode
        assert _untracked(cli.ok("status", "--porcelain", cwd=ours).out) == _untracked(
            _git(theirs, "status", "--porcelain")
        )
