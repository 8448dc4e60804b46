"""Git submodules (tree entries of mode 160000) in a vcrdt work tree: empty directories, as git leaves them.

A submodule vcrdt imported from git is not initialised here (vcrdt does not fetch other
repositories): checking it out makes an empty directory, status counts the directory as the
submodule (neither deleted nor untracked, whatever the user put in it), a switch to a commit
without it removes the directory if empty and leaves it when the user filled it, as git does;
export gives git the same gitlink.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.interop.gitbuild import git, init

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")


def _with_submodule(tmp_path: Path) -> tuple[Path, str]:
    """A git work tree: `before` has no submodule, `main` adds one (`git submodule add` of a second repository)."""
    lib = init(tmp_path / "lib")
    (lib / "lib.txt").write_text("library\n")
    git(lib, "add", "lib.txt")
    git(lib, "commit", "-q", "-m", "lib")
    g = init(tmp_path / "app")
    (g / "app.txt").write_text("app\n")
    git(g, "add", "app.txt")
    git(g, "commit", "-q", "-m", "app")
    git(g, "branch", "before")
    git(g, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "deps/lib")
    git(g, "commit", "-q", "-m", "add the library as a submodule")
    return g, git(lib, "rev-parse", "HEAD").decode().strip()


def _status(cli: CliRunner, v: Path) -> dict[str, list[str]]:
    doc = json.loads(cli.ok("status", "--json", cwd=v).out)
    return {k: doc[k] for k in ("modified", "added", "deleted", "removed", "untracked") if doc.get(k)}


def test_submodule_is_an_empty_directory_status_leaves_alone(cli: CliRunner, tmp_path: Path) -> None:
    src, lib_head = _with_submodule(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(src), "-q", cwd=v)
    sub = v / "deps" / "lib"
    assert sub.is_dir() and not sub.is_symlink() and list(sub.iterdir()) == []
    assert (v / ".gitmodules").is_file()
    assert _status(cli, v) == {}
    assert cli.ok("status", "--porcelain", cwd=v).out == ""
    cli.ok("fsck", cwd=v)
    # What the user puts in it is the submodule's, not untracked here (git leaves it alone too).
    (sub / "mine.txt").write_text("mine\n")
    assert _status(cli, v) == {}
    assert "deps/lib" not in cli.ok("ls-files", "--others", cwd=v).out
    # Export gives git back the gitlink (and the same commits).
    out = tmp_path / "out.git"
    cli.ok("git", "export", str(out), "-q", cwd=v)
    line = git(out, "ls-tree", "main", "deps/lib").decode()
    assert line.startswith(f"160000 commit {lib_head}\t"), line
    assert git(out, "rev-parse", "main") == git(src, "rev-parse", "main")
    git(out, "fsck", "--strict", "--no-dangling")


def test_switch_makes_and_removes_the_submodule_directory(cli: CliRunner, tmp_path: Path) -> None:
    src, _ = _with_submodule(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(src), "-q", cwd=v)
    sub = v / "deps" / "lib"
    cli.ok("switch", "before", cwd=v)
    assert not sub.exists() and not (v / "deps").exists()
    assert _status(cli, v) == {}
    cli.ok("switch", "main", cwd=v)
    assert sub.is_dir() and list(sub.iterdir()) == []
    assert _status(cli, v) == {}
    # A directory the user filled is left where it is (git: "unable to rmdir"); its files are then untracked.
    (sub / "mine.txt").write_text("mine\n")
    cli.ok("switch", "before", cwd=v)
    assert (sub / "mine.txt").read_text() == "mine\n"
    assert _status(cli, v) == {"untracked": ["deps/"]}  # a directory without a tracked file: as git lists it
    # Back again: the directory is there, and is the submodule once more.
    cli.ok("switch", "main", cwd=v)
    assert (sub / "mine.txt").read_text() == "mine\n"
    assert _status(cli, v) == {}


def test_submodule_added_by_cacheinfo_and_removed_in_git(cli: CliRunner, tmp_path: Path) -> None:
    """A gitlink git wrote with update-index (no .gitmodules), then removed in a later git commit."""
    g = init(tmp_path / "g")
    (g / "f.txt").write_text("f\n")
    git(g, "add", "f.txt")
    git(g, "update-index", "--add", "--cacheinfo", "160000," + "ab" * 20 + ",sub")
    git(g, "commit", "-q", "-m", "with a gitlink")
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(g), "-q", cwd=v)
    assert (v / "sub").is_dir() and _status(cli, v) == {}
    # A commit here keeps the gitlink as it was.
    (v / "f.txt").write_text("changed\n")
    cli.ok("commit", "-a", "-m", "edit f", cwd=v)
    out = tmp_path / "out.git"
    cli.ok("git", "export", str(out), "-q", cwd=v)
    assert git(out, "ls-tree", "main", "sub").decode().startswith("160000 commit " + "ab" * 20)
    git(out, "fsck", "--strict", "--no-dangling")
    # Removed in git: the next import (into a repository that did not move) removes the empty directory.
    w = tmp_path / "w"
    cli.ok("init", str(w))
    cli.ok("git", "import", str(g), "-q", cwd=w)
    assert (w / "sub").is_dir()
    git(g, "rm", "-q", "--cached", "sub")
    git(g, "commit", "-q", "-m", "drop the gitlink")
    cli.ok("git", "import", str(g), "-q", cwd=w)
    assert not (w / "sub").exists()
    assert _status(cli, w) == {}


def test_watched_status_leaves_the_submodule_directory_alone(cli: CliRunner, tmp_path: Path) -> None:
    """With the file-system monitor (the command server's path), a file put in the submodule is not untracked."""
    import os

    from tests.property.test_fsmonitor_status import SETTINGS, DirectMonitor
    from vcrdt import porcelain
    from vcrdt.daemon.monitor import Watcher
    from vcrdt.repo import Repository

    watcher = Watcher()
    if watcher.fd < 0:
        pytest.skip("no inotify here")
    try:
        src, _ = _with_submodule(tmp_path)
        v = tmp_path / "v"
        cli.ok("init", str(v))
        cli.ok("git", "import", str(src), "-q", cwd=v)
        repo = Repository(v, SETTINGS)
        try:
            monitor = DirectMonitor(watcher)
            repo.worktree.monitor = monitor
            assert repo.worktree.status().untracked == []  # the first look: a full one, saving the token
            (v / "deps" / "lib" / "mine.txt").write_text("mine\n")
            (v / "new.txt").write_text("new\n")
            fast = monitor.fast
            assert repo.worktree.status().untracked == ["new.txt"]
            assert monitor.fast == fast + 1  # answered from the monitor's changed paths, not a walk
            # A later write to that file alone (its directory unchanged) is still the submodule's.
            with open(v / "deps" / "lib" / "mine.txt", "a") as fh:
                fh.write("more\n")
            assert repo.worktree.status().untracked == ["new.txt"]
            assert monitor.fast == fast + 2
            # `add .` from the monitor's answer (the server's `add`) leaves it alone too.
            porcelain.add(repo, ["."], cwd=v)
            tracked = set(repo.worktree.table.states())
            assert "new.txt" in tracked and "deps/lib/mine.txt" not in tracked
        finally:
            repo.close()
    finally:
        os.close(watcher.fd)


def _add_dir_with_submodule(g: Path, message: str) -> None:
    """Commit in git `dir/x.txt` and a gitlink `dir/sub` beside it."""
    (g / "dir").mkdir()
    (g / "dir" / "x.txt").write_text("x\n")
    git(g, "add", "dir/x.txt")
    git(g, "update-index", "--add", "--cacheinfo", "160000," + "cd" * 20 + ",dir/sub")
    git(g, "commit", "-q", "-m", message)


def _imported(cli: CliRunner, tmp_path: Path, g: Path) -> Path:
    """A new vcrdt repository with `g` imported (its branch checked out)."""
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(g), "-q", cwd=v)
    return v


