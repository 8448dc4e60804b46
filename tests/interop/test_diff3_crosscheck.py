"""vcrdt's diff3 against the real tools on this machine: git merge-file and GNU diff3."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.diff3_crosscheck import crosscheck, triples
from vcrdt.diff.xdiff import xdiff_matcher
from vcrdt.merge.diff3 import merge_bytes

needs_tools = pytest.mark.skipif(
    shutil.which("git") is None or shutil.which("diff3") is None, reason="git or GNU diff3 missing"
)


@needs_tools
@pytest.mark.parametrize("mixed", [False, True], ids=["code", "mixed"])
def test_agrees_with_git_merge_file_byte_for_byte(mixed: bool) -> None:
    """Same bytes and conflict count as git merge-file, for every flag set of the bench.

    `mixed` adds rst underlines and marker-like lines, CRLF and lone-CR line endings, and
    identical edits on both sides between the others.
    """
    table = crosscheck(150, seed=11, mixed=mixed)
    gits = [name for name in table if name.startswith("git merge-file")]
    assert len(gits) == 8
    for name in gits:
        assert set(table[name]) <= {"both clean, identical", "both conflict"}, (name, table[name])
    if mixed:
        return
    # GNU diff3 -m (its default -A) also brackets identical changes: the only disagreement allowed.
    gnu = table["GNU diff3 -m (verdict)"]
    assert gnu.get("vcrdt conflicts, tool clean", 0) == 0


@needs_tools
def test_never_clean_when_gnu_diff3_E_conflicts(tmp_path: Path) -> None:
    for base, a, b in triples(200, seed=5):
        for name, data in (("O", base), ("A", a), ("B", b)):
            (tmp_path / name).write_bytes(data)
        r = subprocess.run(["diff3", "-m", "-E", "A", "O", "B"], cwd=tmp_path, capture_output=True, check=False)
        _, conflicts = merge_bytes(base, a, b, matcher=xdiff_matcher, style="diff3")
        assert (conflicts == 0) == (r.returncode == 0)


@needs_tools
def test_vcrdt_works_as_a_git_merge_driver(tmp_path: Path) -> None:
    """Configure `vcrdt merge-file` as git's merge driver and run a real `git merge`."""
    import sys

    repo = tmp_path / "g"
    repo.mkdir()

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True)

    git("init", "-q", "-b", "main")
    driver = f"{sys.executable} -m vcrdt merge-file --marker-size %L -L ours -L base -L theirs %A %O %B"
    git("config", "merge.vcrdt.driver", driver)
    (repo / ".gitattributes").write_text("*.txt merge=vcrdt\n*.rst merge=vcrdt conflict-marker-size=10\n")
    (repo / "f.txt").write_text("a\nb\nc\nd\ne\n")
    (repo / "g.rst").write_text("T\n=======\nx\n")
    git("add", ".")
    git("commit", "-qm", "base")
    git("switch", "-qc", "side")
    (repo / "f.txt").write_text("a\nb\nc\nd\nE\n")
    git("commit", "-qam", "side")
    git("switch", "-q", "main")
    (repo / "f.txt").write_text("A\nb\nc\nd\ne\n")
    git("commit", "-qam", "main")
    git("merge", "-q", "--no-edit", "side")
    assert (repo / "f.txt").read_text() == "A\nb\nc\nd\nE\n"
    # A conflict: git passes the attribute's marker size as %L.
    git("switch", "-q", "side")
    (repo / "g.rst").write_text("T\n=======\ntheirs\n")
    git("commit", "-qam", "side g")
    git("switch", "-q", "main")
    (repo / "g.rst").write_text("T\n=======\nours\n")
    git("commit", "-qam", "main g")
    r = subprocess.run(["git", "merge", "-q", "--no-edit", "side"], cwd=repo, capture_output=True, check=False)
    assert r.returncode == 1
    assert (repo / "g.rst").read_text() == (
        "T\n=======\n<<<<<<<<<< ours\nours\n==========\ntheirs\n>>>>>>>>>> theirs\n"
    )


@needs_tools
def test_union_agrees_with_git(tmp_path: Path) -> None:
    from vcrdt.merge.diff3 import union_bytes

    for base, a, b in triples(200, seed=9):
        for name, data in (("O", base), ("A", a), ("B", b)):
            (tmp_path / name).write_bytes(data)
        r = subprocess.run(
            ["git", "merge-file", "-p", "--union", "A", "O", "B"], cwd=tmp_path, capture_output=True, check=False
        )
        assert union_bytes(base, a, b, matcher=xdiff_matcher) == r.stdout, (base, a, b)
