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


def test_octopus_like_sequence_of_merges_matches_git(repo: CliRunner, tmp_path: Path) -> None:
    """Four branches from one base, each touching its own files and regions, merged into main one by one.

    vcrdt has no octopus merge, so both tools merge pairwise in the same order; the trees must
    agree after every step. git's real octopus merge of the same four branches must give the
    same final tree too.
    """
    t = Twin(repo, tmp_path / "git")
    t.commit(
        {"f": _lines(), "g": "g\n", "docs/readme": "readme\n", "docs/old": "old\n", "src/a.py": "a = 1\n"},
        "base",
    )
    deep = (19, "deep nineteen")
    # Each topic: its first commit's writes, its second commit's writes, the paths its second commit deletes.
    topics: dict[str, tuple[dict[str, str], dict[str, str], list[str]]] = {
        "t-add": ({"f": _lines((2, "add two")), "src/new.py": "new = 1\n"}, {"src/new.py": "new = 2\n"}, []),
        "t-del": ({"f": _lines((8, "del eight"))}, {}, ["docs/old"]),
        "t-edit": ({"g": "g\ng from t-edit\n", "docs/readme": "readme\nmore\n"}, {"src/a.py": "a = 2\n"}, []),
        "t-deep": ({"f": _lines(deep), "src/pkg/deep/x.py": "x = 1\n"}, {"f": _lines(deep, (20, "deep twenty"))}, []),
    }
    for name, (first, second, delete) in topics.items():
        t.switch("main")
        t.switch(name, create=True)
        t.commit(first, f"{name} 1")
        for path in delete:
            (repo.cwd / path).unlink()
            (t.groot / path).unlink()
        t.commit(second, f"{name} 2")
    t.switch("main")
    t.commit({"f": _lines((14, "main fourteen"))}, "main moves on")
    before = t.git("rev-parse", "HEAD").strip()
    for name in topics:
        t.merge(name)
        assert t.same_files(), name
    assert repo("fsck").code == 0
    final = _files(repo.cwd)
    assert final["f"] == _lines((2, "add two"), (8, "del eight"), (14, "main fourteen"), deep, (20, "deep twenty"))
    assert "docs/old" not in final and final["src/a.py"] == "a = 2\n" and final["src/new.py"] == "new = 2\n"
    # git's own octopus merge of the four topics lands on the same tree.
    t.git("switch", "-q", "-c", "octopus", before)
    t.git("merge", "-q", "--no-edit", *topics)
    assert _files(t.groot) == final


def test_merge_with_three_merge_bases_matches_git(repo: CliRunner, tmp_path: Path) -> None:
    """A criss-cross of three branches: the final merge has three merge bases (git's recursive/ort case)."""
    t = Twin(repo, tmp_path / "git")
    t.commit({"f": _lines(), "g": "g\n"}, "base")
    for name, change, extra in (
        ("a", (2, "A two"), {"ha": "from a\n"}),
        ("b", (10, "B ten"), {"hb": "from b\n"}),
        ("c", (18, "C eighteen"), {"g": "g changed by c\n"}),
    ):
        t.switch("main")
        t.switch(name, create=True)
        t.commit({"f": _lines(change), **extra}, f"{name}1")
    # x and y each merge all three tips, in different orders, so neither contains the other's merges.
    t.switch("a")
    t.switch("x", create=True)
    t.merge("b")
    t.merge("c")
    t.switch("c")
    t.switch("y", create=True)
    t.merge("b")
    t.merge("a")
    merged = [(2, "A two"), (10, "B ten"), (18, "C eighteen")]
    t.switch("x")
    t.commit({"f": _lines(*merged, (5, "X five")), "ha": "from a, changed on x\n"}, "x3")
    t.switch("y")
    t.commit({"f": _lines(*merged, (14, "Y fourteen")), "g": "g changed by c, then y\n"}, "y3")
    t.switch("x")
    assert len(t.git("merge-base", "--all", "x", "y").split()) == 3
    assert len(json.loads(repo.ok("merge", "--dry-run", "--json", "y").out)["bases"]) == 3
    t.merge("y")
    assert t.same_files()
    assert _files(repo.cwd)["f"] == _lines(*merged, (5, "X five"), (14, "Y fourteen"))
    assert repo("fsck").code == 0


@pytest.mark.parametrize("similar", [False, True], ids=["exact", "similar"])
@pytest.mark.parametrize("renamer", ["main", "side"])
def test_an_edit_follows_a_renamed_file_as_in_git(repo: CliRunner, tmp_path: Path, similar: bool, renamer: str) -> None:
    t = Twin(repo, tmp_path / "git")
    t.commit({"f": _lines(), "g": "g\n"}, "base")
    t.switch("side", create=True)
    for branch in ("main", "side"):
        t.switch(branch)
        if branch == renamer:
            (repo.cwd / "docs").mkdir()
            repo.ok("mv", "f", "docs/f")
            (t.groot / "docs").mkdir()
            t.git("mv", "f", "docs/f")
            t.commit({"docs/f": _lines((20, "the renamer's twenty"))} if similar else {}, "move f")
        else:
            t.commit({"f": _lines((3, "the editor's three"))}, "edit f")
    t.switch("main")
    t.merge("side")
    assert t.same_files(), (_files(repo.cwd), _files(t.groot))
    assert "the editor's three" in (repo.cwd / "docs" / "f").read_text()
    assert repo("fsck").code == 0
