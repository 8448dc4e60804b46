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
from hypothesis import given, settings
from hypothesis import strategies as st

from vcrdt import porcelain
from vcrdt.ids import ObjectId
from vcrdt.objects import EntryKind, Signature
from vcrdt.repo import Repository, Settings

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

ALPHABET = [b"a", b"b", b"c", b"", b"    x", b"    y", b"}", b"def f():", b"\tz"]

lines_st = st.lists(st.sampled_from(ALPHABET), max_size=12)


@st.composite
def histories(draw: st.DrawFn) -> list[bytes]:
    """File versions, each an edit of the one before: inserts, deletions, replacements, the final newline."""
    lines = draw(lines_st)
    newline = True
    versions: list[bytes] = []
    for _ in range(draw(st.integers(1, 7))):
        for _ in range(draw(st.integers(0, 3))):
            at = draw(st.integers(0, len(lines)))
            op = draw(st.sampled_from(["insert", "delete", "replace"]))
            if op == "insert":
                lines[at:at] = draw(st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=4))
            elif op == "delete":
                del lines[at : at + draw(st.integers(1, 3))]
            else:
                lines[at : at + 1] = draw(st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=2))
        if draw(st.integers(0, 5)) == 0:
            newline = not newline
        text = b"\n".join(lines)
        versions.append(text + b"\n" if newline and lines else text)
    return versions


def _git_blame(root: Path, versions: list[bytes]) -> list[str]:
    stream = bytearray()
    for i, data in enumerate(versions):
        msg = f"c{i}\n".encode()
        stream += b"commit refs/heads/main\nmark :%d\ncommitter A <a@x> %d +0000\n" % (i + 1, 1000 + i)
        stream += b"data %d\n%s" % (len(msg), msg)
        if i:
            stream += b"from :%d\n" % i
        stream += b"M 100644 inline f.txt\ndata %d\n%s\n" % (len(data), data)
    env = {"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(root), "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input=bytes(stream), check=True, env=env)
    out = subprocess.run(
        ["git", "blame", "--porcelain", "main", "--", "f.txt"], cwd=root, capture_output=True, check=True, env=env
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


def _vcrdt_blame(root: Path, versions: list[bytes]) -> list[str]:
    repo = Repository.init(root, Settings(author_name="A", author_email="a@x"))
    try:
        parent: list[ObjectId] = []
        with repo.transaction():
            for i, data in enumerate(versions):
                blob = repo.store.put("blob", data)
                tree = repo.write_tree({"f.txt": (EntryKind.FILE, blob)})
                oid = repo.new_commit(tree, parent, f"c{i}\n", Signature("A", "a@x", 1000 + i, 0))
                parent = [oid]
        result = porcelain.blame(repo, "f.txt", parent[0].hex())
        return [result.commits[ln.commit].summary for ln in result.lines]
    finally:
        repo.close()


@settings(max_examples=100, deadline=None)
@given(histories())
def test_blame_names_the_commits_git_blame_names(versions: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        expected = _git_blame(Path(tmp) / "git", versions)
        assert _vcrdt_blame(Path(tmp) / "vcrdt", versions) == expected
