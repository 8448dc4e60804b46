"""Blame agrees with `git blame` on histories without merges.

The same edits are committed in a git repository (through `git fast-import`) and in a vcrdt
repository (through the store), one commit per step with messages ``c0``, ``c1``, ...; each
line of the last version must name the same commit message in both. Lines come from a small
alphabet, with blank and indented lines, so that repeated lines make the line diff choose
(where git's heuristics, the indent heuristic among them, decide which copy is new).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vcrdt import porcelain
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind, Signature
from vcrdt.repo import Repository, Settings

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

ALPHABET = [b"a", b"b", b"c", b"", b"    x", b"    y", b"}", b"def f():", b"\tz"]

lines_st = st.lists(st.sampled_from(ALPHABET), max_size=12)


Version = tuple[tuple[int, ...], bytes]  # the parents (indices of earlier versions) and the content


def _edit(draw: st.DrawFn, lines: list[bytes]) -> list[bytes]:
    lines = list(lines)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(lines)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        if op == "insert":
            lines[at:at] = draw(st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=4))
        elif op == "delete":
            del lines[at : at + draw(st.integers(1, 3))]
        else:
            lines[at : at + 1] = draw(st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=2))
    return lines


def _text(lines: list[bytes], newline: bool) -> bytes:
    text = b"\n".join(lines)
    return text + b"\n" if newline and lines else text


@st.composite
def histories(draw: st.DrawFn) -> list[Version]:
    """A chain of file versions, each an edit of the one before: inserts, deletions, replacements, the final newline."""
    lines = draw(lines_st)
    newline = True
    versions: list[Version] = []
    for i in range(draw(st.integers(1, 7))):
        lines = _edit(draw, lines)
        if draw(st.integers(0, 5)) == 0:
            newline = not newline
        versions.append(((i - 1,) if i else (), _text(lines, newline)))
    return versions


@st.composite
def merge_histories(draw: st.DrawFn) -> list[Version]:
    """Versions on forks and merges: a merge takes its first parent's lines with a run of its second's spliced in.

    Or the second parent's file whole, and a merge may leave it unedited: git then hands every line to
    the parent with the same file, whichever parent that is.
    """
    split: list[list[bytes]] = [draw(lines_st)]
    versions: list[Version] = [((), _text(split[0], True))]
    for i in range(1, draw(st.integers(2, 9))):
        first = draw(st.integers(0, i - 1))
        lines = list(split[first])
        parents: tuple[int, ...] = (first,)
        if i > 1 and draw(st.booleans()):
            second = draw(st.sampled_from([p for p in range(i) if p != first]))
            parents = (first, second)
            other = split[second]
            a = draw(st.integers(0, len(other)))
            b = draw(st.integers(a, len(other)))
            at = draw(st.integers(0, len(lines)))
            cut = draw(st.integers(at, len(lines)))
            lines[at:cut] = other[a:b]
            if draw(st.integers(0, 3)) == 0:
                lines = list(other)  # the merge took the second parent's file whole
        if len(parents) == 1 or draw(st.booleans()):
            lines = _edit(draw, lines)
        split.append(lines)
        versions.append((parents, _text(lines, True)))
    return versions


def _git_build(root: Path, versions: list[Version]) -> None:
    stream = bytearray()
    for i, (parents, data) in enumerate(versions):
        msg = f"c{i}\n".encode()
        stream += b"commit refs/heads/main\nmark :%d\ncommitter A <a@x> %d +0000\n" % (i + 1, 1000 + i)
        stream += b"data %d\n%s" % (len(msg), msg)
        if parents:
            stream += b"from :%d\n" % (parents[0] + 1)
        else:
            stream += b"from 0000000000000000000000000000000000000000\n"  # a new root, whatever main was
        for p in parents[1:]:
            stream += b"merge :%d\n" % (p + 1)
        stream += b"M 100644 inline f.txt\ndata %d\n%s\n" % (len(data), data)
    env = _git_env(root)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=bytes(stream), check=True, env=env)


def _git_env(root: Path) -> dict[str, str]:
    return {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root), "PATH": "/usr/bin:/bin"}


def _git_blame(root: Path, *options: str) -> list[str]:
    """The commit message of each line of the blame of f.txt on main."""
    out = subprocess.run(
        ["git", "blame", "--porcelain", *options, "main", "--", "f.txt"],
        cwd=root,
        capture_output=True,
        check=True,
        env=_git_env(root),
    ).stdout
    summaries: dict[bytes, str] = {}
    order: list[bytes] = []
    current = b""
    for line in out.split(b"\n"):
        if line.startswith(b"\t") or not line:
            continue
        head = line.split(b" ", 1)
        if len(head[0]) == 40 and all(c in b"0123456789abcdef" for c in head[0]):
            current = head[0]
            order.append(current)
        elif head[0] == b"summary":
            summaries[current] = head[1].decode()
    return [summaries[c] for c in order]


def _vcrdt_blame(root: Path, versions: list[Version], *, all_parents: bool = False) -> list[str]:
    repo = Repository.init(root, Settings(author_name="A", author_email="a@x"))
    try:
        oids: list[ObjectId] = []
        with repo.transaction():
            for i, (parents, data) in enumerate(versions):
                blob = repo.store.put("blob", data)
                tree = repo.write_tree({"f.txt": (EntryKind.FILE, blob)})
                sig = Signature("A", "a@x", 1000 + i, 0)
                oids.append(repo.new_commit(tree, [oids[p] for p in parents], f"c{i}\n", sig))
        result = porcelain.blame(repo, "f.txt", oids[-1].hex(), all_parents=all_parents)
        return [result.commits[ln.commit].summary for ln in result.lines]
    finally:
        repo.close()


@settings(max_examples=80, deadline=None)
@given(histories())
def test_blame_names_the_commits_git_blame_names(versions: list[Version]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _git_build(Path(tmp) / "git", versions)
        assert _vcrdt_blame(Path(tmp) / "vcrdt", versions) == _git_blame(Path(tmp) / "git")


@settings(max_examples=60, deadline=None)
@given(merge_histories())
# Both sides add "a"; the merge takes the second side's file whole, so every line is that side's.
@example([((), b"x\n"), ((0,), b"x\na\n"), ((0,), b"a\nx\n"), ((1, 2), b"a\nx\n")])
def test_blame_through_merges_names_what_git_blame_names(versions: list[Version]) -> None:
    """Every parent (`--all-parents`) as git blame's default; the first parent only as its `--first-parent`."""
    with tempfile.TemporaryDirectory() as tmp:
        _git_build(Path(tmp) / "git", versions)
        assert _vcrdt_blame(Path(tmp) / "all", versions, all_parents=True) == _git_blame(Path(tmp) / "git")
        assert _vcrdt_blame(Path(tmp) / "first", versions) == _git_blame(Path(tmp) / "git", "--first-parent")
