"""Bad input never loses data: a clear error naming the path or object, and fsck stays clean."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner, corrupt_stored_object


def _fsck_clean(repo: CliRunner) -> None:
    r = repo("fsck")
    assert r.code == 0, r.out + r.err


@pytest.mark.hostile
def test_corrupt_object_is_named_by_fsck(repo: CliRunner) -> None:
    repo.write("a.txt", "precious data\n" * 50)
    repo.ok("commit", "-A", "-m", "base")
    blob = json.loads(repo.ok("cat", "HEAD:", "--json").out)["entries"][0]["id"]
    corrupt_stored_object(repo.cwd, blob)
    r = repo("fsck")
    assert r.code == 1
    assert f"error: {blob}: " in r.out
    r = repo("cat", "HEAD:a.txt")
    assert r.code == 1
    assert blob in r.err


def test_unreadable_file_fails_commit_cleanly(repo: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    repo.write("a.txt", "1\n")
    repo.write("secret.txt", "1\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.write("a.txt", "2\n")
    repo.write("secret.txt", "2\n")
    real_open = os.open

    def deny(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if str(path).endswith("secret.txt") and not flags & os.O_WRONLY:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", deny)
    r = repo("commit", "-m", "second")
    monkeypatch.setattr(os, "open", real_open)
    assert r.code == 1
    assert r.err == "error: secret.txt: cannot read: Permission denied\n"
    assert len(json.loads(repo.ok("log", "--json").out)) == 1
    _fsck_clean(repo)


def test_file_replaced_by_directory(repo: CliRunner) -> None:
    repo.write("a", "file\n")
    repo.ok("commit", "-A", "-m", "base")
    assert repo.ok("status", "--short").out == ""
    os.unlink(repo.cwd / "a")
    repo.write("a/inner.txt", "now a directory\n")
    assert repo.ok("status", "--short").out == "D  a\n?? a/\n"
    repo.ok("commit", "-A", "-m", "a becomes a directory")
    assert repo.ok("cat", "HEAD:a/inner.txt").out == "now a directory\n"
    repo.ok("switch", "--detach", "HEAD~1")
    assert (repo.cwd / "a").read_text() == "file\n"
    repo.ok("switch", "main")
    assert (repo.cwd / "a" / "inner.txt").read_text() == "now a directory\n"
    _fsck_clean(repo)


def test_non_utf8_file_name_round_trips(repo: CliRunner) -> None:
    name = os.fsdecode(b"caf\xe9.txt")
    (repo.cwd / name).write_bytes(b"latin-1 name\n")
    repo.ok("commit", "-A", "-m", "odd name")
    assert repo.ok("status", "--short").out == ""
    tree = json.loads(repo.ok("cat", "HEAD:", "--json").out)
    assert [e["name"] for e in tree["entries"]] == ["caf\\xe9.txt"]
    repo.ok("switch", "-c", "other")
    os.unlink(repo.cwd / name)
    repo.ok("commit", "-A", "-m", "drop it")
    repo.ok("switch", "main")
    assert os.listdir(os.fsencode(repo.cwd)).count(b"caf\xe9.txt") == 1
    _fsck_clean(repo)


@pytest.mark.parametrize(
    "content",
    [b"", b"no final newline", b"crlf\r\nlines\r\n", b"\x00\x01binary\xff"],
    ids=["empty", "no-newline", "crlf", "binary"],
)
def test_content_round_trips_exactly(repo: CliRunner, content: bytes) -> None:
    repo.write("f", content)
    repo.ok("commit", "-A", "-m", "content")
    assert repo.ok("cat", "HEAD:f").out_bytes == content
    repo.ok("switch", "-c", "tmp")
    os.unlink(repo.cwd / "f")
    repo.ok("commit", "-A", "-m", "gone")
    repo.ok("switch", "main")
    assert (repo.cwd / "f").read_bytes() == content
    assert repo.ok("status", "--short").out == ""


@pytest.mark.hostile
@pytest.mark.parametrize(
    ("bad", "rule"),
    [
        ("../outside.txt", "outside the repository"),
        ("/etc/passwd", "outside the repository"),
        (".vcrdt/store.db", "reserved for repository metadata"),
    ],
)
def test_bad_paths_rejected(repo: CliRunner, bad: str, rule: str) -> None:
    r = repo("add", bad)
    assert r.code == 1
    assert rule in r.err


def test_symlink_stored_as_link(repo: CliRunner) -> None:
    repo.write("target.txt", "t\n")
    os.symlink("target.txt", repo.cwd / "link")
    repo.ok("commit", "-A", "-m", "link")
    tree = json.loads(repo.ok("cat", "HEAD:", "--json").out)
    assert {e["name"]: e["kind"] for e in tree["entries"]} == {"link": "link", "target.txt": "file"}
    assert repo.ok("cat", "HEAD:link").out == "target.txt"


@pytest.mark.hostile
def test_symlink_escaping_tree_is_not_checked_out(repo: CliRunner) -> None:
    os.symlink("../../etc", repo.cwd / "evil")
    repo.ok("commit", "-A", "-m", "evil link")
    os.unlink(repo.cwd / "evil")
    r = repo("restore", "evil")
    assert r.code == 1
    assert "points outside the work tree" in r.err
    assert not os.path.lexists(repo.cwd / "evil")


@pytest.mark.slow
def test_200mb_file_memory_bounded(tmp_path: Path) -> None:
    root = tmp_path / "big"
    root.mkdir()
    env = dict(os.environ, VCRDT_AUTHOR_NAME="Big", VCRDT_AUTHOR_EMAIL="big@example.com")
    block = os.urandom(1 << 20)
    with open(root / "big.bin", "wb") as fh:
        for i in range(200):
            fh.write(block[i:] + block[:i])
    subprocess.run([sys.executable, "-m", "vcrdt", "init"], cwd=root, env=env, check=True, capture_output=True)
    # Linux carries a process's peak RSS across fork and exec, so a child of this (large) test
    # process would report our size. A small launcher process spawns the commit and reports
    # the commit's own peak.
    launcher = (
        "import os, subprocess, sys\n"
        "p = subprocess.Popen(sys.argv[1:])\n"
        "_, status, usage = os.wait4(p.pid, 0)\n"
        "print(usage.ru_maxrss)\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", launcher, sys.executable, "-m", "vcrdt", "commit", "-A", "-m", "big"],
        cwd=root,
        env=env,
        capture_output=True,
        check=True,
    )
    peak_mb = int(out.stdout.split()[-1]) / 1024
    print(f"peak RSS committing a 200 MB file: {peak_mb:.0f} MB")
    assert peak_mb < 150
    r = subprocess.run([sys.executable, "-m", "vcrdt", "fsck"], cwd=root, env=env, capture_output=True)
    assert r.returncode == 0, r.stdout + r.stderr
    (root / "big.bin").unlink()
    subprocess.run([sys.executable, "-m", "vcrdt", "restore", "big.bin"], cwd=root, env=env, check=True)
    assert (root / "big.bin").stat().st_size == 200 << 20


@pytest.mark.hostile
def test_fsck_names_a_missing_object_and_the_ref(repo: CliRunner) -> None:
    repo.write("a.txt", "soon missing\n")
    repo.ok("commit", "-A", "-m", "base")
    blob = json.loads(repo.ok("cat", "HEAD:", "--json").out)["entries"][0]["id"]
    db = sqlite3.connect(repo.cwd / ".vcrdt" / "store.db")
    with db:
        db.execute("DELETE FROM objects WHERE id = ?", (bytes.fromhex(blob),))
    db.close()
    r = repo("fsck")
    assert r.code == 1
    assert f"error: refs/heads/main: broken history: object {blob} not found" in r.out


def test_disk_full_during_commit_changes_nothing(repo: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing SQLite statement mid-commit (here: a full disk) is one clear error, and a no-op."""
    from vcrdt.store import sqlite as sqlite_store

    repo.write("a.txt", "1\n")
    repo.ok("commit", "-A", "-m", "base")
    repo.write("a.txt", "2\n")
    real = sqlite_store.SqliteStore._finish_put_many

    def full(self: object, *args: object) -> object:  # where a batch's rows are written
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite_store.SqliteStore, "_finish_put_many", full)
    r = repo("commit", "-m", "second")
    monkeypatch.setattr(sqlite_store.SqliteStore, "_finish_put_many", real)
    assert r.code == 1
    assert r.err.splitlines() == [
        f"error: disk full: cannot write {repo.cwd / '.vcrdt' / 'store.db'}; nothing was changed",
        "hint: free some disk space, then run the command again",
    ]
    assert len(json.loads(repo.ok("log", "--json").out)) == 1
    assert repo.ok("status", "--short").out == "M  a.txt\n"
    _fsck_clean(repo)


@pytest.mark.hostile
@pytest.mark.parametrize("damage", ["header", "pages"])
def test_damaged_database_is_a_clear_error(repo: CliRunner, damage: str) -> None:
    repo.write("a.txt", "data\n" * 100)
    repo.ok("commit", "-A", "-m", "base")
    path = repo.cwd / ".vcrdt" / "store.db"
    for extra in ("store.db-wal", "store.db-shm"):
        (repo.cwd / ".vcrdt" / extra).unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    if damage == "header":
        data[:16] = b"garbage garbage!"
    else:
        for i in range(4096, len(data), 997):
            data[i] ^= 0x5A
    path.write_bytes(bytes(data))
    for args in (("status",), ("log",), ("fsck",)):
        r = repo(*args)
        assert r.code == 1, (args, r.err)
        assert r.err.startswith("error: "), r.err
        assert "store.db" in r.err or "repository database" in r.err
        assert "Traceback" not in r.err
