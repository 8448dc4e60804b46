"""Sync over a real ssh connection: OpenSSH's sshd on 127.0.0.1, the ssh client, `vcrdt serve --stdio` there.

The remote is named as users name it (``ssh://user@host:port/path`` and
``user@host:path``); ``VCRDT_SSH`` gives the client key and the pinned host key
(as ``GIT_SSH_COMMAND`` would). Clone, push, fetch, sync and `--verify` go
over it; a wrong path and a refused login are one-line errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner
from tests.helpers.sshd import Sshd, start_sshd


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    with start_sshd(tmp_path / "sshd") as server:
        yield server


def _log(cli: CliRunner, cwd: Path) -> list[str]:
    return [line.strip() for line in cli.ok("log", "--oneline", cwd=cwd).out.splitlines()]


def test_clone_push_fetch_and_sync_over_ssh(cli: CliRunner, sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VCRDT_SSH", sshd.ssh_command)
    cli.ok("init", "origin")
    origin = cli.cwd / "origin"
    (origin / "a.txt").write_text("one\n")
    cli.ok("commit", "-A", "-m", "first", cwd=origin)
    url = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{origin}"
    cli.ok("clone", url, "copy")
    copy = cli.cwd / "copy"
    assert (copy / "a.txt").read_text() == "one\n"
    # A commit on each side, then one sync in both directions.
    (copy / "b.txt").write_text("from the copy\n")
    cli.ok("commit", "-A", "-m", "copy's", cwd=copy)
    (origin / "c.txt").write_text("from origin\n")
    cli.ok("commit", "-A", "-m", "origin's", cwd=origin)
    r = cli.ok("sync", "--auto-merge", "--stats", cwd=copy)  # origin, recorded by clone
    assert "stats:" in r.err
    assert (copy / "c.txt").read_text() == "from origin\n"
    assert "same Merkle roots" in cli.ok("sync", "--verify", cwd=copy).err
    # The scp-like form, and push then fetch.
    (copy / "d.txt").write_text("pushed\n")
    cli.ok("commit", "-A", "-m", "pushed", cwd=copy)
    monkeypatch.setenv("VCRDT_SSH", f"{sshd.ssh_command} -o Port={sshd.port}")  # user@host:path names no port
    cli.ok("push", f"{sshd.user}@127.0.0.1:{origin}", cwd=copy)
    cli.ok("fsck", cwd=origin)
    assert any(line.endswith("pushed") for line in _log(cli, origin))
    (origin / "e.txt").write_text("fetched\n")
    cli.ok("commit", "-A", "-m", "fetched", cwd=origin)
    cli.ok("pull", f"{sshd.user}@127.0.0.1:{origin}", cwd=copy)
    assert (copy / "e.txt").read_text() == "fetched\n"
    cli.ok("fsck", cwd=copy)


def test_a_missing_repository_over_ssh_is_one_error(
    cli: CliRunner, sshd: Sshd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VCRDT_SSH", sshd.ssh_command)
    cli.ok("init", "here")
    url = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{tmp_path}/nowhere"
    r = cli("fetch", url, cwd=cli.cwd / "here")
    assert r.code == 1 and "Traceback" not in r.err
    # The far side's own complaint reaches the user's stderr as ssh passes it on (captured here only
    # when the command runs through the daemon); then one line of ours naming the remote.
    ours = [x for x in r.err.splitlines() if x.startswith(f"error: {url}")]
    assert ours == [f"error: {url}: the command ended before answering (it exited with status 1)"]


def test_a_refused_login_is_one_error(
    cli: CliRunner, sshd: Sshd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No client key offered: the server refuses the login, ssh exits 255.
    monkeypatch.setenv("VCRDT_SSH", sshd.ssh_command.replace("client_key", "no_such_key"))
    cli.ok("init", "here")
    url = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{tmp_path}"
    r = cli("fetch", url, cwd=cli.cwd / "here")
    assert r.code == 1 and "Traceback" not in r.err
    ours = [x for x in r.err.splitlines() if x.startswith("error:")]
    assert ours == [f"error: {url}: the command ended before answering (it exited with status 255)"]
