"""Incremental `vcrdt git import`: cheap when nothing moved, and only the new objects when something did.

A later import reads git through its plumbing (refs, then only the objects the new commits
bring), and stops before its transaction when every git ref is where the last import left it
and every ref here still names what it imported; pygit2, typer and click are not loaded then.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.helpers.startup import modules_loaded
from tests.interop.gitbuild import git, init

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git missing")

HEAVY = {"pygit2", "typer", "click", "rich", "subprocess", "typing"}


def _commit(g: Path, name: str, text: str) -> str:
    (g / name).write_text(text)
    git(g, "add", name)
    git(g, "commit", "-q", "-m", f"edit {name}")
    return git(g, "rev-parse", "HEAD").decode().strip()


def _source(tmp_path: Path) -> Path:
    g = init(tmp_path / "src")
    _commit(g, "a.txt", "one\n")
    git(g, "branch", "side")
    git(g, "tag", "-a", "v1", "-m", "one")
    _commit(g, "b.txt", "two\n")
    return g


def _loaded(cwd: Path, *args: str) -> tuple[int, str, str]:
    code, _out, err, loaded = modules_loaded(cwd, args, HEAVY, top_level=True, inherit_env=True)
    return code, err, loaded


def test_import_with_nothing_moved_loads_neither_pygit2_nor_typer(cli: CliRunner, tmp_path: Path) -> None:
    """Nothing moved: no pygit2, typer, click, rich, subprocess or typing; moved: git's plumbing, no pygit2.

    git's commands are started without `subprocess` (`GitProcess`), which costs more to load than they take.
    """
    src = _source(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(src), "-q", cwd=v)
    code, err, loaded = _loaded(v, "git", "import", "--json", str(src))
    assert code == 0, err
    assert loaded == "", loaded
    # A moved ref is imported (through git's plumbing: still no pygit2), new objects only.
    _commit(src, "c.txt", "three\n")
    code, err, loaded = _loaded(v, "git", "import", "-q", str(src))
    assert code == 0, err
    assert "pygit2" not in loaded and "subprocess" not in loaded, loaded
    cli.ok("fsck", cwd=v)
    assert (v / "c.txt").read_text() == "three\n"


def test_nothing_moved_reports_nothing_and_changes_nothing(cli: CliRunner, tmp_path: Path) -> None:
    src = _source(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(src), "-q", cwd=v)
    before = cli.ok("branch", cwd=v).out
    doc = json.loads(cli.ok("git", "import", str(src), "--json", cwd=v).out)
    assert (doc["commits"], doc["tags"], doc["trees"], doc["blobs"], doc["refs"]) == (0, 0, 0, 0, [])
    assert cli.ok("branch", cwd=v).out == before


def test_a_ref_deleted_here_comes_back_though_git_did_not_move(cli: CliRunner, tmp_path: Path) -> None:
    """The early return looks at the refs here too: a branch deleted here is made again, as a full import does."""
    src = _source(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(src), "-q", cwd=v)
    side = cli.ok("rev-parse", "side", cwd=v).out.strip()
    cli.ok("branch", "-D", "side", cwd=v)
    doc = json.loads(cli.ok("git", "import", str(src), "--json", cwd=v).out)
    assert [(r["name"], r["new"]) for r in doc["refs"]] == [("refs/heads/side", side)]
    assert cli.ok("rev-parse", "side", cwd=v).out.strip() == side


def test_incremental_import_follows_moves_deletions_and_new_tags(cli: CliRunner, tmp_path: Path) -> None:
    src = _source(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(src), "-q", cwd=v)
    git(src, "checkout", "-q", "side")
    tip = _commit(src, "s.txt", "side\n")
    git(src, "tag", "-a", "v2", "-m", "two")
    git(src, "checkout", "-q", "main")
    git(src, "branch", "-D", "side")
    git(src, "branch", "side2", tip)
    doc = json.loads(cli.ok("git", "import", str(src), "--json", cwd=v).out)
    assert (doc["commits"], doc["tags"]) == (1, 1)
    names = {r["name"]: r["new"] for r in doc["refs"]}
    assert names["refs/heads/side"] is None and names["refs/heads/side2"] and names["refs/tags/v2"]
    mapped = cli.ok("git", "map", tip, cwd=v).out.strip()
    assert cli.ok("rev-parse", "side2", cwd=v).out.strip() == mapped
    cli.ok("fsck", cwd=v)


@pytest.mark.parametrize("layout", ["work tree", "bare", "linked work tree", "sha256"])
def test_refs_read_from_files_agree_with_for_each_ref(tmp_path: Path, layout: str) -> None:
    """The ref files (packed-refs, loose refs over them) read as git's for-each-ref lists them."""
    from vcrdt.gitio.plumbing import GitDir

    g = init(tmp_path / "src", object_format="sha256" if layout == "sha256" else "sha1")
    _commit(g, "a.txt", "one\n")
    git(g, "branch", "old")
    git(g, "tag", "-a", "v1", "-m", "one")
    git(g, "pack-refs", "--all")
    _commit(g, "b.txt", "two\n")  # main loose now, over its packed line
    git(g, "branch", "feature/x")
    git(g, "branch", "-D", "old")  # gone from packed-refs too
    git(g, "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    where = g
    if layout == "bare":
        where = tmp_path / "bare.git"
        git(tmp_path, "clone", "-q", "--mirror", str(g), str(where))
        git(where, "update-ref", "refs/heads/loose-one", git(g, "rev-parse", "main").decode().strip())
    elif layout == "linked work tree":
        where = tmp_path / "linked"
        git(g, "worktree", "add", "-q", str(where), "feature/x")
    gd = GitDir(where)
    listed = gd._for_each_ref()
    assert gd.refs() == listed
    assert "refs/heads/old" not in listed
    assert ("refs/heads/alias" in listed) == (layout == "bare")  # a mirror clone copies a symref as a ref
    assert {"refs/heads/main", "refs/heads/feature/x", "refs/tags/v1"} <= set(listed)
    assert len(next(iter(listed.values()))) == gd.hash_len


@pytest.mark.parametrize("limit", ["bytes", "objects"])
def test_incremental_import_past_the_read_ahead_limits(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str
) -> None:
    """Objects past what is read ahead in one run are read one by one: the same import."""
    from vcrdt.gitio.plumbing import PlumbingSource

    monkeypatch.setattr(PlumbingSource, "PREFETCH_BYTES" if limit == "bytes" else "PREFETCH_LIMIT", 8)
    src = _source(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(src), "-q", cwd=v)
    tips = [_commit(src, f"n{i}.txt", f"new file {i}, longer than eight bytes\n") for i in range(4)]
    doc = json.loads(cli.ok("git", "import", str(src), "--json", cwd=v).out)
    assert doc["commits"] == 4 and doc["blobs"] == 4
    out = tmp_path / "out.git"
    cli.ok("git", "export", str(out), "-q", cwd=v)
    assert git(out, "rev-parse", "main").decode().strip() == tips[-1]
    cli.ok("fsck", cwd=v)


def test_incremental_import_without_a_git_command_reads_through_pygit2(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _source(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(src), "-q", cwd=v)
    tip = _commit(src, "c.txt", "three\n")
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    doc = json.loads(cli.ok("git", "import", str(src), "--json", cwd=v).out)
    assert doc["commits"] == 1
    mapped = cli.ok("git", "map", tip, cwd=v).out.strip()
    assert cli.ok("rev-parse", "main", cwd=v).out.strip() == mapped
    cli.ok("fsck", cwd=v)


def test_work_tree_update_reads_only_the_changed_paths(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20 directories of 20 files; the new git commit edits one file and adds one. Moving the checked-out
    # branch compares the two trees (equal subtrees skipped) and reads the rows of the two changed
    # paths: no tree is flattened and no other row is read.
    from vcrdt.diff import tree as tree_diff
    from vcrdt.gitio.importer import import_git
    from vcrdt.repo import Repository, Settings
    from vcrdt.worktree.rows import RowTable

    g = init(tmp_path / "src")
    for i in range(20):
        (g / f"d{i:02d}").mkdir()
        for j in range(20):
            (g / f"d{i:02d}" / f"f{j:02d}.txt").write_text(f"file {i} {j}\n")
    git(g, "add", "-A")
    git(g, "commit", "-q", "-m", "base")
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(g), "-q", cwd=v)
    (v / "d03" / "f04.txt").write_text("a local edit elsewhere is kept\n")
    (g / "d07" / "f11.txt").write_text("edited\n")
    (g / "d07" / "new.txt").write_text("new\n")
    git(g, "add", "-A")
    git(g, "commit", "-q", "-m", "edit")

    flattened: list[str] = []
    rows_read: list[str] = []
    entries = tree_diff.iter_tree_entries
    select = RowTable.select

    def counting_entries(reader: object, tree: object) -> object:
        for item in entries(reader, tree):  # type: ignore[arg-type]
            flattened.append(item[0])
            yield item

    def counting_select(self: RowTable, where: str = "", args: object = ()) -> object:
        got = select(self, where, args)  # type: ignore[arg-type]
        rows_read.extend(got)
        return got

    monkeypatch.setattr(tree_diff, "iter_tree_entries", counting_entries)
    monkeypatch.setattr(RowTable, "select", counting_select)
    repo = Repository(v, Settings())
    try:
        summary = import_git(repo, g)
    finally:
        repo.close()
    assert summary.checkout is not None
    assert flattened == []
    assert set(rows_read) == {"d07/f11.txt", "d07/new.txt"}  # before the move and after the writes
    monkeypatch.undo()
    assert (v / "d07" / "f11.txt").read_text() == "edited\n"
    assert (v / "d07" / "new.txt").read_text() == "new\n"
    assert (v / "d03" / "f04.txt").read_text() == "a local edit elsewhere is kept\n"
    status = cli.ok("status", "--short", cwd=v).out
    assert "d03/f04.txt" in status and "d07" not in status
    cli.ok("fsck", cwd=v)


def test_work_tree_update_refuses_a_local_change_to_a_changed_path(cli: CliRunner, tmp_path: Path) -> None:
    src = _source(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(src), "-q", cwd=v)
    (v / "b.txt").write_text("local\n")
    _commit(src, "b.txt", "upstream\n")
    res = cli("git", "import", str(src), "-q", cwd=v)
    assert res.code == 1
    assert "uncommitted changes would be overwritten: b.txt" in res.err
    assert (v / "b.txt").read_text() == "local\n"
    cli.ok("fsck", cwd=v)


def test_a_new_link_is_judged_with_the_links_the_import_does_not_change(cli: CliRunner, tmp_path: Path) -> None:
    # HEAD holds d/e/l -> ../.. (the root: allowed); the new commit adds m -> d/e/l/.., which stays inside
    # read as text but leaves the work tree through l. Only m changes, yet it is judged with l.
    g = init(tmp_path / "src")
    (g / "d" / "e").mkdir(parents=True)
    (g / "d" / "e" / "f.txt").write_text("f\n")
    (g / "d" / "e" / "l").symlink_to("../..")
    git(g, "add", "-A")
    git(g, "commit", "-q", "-m", "base")
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(g), "-q", cwd=v)
    (g / "m").symlink_to("d/e/l/..")
    git(g, "add", "-A")
    git(g, "commit", "-q", "-m", "escape")
    res = cli("git", "import", str(g), "-q", cwd=v)
    assert res.code == 1
    assert "invalid path 'm'" in res.err and "through d/e/l" in res.err, res.err
    assert not (v / "m").is_symlink()
    cli.ok("fsck", cwd=v)


def test_a_mapped_object_missing_from_the_store_is_imported_again(cli: CliRunner, tmp_path: Path) -> None:
    """A mapping row whose object is gone (a damaged store) is not trusted: the blob is read from git again."""
    import sqlite3

    src = _source(tmp_path)
    v = tmp_path / "v"
    cli.ok("init", str(v))
    cli.ok("git", "import", str(src), "-q", cwd=v)
    blob = bytes.fromhex(git(src, "rev-parse", "HEAD:a.txt").decode().strip())
    with sqlite3.connect(v / ".vcrdt" / "store.db") as db:
        (vid,) = db.execute("SELECT vcrdt_id FROM git_map WHERE git_id = ?", (blob,)).fetchone()
        db.execute("DELETE FROM objects WHERE id = ?", (vid,))
    db.close()
    _commit(src, "c.txt", "three\n")  # a new tree that names a.txt's blob, unchanged
    doc = json.loads(cli.ok("git", "import", str(src), "--json", cwd=v).out)
    assert doc["commits"] == 1 and doc["blobs"] == 2  # c.txt's, and a.txt's again
    with sqlite3.connect(v / ".vcrdt" / "store.db") as db:
        assert db.execute("SELECT 1 FROM objects WHERE id = ?", (vid,)).fetchone() is not None
    db.close()
