"""A checkout checks every path before writing any, and a checkout cut short is finished by the next command."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


def _two_branches(repo: CliRunner) -> None:
    """`main` holds f1..f5; branch `b` changes all five and adds `zzz` and `dir/new`; HEAD on main."""
    for i in range(1, 6):
        repo.write(f"f{i}", f"main {i}\n")
    repo.ok("commit", "-A", "-m", "main")
    repo.ok("switch", "-c", "b")
    for i in range(1, 6):
        repo.write(f"f{i}", f"b {i}\n")
    repo.write("zzz", "new on b\n")
    repo.write("dir/new", "also new on b\n")
    repo.ok("commit", "-A", "-m", "b")
    repo.ok("switch", "main")


def _files(root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root):
            dirnames.remove(".vcrdt")
        for name in filenames:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, root)] = Path(full).read_bytes()
    return out


def _status(repo: CliRunner) -> dict[str, object]:
    doc: dict[str, object] = json.loads(repo.ok("status", "--json").out)
    return doc


def _on_main_untouched(repo: CliRunner, before: dict[str, bytes]) -> None:
    for i in range(1, 6):
        assert (repo.cwd / f"f{i}").read_bytes() == f"main {i}\n".encode()
    assert _files(repo.cwd) == before
    st = _status(repo)
    assert st["branch"] == "main"
    assert st["clean"] is True


def test_directory_in_the_way_refuses_before_writing_anything(repo: CliRunner) -> None:
    _two_branches(repo)
    (repo.cwd / "zzz").mkdir()
    before = _files(repo.cwd)
    r = repo("switch", "b")
    assert r.code == 1
    assert r.err.startswith("error: zzz: a directory is in the way of a file to write\n"), r.err
    _on_main_untouched(repo, before)
    assert (repo.cwd / "zzz").is_dir()
    assert not (repo.cwd / "dir").exists()
    # --force does not delete a directory either: it is refused the same way, before any write.
    r = repo("switch", "--force", "b")
    assert r.code == 1
    assert "zzz: a directory is in the way" in r.err
    _on_main_untouched(repo, before)
    os.rmdir(repo.cwd / "zzz")
    repo.ok("switch", "b")
    assert (repo.cwd / "zzz").read_bytes() == b"new on b\n"
    assert (repo.cwd / "f3").read_bytes() == b"b 3\n"
    assert _status(repo)["branch"] == "b"
    assert _status(repo)["clean"] is True


def test_untracked_file_in_the_way_of_a_directory_refuses_before_writing(repo: CliRunner) -> None:
    _two_branches(repo)
    repo.write("dir", "an untracked file where b needs a directory\n")
    before = _files(repo.cwd)
    for args in (("switch", "b"), ("switch", "--force", "b")):
        r = repo(*args)
        assert r.code == 1
        assert "dir: a file is in the way of a directory to create" in r.err, r.err
        _on_main_untouched(repo, before)
    os.unlink(repo.cwd / "dir")
    repo.ok("switch", "b")
    assert (repo.cwd / "dir" / "new").read_bytes() == b"also new on b\n"


def test_directory_of_tracked_files_gives_way_to_a_file(repo: CliRunner) -> None:
    repo.write("x/a", "1\n")
    repo.write("x/sub/b", "2\n")
    repo.ok("commit", "-A", "-m", "x is a directory")
    repo.ok("switch", "-c", "flat")
    repo.ok("rm", "x/a", "x/sub/b")
    repo.write("x", "now a file\n")
    repo.ok("commit", "-A", "-m", "x is a file")
    repo.ok("switch", "main")
    assert (repo.cwd / "x" / "sub" / "b").read_bytes() == b"2\n"
    repo.ok("switch", "flat")
    assert (repo.cwd / "x").read_bytes() == b"now a file\n"
    # An untracked file inside the directory keeps it in the way.
    repo.ok("switch", "main")
    repo.write("x/sub/mine", "untracked\n")
    before = _files(repo.cwd)
    r = repo("switch", "flat")
    assert r.code == 1
    assert "x: a directory is in the way" in r.err
    assert _files(repo.cwd) == before


def test_untracked_file_refusal_writes_nothing(repo: CliRunner) -> None:
    _two_branches(repo)
    repo.write("zzz", "mine\n")
    before = _files(repo.cwd)
    r = repo("switch", "b")
    assert r.code == 1
    assert r.err.startswith("error: uncommitted changes would be overwritten: zzz\n")
    assert _files(repo.cwd) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_unwritable_directory_refuses_before_writing(repo: CliRunner) -> None:
    _two_branches(repo)
    repo.ok("switch", "b")
    os.chmod(repo.cwd / "dir", 0o555)  # switching to main deletes dir/new
    try:
        before = _files(repo.cwd)
        r = repo("switch", "main")
        assert r.code == 1
        assert "dir: cannot write in this directory" in r.err
        assert _files(repo.cwd) == before
        assert _status(repo)["branch"] == "b"
    finally:
        os.chmod(repo.cwd / "dir", 0o755)
    repo.ok("switch", "main")


def test_failed_write_after_the_checks_is_finished_by_the_next_command(
    repo: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vcrdt.errors import WorktreeError
    from vcrdt.worktree.writing import Writer

    _two_branches(repo)
    real = Writer.write_file
    calls = {"n": 0}

    def failing(self: Writer, path: str, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            # What write_file raises when the disk fills up after the checks.
            raise WorktreeError(path, f"cannot write: {os.strerror(errno.ENOSPC)}")
        return real(self, path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Writer, "write_file", failing)
    r = repo("switch", "b")
    assert r.code == 1
    lines = r.err.splitlines()
    assert lines[0].startswith("error: ") and "No space left on device" in lines[0], r.err
    assert "the checkout is unfinished" in lines[0]
    monkeypatch.setattr(Writer, "write_file", real)
    # The next command, whatever it is, finishes the checkout: status shows b, clean.
    st = _status(repo)
    assert st["branch"] == "b"
    assert st["clean"] is True
    assert st["untracked"] == []
    for i in range(1, 6):
        assert (repo.cwd / f"f{i}").read_bytes() == f"b {i}\n".encode()
    assert (repo.cwd / "zzz").read_bytes() == b"new on b\n"
    repo.ok("switch", "main")
    assert (repo.cwd / "f1").read_bytes() == b"main 1\n"
    assert not (repo.cwd / "zzz").exists()
    assert repo.ok("fsck").code == 0


def test_fast_forward_merge_refuses_before_writing(repo: CliRunner) -> None:
    _two_branches(repo)
    (repo.cwd / "zzz").mkdir()
    before = _files(repo.cwd)
    r = repo("merge", "b")
    assert r.code == 1
    assert "zzz: a directory is in the way" in r.err
    _on_main_untouched(repo, before)


def test_fetch_refuses_before_writing_and_moves_nothing(cli: CliRunner, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    ra = CliRunner(a)
    ra.ok("init")
    ra.write("f1", "one\n")
    ra.ok("commit", "-A", "-m", "one")
    b.mkdir()
    rb = CliRunner(b)
    rb.ok("init")
    rb.ok("fetch", str(a))
    assert (b / "f1").read_bytes() == b"one\n"
    ra.write("f1", "two\n")
    ra.write("zzz", "new\n")
    ra.ok("commit", "-A", "-m", "two")
    (b / "zzz").mkdir()
    head = json.loads(rb.ok("status", "--json").out)["head"]
    r = rb("fetch", str(a))
    assert r.code == 1
    assert "zzz: a directory is in the way" in r.err
    assert (b / "f1").read_bytes() == b"one\n"
    assert json.loads(rb.ok("status", "--json").out)["head"] == head
    os.rmdir(b / "zzz")
    rb.ok("fetch", str(a))
    assert (b / "f1").read_bytes() == b"two\n"
    assert (b / "zzz").read_bytes() == b"new\n"
    assert json.loads(rb.ok("status", "--json").out)["clean"] is True


def test_repository_without_journal_table_opens(repo: CliRunner) -> None:
    repo.write("a", "1\n")
    repo.ok("commit", "-A", "-m", "one")
    db = sqlite3.connect(repo.cwd / ".vcrdt" / "store.db")
    with db:
        db.execute("DROP TABLE IF EXISTS checkout_journal")
    db.close()
    assert _status(repo)["clean"] is True
    repo.ok("switch", "-c", "two")
    db = sqlite3.connect(repo.cwd / ".vcrdt" / "store.db")
    tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    assert "checkout_journal" in tables


def test_checkout_cut_short_is_finished_by_the_next_command(repo: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from vcrdt.worktree import Worktree

    _two_branches(repo)
    repo.ok("switch", "b")
    repo.ok("switch", "main")
    real = Worktree.finish_checkout

    def killed_half_way(self: Worktree, on_progress: object = None) -> int:
        # As if the process died after the journal committed: two files written, the rest not.
        if not self.pending_checkout():
            return 0
        self.write_file("f1", *self.head_flat()["f1"])
        Path(self.root, "f2").write_bytes(b"b 2\n")
        return 0

    monkeypatch.setattr(Worktree, "finish_checkout", killed_half_way)
    repo.ok("switch", "b")
    monkeypatch.setattr(Worktree, "finish_checkout", real)
    assert (repo.cwd / "f3").read_bytes() == b"main 3\n"  # not written yet
    r = repo("status", "--json")
    assert r.code == 0
    assert r.err == "note: finished an interrupted checkout (7 paths)\n"
    st = json.loads(r.out)
    assert (st["branch"], st["clean"], st["untracked"], st["modified"]) == ("b", True, [], [])
    assert _files(repo.cwd) == {
        **{f"f{i}": f"b {i}\n".encode() for i in range(1, 6)},
        "zzz": b"new on b\n",
        "dir/new": b"also new on b\n",
    }
    # The way back, cut short after the deletions: `dir` is left empty.
    monkeypatch.setattr(Worktree, "finish_checkout", lambda self, on_progress=None: 0)
    repo.ok("switch", "main")
    monkeypatch.setattr(Worktree, "finish_checkout", real)
    os.unlink(repo.cwd / "dir" / "new")
    r = repo("switch", "main")  # the plain redo
    assert r.code == 0, r.err
    assert r.err.startswith("note: finished an interrupted checkout (7 paths)\n")
    assert _files(repo.cwd) == {f"f{i}": f"main {i}\n".encode() for i in range(1, 6)}
    assert not (repo.cwd / "dir").exists()
    assert _status(repo)["clean"] is True
    assert repo.ok("fsck").code == 0


def test_restore_refuses_before_writing_anything(repo: CliRunner) -> None:
    repo.write("b", "b\n")
    repo.write("z", "z\n")
    repo.ok("commit", "-A", "-m", "two files")
    repo.write("b", "local edit\n")
    os.unlink(repo.cwd / "z")
    repo.write("z/mine", "untracked, where the tracked file z was\n")
    before = _files(repo.cwd)
    r = repo("restore", ".")
    assert r.code == 1
    assert r.err.startswith("error: z: a directory is in the way of a file to write\n"), r.err
    assert _files(repo.cwd) == before
    os.unlink(repo.cwd / "z" / "mine")
    os.rmdir(repo.cwd / "z")
    repo.ok("restore", ".")
    assert _files(repo.cwd) == {"b": b"b\n", "z": b"z\n"}
