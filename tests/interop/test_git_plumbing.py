"""git's commands as `vcrdt.gitio.plumbing` runs them (`GitProcess`, not `subprocess`): input, output, errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.interop.gitbuild import git, init
from vcrdt.errors import GitInteropError
from vcrdt.gitio.plumbing import GitDir, GitProcess, _run

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")


def test_run_returns_output_error_output_and_exit_code(tmp_path: Path) -> None:
    g = init(tmp_path / "g")
    ok = _run(["--git-dir", str(g / ".git"), "rev-parse", "--is-bare-repository"])
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, b"false\n", b"")
    bad = _run(["--git-dir", str(g / ".git"), "rev-parse", "--verify", "no-such-ref"])
    assert bad.returncode == 128 and bad.stdout == b""
    assert b"Needed a single revision" in bad.stderr


def test_run_feeds_more_input_than_a_pipe_holds(tmp_path: Path) -> None:
    """Input past the pipe's buffer, answered line by line: written by a thread, so nothing blocks."""
    g = init(tmp_path / "g")
    (g / "a.txt").write_text("a\n")
    git(g, "add", "a.txt")
    git(g, "commit", "-q", "-m", "a")
    head = git(g, "rev-parse", "HEAD")
    res = _run(["--git-dir", str(g / ".git"), "cat-file", "--batch-check"], stdin=head * 20_000)
    assert res.returncode == 0
    assert res.stdout.count(b" commit ") == 20_000


def test_a_git_directory_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    """`git -C` (no working-directory change in this process) finds a linked work tree's directories."""
    g = init(tmp_path / "g")
    (g / "a.txt").write_text("a\n")
    git(g, "add", "a.txt")
    git(g, "commit", "-q", "-m", "a")
    git(g, "worktree", "add", "-q", str(tmp_path / "linked"))
    gd = GitDir(tmp_path / "linked")
    assert gd.common == (g / ".git").resolve() and gd.hash_name == "sha1"
    assert os.getcwd() != str(tmp_path / "linked")


def test_no_git_command_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GitInteropError, match="cannot run git cat-file"):
        GitProcess(["version"], what="git cat-file")
    with pytest.raises(GitInteropError, match="cannot run git"):
        _run(["version"])


def test_a_killed_reader_is_reaped_and_its_pipes_closed(tmp_path: Path) -> None:
    g = init(tmp_path / "g")
    proc = GitProcess(["--git-dir", str(g / ".git"), "cat-file", "--batch"], stdin=True, stdout=True)
    proc.kill()
    assert proc.wait() == -9
    proc.close()
    assert proc.stdin is not None and proc.stdin.closed and proc.stdout is not None and proc.stdout.closed
    with pytest.raises(ChildProcessError):
        os.waitpid(proc.pid, os.WNOHANG)
