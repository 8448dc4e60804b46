"""Histories built identically in git and vcrdt merge to the same trees."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


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


class Twin:
    """The same history built step by step in a vcrdt repository and a git repository."""

    def __init__(self, repo: CliRunner, groot: Path) -> None:
        self.repo = repo
        self.groot = groot
        groot.mkdir(exist_ok=True)
        self.git = _git(groot)
        self.git("init", "-q", "-b", "main")

    def commit(self, write: dict[str, str], message: str) -> None:
        for name, content in write.items():
            self.repo.write(name, content)
            (self.groot / name).parent.mkdir(parents=True, exist_ok=True)
            (self.groot / name).write_text(content)
        self.repo.ok("commit", "-A", "-m", message)
        self.git("add", "-A")
        self.git("commit", "-qm", message)

    def switch(self, branch: str, create: bool = False) -> None:
        self.repo.ok("switch", *(["-c"] if create else []), branch)
        self.git("switch", "-q", *(["-c"] if create else []), branch)

    def merge(self, rev: str) -> None:
        self.repo.ok("merge", rev, "-m", f"merge {rev}")
        self.git("merge", "-q", "--no-edit", rev)

    def same_files(self) -> bool:
        return _files(self.repo.cwd) == _files(self.groot)


def test_criss_cross_merge_matches_git(repo: CliRunner, tmp_path: Path) -> None:
    t = Twin(repo, tmp_path / "git")
    t.commit({"f": _lines(), "g": "g\n"}, "base")
    t.switch("a", create=True)
    t.commit({"f": _lines((2, "A two"))}, "a1")
    t.switch("main")
    t.switch("b", create=True)
    t.commit({"f": _lines((19, "B nineteen")), "h": "h from b\n"}, "b1")
    # The criss-cross: each branch merges the other's first commit.
    t.switch("a")
    repo.ok("branch", "a-before")
    t.merge("b")
    t.switch("b")
    repo.ok("merge", "a-before", "-m", "merge a")
    t.git("merge", "-q", "--no-edit", "a~1")
    t.switch("a")
    t.commit({"f": _lines((2, "A two"), (19, "B nineteen"), (8, "A eight"))}, "a2")
    t.switch("b")
    t.commit({"f": _lines((2, "A two"), (19, "B nineteen"), (12, "B twelve")), "g": "g changed by b\n"}, "b2")
    t.switch("a")
    assert len(json.loads(repo.ok("merge", "--dry-run", "--json", "b").out)["bases"]) == 2
    t.merge("b")
    assert t.same_files()
    assert repo("fsck").code == 0


def test_many_branches_merged_in_turn_match_git(repo: CliRunner, tmp_path: Path) -> None:
    t = Twin(repo, tmp_path / "git")
    t.commit({"f": _lines(), "docs/readme": "r\n"}, "base")
    for n, line in enumerate((3, 9, 15)):
        t.switch("main")
        t.switch(f"topic{n}", create=True)
        t.commit({"f": _lines((line, f"topic {n}")), f"docs/t{n}": f"topic {n}\n"}, f"topic {n}")
        t.commit({f"src/m{n}.py": f"print({n})\n"}, f"topic {n} code")
    t.switch("main")
    t.commit({"docs/readme": "r on main\n"}, "main moves on")
    for n in range(3):
        t.merge(f"topic{n}")
        assert t.same_files()
    # A topic catches up with main, works on, and is merged again.
    t.switch("topic1")
    t.merge("main")
    t.commit({"f": _lines((3, "topic 0"), (9, "topic 1 again"), (15, "topic 2"))}, "topic 1 again")
    t.switch("main")
    t.merge("topic1")
    assert t.same_files()
    assert repo("fsck").code == 0
