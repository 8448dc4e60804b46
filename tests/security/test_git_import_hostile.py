"""Git objects vcrdt must refuse: one clear line naming the object, the path and the rule; nothing imported.

Each case builds a git repository whose history is valid up to one hostile commit (written
with `git hash-object --literally`), imports it, and checks the refusal, that the repository
holds exactly what it held before (objects, refs, no mapping) and that `vcrdt fsck` is clean.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.interop.gitbuild import blob, git, init, mktree, write_raw

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")

AUTHOR = "author A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n"


def _tree_with(g: Path, mode: str, name: bytes, target: str | None = None) -> str:
    good = blob(g, b"fine\n")
    return mktree(g, [("100644", good, b"ok"), (mode, target or good, name)])


def _commit(g: Path, tree: str, parents: list[str] = (), message: bytes = b"hostile\n") -> str:  # type: ignore[assignment]
    head = f"tree {tree}\n" + "".join(f"parent {p}\n" for p in parents) + AUTHOR
    return write_raw(g, "commit", head.encode() + b"\n" + message)


def _base(g: Path) -> str:
    return _commit(g, mktree(g, [("100644", blob(g, b"base\n"), b"base.txt")]), message=b"base\n")


def _inner(g: Path, name: bytes) -> str:
    return mktree(g, [("100644", blob(g, b"x\n"), name)])


def _case(g: Path, which: str) -> tuple[str, str]:
    """Build the hostile commit on top of a valid one; return (its id, what the error must say)."""
    base = _base(g)
    cases = {
        "dotdot": (lambda: _tree_with(g, "40000", b"..", _inner(g, b"x")), "'..'"),
        "dot": (lambda: _tree_with(g, "100644", b"."), "'.'"),
        "vcrdt-dir": (lambda: _tree_with(g, "40000", b".vcrdt", _inner(g, b"HEAD")), ".vcrdt"),
        "vcrdt-disguised": (lambda: _tree_with(g, "100644", ".VC\u200crdt".encode()), ".vcrdt"),
        "slash": (lambda: _tree_with(g, "100644", b"a/b"), "slash"),
        "backslash": (lambda: _tree_with(g, "100644", b"a\\..\\x"), "backslash"),
        "empty-name": (lambda: _tree_with(g, "100644", b""), "empty"),
        "deep-dotdot": (lambda: mktree(g, [("40000", _inner(g, b".."), b"sub")]), "'..'"),
        "bad-mode": (lambda: _tree_with(g, "777", b"weird"), "mode 777"),
        "tree-mode-on-blob": (lambda: _tree_with(g, "40000", b"notatree"), "not a tree"),
    }
    if which in cases:
        make, says = cases[which]
        return _commit(g, make(), [base]), says
    tree = mktree(g, [("100644", blob(g, b"base\n"), b"base.txt")])
    if which == "nul-message":
        return _commit(g, tree, [base], b"before\0after\n"), "NUL"
    if which == "duplicate-parent":
        return _commit(g, tree, [base, base]), "same parent twice"
    if which == "tree-as-parent":
        return _commit(g, tree, [base, tree]), f"{tree} is a tree"
    if which == "tag-as-parent":
        tag = git(g, "mktag", stdin=f"object {base}\ntype commit\ntag t\ntagger T <t@x> 0 +0000\n\nm\n".encode())
        return _commit(g, tree, [base, tag.decode().strip()]), "is a tag, not a commit"
    raise AssertionError(which)


CASES = [
    "dotdot",
    "dot",
    "vcrdt-dir",
    "vcrdt-disguised",
    "slash",
    "backslash",
    "empty-name",
    "deep-dotdot",
    "bad-mode",
    "tree-mode-on-blob",
    "nul-message",
    "duplicate-parent",
    "tree-as-parent",
    "tag-as-parent",
]


def _state(root: Path) -> tuple[list[object], list[object], list[object]]:
    db = sqlite3.connect(root / ".vcrdt" / "store.db")
    try:
        objects = db.execute("SELECT id FROM objects ORDER BY id").fetchall()
        refs = db.execute("SELECT name, head FROM refs ORDER BY name").fetchall()
        tables = db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'git_%' ORDER BY name").fetchall()
    finally:
        db.close()
    return objects, refs, tables


@pytest.mark.hostile
@pytest.mark.parametrize("which", CASES)
def test_hostile_git_object_is_refused(repo: CliRunner, tmp_path: Path, which: str) -> None:
    g = init(tmp_path / "evil")
    bad, says = _case(g, which)
    (g / ".git" / "refs" / "heads").mkdir(parents=True, exist_ok=True)
    (g / ".git" / "refs" / "heads" / "main").write_text(bad + "\n")  # update-ref checks what a ref names
    (repo.cwd / "mine.txt").write_text("local\n")
    repo.ok("add", "mine.txt")
    repo.ok("commit", "-m", "local work")
    before = _state(repo.cwd)
    res = repo("git", "import", str(g))
    assert res.code == 1
    lines = res.err.strip().splitlines()
    assert lines[0].startswith("error: "), res.err
    assert bad in lines[0] and says in lines[0], lines[0]
    assert "Traceback" not in res.err
    assert _state(repo.cwd) == before
    repo.ok("fsck")


@pytest.mark.hostile
def test_not_a_git_repository(repo: CliRunner, tmp_path: Path, outside: Path) -> None:
    res = repo("git", "import", str(outside))
    assert res.code == 1 and "not a git repository" in res.err
    repo.ok("fsck")


@pytest.mark.hostile
def test_damaged_git_record_from_a_peer_is_refused_on_export(repo: CliRunner, tmp_path: Path) -> None:
    """A commit whose git record (from another replica) does not match its tree cannot be exported."""
    from vcrdt.gitio.record import GitRecord
    from vcrdt.objects import Commit, Signature
    from vcrdt.repo import Repository, Settings

    with Repository(repo.cwd, Settings()) as r, r.transaction():
        tree = r.store.put("tree", b"")
        header = b"author A <a@x> 0 +0000\ncommitter A <a@x> 0 +0000\n"
        rec = GitRecord(b"commit", header, None, ((b"", b"100644 ghost\0"),))
        rec_id = r.store.put("blob", rec.to_bytes())
        c = Commit(tree, (), Signature("A", "a@x", 0, 0), "m\n", r.replica, 1, ((r.replica, 1),), None, (), rec_id)
        oid = r.store.put("commit", c.to_bytes())
        r.refs.update("refs/heads/forged", oid)
    res = repo("git", "export", str(tmp_path / "out.git"))
    assert res.code == 1
    assert f"commit {oid.hex()}" in res.err and "shape" in res.err


@pytest.mark.hostile
@pytest.mark.parametrize("which", CASES)
def test_skip_invalid_records_the_refused_commit_and_goes_on(repo: CliRunner, tmp_path: Path, which: str) -> None:
    """`--skip-invalid`: the refused commit and what is built on it are skipped and named; the rest comes in."""
    g = init(tmp_path / "evil")
    bad, says = _case(g, which)
    raw = git(g, "cat-file", "commit", bad).split(b"\n")
    base = next(line for line in raw if line.startswith(b"parent ")).split()[1].decode()
    child = _commit(g, mktree(g, [("100644", blob(g, b"after\n"), b"after.txt")]), [bad], b"built on it\n")
    good = _commit(g, mktree(g, [("100644", blob(g, b"good\n"), b"good.txt")]), [base], b"fine\n")
    heads = g / ".git" / "refs" / "heads"
    heads.mkdir(parents=True, exist_ok=True)
    (heads / "main").write_text(child + "\n")
    (heads / "good").write_text(good + "\n")
    res = repo("git", "import", "--skip-invalid", "--json", str(g))
    assert res.code == 0, res.err
    assert "Traceback" not in res.err
    doc = json.loads(res.out)
    assert doc["commits"] == 2  # base and good
    skipped = {s["git"]: s["reason"] for s in doc["skipped"]}
    assert set(skipped) == {bad, child}
    assert says in skipped[bad] and bad in skipped[bad]
    assert bad in skipped[child] and "skipped" in skipped[child]
    assert any("refs/heads/main" in w for w in doc["warnings"])
    assert {r["name"] for r in doc["refs"]} == {"refs/heads/good"}
    assert repo.ok("git", "map", good).out.strip()
    repo.ok("fsck")
    # Without the option the same import is still refused whole.
    again = repo("git", "import", str(g))
    assert again.code == 1 and bad in again.err


@pytest.mark.hostile
@pytest.mark.parametrize("fmt", ["sha1", "sha256"])
@pytest.mark.parametrize("which", CASES)
def test_hostile_git_object_in_an_incremental_import_is_refused(
    repo: CliRunner, tmp_path: Path, which: str, fmt: str
) -> None:
    """The same refusals when the hostile commit comes in a later import (read through git's plumbing)."""
    g = init(tmp_path / "evil", object_format=fmt)
    bad, says = _case(g, which)
    first_parent = (
        git(g, "cat-file", "-p", bad).decode("latin-1").split("\nparent ", 1)[1][: 2 * (64 if fmt == "sha256" else 40)]
    )
    heads = g / ".git" / "refs" / "heads"
    heads.mkdir(parents=True, exist_ok=True)
    (heads / "main").write_text(first_parent + "\n")
    repo.ok("git", "import", "-q", str(g))
    before = _state(repo.cwd)
    (heads / "main").write_text(bad + "\n")
    res = repo("git", "import", str(g))
    assert res.code == 1
    lines = res.err.strip().splitlines()
    assert lines[0].startswith("error: "), res.err
    assert bad in lines[0] and says in lines[0], lines[0]
    assert "Traceback" not in res.err
    assert _state(repo.cwd) == before
    repo.ok("fsck")
