"""`vcrdt init --from-git` and `vcrdt clone --from-git`: a new repository with a git history, checked out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.interop.gitbuild import git, init

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")


def _project(root: Path) -> Path:
    g = init(root / "proj")
    git(g, "checkout", "-q", "-b", "trunk")
    (g / "src").mkdir()
    (g / "src" / "m.py").write_text("print('hi')\n")
    (g / "tool").write_text("#!/bin/sh\n")
    (g / "tool").chmod(0o755)
    (g / "README").symlink_to("src/m.py")
    git(g, "add", "-A")
    git(g, "commit", "-q", "-m", "first")
    git(g, "branch", "other")
    (g / "src" / "m.py").write_text("print('hi again')\n")
    git(g, "commit", "-q", "-am", "second")
    return g


def test_init_from_git_checks_out_gits_branch(cli: CliRunner, tmp_path: Path) -> None:
    g = _project(tmp_path)
    cli.ok("init", str(tmp_path / "v"), "--from-git", str(g))
    v = tmp_path / "v"
    assert (v / "src" / "m.py").read_text() == "print('hi again')\n"
    assert (v / "tool").stat().st_mode & 0o100 and (v / "README").is_symlink()
    st = json.loads(cli.ok("status", "--json", cwd=v).out)
    assert st["branch"] == "trunk"
    assert cli.ok("status", "--short", cwd=v).out.strip() == ""
    log = json.loads(cli.ok("log", "--json", cwd=v).out)
    assert [c["message"].strip() for c in log] == ["second", "first"]
    head = git(g, "rev-parse", "HEAD").decode().strip()
    assert cli.ok("git", "map", "HEAD", cwd=v).out.strip() == head
    # Work goes on in vcrdt and back to git.
    (v / "new.txt").write_text("made in vcrdt\n")
    cli.ok("add", "new.txt", cwd=v)
    cli.ok("commit", "-m", "in vcrdt", cwd=v)
    res = cli.ok("git", "export", str(g), cwd=v)
    assert "warning: refs/heads/trunk is checked out in" in res.err
    assert git(g, "log", "-1", "--format=%s", "trunk").decode().strip() == "in vcrdt"
    assert git(g, "rev-parse", "trunk~1").decode().strip() == head


def test_clone_from_git_names_the_directory_after_the_source(cli: CliRunner, tmp_path: Path) -> None:
    g = _project(tmp_path)
    bare = tmp_path / "proj.git"
    git(tmp_path, "clone", "-q", "--bare", str(g), str(bare))
    work = tmp_path / "elsewhere"
    work.mkdir()
    out = json.loads(cli.ok("clone", "--from-git", str(bare), "--json", cwd=work).out)
    assert out["branch"] == "trunk" and out["directory"] == str(work / "proj")
    assert (work / "proj" / "src" / "m.py").is_file()
    cli.ok("fsck", cwd=work / "proj")


def test_import_that_would_overwrite_local_changes_imports_nothing(cli: CliRunner, tmp_path: Path) -> None:
    g = _project(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v), "--from-git", str(g))
    before = cli.ok("log", "--json", cwd=v).out
    (v / "src" / "m.py").write_text("local edit\n")
    (g / "src" / "m.py").write_text("moved on in git\n")
    git(g, "commit", "-q", "-am", "third")
    res = cli("git", "import", str(g), cwd=v)
    assert res.code == 1 and "src/m.py" in res.err
    assert cli.ok("log", "--json", cwd=v).out == before
    assert (v / "src" / "m.py").read_text() == "local edit\n"
    cli.ok("fsck", cwd=v)
    cli.ok("restore", "src/m.py", cwd=v)
    cli.ok("git", "import", str(g), "-q", cwd=v)
    assert (v / "src" / "m.py").read_text() == "moved on in git\n"
    assert cli.ok("status", "--short", cwd=v).out.strip() == ""