def test_a_filled_submodule_directory_survives_its_folder_emptied_by_a_switch(cli: CliRunner, tmp_path: Path) -> None:
    """The folder's tracked files and the submodule go in one switch: the user's files in it stay."""
    g = init(tmp_path / "g")
    (g / "top.txt").write_text("top\n")
    git(g, "add", "top.txt")
    git(g, "commit", "-q", "-m", "top")
    git(g, "branch", "bare")
    _add_dir_with_submodule(g, "dir with a submodule")
    v = _imported(cli, tmp_path, g)
    sub = v / "dir" / "sub"
    assert sub.is_dir()
    (sub / "mine.txt").write_text("mine\n")
    cli.ok("switch", "bare", cwd=v)
    assert (sub / "mine.txt").read_text() == "mine\n"
    assert not (v / "dir" / "x.txt").exists()
    assert _status(cli, v) == {"untracked": ["dir/"]}
    cli.ok("fsck", cwd=v)


def test_an_empty_submodule_directory_stays_when_its_folder_loses_every_file(cli: CliRunner, tmp_path: Path) -> None:
    """A switch deletes the folder's only file and keeps the submodule: its empty directory stays."""
    g = init(tmp_path / "g")
    _add_dir_with_submodule(g, "dir with a file and a submodule")
    git(g, "branch", "full")
    git(g, "rm", "-q", "dir/x.txt")
    git(g, "commit", "-q", "-m", "only the submodule")
    v = _imported(cli, tmp_path, g)
    sub = v / "dir" / "sub"
    assert sub.is_dir() and not (v / "dir" / "x.txt").exists()
    cli.ok("switch", "full", cwd=v)
    assert (v / "dir" / "x.txt").is_file() and sub.is_dir()
    cli.ok("switch", "main", cwd=v)
    assert sub.is_dir() and list(sub.iterdir()) == []
    assert not (v / "dir" / "x.txt").exists()
    assert _status(cli, v) == {}
    cli.ok("fsck", cwd=v)


def test_an_incremental_import_that_empties_the_folder_keeps_the_submodule_directory(
    cli: CliRunner, tmp_path: Path
) -> None:
    g = init(tmp_path / "g")
    _add_dir_with_submodule(g, "dir with a file and a submodule")
    v = _imported(cli, tmp_path, g)
    git(g, "rm", "-q", "dir/x.txt")
    git(g, "commit", "-q", "-m", "only the submodule")
    cli.ok("git", "import", str(g), "-q", cwd=v)
    assert (v / "dir" / "sub").is_dir() and not (v / "dir" / "x.txt").exists()
    assert _status(cli, v) == {}
    cli.ok("fsck", cwd=v)
