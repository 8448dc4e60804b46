"""`vcrdt git export` creates its target git repository whole or not at all.

The repository is laid out in a scratch directory beside the target (``.NAME.vcrdt-init-PID``)
and renamed into place. A process killed between the two leaves only the scratch directory; the
next export removes it (its process is gone) and creates the target. Before this, a kill while
libgit2 laid the repository out left a half-made directory that every later export refused as
"not a git repository".
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.helpers.killed import KILLED_BEFORE_RENAME
from tests.interop.gitbuild import git

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")

# Runs the CLI, killed (SIGKILL) when it would put the scratch repository in place.
_KILLED_EXPORT = (
    KILLED_BEFORE_RENAME
    + """
from vcrdt.cli import main
sys.argv = ["vcrdt", *sys.argv[1:]]
main()
"""
)


def _repo(cli: CliRunner) -> None:
    cli.ok("init")
    cli.write("a.txt", "one\n")
    cli.ok("commit", "-A", "-m", "one")


def _scratch(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".vcrdt-init-" in p.name)


def _head(gitdir: Path) -> str:
    return git(gitdir, "rev-parse", "refs/heads/main").decode().strip()


def test_a_kill_before_the_rename_leaves_no_target_and_the_next_export_creates_it(
    cli: CliRunner, tmp_path: Path
) -> None:
    _repo(cli)
    out = tmp_path / "out.git"
    env = dict(os.environ, VCRDT_NO_SERVER="1")
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_EXPORT, "git", "export", "--quiet", str(out)],
        cwd=cli.cwd,
        env=env,
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    assert not out.exists()
    assert len(_scratch(tmp_path)) == 1  # the half-done work, under the dead process's id
    cli.ok("git", "export", "--quiet", str(out))
    assert _scratch(tmp_path) == []
    git(out, "fsck", "--strict")
    assert len(_head(out)) == 40


def test_a_scratch_directory_of_a_running_process_is_left_alone(cli: CliRunner, tmp_path: Path) -> None:
    _repo(cli)
    with subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE) as other:
        theirs = tmp_path / f".out.git.vcrdt-init-{os.uname().nodename}-{other.pid}-0123abcd"
        theirs.mkdir()
        (theirs / "HEAD").write_text("ref: refs/heads/main\n")
        cli.ok("git", "export", "--quiet", str(tmp_path / "out.git"))
        assert theirs.is_dir() and (theirs / "HEAD").exists()
        other.communicate(b"")
    assert _scratch(tmp_path) == [theirs.name]


def test_an_existing_empty_directory_becomes_the_repository(cli: CliRunner, tmp_path: Path) -> None:
    _repo(cli)
    out = tmp_path / "empty.git"
    out.mkdir()
    cli.ok("git", "export", "--quiet", str(out))
    git(out, "fsck", "--strict")
    assert _scratch(tmp_path) == []


def test_an_empty_working_directory_is_created_in_place(cli: CliRunner, tmp_path: Path) -> None:
    """Renaming over the directory the command runs in would leave it in a deleted directory."""
    _repo(cli)
    out = tmp_path / "here.git"
    out.mkdir()
    inode = out.stat().st_ino
    cli.ok("-C", str(cli.cwd), "git", "export", "--quiet", str(out), cwd=out)
    git(out, "fsck", "--strict")
    assert out.stat().st_ino == inode  # the same directory, not one renamed over it
    assert _scratch(tmp_path) == []


def test_a_missing_parent_is_created(cli: CliRunner, tmp_path: Path) -> None:
    _repo(cli)
    out = tmp_path / "a" / "b" / "out.git"
    cli.ok("git", "export", "--quiet", str(out))
    git(out, "fsck", "--strict")
    assert _scratch(out.parent) == []


def test_a_symlink_to_an_empty_directory_gets_the_repository_in_that_directory(cli: CliRunner, tmp_path: Path) -> None:
    _repo(cli)
    (tmp_path / "real").mkdir()
    (tmp_path / "link.git").symlink_to(tmp_path / "real")
    cli.ok("git", "export", "--quiet", str(tmp_path / "link.git"))
    assert (tmp_path / "link.git").is_symlink()
    git(tmp_path / "real", "fsck", "--strict")
    assert len(_head(tmp_path / "real")) == 40
    assert _scratch(tmp_path) == []


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])  # refs set by libgit2, and by git update-ref
def test_a_ref_lock_left_by_a_killed_export_is_cleared_by_the_next(
    cli: CliRunner, tmp_path: Path, object_format: str
) -> None:
    # A kill between making refs/heads/main.lock and renaming it into place leaves the lock. The
    # next export removes it once no live writer can hold it (a git process holds a ref's lock
    # for milliseconds), and sets the ref.
    _repo(cli)
    out = tmp_path / "out.git"
    cli.ok("git", "export", "--quiet", "--object-format", object_format, str(out))
    cli.write("a.txt", "two\n")
    cli.ok("commit", "-m", "two")
    lock = out / "refs" / "heads" / "main.lock"
    lock.write_text("0" * 40 + "\n")
    os.utime(lock, (1_000_000_000, 1_000_000_000))  # long dead
    cli.ok("git", "export", "--quiet", str(out))
    assert not lock.exists()
    git(out, "fsck", "--strict")
    assert _head(out) == git(out, "rev-parse", "main").decode().strip()
    # A fresh one is waited for, then removed the same way.
    cli.write("a.txt", "three\n")
    cli.ok("commit", "-m", "three")
    lock.write_text("0" * 40 + "\n")
    cli.ok("git", "export", "--quiet", str(out))
    assert not lock.exists()
    assert git(out, "log", "-1", "--format=%s", "main").decode().strip() == "three"


def test_a_ref_lock_that_is_not_a_file_is_an_error_not_removed(cli: CliRunner, tmp_path: Path) -> None:
    _repo(cli)
    out = tmp_path / "out.git"
    cli.ok("git", "export", "--quiet", str(out))
    cli.write("a.txt", "two\n")
    cli.ok("commit", "-m", "two")
    lock = out / "refs" / "heads" / "main.lock"
    lock.mkdir()
    r = cli("git", "export", "--quiet", str(out))
    assert r.code == 1
    assert r.err.startswith("error: ") and "main.lock" in r.err and "cannot set refs/heads/main" in r.err
    assert lock.is_dir()
