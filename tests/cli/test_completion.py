"""Shell completion: the scripts `--show-completion` prints, and completion in a real bash through a pty."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import CliRunner


@pytest.fixture
def branches(repo: CliRunner) -> CliRunner:
    repo.write("a.txt", "a\n")
    repo.ok("add", "a.txt")
    repo.ok("commit", "-m", "first")
    repo.ok("branch", "feature")
    repo.ok("branch", "fix/typo")
    repo.ok("tag", "v1.0")
    return repo


def _complete(cli: CliRunner, monkeypatch: pytest.MonkeyPatch, line: str, cwd: Path | None = None) -> list[str]:
    """What the bash script's request answers for `line` (the cursor at its end)."""
    words = line.split(" ")
    monkeypatch.setenv("_VCRDT_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", line)
    monkeypatch.setenv("COMP_CWORD", str(len(words) - 1))
    try:
        r = cli(cwd=cwd)
    finally:
        for var in ("_VCRDT_COMPLETE", "COMP_WORDS", "COMP_CWORD"):
            monkeypatch.delenv(var)
    assert r.code == 0, r.err
    assert r.err == ""
    return r.out.split()


def test_commands_complete(branches: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _complete(branches, monkeypatch, "vcrdt sw") == ["switch"]
    assert _complete(branches, monkeypatch, "vcrdt st") == ["stash", "status"]


def test_branch_tag_and_revision_arguments_complete(branches: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _complete(branches, monkeypatch, "vcrdt switch f") == ["feature", "fix/typo"]
    assert _complete(branches, monkeypatch, "vcrdt branch -D fe") == ["feature"]
    assert _complete(branches, monkeypatch, "vcrdt tag v") == ["v1.0"]
    assert _complete(branches, monkeypatch, "vcrdt merge ") == ["feature", "fix/typo", "main", "v1.0"]
    assert _complete(branches, monkeypatch, "vcrdt reset --hard v") == ["v1.0"]


def test_remote_names_complete(branches: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    branches.ok("remote", "add", "origin", str(tmp_path / "elsewhere"))
    assert _complete(branches, monkeypatch, "vcrdt fetch o") == ["origin"]
    assert _complete(branches, monkeypatch, "vcrdt remote remove ") == ["origin"]


def test_minus_c_completes_from_that_repository(
    branches: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert _complete(branches, monkeypatch, f"vcrdt -C {branches.cwd} switch fe", cwd=elsewhere) == ["feature"]


def test_outside_a_repository_or_in_a_broken_one_nothing_is_offered_quietly(
    branches: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outside = tmp_path / "nowhere"
    outside.mkdir()
    assert _complete(branches, monkeypatch, "vcrdt switch f", cwd=outside) == []
    (branches.cwd / ".vcrdt" / "store.db").write_bytes(b"not a database" * 100)
    assert _complete(branches, monkeypatch, "vcrdt switch f") == []


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o default -F _vcrdt_completion vcrdt"),
        ("zsh", "compdef _vcrdt_completion vcrdt"),
        ("fish", "complete --command vcrdt"),
    ],
)
def test_show_completion_prints_each_shells_script(cli: CliRunner, shell: str, marker: str) -> None:
    r = cli("--show-completion", shell)
    assert r.code == 0, r.err
    assert marker in r.out
    assert "_VCRDT_COMPLETE=complete_" + shell in r.out


def test_show_completion_of_an_unknown_shell_is_a_usage_error(cli: CliRunner) -> None:
    r = cli("--show-completion", "tcsh")
    assert r.code == 2
    assert "unsupported shell 'tcsh'" in r.err


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_tab_completes_commands_and_branches_in_a_real_bash(branches: CliRunner, tmp_path: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    script = tmp_path / "vcrdt-completion.bash"
    script.write_text(branches.ok("--show-completion", "bash").out)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    program = bindir / "vcrdt"
    program.write_text(f'#!/bin/sh\nexec {sys.executable} -m vcrdt "$@"\n')
    program.chmod(0o755)
    env = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TERM": "dumb",
        "PS1": "READY$ ",
        "INPUTRC": "/dev/null",
        "VCRDT_NO_SERVER": "1",
        "NO_COLOR": "1",
        "VCRDT_AUTHOR_NAME": "Ada",
        "VCRDT_AUTHOR_EMAIL": "ada@example.com",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    bash = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], env=env, cwd=str(branches.cwd), encoding="utf-8", timeout=60
    )
    try:
        bash.expect_exact("READY$ ")
        bash.sendline(f"source {script}")
        bash.expect_exact("READY$ ")
        bash.send("vcrdt sw\t")
        bash.expect_exact("vcrdt switch ")
        bash.send("fe\t")
        bash.expect_exact("feature")
        bash.sendline("")
        bash.expect_exact("READY$ ")
        bash.sendline("exit")
        bash.expect(pexpect.EOF)
    finally:
        bash.close(force=True)
    # The completed line ran: the work tree is on `feature`.
    assert branches.ok("status", "--json").out.count('"branch": "feature"') == 1
