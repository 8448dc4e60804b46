"""`init --from-git` of a git history vcrdt refuses leaves nothing behind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.interop.gitbuild import blob, git, init, mktree

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")


@pytest.mark.hostile
@pytest.mark.parametrize("name", [b".vcrdt", b"..", b".Vcrdt"])
def test_init_from_a_hostile_git_history_leaves_nothing(
    cli: CliRunner, tmp_path: Path, outside: Path, name: bytes
) -> None:
    g = init(tmp_path / "evil")
    inner = mktree(g, [("100644", blob(g, b"pwned\n"), b"SENTINEL")])
    tree = mktree(g, [("40000", inner, name)])
    commit = git(g, "commit-tree", tree, "-m", "evil").decode().strip()
    git(g, "update-ref", "refs/heads/main", commit)
    res = cli("init", str(tmp_path / "v"), "--from-git", str(g))
    assert res.code == 1 and commit in res.err and "Traceback" not in res.err
    assert not (tmp_path / "v").exists()
    res = cli("clone", "--from-git", str(g), str(tmp_path / "w"))
    assert res.code == 1 and not (tmp_path / "w").exists()
