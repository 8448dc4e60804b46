"""Histories built identically in git and vcrdt merge to the same trees."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

Step = tuple[str, ...]


def _git(root: Path) -> Callable[..., str]:
    def run(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, check=True, text=True).stdout

    return run


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts and ".vcrdt" not in p.parts
    }


def _lines(*changes: tuple[int, str]) -> str:
    lines = [f"line {i}" for i in range(1, 21)]
    for i, text in changes:
        lines[i - 1] = text
    return "\n".join(lines) + "\n"


def test_criss_cross_merge_matches_git(repo: CliRunner, tmp_path: Path) -> None:
    groot = tmp_path / "git"
    groot.mkdir()
    git = _git(groot)
    git("init", "-q", "-b", "main")

    def both(write: dict[str, str], message: str) -> None:
        for name, content in write.items():
            repo.write(name, content)
            (groot / name).write_text(content)
        repo.ok("commit", "-A", "-m", message)
        git("add", "-A")
        git("commit", "-qm", message)

    def switch(branch: str, create: bool = False) -> None:
        repo.ok("switch", *(["-c"] if create else []), branch)
        git("switch", "-q", *(["-c"] if create else []), branch)

    def merge(rev: str) -> None:
        repo.ok("merge", rev, "-m", f"merge {rev}")
        git("merge", "-q", "--no-edit", rev)

    both({"f": _lines(), "g": "g\n"}, "base")
    switch("a", create=True)
    both({"f": _lines((2, "A two"))}, "a1")
    switch("main")
    switch("b", create=True)
    both({"f": _lines((19, "B nineteen")), "h": "h from b\n"}, "b1")
    # The criss-cross: each branch merges the other's first commit.
    switch("a")
    repo.ok("branch", "a-before")
    merge("b")
    switch("b")
    repo.ok("merge", "a-before", "-m", "merge a")
    git("merge", "-q", "--no-edit", "a~1")
    switch("a")
    both({"f": _lines((2, "A two"), (19, "B nineteen"), (8, "A eight"))}, "a2")
    switch("b")
    both({"f": _lines((2, "A two"), (19, "B nineteen"), (12, "B twelve")), "g": "g changed by b\n"}, "b2")
    switch("a")
    bases = repo.ok("merge", "--dry-run", "--json", "b").out
    assert len(__import__("json").loads(bases)["bases"]) == 2
    merge("b")
    assert _files(repo.cwd) == _files(groot)
    assert repo("fsck").code == 0
